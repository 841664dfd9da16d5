"""Downloads a spreadsheet will open: every CSV cell the desk writes goes through ``csv_cell``."""

from __future__ import annotations

# What makes a spreadsheet read a cell as a formula (OWASP's CSV injection advice), including the
# fullwidth forms some spreadsheets also accept.
FULLWIDTH = ("\uff1d", "\uff0b", "\uff0d", "\uff20")  # fullwidth = + - @
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", *FULLWIDTH)


def csv_cell(value: object) -> str:
    """``value`` as a cell a spreadsheet shows as text and never runs as a formula.

    A cell that starts with a formula character, or with whitespace before one, gets a leading
    apostrophe: the spreadsheet shows it as typed.
    """
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS or text.lstrip()[:1] in FORMULA_STARTS:
        return "'" + text
    return text
