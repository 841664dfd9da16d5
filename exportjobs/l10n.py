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


def short_date_time(moment: datetime, *, with_year: bool) -> str:
    """``28 Nov 15:31``: a day and a time, the year only when asked."""
    where = locale()
    day = format_skeleton("yMMMd" if with_year else "MMMd", moment, tzinfo=moment.tzinfo, locale=where)
    return f"{day} {format_time(moment, 'short', tzinfo=moment.tzinfo, locale=where)}"


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
    """An amount in a currency's smallest unit, written the reader's way with the currency's own decimals:
    ``DKK 450.00`` / ``450,00 kr.``, ``ISK 1,500`` / ``1.500 kr.`` (no decimals), ``KWD 1.250`` (three).

    The number of decimals is CLDR's for the currency (``get_currency_precision``), never "divide by 100".
    """
    code = currency.upper()
    digits = get_currency_precision(code)
    amount = Decimal(minors).scaleb(-digits)
    text = format_currency(amount, code, locale=locale(), currency_digits=True)
    # CLDR's currency spacing, which Babel leaves out: a code written in letters never touches the digits.
    return CODE_THEN_DIGIT.sub("\u00a0", text)
