"""Alerts: the messages a rule or a watched job sends, the /alerts/ page's notices and its form's errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from ..verdict import State

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text

# The states a rule may fire on, as the form offers them (possibly stuck includes overdue).
ALERT_STATES: dict[State, Text] = {
    State.FAILED: _("Failed"),
    State.PARTLY_EXPORTED: _("Partly exported"),
    State.POSSIBLY_STUCK: _("Possibly stuck"),
    State.CANCELLED: _("Cancelled"),
}

# A message's subject: one job, or several that reached the same state for the same reason.
ALERT_SUBJECT_ONE = _("%(state)s: %(what)s (%(firm)s)")
ALERT_SUBJECT_MANY: dict[State, Text] = {
    State.FAILED: ngettext_lazy("%(count)s export failed: %(what)s", "%(count)s exports failed: %(what)s", "count"),
    State.PARTLY_EXPORTED: ngettext_lazy(
        "%(count)s export partly exported: %(what)s", "%(count)s exports partly exported: %(what)s", "count"
    ),
    State.POSSIBLY_STUCK: ngettext_lazy(
        "%(count)s export possibly stuck: %(what)s", "%(count)s exports possibly stuck: %(what)s", "count"
    ),
    State.CANCELLED: ngettext_lazy(
        "%(count)s export cancelled: %(what)s", "%(count)s exports cancelled: %(what)s", "count"
    ),
}
ALERT_SUBJECT_DIGEST = ngettext_lazy(
    "Export Job Desk: %(count)s export needs attention", "Export Job Desk: %(count)s exports need attention", "count"
)
ALERT_SUBJECT_TEST = _("Export Job Desk: a test message")
ALERT_TEST_BODY = _("This is a test message from Export Job Desk for the alert rule “%(name)s”. It works.")
ALERT_WATCH_SUBJECT = _("Your export job has finished: %(state)s (%(firm)s)")

# The lines of a message about one job.
ALERT_LABELS: dict[str, Text] = {
    "state": _("State"),
    "what": _("What happened"),
    "company": _("Company"),
    "who": _("Who acts"),
    "next": _("Next step"),
    "not_booked": _("Not booked"),
    "link": _("Open the job"),
}
# One job of a grouped message, and what is left out after the first ones.
ALERT_LINE = _("%(firm)s, created %(created)s: %(link)s")
ALERT_MORE = ngettext_lazy("and %(count)s more: %(link)s", "and %(count)s more: %(link)s", "count")
ALERT_FOOTER = _("Sent by Export Job Desk for the alert rule “%(name)s”.")
ALERT_WATCH_FOOTER = _("Sent by Export Job Desk because you asked to be told when this job finishes.")

# What /alerts/ says about the poll, and about each delivery.
ALERT_POLL_NEVER = _("Pleo has not been polled for alerts yet: is a worker running (make run starts one)?")
ALERT_POLL_LAST_OK = _("Last successful poll of Pleo: %(when)s.")
ALERT_POLL_FAILING = _(
    "The last poll got no answer from Pleo (%(error)s): no alerts are sent until Pleo answers; nothing false is "
    "sent meanwhile. Last successful poll: %(when)s."
)
ALERT_OUTCOMES: dict[str, Text] = {
    "delivered": _("Delivered"),
    "retrying": _("Failed, will try again"),
    "failed": _("Failed, given up"),
    "pending": _("Waiting to be sent"),
}

# The form's errors, keyed by code.
ALERT_FORM_ERRORS: dict[str, Text] = {
    "channel": _("Enter an e-mail address as mailto:name@example.com, or an Apprise URL such as slack://… or json://…"),
    "mail_off": _("The desk cannot send e-mail: EMAIL_URL is not set."),
    "name_taken": _("A rule with this name exists already."),
    "no_states": _("Choose at least one state."),
    "digest_time": _("Enter the digest's time as HH:MM."),
    "company": _("Enter Pleo company IDs (UUIDs), one per line."),
}
ALERT_SAVED = _("The rule “%(name)s” was saved. Its channel is shown masked from now on.")
ALERT_REMOVED = _("The rule “%(name)s” was removed.")
ALERT_TEST_QUEUED = _("A test message for “%(name)s” is on its way; its delivery is listed below.")
WATCH_ON = _("You will get an e-mail when this job finishes or may be stuck.")
WATCH_OFF = _("You will no longer get an e-mail about this job.")
WATCH_NO_EMAIL = _("Your account has no e-mail address: ask an administrator to add one, then watch the job.")
