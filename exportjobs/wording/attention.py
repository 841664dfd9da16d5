"""Needs attention: the list across jobs, its filters, sections, notices, CSV and the home line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text  # a string, or a lazily translated one


# --- needs attention: the list across jobs ----------------------------------------------------------

NAV_ATTENTION = _("Needs attention")

PERIOD_LABELS: dict[str, Text] = {"24h": _("24 hours"), "7d": _("7 days"), "30d": _("30 days")}
PERIOD_PHRASES: dict[str, Text] = {
    "24h": _("in the last 24 hours"),
    "7d": _("in the last 7 days"),
    "30d": _("in the last 30 days"),
}
# The status filter's choices, in the page's words.
STATUS_FILTER_LABELS: dict[str, Text] = {
    "failed": _("Failed"),
    "cancelled": _("Cancelled"),
    "completed_with_errors": _("Partly exported"),
    "pending": _("Waiting to start"),
    "in_progress": _("Exporting"),
}


@dataclass(frozen=True)
class SectionWording:
    title: Text
    intro: Text
    empty: Text  # may name the period: %(period)s


SECTIONS: dict[str, SectionWording] = {
    "failed": SectionWording(
        _("Failed"),
        _("Created %(period)s, newest first. Their entries did not reach the accounting system."),
        _("Nothing failed %(period)s."),
    ),
    "cancelled": SectionWording(
        _("Cancelled"),
        _(
            "Created %(period)s, newest first. Someone stopped them on purpose: nothing is broken, but their "
            "entries did not reach the accounting system."
        ),
        _("Nothing was cancelled %(period)s."),
    ),
    "partly": SectionWording(
        _("Partly exported"),
        _("Created %(period)s, newest first. Some of their entries need fixing and exporting again."),
        _("Nothing was partly exported %(period)s."),
    ),
    "active": SectionWording(
        _("Active and possibly stuck"),
        _(
            "Waiting or exporting, however long ago they were created: those that may be stuck first "
            "(overdue, or quiet for more than half their expiry time), then the others, newest first."
        ),
        _("No export is waiting or running right now."),
    ),
}

ATTENTION: dict[str, Text] = {
    "title": _("Needs attention"),
    "lead": _(
        "Exports that failed or were partly exported, and exports still waiting or running, across companies. "
        "Open a job for the whole story."
    ),
    "filters": _("Filters"),
    "period": _("Created in the last"),
    "status": _("Show"),
    "company": _("Company"),
    "all_companies": _("All companies"),
    "apply": _("Apply filters"),
    "reset": _("Clear filters"),
    "refresh": _("Refresh from Pleo"),
    "csv": _("Download as CSV"),
    "link_hint": _("The address of this page keeps the filters: paste it into a ticket or a chat."),
    "col_status": _("Status"),
    "col_what": _("What happened · who acts"),
    "col_created": _("Created"),
    "col_entries": _("Entries"),
    "col_company": _("Company"),
    "col_job": _("Export job"),
    "open_job": _("Open export job %(id)s"),
    "auto_refresh": _("Updates itself every minute while this tab is open."),
    "bad_filters": _("These filters could not be used, so nothing was asked from Pleo:"),
    "bad_filters_title": _("Filters not understood"),
}

ATTENTION_FRESHNESS: dict[str, Text] = {
    "fresh": _("Fetched from Pleo just now, at %(time)s."),
    "cache": _("Fetched from Pleo at %(time)s (%(relative)s)."),
    "stale": _("An older copy, fetched from Pleo at %(time)s (%(relative)s)."),
}
ATTENTION_STALE_MORE = _("The list may have changed since. Try Refresh in a few minutes.")

ATTENTION_FORM_ERRORS: dict[str, Text] = {
    "period": _("“%(value)s” is not a period this page offers: choose 24 hours, 7 days or 30 days."),
    "status": _(
        "“%(value)s” is not a status this page shows: choose failed, cancelled, partly exported, waiting to start "
        "or exporting."
    ),
    "company": _("“%(value)s” is not a Pleo company ID: it looks like f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e."),
    "format": _("“%(value)s” is not a download this page offers: leave it out, or use csv."),
}

ATTENTION_ROW: dict[str, Text] = {
    "who_acts": _("Who acts: %(actor)s"),
    "active_ok": _("Last activity %(relative)s; %(expiry)s."),
    "unknown_company": _("Company %(id)s"),
    "yes": _("yes"),
    "no": _("no"),
}


def attention_capped(count: int, *, sorted_by_pleo: bool) -> str:
    """The notice when more jobs match than the page shows."""
    if sorted_by_pleo:
        text = ngettext(
            "Showing the most recent job only: more match these filters.",
            "Showing the %(count)d most recent jobs: more match these filters.",
            count,
        )
    else:
        text = ngettext(
            "Showing %(count)d job: more match these filters, and Pleo did not sort its answer by time, "
            "so newer ones may be among those not shown.",
            "Showing %(count)d jobs: more match these filters, and Pleo did not sort its answer by time, "
            "so newer ones may be among those not shown.",
            count,
        )
    more = gettext("To see the rest, narrow the list: one company, fewer statuses or a shorter period.")
    return f"{text % {'count': count}} {more}"


def attention_skipped(count: int) -> str:
    """The notice when jobs in Pleo's pages did not parse."""
    return ngettext(
        "%(count)d job in Pleo's answer could not be read and is not shown. Pleo support can look into it.",
        "%(count)d jobs in Pleo's answer could not be read and are not shown. Pleo support can look into it.",
        count,
    ) % {"count": count}


def attention_cut_short(code: str, pages: int) -> str:
    """The notice when Pleo stopped answering after some pages of the list (``code``: the PleoError's)."""
    if code == "bad_response":
        text = ngettext(
            "Pleo sent a page of the list that could not be read: showing the jobs of the page before it.",
            "Pleo sent a page of the list that could not be read: showing the jobs of the %(pages)d pages before it.",
            pages,
        )
    elif code == "timeout":
        text = ngettext(
            "Pleo took too long to send the whole list: showing the jobs of its first page.",
            "Pleo took too long to send the whole list: showing the jobs of its first %(pages)d pages.",
            pages,
        )
    else:
        text = ngettext(
            "Pleo stopped answering part-way through the list: showing the jobs of its first page.",
            "Pleo stopped answering part-way through the list: showing the jobs of its first %(pages)d pages.",
            pages,
        )
    again = gettext("Try Refresh in a minute.")  # not inside the f-string, where xgettext cannot see it
    return f"{text % {'pages': pages}} {again}"


def attention_home_line(*, failed: int, cancelled: int, partly: int, stuck: int, period: str) -> str:
    """The home page's one line about the cached list: "3 jobs failed and 1 job may be stuck in the last 7 days"."""
    parts = []
    if failed:
        parts.append(ngettext("%(count)d job failed", "%(count)d jobs failed", failed) % {"count": failed})
    if cancelled:
        parts.append(
            ngettext("%(count)d job was cancelled", "%(count)d jobs were cancelled", cancelled) % {"count": cancelled}
        )
    if partly:
        parts.append(
            ngettext("%(count)d job was partly exported", "%(count)d jobs were partly exported", partly)
            % {"count": partly}
        )
    if stuck:
        parts.append(ngettext("%(count)d job may be stuck", "%(count)d jobs may be stuck", stuck) % {"count": stuck})
    phrase = PERIOD_PHRASES[period]
    if not parts:
        return gettext("Nothing failed or looks stuck %(period)s") % {"period": phrase}
    listed = (
        parts[0]
        if len(parts) == 1
        else gettext("%(some)s and %(last)s")
        % {
            "some": ", ".join(parts[:-1]),
            "last": parts[-1],
        }
    )
    return gettext("%(what)s %(period)s") % {"what": listed, "period": phrase}


ATTENTION_CSV_HEADER: tuple[Text, ...] = (
    _("Section"),
    _("Export job ID"),
    _("Status"),
    _("Status (Pleo's value)"),
    _("State"),
    _("What happened"),
    _("Failure type (Pleo's value)"),
    _("Pleo's message"),
    _("Who acts"),
    _("May be stuck"),
    _("Created (UTC)"),
    _("Created, local time (%(zone)s)"),
    _("Last update (UTC)"),
    _("Last update, local time (%(zone)s)"),
    _("Entries"),
    _("Failed entries"),
    _("Not booked"),
    _("Company"),
    _("Company ID"),
    _("Link"),
)
