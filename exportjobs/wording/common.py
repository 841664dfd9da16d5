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


def duration_phrase(seconds: float) -> str:
    """A duration inside a sentence, in words: ``one hour``, ``90 minutes`` → ``1 hour 30 minutes``,
    ``2 days``; never a number of seconds above a minute."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return ngettext("one minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        hours_text = ngettext("one hour", "%(count)d hours", hours) % {"count": hours}
        if not minutes:
            return hours_text
        minutes_text = ngettext("one minute", "%(count)d minutes", minutes) % {"count": minutes}
        return gettext("%(hours)s %(minutes)s") % {"hours": hours_text, "minutes": minutes_text}
    days = round(hours / 24) if hours % 24 else hours // 24
    return ngettext("one day", "%(count)d days", days) % {"count": days}


# "Created: 28 Nov 2026 15:31 UTC": a label and its value (French puts a space before the colon).
LABEL_VALUE = pgettext_lazy("a label and its value", "%(label)s: %(value)s")

# A day and a time of day inside a sentence: "created 28 Nov 15:31" ("créée le 28 nov. à 15:31").
DAY_AT_TIME = pgettext_lazy("a day and a time of day", "%(day)s %(time)s")
