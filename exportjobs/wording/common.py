"""Words every page family uses: durations, relative times, "a label: its value"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    pass  # a string, or a lazily translated one


JUST_NOW = _("just now")
AGO = _("%(duration)s ago")
IN_FUTURE = _("in %(duration)s")
EXPIRES_IN = _("expires in about %(duration)s")
OVERDUE_BY = _("overdue by about %(duration)s")


def duration_words(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 days 4 h``."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return gettext("%(seconds)d s") % {"seconds": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
        return gettext("%(hours)d h") % {"hours": hours}
    days, hours = divmod(hours, 24)
    day_text = ngettext("%(days)d day", "%(days)d days", days) % {"days": days}
    if hours:
        return gettext("%(days)s %(hours)d h") % {"days": day_text, "hours": hours}
    return day_text


# "Created: 28 Nov 2026 15:31 UTC": a label and its value (French puts a space before the colon).
LABEL_VALUE = pgettext_lazy("a label and its value", "%(label)s: %(value)s")
