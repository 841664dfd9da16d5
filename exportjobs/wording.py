"""Every sentence a user reads, keyed by status, failure type or error code, marked for translation.

Views, presenters and forms look their words up here; templates lay them out. Pleo's own messages
are never reworded: they are shown as sent, labelled as Pleo's. An unknown status or failure type
(Pleo's enums grow) gets general guidance and is shown raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext, ngettext, ngettext_lazy, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .pleo.models import EntryFamily, FailureType, ItemFailureType, ItemStatus, JobStatus, ReviewStatus

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text  # a string, or a lazily translated one


# --- job statuses -------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusWording:
    label: Text
    icon: str  # a glyph shown beside the label: colour is never the only signal
    tone: str  # CSS modifier: info, success, warning, danger, neutral
    meaning: Text


STATUS: dict[JobStatus, StatusWording] = {
    JobStatus.PENDING: StatusWording(
        _("Waiting to start"),
        "…",
        "info",
        _("Pleo has queued these entries for export, but the accounting integration has not started on them yet."),
    ),
    JobStatus.IN_PROGRESS: StatusWording(
        _("Exporting"),
        "↻",
        "info",
        _("The accounting integration is sending these entries to the accounting system right now."),
    ),
    JobStatus.COMPLETED: StatusWording(
        _("Exported"),
        "✓",
        "success",
        _("Every entry reached the accounting system. Nothing needs to be done."),
    ),
    JobStatus.COMPLETED_WITH_ERRORS: StatusWording(
        _("Partly exported"),
        "!",
        "warning",
        _(
            "The export finished, but some entries were not accepted by the accounting system. "
            "Those entries need fixing and exporting again."
        ),
    ),
    JobStatus.FAILED: StatusWording(
        _("Failed"),
        "✕",
        "danger",
        _(
            "The export stopped and its entries did not reach the accounting system. "
            "See below why and who needs to act."
        ),
    ),
}


CANCELLED = StatusWording(
    _("Cancelled"),
    "⊘",
    "neutral",
    _(
        "The export was stopped before it finished, on purpose rather than by an error. See below what to do "
        "if its entries still need to reach the accounting system."
    ),
)


def status_wording(status: JobStatus | str, failure: FailureType | str | None = None) -> StatusWording:
    """The badge and sentence for a status; a failed job a user cancelled reads as cancelled, not as broken."""
    if status == JobStatus.FAILED and failure == FailureType.CANCELED_BY_USER:
        return CANCELLED
    if isinstance(status, JobStatus):
        return STATUS[status]
    return StatusWording(
        gettext("Unknown status “%(status)s”") % {"status": status},
        "?",
        "neutral",
        gettext(
            "Pleo reported a status this dashboard does not know yet (“%(status)s”). "
            "Check the job in Pleo, or ask Pleo support what it means."
        )
        % {"status": status},
    )


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


# --- who acts, and job failure types ----------------------------------------------------------

# Keys are stable (they appear in the ticket text); labels are for people.
ACTORS: dict[str, Text] = {
    "finance": _("You (the finance team)"),
    "integration_owner": _("The Pleo admin who owns the accounting integration"),
    "accounting_admin": _("The accounting system's administrator"),
    "pleo_support": _("Pleo support"),
}


@dataclass(frozen=True)
class FailureWording:
    label: Text
    meaning: Text
    actor: str  # key of ACTORS
    next_step: Text

    @property
    def actor_label(self) -> Text:
        return ACTORS[self.actor]


@dataclass(frozen=True)
class JobFailureWording:
    """A job failure type, in words for a job that failed and for one that was partly exported.

    A failed job stopped: its entries were not exported ("abandoned"), and the next step is about the
    job. A partly exported job finished: the failure type sums up why some entries failed, and the next
    step points at the failed entries the page lists below.
    """

    label: Text
    actor: str  # key of ACTORS
    meaning: Text  # failed
    next_step: Text  # failed
    partial_meaning: Text  # partly exported
    partial_next_step: Text  # partly exported

    def for_job(self, *, partial: bool) -> FailureWording:
        if partial:
            return FailureWording(self.label, self.partial_meaning, self.actor, self.partial_next_step)
        return FailureWording(self.label, self.meaning, self.actor, self.next_step)


FAILURE: dict[FailureType, JobFailureWording] = {
    FailureType.INVALID_CONFIGURATION: JobFailureWording(
        _("Accounting settings are wrong"),
        "integration_owner",
        _(
            "A setting the export relies on (for example a tax code, account or journal) is wrong, or the "
            "connection to the accounting system is set up incorrectly, so the export stopped before its "
            "entries were exported."
        ),
        _(
            "Compare the accounting settings in Pleo with Pleo's message below, correct what it names, "
            "then press Export again in Pleo."
        ),
        _(
            "Some entries use a setting (for example a tax code, account or journal) that is wrong in Pleo or "
            "in the accounting system, so those entries were not exported. The others were."
        ),
        _(
            "Open the failed entries listed below: each says which setting is wrong. Correct it in Pleo's "
            "accounting settings, then export those entries again."
        ),
    ),
    FailureType.MISSING_CONFIGURATION: JobFailureWording(
        _("Accounting settings are incomplete"),
        "integration_owner",
        _(
            "A setting the export needs, such as a journal or a default account, has not been filled in, so "
            "the export stopped before its entries were exported."
        ),
        _(
            "Fill in the missing setting named in Pleo's message below in Pleo's accounting settings, "
            "then press Export again in Pleo."
        ),
        _(
            "Some entries need a setting, such as a journal or an account, that has not been filled in, so "
            "those entries were not exported. The others were."
        ),
        _(
            "Open the failed entries listed below to see which setting is missing. Fill it in in Pleo's "
            "accounting settings, then export those entries again."
        ),
    ),
    FailureType.AUTHENTICATION_FAILURE: JobFailureWording(
        _("Pleo could not sign in to the integration"),
        "integration_owner",
        _(
            "Pleo could not sign in to the integration service that carries exports to the accounting "
            "system, so the export stopped before its entries were exported."
        ),
        _(
            "Reconnect the accounting integration in Pleo (Settings → Integrations); if that fails, contact "
            "the integration's provider. When it is connected, press Export again."
        ),
        _(
            "Pleo lost its sign-in to the integration service part-way, so some entries were not exported. "
            "The others were."
        ),
        _(
            "Reconnect the accounting integration in Pleo (Settings → Integrations), then export the failed "
            "entries listed below again."
        ),
    ),
    FailureType.ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE: JobFailureWording(
        _("The accounting system rejected the login"),
        "integration_owner",
        _(
            "The integration tried to sign in to the accounting system and was refused, usually because a "
            "password changed or the connection expired, so no entry was exported."
        ),
        _("Reconnect the accounting system in Pleo with a valid login, then press Export again in Pleo."),
        _(
            "The accounting system refused the integration's login part-way, usually because a password "
            "changed or the connection expired, so some entries were not exported. The others were."
        ),
        _(
            "Reconnect the accounting system in Pleo with a valid login, then export the failed entries "
            "listed below again."
        ),
    ),
    FailureType.PLEO_RATE_LIMIT: JobFailureWording(
        _("Pleo was too busy (rate limit)"),
        "finance",
        _(
            "The integration sent Pleo more requests than allowed and gave up after being told to slow down, "
            "so the export stopped."
        ),
        _("Wait about 15 minutes and press Export again. If it happens again, contact Pleo support with this job ID."),
        _(
            "The integration sent Pleo more requests than allowed part-way, so some entries were not "
            "exported. The others were."
        ),
        _(
            "Wait about 15 minutes, then export the failed entries listed below again. If it happens again, "
            "contact Pleo support with this job ID."
        ),
    ),
    FailureType.ACCOUNTING_SYSTEM_RATE_LIMIT: JobFailureWording(
        _("The accounting system was too busy (rate limit)"),
        "finance",
        _(
            "The accounting system limits how many requests it accepts, and the export could not finish "
            "within that limit, so it stopped."
        ),
        _(
            "Wait a while, ideally outside busy hours, and press Export again. If it keeps happening, ask the "
            "accounting system's administrator about its API limits."
        ),
        _(
            "The accounting system's request limit was reached part-way, so some entries were not exported. "
            "The others were."
        ),
        _(
            "Wait a while, ideally outside busy hours, then export the failed entries listed below again. If "
            "it keeps happening, ask the accounting system's administrator about its API limits."
        ),
    ),
    FailureType.SERVICE_UNREACHABLE: JobFailureWording(
        _("The integration service could not be reached"),
        "finance",
        _(
            "The service that moves entries from Pleo to the accounting system did not respond, so the export "
            "stopped. This is usually temporary."
        ),
        _("Wait about 15 minutes and press Export again. If it fails again, contact Pleo support with this job ID."),
        _(
            "The service that moves entries to the accounting system stopped responding part-way, so some "
            "entries were not exported. The others were. This is usually temporary."
        ),
        _(
            "Wait about 15 minutes, then export the failed entries listed below again. If they fail again, "
            "contact Pleo support with this job ID."
        ),
    ),
    FailureType.ACCOUNTING_SYSTEM_UNREACHABLE: JobFailureWording(
        _("The accounting system could not be reached"),
        "accounting_admin",
        _(
            "The integration could not connect to the accounting system: it may be down, under maintenance "
            "or blocking the connection. No entry was exported."
        ),
        _(
            "Check that the accounting system is online and reachable (its status page or maintenance "
            "notices); once it is, press Export again in Pleo."
        ),
        _(
            "The accounting system could not be reached part-way (down, under maintenance or blocking the "
            "connection), so some entries were not exported. The others were."
        ),
        _(
            "Check that the accounting system is online and reachable; once it is, export the failed entries "
            "listed below again."
        ),
    ),
    FailureType.VALIDATION_FAILURE: JobFailureWording(
        _("Entries did not pass validation"),
        "finance",
        _("Some of the data in this export is invalid, so the export stopped before its entries were exported."),
        _(
            "Read Pleo's message below for what is invalid, correct it in Pleo (move the expenses back to "
            "Unexported if needed), then press Export again in Pleo. If the message does not say what, contact "
            "Pleo support with this job ID."
        ),
        _("Some entries did not pass validation, so they were not exported. The others were."),
        _(
            "Open the failed entries listed below: each says what is wrong with it. Correct those expenses in "
            "Pleo, then export them again."
        ),
    ),
    FailureType.AUTHORIZATION_FAILURE: JobFailureWording(
        _("Access to the accounting system was revoked"),
        "accounting_admin",
        _(
            "The integration's access was withdrawn, or the user who connected it no longer has access in "
            "the accounting system, so no entry was exported."
        ),
        _(
            "Restore access for the integration's user in the accounting system, ask the integration owner to "
            "reconnect it in Pleo, then press Export again in Pleo."
        ),
        _(
            "The integration's access to the accounting system was withdrawn part-way, so some entries were "
            "not exported. The others were."
        ),
        _(
            "Restore access for the integration's user in the accounting system, then export the failed "
            "entries listed below again."
        ),
    ),
    FailureType.INTEGRATION_UNUSABLE: JobFailureWording(
        _("The integration is blocked"),
        "pleo_support",
        _("The accounting integration is blocked or cannot be used for this company, so no entry was exported."),
        _("Contact Pleo support with this job ID; exports cannot run until the integration is usable again."),
        _("The accounting integration became blocked part-way, so some entries were not exported. The others were."),
        _(
            "Contact Pleo support with this job ID; the failed entries listed below can be exported again "
            "once the integration is usable."
        ),
    ),
    FailureType.JOB_EXPIRED: JobFailureWording(
        _("Expired: nothing happened for too long"),
        "finance",
        _(
            "The job was not updated within its time limit (about an hour), so Pleo stopped it. Usually the "
            "integration stopped working on it."
        ),
        _(
            "Press Export again in Pleo. If exports keep expiring, tell the Pleo admin who owns the "
            "accounting integration."
        ),
        _(
            "The job ran out of time before every entry was exported: the entries listed below as failed "
            "were not exported. The others were."
        ),
        _(
            "Export the failed entries listed below again. If exports keep running out of time, tell the "
            "Pleo admin who owns the accounting integration."
        ),
    ),
    FailureType.SERVICE_TIMEOUT: JobFailureWording(
        _("The integration service took too long"),
        "finance",
        _("The integration service did not answer in time, and the export was stopped."),
        _("Press Export again later. If it keeps timing out, contact Pleo support with this job ID."),
        _(
            "The integration service did not answer in time for some entries, so those were not exported. "
            "The others were."
        ),
        _(
            "Export the failed entries listed below again later. If they keep timing out, contact Pleo "
            "support with this job ID."
        ),
    ),
    FailureType.ACCOUNTING_SYSTEM_TIMEOUT: JobFailureWording(
        _("The accounting system took too long"),
        "finance",
        _("The accounting system did not answer in time, and the export was stopped."),
        _(
            "Press Export again later, ideally outside busy hours or with fewer entries at a time. If it keeps "
            "happening, ask the accounting system's administrator."
        ),
        _(
            "The accounting system did not answer in time for some entries, so those were not exported. The "
            "others were."
        ),
        _(
            "Export the failed entries listed below again later, ideally outside busy hours. If it keeps "
            "happening, ask the accounting system's administrator."
        ),
    ),
    FailureType.CANCELED_BY_USER: JobFailureWording(
        _("Cancelled by a user"),
        "finance",
        _(
            "Someone cancelled this export in Pleo before it finished. Nothing is broken: its entries were "
            "not exported."
        ),
        _("If the entries still need to reach the accounting system, press Export again in Pleo."),
        _(
            "Someone cancelled this export part-way. Nothing is broken: the entries listed below as failed "
            "were not exported; the others were."
        ),
        _("If the failed entries listed below still need to reach the accounting system, export them again."),
    ),
}

UNKNOWN_FAILURE_NEXT_STEP = _(
    "Read Pleo's message below. If it does not say what to fix, contact Pleo support with this job ID."
)
UNKNOWN_PARTIAL_NEXT_STEP = _(
    "Open the failed entries listed below: each says what is wrong with it and who fixes it. If they do not, "
    "contact Pleo support with this job ID."
)


def failure_wording(kind: FailureType | str | None, *, partial: bool = False) -> FailureWording:
    """The words for a job's failure type: for a failed job, or (``partial``) a partly exported one."""
    if isinstance(kind, FailureType):
        return FAILURE[kind].for_job(partial=partial)
    next_step = UNKNOWN_PARTIAL_NEXT_STEP if partial else UNKNOWN_FAILURE_NEXT_STEP
    if kind:
        return FailureWording(
            gettext("Unrecognised failure type “%(kind)s”") % {"kind": kind},
            gettext("Pleo reported a failure type this dashboard does not know yet (“%(kind)s”).") % {"kind": kind},
            "pleo_support",
            next_step,
        )
    return FailureWording(
        _("Failure reported without a type"),
        _("Pleo reported a problem but did not classify it."),
        "pleo_support",
        next_step,
    )


CANCELLED_HEADING = _("Why it stopped")
FAILURE_HEADINGS: dict[JobStatus, Text] = {
    JobStatus.FAILED: _("Why it failed"),
    JobStatus.COMPLETED_WITH_ERRORS: _("Why some entries were not exported"),
}
FAILURE_HEADING_OTHER = _("Problem reported")


# --- entries (export items) -------------------------------------------------------------------

ITEM_STATUS_LABELS: dict[ItemStatus, Text] = {
    ItemStatus.SUCCESSFUL: _("Exported"),
    ItemStatus.FAILED: _("Failed"),
    ItemStatus.PENDING: _("Waiting"),
    ItemStatus.IN_PROGRESS: _("Exporting"),
    ItemStatus.ABANDONED: _("Not exported (job stopped)"),
}

ITEM_FAILURE: dict[ItemFailureType, FailureWording] = {
    ItemFailureType.RECEIPT_UPLOAD_FAILURE: FailureWording(
        _("Receipt upload failed"),
        _("The receipt could not be uploaded to the accounting system."),
        "finance",
        _("Export the entry again; if it fails again, replace the receipt with a PDF or image file."),
    ),
    ItemFailureType.RECEIPT_DOWNLOAD_FAILURE: FailureWording(
        _("Receipt download failed"),
        _("The receipt could not be fetched from Pleo."),
        "pleo_support",
        _("Contact Pleo support with this job ID: Pleo could not hand over the receipt."),
    ),
    ItemFailureType.RECEIPT_FILE_SIZE_LIMIT_EXCEEDED: FailureWording(
        _("Receipt too large"),
        _("The receipt is bigger than the accounting system accepts: replace it with a smaller file."),
        "finance",
        _("Replace the receipt in Pleo with a smaller file, then export the entry again."),
    ),
    ItemFailureType.RECEIPT_CONVERSION_FAILURE: FailureWording(
        _("Receipt could not be converted"),
        _("The receipt's file type could not be converted: upload it as PDF, PNG or JPEG."),
        "finance",
        _("Replace the receipt in Pleo with a PDF, PNG or JPEG file, then export the entry again."),
    ),
    ItemFailureType.UNEXPECTED_FAILURE: FailureWording(
        _("Unexpected error"),
        _("Something unexpected went wrong with this entry."),
        "pleo_support",
        _("Export the entry again; if it fails again, contact Pleo support with this job ID."),
    ),
    ItemFailureType.INVALID_CONFIGURATION: FailureWording(
        _("Wrong accounting setting"),
        _("A setting this entry relies on is wrong in Pleo or in the accounting system."),
        "integration_owner",
        _(
            "Correct the setting the integration's message names in Pleo's accounting settings, "
            "then export the entry again."
        ),
    ),
    ItemFailureType.MISSING_CONFIGURATION: FailureWording(
        _("Missing accounting setting"),
        _("A setting this entry needs has not been filled in."),
        "integration_owner",
        _("Fill in the setting the integration's message names, then export the entry again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE: FailureWording(
        _("Accounting system login rejected"),
        _("The accounting system refused the integration's login."),
        "integration_owner",
        _("Reconnect the accounting system in Pleo, then export the entry again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_RATE_LIMIT: FailureWording(
        _("Accounting system too busy"),
        _("The accounting system's request limit was reached."),
        "finance",
        _("Wait a while, ideally outside busy hours, then export the entry again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_UNREACHABLE: FailureWording(
        _("Accounting system unreachable"),
        _("The accounting system could not be reached."),
        "accounting_admin",
        _("Once the accounting system can be reached again, export the entry again."),
    ),
    ItemFailureType.VALIDATION_FAILURE: FailureWording(
        _("Entry is invalid"),
        _("The entry's data did not pass validation: correct the expense in Pleo."),
        "finance",
        _("Correct the expense in Pleo as the integration's message says, then export it again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_VALIDATION_FAILURE: FailureWording(
        _("Rejected by the accounting system"),
        _("The accounting system rejected the entry as invalid (for example a closed period)."),
        "finance",
        _("Fix what the accounting system objects to (for example a closed period), then export the entry again."),
    ),
    ItemFailureType.AUTHORIZATION_FAILURE: FailureWording(
        _("Access revoked"),
        _("The integration's access to the accounting system was withdrawn."),
        "accounting_admin",
        _("Restore the integration's access in the accounting system, then export the entry again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_TIMEOUT: FailureWording(
        _("Accounting system took too long"),
        _("The accounting system did not answer in time."),
        "finance",
        _("Export the entry again later, ideally outside busy hours."),
    ),
    ItemFailureType.VENDOR_UNKNOWN: FailureWording(
        _("Unknown supplier"),
        _("The supplier's account number is unknown or invalid in the accounting system."),
        "finance",
        _(
            "Create the supplier in the accounting system, or correct its account number in Pleo, "
            "then export the entry again."
        ),
    ),
    ItemFailureType.ACCOUNT_UNKNOWN: FailureWording(
        _("Unknown account"),
        _("The account number is unknown or invalid in the accounting system."),
        "finance",
        _("Choose a category (account) the accounting system knows for this expense, then export it again."),
    ),
    ItemFailureType.TAX_CODE_UNKNOWN: FailureWording(
        _("Unknown tax code"),
        _("The tax code is unknown or invalid in the accounting system."),
        "integration_owner",
        _(
            "Map the tax code to one the accounting system knows in Pleo's accounting settings, "
            "then export the entry again."
        ),
    ),
    ItemFailureType.TAG_UNKNOWN: FailureWording(
        _("Unknown tag"),
        _("The tag is unknown or invalid in the accounting system."),
        "finance",
        _("Create the tag in the accounting system, or choose another tag on the expense, then export it again."),
    ),
}


def item_status_label(status: ItemStatus | str) -> Text:
    if isinstance(status, ItemStatus):
        return ITEM_STATUS_LABELS[status]
    return gettext("Unknown status “%(status)s”") % {"status": status}


def item_failure_wording(kind: ItemFailureType | str | None) -> FailureWording:
    if isinstance(kind, ItemFailureType):
        return ITEM_FAILURE[kind]
    if kind:
        return FailureWording(
            gettext("Unrecognised failure type “%(kind)s”") % {"kind": kind},
            _("Pleo reported a failure type this dashboard does not know yet."),
            "pleo_support",
            UNKNOWN_ITEM_NEXT_STEP,
        )
    return FailureWording(
        _("No failure type given"), _("Pleo did not classify this failure."), "pleo_support", UNKNOWN_ITEM_NEXT_STEP
    )


UNKNOWN_ITEM_NEXT_STEP = _(
    "Read the integration's message; if it does not say what to fix, contact Pleo support with this job ID."
)


ENTRIES_UNKNOWN_COUNT = _("unknown")
ENTRIES_RANGE = _("%(first)s–%(last)s of %(of)s")
ENTRIES_MORE = _(
    "Pleo has more failed entries than the desk lists: these are the first %(shown)s. Fix these and export "
    "again to see the rest."
)
ENTRIES_ABANDONED = _(
    "None of the entries failed on its own: the export stopped before exporting them. Once the problem above "
    "is fixed, pressing Export again in Pleo exports them."
)
ENTRIES_CANCELLED = _(
    "None of the entries failed: the export was cancelled before exporting them. If they still need to reach "
    "the accounting system, press Export again in Pleo."
)
ENTRIES_OWN_FAILURES = _(
    "The export stopped (see above), and Pleo also reports entries that failed on their own before it did: each "
    "row below says what went wrong with that entry and who fixes it."
)
ENTRIES_OWN_ACTORS = _(
    "The panel above sums up the job; each failed entry below has its own reason, and sometimes someone else "
    "fixes it: each row says who."
)
ENTRIES_NONE_FAILED = _("No entry failed.")


# --- the job page: times, timeline, warnings, ticket text -----------------------------------------

TIME_LABELS: dict[str, Text] = {
    "created": _("Created"),
    "started": _("Started"),
    "completed": _("Completed"),
    "expired": _("Expired"),
    "updated": _("Last update"),
    "finished": _("Finished"),
    "stopped": _("Stopped"),
    "fetched": _("Fetched"),
    "expires": _("Expires (approx.)"),
}
TIME_HELP: dict[str, Text] = {
    "created": _("When someone pressed Export in Pleo"),
    "started": _("When the integration began sending entries"),
    "completed": _("When the job finished"),
    "expired": _("When Pleo gave up waiting for the job"),
    "updated": _("The last time anything happened to the job"),
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
    "never_started": _("never started"),
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


STUCK = _(
    "Nothing has happened to this job for %(duration)s. It may be stuck: if it does not move soon it will expire. "
    "Ask the Pleo admin who owns the accounting integration to check it."
)
JOB_COMPANY: dict[str, Text] = {"label": _("Company"), "hint": _("and its Pleo ID, for Pleo support")}
STARTED_AUTOMATICALLY = _("Pleo's system, automatically")
STARTED_BY_PERSON = _("A person in Pleo, by pressing Export")
BY_PERSON = _("a person in Pleo")
BY_SYSTEM = _("Pleo's system")
# The job page's main heading: what a person recognises of the job.
JOB_TITLE = ngettext_lazy(
    "Export of %(count)s entry, started %(when)s by %(who)s",
    "Export of %(count)s entries, started %(when)s by %(who)s",
    "number",
)

# The plain-text summary for a ticket.
TICKET = {
    "title": _("Pleo export job %(id)s"),
    "status": _("Status: %(label)s (%(value)s) — %(meaning)s"),
    "entries": _("Entries: %(count)s"),
    "company": _("Company: %(name)s (Pleo company ID %(id)s)"),
    "failure": _("Failure: %(label)s (%(value)s) — %(meaning)s"),
    "no_type": _("no type"),
    "actor": _("Who must act: %(actor)s. Next step: %(next_step)s"),
    "message": _("Pleo's message: %(message)s"),
    "link": _("Link: %(link)s"),
    "as_of": _("Data as of %(when)s (%(source)s)"),
    "stale": _("stale copy"),
    "fresh": _("from Pleo"),
}


# --- errors: what the user reads for each PleoError code ------------------------------------------


@dataclass(frozen=True)
class ErrorWording:
    title: Text
    explanation: Text
    next_step: Text


ERRORS: dict[str, ErrorWording] = {
    "not_found": ErrorWording(
        _("No export job with this ID"),
        _("Pleo has no export job with this ID."),
        _(
            "Check the ID for typos (compare it with the ticket). If it is right, the job may belong to another "
            "Pleo environment (staging or production) or to a company this dashboard's Pleo access does not cover."
        ),
    ),
    "auth": ErrorWording(
        _("Pleo refused the dashboard's access"),
        _(
            "Pleo did not accept this dashboard's credentials, so no job can be shown right now. "
            "This is not about your own sign-in."
        ),
        _("Tell the dashboard's administrator: its Pleo API token or key needs renewing or more access."),
    ),
    "rate_limited": ErrorWording(
        _("Pleo asked us to slow down"),
        _("Pleo is limiting how often this dashboard may ask it for data."),
        _("Wait a minute and try again."),
    ),
    "unavailable": ErrorWording(
        _("Pleo could not be reached"),
        _("Pleo's export service did not answer properly. This is usually temporary."),
        _("Try again in a few minutes. If it lasts, check Pleo's status page."),
    ),
    "timeout": ErrorWording(
        _("Pleo took too long to answer"),
        _("Pleo did not answer within the time limit."),
        _("Try again in a minute. If it keeps happening, tell the dashboard's administrator."),
    ),
    "busy": ErrorWording(
        _("Pleo is busy right now"),
        _(
            "The desk is already waiting on Pleo for several other requests, so it did not ask again for this one. "
            "This protects the desk while Pleo is slow."
        ),
        _("Try again in a few seconds."),
    ),
    "over_budget": ErrorWording(
        _("You have asked Pleo for a lot in a short time"),
        _(
            "To keep Pleo answering for the whole finance team, the desk limits how often one person can make it "
            "ask Pleo. Jobs the desk already has in its cache still open as usual."
        ),
        _("Wait a little and try again. If your work needs more, ask the dashboard's administrator."),
    ),
    "bad_response": ErrorWording(
        _("Pleo sent an answer we could not read"),
        _("Pleo's answer was not in the expected format, so the dashboard cannot show it safely."),
        _(
            "Try again in a few minutes. If it keeps happening, tell the dashboard's administrator "
            "and quote the job ID."
        ),
    ),
}
GENERIC_ERROR = ErrorWording(
    _("Pleo could not be asked"), _("Something went wrong while asking Pleo."), _("Try again later.")
)


def error_wording(code: str) -> ErrorWording:
    return ERRORS.get(code, GENERIC_ERROR)


# The parts of an error page around its own words.
ERROR_PAGE = {
    "connection_kicker": _("The desk's connection to Pleo"),
    "connection_not_job": _(
        "This is about the desk asking Pleo, not about the export job: the job's status is unknown until Pleo answers."
    ),
    "next_heading": _("What to do next"),
    "try_again": _("Try again"),
    "technical_detail": _("Technical detail for support"),
    "look_up_another": _("Look up another job"),
}
CONTACT_LABEL = _("Whom to ask:")

TRY_AGAIN_AT = _("You can ask again from %(time)s (in %(duration)s).")
BULK_OVER_BUDGET = _("Some jobs were not looked up: you have asked Pleo for a lot in a short time. %(retry)s")

AUDIT_UNAVAILABLE = ErrorWording(
    _("The desk cannot record this look right now"),
    _(
        "Every look at an export job is recorded, and the record could not be written just now, "
        "so the desk does not show the job."
    ),
    _("Try again in a minute. If it lasts, tell the dashboard's administrator: the desk's database is not answering."),
)
SERVER_ERROR_PLAIN = _("Something went wrong on our side. Reference:")


# --- banners, notices and flash messages -----------------------------------------------------------

STALE_BANNER = _("Pleo could not be reached; showing what it said at %(time)s (%(relative)s).")
STALE_BANNER_MORE = _("The job may have changed since. Try Refresh in a few minutes.")
ENTRIES_FAILED_NOTICE = _("The entries could not be loaded: %(problem)s.")
ENTRIES_FAILED_MORE = _("The job itself is shown above. Try Refresh in a few minutes.")
REFRESH_FAILED = _("Refresh failed: %(title)s.")
REFRESH_STALE = _("Refresh failed: Pleo could not be reached, so the page still shows an older copy.")
BULK_TIMEOUT = _("Pleo did not answer in time for this job.")
BULK_NO_STATUS = StatusWording(_("Not known"), "?", "neutral", _("Pleo gave no answer about this job."))
# Who acts when a job of a bulk lookup could not be shown, by the error's code.
BULK_ERROR_WHO: dict[str, Text] = {
    "not_found": _("You: check the ID against the ticket"),
    "auth": _("The dashboard's administrator"),
    "over_budget": _("You: try again a little later"),
    "bad_response": _("The dashboard's administrator, if it lasts"),
    "unavailable": _("Nobody yet: try again in a few minutes"),
}
# A job without a failure, in a few words and who acts on it (the bulk table, the needs-attention list).
JOB_IN_SHORT: dict[str, tuple[Text, Text]] = {
    "pending": (_("Waiting for the integration to start"), _("Nobody yet: it starts by itself")),
    "in_progress": (_("Being exported now"), _("Nobody yet: wait for it to finish")),
    "completed": (_("Every entry exported"), _("Nobody: nothing to do")),
    "completed_with_errors": (_("Some entries were not exported"), _("Open the job to see who fixes which entry")),
    "failed": (_("Failed, without a reason from Pleo"), _("Pleo support")),
    "unknown": (_("A status the desk does not know"), _("Pleo support, if it is unclear")),
}
ENTRIES_COUNT = ngettext_lazy("%(count)s entry", "%(count)s entries", "number")
BAD_LINK = _("The link you followed does not contain a valid export job ID. Check the ticket, or paste the ID below.")


# --- forms --------------------------------------------------------------------------------------

LOOKUP_LABEL = _("Export job ID")
LOOKUP_PLACEHOLDER = _("e.g. 3c90c3cc-0d44-4b50-8888-8dd25736052a")
LOOKUP_ERRORS: dict[str, Text] = {
    "required": _("Paste an export job ID, a link to a job or the ticket text that contains it."),
    "max_length": _("That is too much text: paste just the part of the ticket that contains the job ID."),
    "no_id": _("No export job ID found in what you pasted. A job ID looks like 3c90c3cc-0d44-4b50-8888-8dd25736052a."),
    "several_ids": _("What you pasted contains %(count)d different IDs. Paste just the one job you want to see."),
}


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
    "cache": _("Fetched from Pleo at %(time)s (%(relative)s), shown from the dashboard's cache."),
    "stale": _("Stale copy fetched from Pleo at %(time)s (%(relative)s)."),
}
ATTENTION_STALE_MORE = _("The list may have changed since. Try Refresh in a few minutes.")

ATTENTION_FORM_ERRORS: dict[str, Text] = {
    "period": _("“%(value)s” is not a period this page offers: choose 24 hours, 7 days or 30 days."),
    "status": _(
        "“%(value)s” is not a status this page shows: choose failed, partly exported, waiting to start or exporting."
    ),
    "company": _("“%(value)s” is not a Pleo company ID: it looks like f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e."),
    "format": _("“%(value)s” is not a download this page offers: leave it out, or use csv."),
}

ATTENTION_ROW: dict[str, Text] = {
    "who_acts": _("Who acts: %(actor)s"),
    "no_reason": _("Pleo gave no reason: open the job to see which entries failed."),
    "stuck_quiet": _("May be stuck: nothing has happened for %(duration)s."),
    "stuck_overdue": _("May be stuck: past its expiry time by about %(duration)s."),
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


def attention_home_line(*, failed: int, partly: int, stuck: int, period: str) -> str:
    """The home page's one line about the cached list: "3 jobs failed and 1 job may be stuck in the last 7 days"."""
    parts = []
    if failed:
        parts.append(ngettext("%(count)d job failed", "%(count)d jobs failed", failed) % {"count": failed})
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
    _("What happened"),
    _("Failure type (Pleo's value)"),
    _("Who acts"),
    _("May be stuck"),
    _("Created (UTC)"),
    _("Last update (UTC)"),
    _("Entries"),
    _("Company"),
    _("Company ID"),
    _("Link"),
)

# "Created: 28 Nov 2026 15:31 UTC": a label and its value (French puts a space before the colon).
LABEL_VALUE = pgettext_lazy("a label and its value", "%(label)s: %(value)s")

# --- what each failed entry is (Pleo's accounting entry) ------------------------------------------

ENTRY_FAMILY: dict[EntryFamily, Text] = {
    EntryFamily.BALANCE_AMENDMENT: _("Balance adjustment"),
    EntryFamily.BILL_INVOICE: _("Supplier invoice"),
    EntryFamily.CARD_PURCHASE: _("Card purchase"),
    EntryFamily.CASHBACK: _("Cashback"),
    EntryFamily.CREDIT_NOTE: _("Credit note"),
    EntryFamily.MILEAGE: _("Mileage"),
    EntryFamily.OUT_OF_POCKET: _("Out-of-pocket expense"),
    EntryFamily.OVERDRAFT: _("Overdraft fee or interest"),
    EntryFamily.PER_DIEM: _("Daily allowance (per diem)"),
    EntryFamily.PLEO_INVOICE: _("Pleo invoice"),
    EntryFamily.REIMBURSEMENT: _("Reimbursement"),
    EntryFamily.WALLET: _("Wallet top-up or withdrawal"),
    EntryFamily.BILL_INVOICE_PAYMENT: _("Supplier invoice paid from the wallet"),
}

# A card purchase's ``subFamily`` in words; other families (and other sub-families) show the family alone.
CARD_PURCHASE_KIND: dict[str, Text] = {
    "ONLINE": _("Card purchase (online)"),
    "IN_STORE": _("Card purchase (in store)"),
    "ATM": _("Cash withdrawal (ATM)"),
}

REVIEW_STATUS: dict[ReviewStatus, Text] = {
    ReviewStatus.NOT_OK: _("Rejected in review"),
    ReviewStatus.NOT_REQUIRED: _("No review needed"),
    ReviewStatus.NOT_SET: _("Not reviewed"),
    ReviewStatus.OK: _("Approved in review"),
    ReviewStatus.WAITING_FOR_EXPENSE_OWNER: _("Waiting for the person who spent"),
    ReviewStatus.WAITING_FOR_REVIEWER: _("Waiting for a reviewer"),
    ReviewStatus.WAITING_FOR_COMPANY_REVIEWER: _("Waiting for the company's reviewer"),
    ReviewStatus.WAITING_FOR_TEAM_REVIEWER: _("Waiting for the team's reviewer"),
    ReviewStatus.WAITING_FOR_TAG_REVIEWER: _("Waiting for the tag's reviewer"),
}


def entry_kind(family: EntryFamily | str, sub_family: str | None) -> str:
    """ "Card purchase (online)", "Mileage", …; a family the desk does not know yet is shown as Pleo sent it."""
    if family == EntryFamily.CARD_PURCHASE and sub_family in CARD_PURCHASE_KIND:
        return str(CARD_PURCHASE_KIND[sub_family])
    if isinstance(family, EntryFamily):
        return str(ENTRY_FAMILY[family])
    return gettext("Pleo's kind “%(kind)s”") % {"kind": family}


def review_status_words(status: ReviewStatus | str) -> str:
    if isinstance(status, ReviewStatus):
        return str(REVIEW_STATUS[status])
    return gettext("Review status “%(status)s”") % {"status": status}


ENTRY_DETAILS: dict[str, Text] = {
    "booked": _("Amount booked"),
    "booked_hint": _("in the company's currency"),
    "no_note": _("No note"),
    "whole_note": _("Show the whole note"),
    "category": _("Category (account)"),
    "no_category": _("No category chosen"),
    "unknown_category": _("“I don't know” was chosen"),
    "receipt": _("Receipt"),
    "review": _("Review"),
    "entry_id": _("Pleo accounting entry ID"),
    "copy": _("Copy"),
    "gone": _("This entry no longer exists in Pleo."),
    "waiting": _("Details not available yet."),
}


def receipt_words(count: int) -> str:
    """ "1 receipt attached", "No receipt attached"."""
    if count == 0:
        return gettext("No receipt attached")
    return ngettext("%(count)s receipt attached", "%(count)s receipts attached", count) % {"count": count}


# Why failed entries are listed without what they are: one notice per page, keyed by the problem.
ENTRY_NOTICES: dict[str, Text] = {
    "refused": _(
        "Pleo refused to tell the desk what these entries are (403): the desk's Pleo API key needs read access "
        "to accounting entries (the Accounting Entries API) for these details. The entries are listed without "
        "them; an administrator can grant that access to the key."
    ),
    "over_budget": _(
        "You have made the desk ask Pleo very often in the last few minutes, so the entries are listed without "
        "their details for now. They will show again shortly."
    ),
    "busy": _("The desk is busy asking Pleo for other pages, so the entries are listed without their details."),
    "unavailable": _(
        "Pleo could not say what these entries are right now, so some are listed without their details. "
        "Refresh the page in a little while."
    ),
    "timeout": _(
        "Pleo took too long to say what some entries are, so they are listed without their details. "
        "They will show when you open this page again."
    ),
}


# --- sign-in with the company's identity provider (OpenID Connect) ----------------------------------

SIGN_IN_WITH = _("Sign in with %(provider)s")
SIGN_IN_WITH_COMPANY = _("Sign in with your company account")
PASSWORD_OFF = _(
    "Passwords are turned off on this desk: sign in with your company account. Only the administrators' "
    "emergency accounts may use a password here, and only the right one."
)

# A sign-in with the provider that did not happen, keyed by why (exportjobs.oidc.SignInRefused.code).
SIGN_IN_FAILURES: dict[str, ErrorWording] = {
    "unavailable": ErrorWording(
        _("Your company's sign-in cannot be reached"),
        _(
            "The desk could not reach your company's sign-in service, or the service did not answer the way "
            "the desk is set up for. You are not signed in."
        ),
        _("Try again in a few minutes. If it lasts, tell the dashboard's administrator."),
    ),
    "expired": ErrorWording(
        _("This sign-in has expired"),
        _(
            "The sign-in took too long, was already used, or was started in another browser or tab that has "
            "since been closed, so the desk cannot finish it."
        ),
        _("Start the sign-in again: it takes one click."),
    ),
    "cancelled": ErrorWording(
        _("Sign-in was cancelled"),
        _("Your company's sign-in service did not sign you in: the sign-in was cancelled there, or it said no."),
        _("Sign in again when you are ready. If you did not cancel, ask the dashboard's administrator."),
    ),
    "refused": ErrorWording(
        _("The desk could not trust this sign-in"),
        _(
            "The answer from your company's sign-in service did not pass the desk's security checks, so you "
            "are not signed in."
        ),
        _("Try again. If it happens again, tell the dashboard's administrator when it happened."),
    ),
    "not_allowed": ErrorWording(
        _("Your account is turned off on the desk"),
        _("Your company's sign-in service knows you, but your account on this desk has been deactivated."),
        _("Ask the dashboard's administrator to turn it on again."),
    ),
    "locked": ErrorWording(
        _("Sign-in is paused for 15 minutes"),
        _(
            "There were too many failed sign-in attempts for this user name from this address (or for many "
            "names from this address), so sign-in is refused here for a while to protect the account."
        ),
        _("Wait 15 minutes and try again."),
    ),
}
SIGN_IN_FAILURE_PAGE = {
    "kicker": _("Signing in"),
    "next_heading": _("What to do next"),
    "again": _("Sign in again"),
    "technical_detail": _("Technical detail for support"),
}
