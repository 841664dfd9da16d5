"""Files people download: CSV a spreadsheet opens safely (no cell runs as a formula) and correctly in the
reader's language (a UTF-8 byte-order mark, the separator their spreadsheet splits on), streamed."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import translation

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV Injection"); the
# full-width forms are read as the same characters by some spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Where a spreadsheet may start a new cell inside ours: Danish, Swedish, German, Spanish and French
# Excel split a CSV on ';', others on ',' (or a tab), and a reader that misses the quotes also on a line
# break. Text after any of them is guarded as if it started the cell.
SEPARATORS = re.compile(r"([;,\t\r\n])")


FORMULA_AFTER_BLANKS = re.compile(r'^[\s"]*[=+\-@\uff1d\uff0b\uff0d\uff20]')  # a quote does not stop a formula


def _guarded(piece: str) -> str:
    """``'`` before text that starts like a formula (also after whitespace of any kind, or quotes)."""
    return "'" + piece if piece.startswith(FORMULA_STARTS) or FORMULA_AFTER_BLANKS.match(piece) else piece


def csv_safe(value: object) -> str:
    """A cell a spreadsheet will not run as a formula, whichever separator it splits the file on: the
    cell, and every part of it after a ``;``, ``,``, tab or line break, gets a leading ``'`` when it starts
    like a formula (``=1+1;=2+2`` becomes ``'=1+1;'=2+2``)."""
    text = "" if value is None else str(value)
    if not any(start in text for start in FORMULA_STARTS):
        return text  # nothing that could start a formula: most cells (names, dates without a dash)
    pieces = SEPARATORS.split(text)  # text, separator, text, …: the separators at the odd places
    guarded = "".join(piece if index % 2 else _guarded(piece) for index, piece in enumerate(pieces))
    return "'" + guarded if guarded.startswith(FORMULA_STARTS) else guarded  # a cell that starts with a tab


BOM = "\ufeff"  # Excel reads a CSV file as UTF-8 only when it starts with this mark (else as the machine's ANSI)
# The separator the reader's spreadsheet splits a CSV on: Excel in a language that writes a decimal comma
# splits on ';', in English on ','.
SEMICOLON_LANGUAGES = frozenset({"da", "sv", "de", "es", "fr"})
SEPARATORS_ASKED = {",": ",", ";": ";", "comma": ",", "semicolon": ";"}


def separator_for(request: HttpRequest) -> str:
    """``?sep=,`` or ``?sep=;`` when asked for (also ``comma`` / ``semicolon``), else the reader's
    language's: ``;`` for da, sv, de, es and fr, ``,`` for English. Any other ``sep`` is ignored."""
    asked = SEPARATORS_ASKED.get(request.GET.get("sep", "").strip())
    if asked:
        return asked
    language = (translation.get_language() or "en").split("-")[0]
    return ";" if language in SEMICOLON_LANGUAGES else ","


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_download(
    *, filename: str, header: Iterable[object], rows: Iterable[Iterable[object]], separator: str = ","
) -> StreamingHttpResponse:
    """A streamed ``text/csv`` attachment: a UTF-8 byte-order mark, the header, then every row, each cell
    made safe and quoted (a quoted cell is one cell to any reader, whatever separators it holds), split by
    ``separator`` (``separator_for`` the reader)."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL, delimiter=separator)

    def stream() -> Iterator[Any]:
        yield BOM + writer.writerow([csv_safe(cell) for cell in header])
        for row in rows:
            yield writer.writerow([csv_safe(cell) for cell in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
