"""Job statuses, who acts, and Pleo's job and entry failure types, in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from ..pleo.models import FailureType, ItemFailureType, ItemStatus, JobStatus
from ..verdict import entry_failure_party, job_failure_party

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
            "Pleo reported a status Export Job Desk does not know yet (“%(status)s”). "
            "Check the job in Pleo, or ask Pleo support what it means."
        )
        % {"status": status},
    )


# --- who acts, and job failure types ----------------------------------------------------------

# The parties who act (keys from ``verdict.PARTIES``), as the desk's pages address them.
ACTORS: dict[str, Text] = {
    "finance": _("You (the finance team)"),
    "integration_owner": _("The Pleo admin who owns the accounting integration"),
    "accounting_admin": _("The accounting system's administrator"),
    "pleo_support": _("Pleo support"),
}
# The same parties as a text read elsewhere names them (a ticket, a CSV file, a message): never "you".
PARTY_NAMES: dict[str, Text] = {
    "finance": _("The finance team"),
    "integration_owner": _("The Pleo admin who owns the accounting integration"),
    "accounting_admin": _("The accounting system's administrator"),
    "pleo_support": _("Pleo support"),
}


@dataclass(frozen=True)
class FailureWording:
    label: Text
    meaning: Text
    actor: str  # who fixes it, decided by ``exportjobs.verdict`` (a key of ACTORS)
    next_step: Text

    @property
    def actor_label(self) -> Text:
        return ACTORS[self.actor]


@dataclass(frozen=True)
class EntryFailureWording:
    """An entry failure type in words; who fixes it is ``verdict.ENTRY_FAILURE_PARTY``'s."""

    label: Text
    meaning: Text
    next_step: Text


@dataclass(frozen=True)
class JobFailureWording:
    """A job failure type, in words for a job that failed and for one that was partly exported.

    A failed job stopped: its entries were not exported ("abandoned"), and the next step is about the
    job. A partly exported job finished: the failure type sums up why some entries failed, and the next
    step points at the failed entries the page lists below. Who fixes it is ``verdict.JOB_FAILURE_PARTY``'s.
    """

    label: Text
    meaning: Text  # failed
    next_step: Text  # failed
    partial_meaning: Text  # partly exported
    partial_next_step: Text  # partly exported

    def for_job(self, *, partial: bool, actor: str) -> FailureWording:
        if partial:
            return FailureWording(self.label, self.partial_meaning, actor, self.partial_next_step)
        return FailureWording(self.label, self.meaning, actor, self.next_step)


FAILURE: dict[FailureType, JobFailureWording] = {
    FailureType.INVALID_CONFIGURATION: JobFailureWording(
        _("Accounting settings are wrong"),
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
        return FAILURE[kind].for_job(partial=partial, actor=job_failure_party(kind))
    next_step = UNKNOWN_PARTIAL_NEXT_STEP if partial else UNKNOWN_FAILURE_NEXT_STEP
    if kind:
        return FailureWording(
            gettext("Unrecognised failure type “%(kind)s”") % {"kind": kind},
            gettext("Pleo reported a failure type Export Job Desk does not know yet (“%(kind)s”).") % {"kind": kind},
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

# Each labels a count of entries ("Exported 32"): plural where a language agrees an adjective with its noun.
ITEM_STATUS_LABELS: dict[ItemStatus, Text] = {
    ItemStatus.SUCCESSFUL: pgettext_lazy("a count of entries", "Exported"),
    ItemStatus.FAILED: pgettext_lazy("a count of entries", "Failed"),
    ItemStatus.PENDING: pgettext_lazy("a count of entries", "Waiting"),
    ItemStatus.IN_PROGRESS: pgettext_lazy("a count of entries", "Exporting"),
    ItemStatus.ABANDONED: pgettext_lazy("a count of entries", "Not exported (job stopped)"),
}

ITEM_FAILURE: dict[ItemFailureType, EntryFailureWording] = {
    ItemFailureType.RECEIPT_UPLOAD_FAILURE: EntryFailureWording(
        _("Receipt upload failed"),
        _("The receipt could not be uploaded to the accounting system."),
        _("Export the entry again; if it fails again, replace the receipt with a PDF or image file."),
    ),
    ItemFailureType.RECEIPT_DOWNLOAD_FAILURE: EntryFailureWording(
        _("Receipt download failed"),
        _("The receipt could not be fetched from Pleo."),
        _("Contact Pleo support with this job ID: Pleo could not hand over the receipt."),
    ),
    ItemFailureType.RECEIPT_FILE_SIZE_LIMIT_EXCEEDED: EntryFailureWording(
        _("Receipt too large"),
        _("The receipt is bigger than the accounting system accepts: replace it with a smaller file."),
        _("Replace the receipt in Pleo with a smaller file, then export the entry again."),
    ),
    ItemFailureType.RECEIPT_CONVERSION_FAILURE: EntryFailureWording(
        _("Receipt could not be converted"),
        _("The receipt's file type could not be converted: upload it as PDF, PNG or JPEG."),
        _("Replace the receipt in Pleo with a PDF, PNG or JPEG file, then export the entry again."),
    ),
    ItemFailureType.UNEXPECTED_FAILURE: EntryFailureWording(
        _("Unexpected error"),
        _("Something unexpected went wrong with this entry."),
        _("Export the entry again; if it fails again, contact Pleo support with this job ID."),
    ),
    ItemFailureType.INVALID_CONFIGURATION: EntryFailureWording(
        _("Wrong accounting setting"),
        _("A setting this entry relies on is wrong in Pleo or in the accounting system."),
        _(
            "Correct the setting the integration's message names in Pleo's accounting settings, "
            "then export the entry again."
        ),
    ),
    ItemFailureType.MISSING_CONFIGURATION: EntryFailureWording(
        _("Missing accounting setting"),
        _("A setting this entry needs has not been filled in."),
        _("Fill in the setting the integration's message names, then export the entry again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE: EntryFailureWording(
        _("Accounting system login rejected"),
        _("The accounting system refused the integration's login."),
        _("Reconnect the accounting system in Pleo, then export the entry again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_RATE_LIMIT: EntryFailureWording(
        _("Accounting system too busy"),
        _("The accounting system's request limit was reached."),
        _("Wait a while, ideally outside busy hours, then export the entry again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_UNREACHABLE: EntryFailureWording(
        _("Accounting system unreachable"),
        _("The accounting system could not be reached."),
        _("Once the accounting system can be reached again, export the entry again."),
    ),
    ItemFailureType.VALIDATION_FAILURE: EntryFailureWording(
        _("Entry is invalid"),
        _("The entry's data did not pass validation: correct the expense in Pleo."),
        _("Correct the expense in Pleo as the integration's message says, then export it again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_VALIDATION_FAILURE: EntryFailureWording(
        _("Rejected by the accounting system"),
        _("The accounting system rejected the entry as invalid (for example a closed period)."),
        _("Fix what the accounting system objects to (for example a closed period), then export the entry again."),
    ),
    ItemFailureType.AUTHORIZATION_FAILURE: EntryFailureWording(
        _("Access revoked"),
        _("The integration's access to the accounting system was withdrawn."),
        _("Restore the integration's access in the accounting system, then export the entry again."),
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_TIMEOUT: EntryFailureWording(
        _("Accounting system took too long"),
        _("The accounting system did not answer in time."),
        _("Export the entry again later, ideally outside busy hours."),
    ),
    ItemFailureType.VENDOR_UNKNOWN: EntryFailureWording(
        _("Unknown supplier"),
        _("The supplier's account number is unknown or invalid in the accounting system."),
        _(
            "Create the supplier in the accounting system, or correct its account number in Pleo, "
            "then export the entry again."
        ),
    ),
    ItemFailureType.ACCOUNT_UNKNOWN: EntryFailureWording(
        _("Unknown account"),
        _("The account number is unknown or invalid in the accounting system."),
        _("Choose a category (account) the accounting system knows for this expense, then export it again."),
    ),
    ItemFailureType.TAX_CODE_UNKNOWN: EntryFailureWording(
        _("Unknown tax code"),
        _("The tax code is unknown or invalid in the accounting system."),
        _(
            "Map the tax code to one the accounting system knows in Pleo's accounting settings, "
            "then export the entry again."
        ),
    ),
    ItemFailureType.TAG_UNKNOWN: EntryFailureWording(
        _("Unknown tag"),
        _("The tag is unknown or invalid in the accounting system."),
        _("Create the tag in the accounting system, or choose another tag on the expense, then export it again."),
    ),
}


def item_status_label(status: ItemStatus | str) -> Text:
    if isinstance(status, ItemStatus):
        return ITEM_STATUS_LABELS[status]
    return gettext("Unknown status “%(status)s”") % {"status": status}


def item_failure_wording(kind: ItemFailureType | str | None) -> FailureWording:
    if isinstance(kind, ItemFailureType):
        words = ITEM_FAILURE[kind]
        return FailureWording(words.label, words.meaning, entry_failure_party(kind), words.next_step)
    if kind:
        return FailureWording(
            gettext("Unrecognised failure type “%(kind)s”") % {"kind": kind},
            _("Pleo reported a failure type Export Job Desk does not know yet."),
            "pleo_support",
            UNKNOWN_ITEM_NEXT_STEP,
        )
    return FailureWording(
        _("No failure type given"), _("Pleo did not classify this failure."), "pleo_support", UNKNOWN_ITEM_NEXT_STEP
    )


UNKNOWN_ITEM_NEXT_STEP = _(
    "Read the integration's message; if it does not say what to fix, contact Pleo support with this job ID."
)
