"""The job page: the link's "what changed", times and timeline, the title, the ticket summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from ..pleo.models import JobStatus

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text  # a string, or a lazily translated one


# How a status reads inside a sentence: "the job was exporting; now it has failed".
STATUS_WAS: dict[JobStatus, Text] = {
    JobStatus.PENDING: _("waiting to start"),
    JobStatus.IN_PROGRESS: _("exporting"),
    JobStatus.COMPLETED: _("exported"),
    JobStatus.COMPLETED_WITH_ERRORS: _("partly exported"),
    JobStatus.FAILED: _("failed"),
}
STATUS_NOW: dict[JobStatus, Text] = {
    JobStatus.PENDING: _("is waiting to start"),
    JobStatus.IN_PROGRESS: _("is exporting"),
    JobStatus.COMPLETED: _("has been exported"),
    JobStatus.COMPLETED_WITH_ERRORS: _("has been partly exported"),
    JobStatus.FAILED: _("has failed"),
}
SEEN_SHARED_AT = _("When this link was shared (%(when)s)")
SEEN_SHARED = _("When this link was shared")
SEEN_UNCHANGED = _("%(shared)s the job was already %(was)s; it has not changed since.")
SEEN_CHANGED = _("%(shared)s the job was %(was)s; now it %(now)s.")


# --- the job page: times, timeline, warnings, ticket text -----------------------------------------

TIME_LABELS: dict[str, Text] = {
    "created": _("Created"),
    "started": _("Started"),
    "completed": _("Completed"),
    "expired": _("Expired"),
    "updated": _("Last update"),
    "finished": _("Finished"),
    "not_started": _("Not started yet"),
    "never_started": _("Never started"),
    "fetched": _("Fetched"),
    "expires": _("Expires (approx.)"),
}
TIME_HELP: dict[str, Text] = {
    "created": _("When someone pressed Export in Pleo"),
    "started": _("When the integration began sending entries"),
    "completed": _("When the job finished"),
    "expired": _("When Pleo gave up waiting for the job"),
    "updated": _("When anything last happened to the job"),
}
MISSING: dict[str, Text] = {
    "not_reported": _("not reported"),
    "unknown": _("unknown"),
    "not_started_yet": _("not started yet"),
    "no_start_recorded": _("Pleo did not record a start"),
    "still_running": _("still running"),
    "did_not_complete": _("did not complete"),
    "has_not_expired": _("has not expired"),
    "not_expired_yet": _("not expired (yet)"),
    "no_update": _("no update since it was created"),
    "waiting_to_start": _("waiting to start"),
    "overdue": _("overdue, but Pleo has not stopped it yet"),
    "did_not_expire": _("did not expire"),
    "not_finished_yet": _("not finished yet"),
    "finish_not_reported": _("finish time not reported"),
}
DURATION_LABELS: dict[str, Text] = {
    "waited": _("Waited before starting"),
    "ran": _("Ran for"),
    "ran_so_far": _("Ran for so far"),
    "waiting_so_far": _("Waiting so far"),
    "total": _("Total"),
    "total_so_far": _("Total so far"),
}
STUCK = _(
    "Nothing has happened to this job for %(duration)s. It may be stuck: if it does not move soon it will expire. "
    "Ask the Pleo admin who owns the accounting integration to check it."
)
JOB_COMPANY: dict[str, Text] = {"label": _("Company"), "hint": _("and its Pleo ID, for Pleo support")}
STARTED_AUTOMATICALLY = _("Pleo's system, automatically")
STARTED_BY_PERSON = _("A person in Pleo, by pressing Export")
BY_PERSON = _("a person in Pleo")
BY_SYSTEM = _("Pleo's system")
# The job page's main heading: what a person recognises of the job (created: when someone, or Pleo's system,
# asked for it; a job that never started is never said to have started).
JOB_TITLE = ngettext_lazy(
    "Export of %(count)s entry, created %(when)s by %(who)s",
    "Export of %(count)s entries, created %(when)s by %(who)s",
    "number",
)
JOB_TITLE_UNKNOWN_COUNT = _("Export of an unknown number of entries, created %(when)s by %(who)s")

# The plain-text summary for a ticket.
TICKET = {
    "title": _("Pleo export job %(id)s"),
    "status": _("Status: %(label)s (%(value)s) — %(meaning)s"),
    "entries": _("Entries: %(count)s"),
    "company": _("Company: %(name)s (Pleo company ID %(id)s)"),
    "failure": _("Failure: %(label)s (%(value)s) — %(meaning)s"),
    "no_type": _("no type"),
    "actor": _("Who must act: %(actor)s. Next step: %(next_step)s"),
    "state": _("State: %(state)s"),
    "message": _("Pleo's message: %(message)s"),
    "link": _("Link: %(link)s"),
    "as_of": _("Data as of %(when)s (%(source)s)"),
    "stale": _("an older copy: Pleo could not be reached"),
    "fresh": _("from Pleo"),
    "failed_by_type": _("Failed entries by what went wrong:"),
}
TICKET_FAILED_GROUP = ngettext_lazy(
    "- %(label)s: %(count)s entry (who acts: %(who)s)",
    "- %(label)s: %(count)s entries (who acts: %(who)s)",
    "number",
)
