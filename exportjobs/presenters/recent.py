"""The home page's recent jobs: each as it was when the user looked, from what the audit trail recorded."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import wording
from ..pleo.models import FailureType, JobStatus, known_or_raw
from ..verdict import State
from ..wording import failure_wording, status_wording
from .times import iso_utc, number_text, relative_text, short_local_text

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text


def recent_wording(status: str, failure_type: str = "", state: str = "") -> wording.StatusWording:
    """The badge for a status as the audit trail recorded it (a cancelled job's own, by its verdict)."""
    failure: FailureType | str | None = known_or_raw(FailureType, failure_type) or None
    if state == State.CANCELLED.value:
        failure = FailureType.CANCELED_BY_USER
    return status_wording(known_or_raw(JobStatus, status), failure)


def recent_line(event: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A recent job told apart: its badge, what happened (the failure, its state, or how many entries), and
    when it was created, from what the audit trail recorded when it was looked at."""
    status, failure, state = event["job_status"], event.get("failure_type") or "", event.get("job_state") or ""
    what: Text = ""
    if failure and state in ("", State.FAILED.value, State.CANCELLED.value, State.PARTLY_EXPORTED.value):
        kind = known_or_raw(FailureType, failure)
        what = failure_wording(kind, partial=status == JobStatus.COMPLETED_WITH_ERRORS).label
    elif state in (State.POSSIBLY_STUCK.value, State.OVERDUE.value):
        what = wording.STATE_LABELS[State(state)]
    elif event.get("job_entries") is not None:
        count = event["job_entries"]
        what = wording.ENTRIES_COUNT % {"number": count, "count": number_text(count)}
    created = event.get("job_created_at")
    return {
        "job_id": event["job_id"],
        "state": state,
        "wording": recent_wording(status, failure, state),
        "what": what,
        "created": short_local_text(created, now) if created else "",
        "created_iso": iso_utc(created) if created else "",
        "seen": relative_text(event["created_at"], now),
    }
