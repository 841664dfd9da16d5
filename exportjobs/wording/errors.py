"""What the user reads when Pleo gave no usable answer: error pages, banners, notices, flash messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from .statuses import StatusWording

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text  # a string, or a lazily translated one


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
            "Pleo environment (staging or production) or to a company Export Job Desk's access to Pleo does not cover."
        ),
    ),
    "auth": ErrorWording(
        _("Pleo refused Export Job Desk's access"),
        _(
            "Pleo did not accept Export Job Desk's access, so no job can be shown right now. "
            "This is not about your own sign-in."
        ),
        _("Tell Export Job Desk's administrator: its access to Pleo needs renewing or widening."),
    ),
    "rate_limited": ErrorWording(
        _("Pleo asked Export Job Desk to wait"),
        _("Pleo is limiting how often Export Job Desk may ask it for data."),
        _("Wait a minute and try again."),
    ),
    "unavailable": ErrorWording(
        _("Pleo could not be reached"),
        _("Pleo's export service did not answer properly. This is usually temporary."),
        _(
            "Try again in a few minutes. If it lasts, tell Export Job Desk's administrator, who can check with "
            "Pleo support."
        ),
    ),
    "timeout": ErrorWording(
        _("Pleo took too long to answer"),
        _("Pleo did not answer within the time limit."),
        _("Try again in a minute. If it keeps happening, tell Export Job Desk's administrator."),
    ),
    "busy": ErrorWording(
        _("Pleo is busy right now"),
        _(
            "Export Job Desk is already waiting on Pleo for several other requests, so it did not ask again for this "
            "one. This keeps it working for everyone while Pleo is slow."
        ),
        _("Try again in a few seconds."),
    ),
    "over_budget": ErrorWording(
        _("You have asked Pleo for a lot in a short time"),
        _(
            "To keep Pleo answering for the whole finance team, Export Job Desk limits how often one person can make "
            "it ask Pleo. Jobs it looked up in the last few minutes still open as usual."
        ),
        _("Wait a little and try again. If your work needs more, ask Export Job Desk's administrator."),
    ),
    "bad_response": ErrorWording(
        _("Pleo sent an answer that could not be read"),
        _("Pleo's answer was not in the expected format, so Export Job Desk cannot show it safely."),
        _(
            "Try again in a few minutes. If it keeps happening, tell Export Job Desk's administrator "
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
    "connection_kicker": _("Export Job Desk's connection to Pleo"),
    "connection_not_job": _(
        "This is about Export Job Desk asking Pleo, not about the export job: the job's status is unknown until Pleo "
        "answers."
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
    _("Export Job Desk cannot record this look right now"),
    _(
        "Every look at an export job is recorded, and the record could not be written just now, "
        "so Export Job Desk does not show the job."
    ),
    _("Try again in a minute. If it lasts, tell Export Job Desk's administrator: its database is not answering."),
)
SERVER_ERROR_PLAIN = _("Something went wrong on our side. Reference:")


# --- banners, notices and flash messages -----------------------------------------------------------

STALE_BANNER = _("Pleo could not be reached; showing what it said at %(time)s (%(relative)s).")
# The banner over a stale copy, by why Pleo gave no fresh answer (a key of ``policy.POLICY``); the others
# get ``STALE_BANNER``.
STALE_BANNERS: dict[str, Text] = {
    "busy": _("Pleo is busy right now; showing what it said at %(time)s (%(relative)s)."),
    "timeout": _("Pleo is slow to answer right now; showing what it said at %(time)s (%(relative)s)."),
    "rate_limited": _(
        "Pleo is limiting how often Export Job Desk may ask right now; showing what it said at %(time)s (%(relative)s)."
    ),
}
STALE_BANNER_MORE = _("The job may have changed since. Try Refresh in a few minutes.")
ENTRIES_FAILED_NOTICE = _("The entries could not be loaded. %(problem)s.")
ENTRIES_FAILED_MORE = _("The job itself is shown above. Try Refresh in a few minutes.")
REFRESH_FAILED = _("Refresh failed: %(title)s.")
REFRESH_STALE = _("Refresh failed: Pleo could not be reached, so the page still shows an older copy.")
BULK_TIMEOUT = _("Pleo did not answer in time for this job.")
BULK_NO_STATUS = StatusWording(_("Not known"), "?", "neutral", _("Pleo gave no answer about this job."))
# Who acts when a job of a bulk lookup could not be shown, by the error's code.
BULK_ERROR_WHO: dict[str, Text] = {
    "not_found": _("You: check the ID against the ticket"),
    "auth": _("Export Job Desk's administrator"),
    "over_budget": _("You: try again a little later"),
    "bad_response": _("Export Job Desk's administrator, if it lasts"),
    "unavailable": _("Nobody yet: try again in a few minutes"),
}
# A job without a failure, in a few words and who acts on it (the bulk table, the needs-attention list).
JOB_IN_SHORT: dict[str, tuple[Text, Text]] = {
    "pending": (_("Waiting for the integration to start"), _("Nobody yet: it starts by itself")),
    "in_progress": (_("Being exported now"), _("Nobody yet: wait for it to finish")),
    "completed": (_("Every entry exported"), _("Nobody: nothing to do")),
    "completed_with_errors": (_("Some entries were not exported"), _("Open the job to see who fixes which entry")),
    "failed": (_("Failed, without a reason from Pleo"), _("Pleo support")),
    "unknown": (_("A status Export Job Desk does not know"), _("Pleo support, if it is unclear")),
}
BAD_LINK = _("The link you followed does not contain a valid export job ID. Check the ticket, or paste the ID below.")
