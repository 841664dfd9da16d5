"""Template filters of the desk."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from .. import l10n

register = template.Library()


@register.filter
def id_breaks(value: object) -> SafeString:
    """An id that may wrap only after its hyphens: a ``<wbr>`` after each one. Browsers do not break
    every ``-`` (not before a digit), and breaking anywhere cuts ``3c90c3cc`` in two; ``<wbr>`` adds
    nothing to copied text. CSS ``.uuid`` keeps the pieces whole."""
    escaped = str(conditional_escape(str(value)))
    return mark_safe(escaped.replace("-", "-<wbr>"))  # noqa: S308 - escaped above; <wbr> is ours


@register.filter
def number(value: object) -> str:
    """A count with the reader's locale's separators (``10,000``, ``10.000``, ``10 000``); anything
    that is not a number is shown as it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    return l10n.number(value)
