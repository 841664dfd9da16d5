"""A job's verdict (``exportjobs.verdict``) in words: its state in a few words, who acts, the next step,
the moment that matters and what in Pleo's data was odd."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from ..verdict import Oddity, State, Step

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text  # a string, or a lazily translated one


# A state's name, as a column or a CSV cell says it.
STATE_LABELS: dict[State, Text] = {
    State.EXPORTED: _("Exported"),
    State.PARTLY_EXPORTED: _("Partly exported"),
    State.FAILED: _("Failed"),
    State.CANCELLED: _("Cancelled"),
    State.WAITING: _("Waiting to start"),
    State.EXPORTING: _("Exporting"),
    State.POSSIBLY_STUCK: _("Possibly stuck"),
    State.OVERDUE: _("Overdue"),
    State.UNKNOWN: _("Unknown status"),
}

# What happened, in a few words, when no failure type says it (the bulk table, the list, recent jobs).
STATE_IN_SHORT: dict[State, Text] = {
    State.EXPORTED: _("Every entry exported"),
    State.PARTLY_EXPORTED: _("Some entries were not exported"),
    State.FAILED: _("Failed, without a reason from Pleo"),
    State.CANCELLED: _("Cancelled by a user"),
    State.WAITING: _("Waiting for the integration to start"),
    State.EXPORTING: _("Being exported now"),
    State.UNKNOWN: _("A status Export Job Desk does not know"),
}
STUCK_QUIET = _("May be stuck: nothing has happened for %(duration)s.")
STUCK_OVERDUE = _("May be stuck: past its expiry time by about %(duration)s.")

# Who acts when nobody has to (yet), by the next step.
NOBODY: dict[Step, Text] = {
    Step.NOTHING: _("Nobody: nothing to do"),
    Step.WAIT_START: _("Nobody yet: it starts by itself"),
    Step.WAIT_FINISH: _("Nobody yet: wait for it to finish"),
    Step.OPEN_ENTRIES: _("Open the job to see who fixes which entry"),
    Step.FIX_ENTRIES: _("Nobody: the failed entries no longer exist in Pleo"),
    Step.ENTRY_FAILURE: _("Nobody: the failed entries no longer exist in Pleo"),
}
# One party and its share of a partly exported job's failed entries.
SHARE = ngettext_lazy("%(party)s (%(count)s entry)", "%(party)s (%(count)s entries)", "number")
PARTIES_JOINED = _("%(some)s and %(last)s")

# The next step, for the steps whose words are not a failure type's own.
NEXT_STEP: dict[Step, Text] = {
    Step.NOTHING: _("Nothing needs to be done."),
    Step.WAIT_START: _("Nothing yet: the integration starts the export by itself."),
    Step.WAIT_FINISH: _("Nothing yet: wait for the export to finish."),
    Step.CHECK_STUCK: _(
        "Ask the Pleo admin who owns the accounting integration to check the export: if it does not move soon, "
        "Pleo stops it."
    ),
    Step.FIX_ENTRIES: _(
        "Fix the failed entries: each kind of failure says who fixes it and how. Then export those entries again."
    ),
    Step.OPEN_ENTRIES: _(
        "Pleo gave no reason: open the failed entries to see what went wrong with each and who fixes it."
    ),
    Step.ASK_SUPPORT: _("Check the job in Pleo, or ask Pleo support what its status means."),
}

# How the end of a job is named, by its state; and what a time row says when the job has not ended.
END_LABELS: dict[str, Text] = {
    "failed": _("Failed"),
    "cancelled": _("Cancelled"),
    "exported": _("Exported"),
    "partly_exported": _("Partly exported"),
    "ended": _("Ended"),
}
END_HELP = _("When the job ended")

# Something odd in Pleo's data, said plainly.
ODDITIES: dict[Oddity, Text] = {
    Oddity.ALSO_REPORTED: _(
        "Pleo also reported a problem with this job, although its status is “%(status)s”: %(label)s. "
        "It is shown here as Pleo sent it; the status above is what counts."
    ),
}
