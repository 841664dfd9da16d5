"""Plain-language wording for statuses and failure types, for people who are not engineers.

Each failure type says what happened, who must act and what they do next. An
unknown value (Pleo's enums grow) gets general guidance and is shown raw.
"""

from __future__ import annotations

from dataclasses import dataclass

from .jobs import FailureType, ItemFailureType, ItemStatus, JobStatus


@dataclass(frozen=True)
class StatusWording:
    label: str
    icon: str  # a glyph shown beside the label: colour is never the only signal
    tone: str  # CSS modifier: info, success, warning, danger, neutral
    meaning: str


STATUS: dict[JobStatus, StatusWording] = {
    JobStatus.PENDING: StatusWording(
        "Waiting to start",
        "…",
        "info",
        "Pleo has queued these entries for export, but the accounting integration has not started on them yet.",
    ),
    JobStatus.IN_PROGRESS: StatusWording(
        "Exporting",
        "↻",
        "info",
        "The accounting integration is sending these entries to the accounting system right now.",
    ),
    JobStatus.COMPLETED: StatusWording(
        "Exported",
        "✓",
        "success",
        "Every entry reached the accounting system. Nothing needs to be done.",
    ),
    JobStatus.COMPLETED_WITH_ERRORS: StatusWording(
        "Partly exported",
        "!",
        "warning",
        "The export finished, but some entries were not accepted by the accounting system. "
        "Those entries need fixing and exporting again.",
    ),
    JobStatus.FAILED: StatusWording(
        "Failed",
        "✕",
        "danger",
        "The export stopped and its entries did not reach the accounting system. See below why and who needs to act.",
    ),
}


def status_wording(status: JobStatus | str) -> StatusWording:
    if isinstance(status, JobStatus):
        return STATUS[status]
    return StatusWording(
        f"Unknown status “{status}”",
        "?",
        "neutral",
        f"Pleo reported a status this dashboard does not know yet (“{status}”). "
        "Check the job in Pleo, or ask Pleo support what it means.",
    )


# Who must act. Keys are stable (they appear in the ticket text); labels are for people.
ACTORS = {
    "finance": "You (the finance team)",
    "integration_owner": "The Pleo admin who owns the accounting integration",
    "accounting_admin": "The accounting system's administrator",
    "pleo_support": "Pleo support",
}


@dataclass(frozen=True)
class FailureWording:
    label: str
    meaning: str
    actor: str  # key of ACTORS
    next_step: str

    @property
    def actor_label(self) -> str:
        return ACTORS[self.actor]


_EXPORT_AGAIN = "then press Export again in Pleo."

FAILURE: dict[FailureType, FailureWording] = {
    FailureType.INVALID_CONFIGURATION: FailureWording(
        "Accounting settings are wrong",
        "A setting the export relies on (for example a tax code, account or journal) is wrong, "
        "or the connection to the accounting system is set up incorrectly.",
        "integration_owner",
        "Compare the accounting settings in Pleo with the message below, correct what it names, " + _EXPORT_AGAIN,
    ),
    FailureType.MISSING_CONFIGURATION: FailureWording(
        "Accounting settings are incomplete",
        "A setting the export needs, such as a journal or a default account, has not been filled in.",
        "integration_owner",
        "Fill in the missing setting named in the message below in Pleo's accounting settings, " + _EXPORT_AGAIN,
    ),
    FailureType.AUTHENTICATION_FAILURE: FailureWording(
        "Pleo could not sign in to the integration",
        "Pleo could not authenticate to the integration service that carries exports to the accounting system.",
        "integration_owner",
        "Reconnect the accounting integration in Pleo (Settings → Integrations); "
        "if that fails, contact the integration's provider. When it is connected, press Export again.",
    ),
    FailureType.ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE: FailureWording(
        "The accounting system rejected the login",
        "The integration tried to sign in to the accounting system and was refused, "
        "usually because a password changed or the connection expired.",
        "integration_owner",
        "Reconnect the accounting system in Pleo with a valid login, " + _EXPORT_AGAIN,
    ),
    FailureType.PLEO_RATE_LIMIT: FailureWording(
        "Pleo was too busy (rate limit)",
        "The integration sent Pleo more requests than allowed and gave up after being told to slow down.",
        "finance",
        "Wait about 15 minutes and press Export again. If it happens again, contact Pleo support with this job ID.",
    ),
    FailureType.ACCOUNTING_SYSTEM_RATE_LIMIT: FailureWording(
        "The accounting system was too busy (rate limit)",
        "The accounting system limits how many requests it accepts, and the export could not finish within that limit.",
        "finance",
        "Wait a while, ideally outside busy hours, and press Export again. "
        "If it keeps happening, ask the accounting system's administrator about its API limits.",
    ),
    FailureType.SERVICE_UNREACHABLE: FailureWording(
        "The integration service could not be reached",
        "The service that moves entries from Pleo to the accounting system did not respond. This is usually temporary.",
        "finance",
        "Wait about 15 minutes and press Export again. If it fails again, contact Pleo support with this job ID.",
    ),
    FailureType.ACCOUNTING_SYSTEM_UNREACHABLE: FailureWording(
        "The accounting system could not be reached",
        "The integration could not connect to the accounting system: it may be down, under maintenance or blocking the connection.",
        "accounting_admin",
        "Check that the accounting system is online and reachable (its status page or maintenance notices); "
        "once it is, press Export again in Pleo.",
    ),
    FailureType.VALIDATION_FAILURE: FailureWording(
        "Entries did not pass validation",
        "Some of the data in this export is invalid, so the job could not be processed.",
        "finance",
        "Read the message below, correct the expenses it names in Pleo (move them back to Unexported if needed), "
        + _EXPORT_AGAIN,
    ),
    FailureType.AUTHORIZATION_FAILURE: FailureWording(
        "Access to the accounting system was revoked",
        "The integration's access was withdrawn, or the user who connected it no longer has access in the accounting system.",
        "accounting_admin",
        "Restore access for the integration's user in the accounting system, ask the integration owner to reconnect it in Pleo, "
        + _EXPORT_AGAIN,
    ),
    FailureType.INTEGRATION_UNUSABLE: FailureWording(
        "The integration is blocked",
        "The accounting integration is blocked or cannot be used for this company.",
        "pleo_support",
        "Contact Pleo support with this job ID; exports cannot run until the integration is usable again.",
    ),
    FailureType.JOB_EXPIRED: FailureWording(
        "Expired: nothing happened for too long",
        "The job was not updated within its time limit (about an hour), so Pleo stopped it. "
        "Usually the integration stopped working on it.",
        "finance",
        "Press Export again in Pleo. If exports keep expiring, tell the Pleo admin who owns the accounting integration.",
    ),
    FailureType.SERVICE_TIMEOUT: FailureWording(
        "The integration service took too long",
        "The integration service did not answer in time, and the export was stopped.",
        "finance",
        "Press Export again later. If it keeps timing out, contact Pleo support with this job ID.",
    ),
    FailureType.ACCOUNTING_SYSTEM_TIMEOUT: FailureWording(
        "The accounting system took too long",
        "The accounting system did not answer in time, and the export was stopped.",
        "finance",
        "Press Export again later, ideally outside busy hours or with fewer entries at a time. "
        "If it keeps happening, ask the accounting system's administrator.",
    ),
    FailureType.CANCELED_BY_USER: FailureWording(
        "Cancelled by a user",
        "Someone cancelled this export. Nothing is broken.",
        "finance",
        "If the entries still need to reach the accounting system, press Export again in Pleo.",
    ),
}


def failure_wording(kind: FailureType | str | None) -> FailureWording:
    if isinstance(kind, FailureType):
        return FAILURE[kind]
    if kind:
        return FailureWording(
            f"Unrecognised failure type “{kind}”",
            f"Pleo reported a failure type this dashboard does not know yet (“{kind}”).",
            "pleo_support",
            "Read Pleo's message below. If it does not say what to fix, contact Pleo support with this job ID.",
        )
    return FailureWording(
        "Failure reported without a type",
        "Pleo reported a problem but did not classify it.",
        "pleo_support",
        "Read Pleo's message below. If it does not say what to fix, contact Pleo support with this job ID.",
    )


# --- items ---------------------------------------------------------------------------

ITEM_STATUS_LABELS: dict[ItemStatus, str] = {
    ItemStatus.SUCCESSFUL: "Exported",
    ItemStatus.FAILED: "Failed",
    ItemStatus.PENDING: "Waiting",
    ItemStatus.IN_PROGRESS: "Exporting",
    ItemStatus.ABANDONED: "Not exported (job stopped)",
}

ITEM_FAILURE: dict[ItemFailureType, tuple[str, str, str]] = {
    # label, meaning, actor
    ItemFailureType.RECEIPT_UPLOAD_FAILURE: (
        "Receipt upload failed",
        "The receipt could not be uploaded to the accounting system.",
        "finance",
    ),
    ItemFailureType.RECEIPT_DOWNLOAD_FAILURE: (
        "Receipt download failed",
        "The receipt could not be fetched from Pleo.",
        "pleo_support",
    ),
    ItemFailureType.RECEIPT_FILE_SIZE_LIMIT_EXCEEDED: (
        "Receipt too large",
        "The receipt is bigger than the accounting system accepts: replace it with a smaller file.",
        "finance",
    ),
    ItemFailureType.RECEIPT_CONVERSION_FAILURE: (
        "Receipt could not be converted",
        "The receipt's file type could not be converted: upload it as PDF, PNG or JPEG.",
        "finance",
    ),
    ItemFailureType.UNEXPECTED_FAILURE: (
        "Unexpected error",
        "Something unexpected went wrong with this entry.",
        "pleo_support",
    ),
    ItemFailureType.INVALID_CONFIGURATION: (
        "Wrong accounting setting",
        "A setting this entry relies on is wrong in Pleo or in the accounting system.",
        "integration_owner",
    ),
    ItemFailureType.MISSING_CONFIGURATION: (
        "Missing accounting setting",
        "A setting this entry needs has not been filled in.",
        "integration_owner",
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE: (
        "Accounting system login rejected",
        "The accounting system refused the integration's login.",
        "integration_owner",
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_RATE_LIMIT: (
        "Accounting system too busy",
        "The accounting system's request limit was reached.",
        "finance",
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_UNREACHABLE: (
        "Accounting system unreachable",
        "The accounting system could not be reached.",
        "accounting_admin",
    ),
    ItemFailureType.VALIDATION_FAILURE: (
        "Entry is invalid",
        "The entry's data did not pass validation: correct the expense in Pleo.",
        "finance",
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_VALIDATION_FAILURE: (
        "Rejected by the accounting system",
        "The accounting system rejected the entry as invalid (for example a closed period).",
        "finance",
    ),
    ItemFailureType.AUTHORIZATION_FAILURE: (
        "Access revoked",
        "The integration's access to the accounting system was withdrawn.",
        "accounting_admin",
    ),
    ItemFailureType.ACCOUNTING_SYSTEM_TIMEOUT: (
        "Accounting system took too long",
        "The accounting system did not answer in time.",
        "finance",
    ),
    ItemFailureType.VENDOR_UNKNOWN: (
        "Unknown supplier",
        "The supplier's account number is unknown or invalid in the accounting system.",
        "finance",
    ),
    ItemFailureType.ACCOUNT_UNKNOWN: (
        "Unknown account",
        "The account number is unknown or invalid in the accounting system.",
        "finance",
    ),
    ItemFailureType.TAX_CODE_UNKNOWN: (
        "Unknown tax code",
        "The tax code is unknown or invalid in the accounting system.",
        "integration_owner",
    ),
    ItemFailureType.TAG_UNKNOWN: (
        "Unknown tag",
        "The tag is unknown or invalid in the accounting system.",
        "finance",
    ),
}


def item_status_label(status: ItemStatus | str) -> str:
    return ITEM_STATUS_LABELS.get(status, f"Unknown status “{status}”") if isinstance(status, ItemStatus) else f"Unknown status “{status}”"


def item_failure_wording(kind: ItemFailureType | str | None) -> FailureWording:
    if isinstance(kind, ItemFailureType):
        label, meaning, actor = ITEM_FAILURE[kind]
        return FailureWording(label, meaning, actor, "")
    if kind:
        return FailureWording(f"Unrecognised failure type “{kind}”", "Pleo reported a failure type this dashboard does not know yet.", "pleo_support", "")
    return FailureWording("No failure type given", "Pleo did not classify this failure.", "pleo_support", "")
