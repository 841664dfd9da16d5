"""Dates, times and numbers in the reader's language, by Babel (the Unicode CLDR's formats).

Django's own date formats name months in full and differ from what finance staff read elsewhere;
CLDR's "medium" formats are what their other tools show: ``28 Nov 2026, 15:31`` (English),
``28. nov. 2026 15.31`` (Danish), ``28.11.2026, 15:31`` (German). English is written the British way,
day before month, as the desk always has. Machine-readable values (``<time datetime>``, CSV, JSON) never
come from here.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.numbers import format_currency, format_decimal, get_currency_precision, get_group_symbol
from django.utils import translation

CODE_THEN_DIGIT = re.compile(r"(?<=[^\W\d_])(?=[\d-])")  # "DKK450.00" → "DKK 450.00"
BABEL_LOCALE = {"en": "en_GB"}  # a language of the desk → the CLDR locale its dates and numbers follow


@lru_cache(maxsize=32)
def _locale(language: str) -> Locale:
    base = language.split("-")[0].lower()
    return Locale.parse(BABEL_LOCALE.get(base, base))


def locale() -> Locale:
    """The CLDR locale of the active language."""
    return _locale(translation.get_language() or "en")


def date_time(moment: datetime, *, seconds: bool = True) -> str:
    """``28 Nov 2026, 15:31:45`` (or without seconds), in ``moment``'s own zone."""
    where = locale()
    if seconds:
        return format_datetime(moment, "medium", tzinfo=moment.tzinfo, locale=where)
    pattern = str(where.datetime_formats["medium"])
    return pattern.format(
        format_time(moment, "short", tzinfo=moment.tzinfo, locale=where), format_date(moment, "medium", locale=where)
    )


def short_day_and_time(moment: datetime, *, with_year: bool) -> tuple[str, str]:
    """``("28 Nov", "15:31")``: a day (the year only when asked) and a time of day, for a sentence to join
    the reader's way ("28 nov. à 15:31")."""
    where = locale()
    day = format_skeleton("yMMMd" if with_year else "MMMd", moment, tzinfo=moment.tzinfo, locale=where)
    return day, format_time(moment, "short", tzinfo=moment.tzinfo, locale=where)


def time_of_day(moment: datetime) -> str:
    """``15:31`` (``15.31`` in Danish)."""
    return format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale())


def number(value: int | float) -> str:
    """``10,000`` (``10.000`` in Danish and German, ``10 000`` in Swedish and French)."""
    where = locale()
    if isinstance(value, int) and abs(value) >= 10**18:
        # Beyond Babel's decimal precision (a count Pleo should never send, shown all the same).
        return f"{value:,}".replace(",", get_group_symbol(where))
    return format_decimal(value, locale=where)


def money(minors: int, currency: str) -> str:
    """An amount in a currency's smallest unit, written the reader's way with the currency's own decimals and
    its ISO code: ``DKK 450.00`` / ``450,00 DKK``, ``ISK 1,500`` / ``1.500 ISK`` (no decimals), ``KWD 1.250``
    (three). Always the code, never a symbol: "kr." is four currencies, "£GB" is nobody's way of writing GBP,
    and a list of amounts in several currencies reads alike in every language.

    The number of decimals is CLDR's for the currency (``get_currency_precision``), never "divide by 100".
    """
    code = currency.upper()
    digits = get_currency_precision(code)
    amount = Decimal(minors).scaleb(-digits)
    where = locale()
    pattern = re.sub("¤+", "¤¤", str(where.currency_formats["standard"].pattern))
    text = format_currency(amount, code, format=pattern, locale=where, currency_digits=True)
    # CLDR's currency spacing, which Babel leaves out: a code written in letters never touches the digits.
    return CODE_THEN_DIGIT.sub("\u00a0", text)


def plain_amount(minors: int, currency: str) -> str:
    """An amount as a spreadsheet reads it in the reader's language: the currency's own decimals, the
    reader's decimal sign, no grouping and no code (``12430.50`` in English, ``12430,50`` in Danish)."""
    digits = get_currency_precision(currency.upper())
    amount = Decimal(minors).scaleb(-digits)
    return format_decimal(amount, format="0" + ("." + "0" * digits if digits else ""), locale=locale())


def date(moment: datetime) -> str:
    """``28 Nov 2026`` (``28. nov. 2026`` in Danish): a day, in ``moment``'s own zone."""
    return format_date(moment, "medium", locale=locale())
