"""Moments and numbers as the pages show them: in the desk's zone (``TIME_ZONE``, the company's) and the
reader's language, to the minute; UTC for the tooltip and for machines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from django.utils import timezone as dj_timezone

from .. import l10n, wording
from ..wording import duration_words

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text


def relative_text(moment: datetime, now: datetime) -> str:
    delta = (now - moment).total_seconds()
    if abs(delta) < 30:
        return str(wording.JUST_NOW)
    template = wording.AGO if delta > 0 else wording.IN_FUTURE
    return str(template) % {"duration": duration_words(delta)}


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def zone_name() -> str:
    return dj_timezone.get_current_timezone_name()


def local_text(moment: datetime, *, with_date: bool = True) -> str:
    """``28 Nov 2026, 15:31 CET`` (or ``15:31 CET``): a moment in the desk's zone, to the minute."""
    try:
        local = dj_timezone.localtime(moment)
    except OverflowError:  # an instant at the calendar's edge has no local time east of UTC: show it in UTC
        local = moment.astimezone(timezone.utc)
    zone = local.tzname() or zone_name()
    if with_date:
        return f"{l10n.date_time(local, seconds=False)} {zone}"
    return f"{l10n.time_of_day(local)} {zone}"


def utc_text(moment: datetime, *, seconds: bool = True) -> str:
    """``28 Nov 2026, 14:31:45 UTC``: the tooltip's exact moment (without seconds for a text people read)."""
    return f"{l10n.date_time(moment.astimezone(timezone.utc), seconds=seconds)} UTC"


def both_zones_text(moment: datetime) -> str:
    """``28 Nov 2026, 15:31 CET (28 Nov 2026, 14:31 UTC)``: the desk's zone first, UTC beside it when the
    desk's zone is another, for a text read elsewhere (a ticket)."""
    local = local_text(moment)
    utc = utc_text(moment, seconds=False)
    return local if local == utc else f"{local} ({utc})"


def short_local_text(moment: datetime, now: datetime) -> str:
    """``28 Nov 15:31`` (with the year when it is not this year's; ``28 nov. à 15:31`` in French), in the
    desk's zone."""
    try:
        local = dj_timezone.localtime(moment)
        this_year = dj_timezone.localtime(now).year
    except OverflowError:
        local, this_year = moment.astimezone(timezone.utc), now.year
    day, time_of_day = l10n.short_day_and_time(local, with_year=local.year != this_year)
    return str(wording.DAY_AT_TIME) % {"day": day, "time": time_of_day}


def local_minutes(moment: datetime) -> str:
    """``3 Nov 2026, 14:02 CET``: a list's times, to the minute."""
    return local_text(moment)


def number_text(value: int) -> str:
    return l10n.number(value)


@dataclass(frozen=True)
class Timestamp:
    """A moment as the page shows it, or why there is none."""

    label: Text
    iso: str = ""
    display: str = ""
    utc: str = ""
    relative: str = ""
    missing: Text = ""
    help: Text = ""

    @classmethod
    def of(
        cls, label: Text, moment: datetime | None, now: datetime, *, missing: Text = "", help: Text = ""
    ) -> Timestamp:
        if moment is None:
            return cls(label=label, missing=missing or wording.MISSING["not_reported"], help=help)
        return cls(
            label=label,
            iso=iso_utc(moment),
            display=local_text(moment),
            utc=utc_text(moment),
            relative=relative_text(moment, now),
            help=help,
        )
