"""The audit trail's one writer, and the one query that reads it back (a user's recent jobs).

Every look at a job's data, every view of the list and each of their refreshes is a row; the data is shown
only after its row is written (``AuditUnavailable`` otherwise: the desk runs in autocommit, so a row is
written whole or not at all). A page left open that refreshes itself is recorded more cheaply: see
``last_look`` and the views' poll rules.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest

from . import metrics
from .models import AuditEvent
from .pleo.errors import NotFound
from .pleo.models import ExportJob
from .policy import code_of
from .presenters.recent import recent_line
from .verdict import Verdict

logger = logging.getLogger(__name__)

TEXT_MAX = 64  # characters of Pleo's own values an audit row keeps
POLL_ROW_EVERY = timedelta(minutes=10)  # an open page's auto-refresh: one "poll" row per user and page this often
POLL_SEEN_WITHIN = timedelta(hours=1)  # a poll of a job the user has not looked at this recently is a view


class AuditUnavailable(Exception):
    """The audit row of a look could not be written: the look's data must not be shown."""


def _text(value: str) -> str:
    """Pleo's value as the audit row keeps it: PostgreSQL refuses NUL in text, so a value Pleo sent with
    one is recorded with a visible mark, and it is cut to the column's 64 characters."""
    return value.replace("\x00", "\ufffd")[:TEXT_MAX]


def outcome_of(error: Exception | None) -> str:
    if error is None:
        return AuditEvent.Outcome.INVALID
    return AuditEvent.Outcome.NOT_FOUND if isinstance(error, NotFound) else AuditEvent.Outcome.ERROR


def record(
    request: HttpRequest,
    action: str,
    *,
    outcome: str,
    job_id: uuid.UUID | None = None,
    job: ExportJob | None = None,
    verdict: Verdict | None = None,
    source: str = "",
    error: Exception | None = None,
    filters: dict[str, Any] | None = None,
    shown: int | None = None,
) -> None:
    """Write one audit row; ``AuditUnavailable`` when it could not be written (then show nothing)."""
    user = request.user if request.user.is_authenticated else None
    count = job.number_of_items if job is not None and 0 <= job.number_of_items < 2**63 else None
    try:
        AuditEvent.objects.create(
            user=user,
            username=user.get_username() if user else "",
            action=action,
            job_id=job_id,
            outcome=outcome,
            source=source,
            job_status=_text(job.status_value) if job else "",
            job_state=verdict.state.value if verdict else "",
            error_code=code_of(error) if error else "",
            failure_type=_text(job.failure_type_value or "") if job else "",
            job_created_at=job.created_at if job else None,
            job_entries=count,
            filters=filters,
            job_count=shown,
        )
    except DatabaseError as exc:
        metrics.AUDIT_FAILURES.inc()
        logger.error("Could not write audit event for %s %s: %s: %s", action, job_id or "", type(exc).__name__, exc)
        raise AuditUnavailable from exc


def record_failure(
    request: HttpRequest,
    action: str,
    *,
    job_id: uuid.UUID | None = None,
    error: Exception | None,
    filters: dict[str, Any] | None = None,
) -> None:
    """A look that showed no job data (an error page, a form's errors): written if it can be; the page goes
    out either way."""
    with contextlib.suppress(AuditUnavailable):
        record(request, action, outcome=outcome_of(error), job_id=job_id, error=error, filters=filters)


def record_sign_in(*, user: Any, method: str, outcome: str, error_code: str = "") -> None:
    """A sign-in, or one the identity provider's answer did not allow, with its way in (``method``). A row that
    cannot be written is logged; it does not stop the sign-in (a look at a job is still recorded, or not shown)."""
    try:
        AuditEvent.objects.create(
            user=user,
            username=user.get_username() if user is not None else "",
            action=AuditEvent.Action.SIGN_IN,
            outcome=outcome,
            signin_method=method,
            error_code=error_code,
        )
    except DatabaseError as exc:
        metrics.AUDIT_FAILURES.inc()
        logger.error("Could not record a sign-in (%s, %s): %s", method, outcome, type(exc).__name__)


def last_look(
    user_pk: int | str,
    *,
    actions: tuple[str, ...],
    job_id: uuid.UUID | None = None,
    filters: dict[str, Any] | None = None,
) -> datetime | None:
    """When this user last looked (a found row of ``actions``) at this job, or at the list with exactly
    these ``filters`` (its format included); None when never."""
    rows = AuditEvent.objects.filter(user_id=user_pk, outcome=AuditEvent.Outcome.FOUND, action__in=actions)
    if job_id is not None:
        rows = rows.filter(job_id=job_id)
    if filters is not None:
        rows = rows.filter(filters=filters)
    last: datetime | None = rows.order_by("-created_at").values_list("created_at", flat=True).first()
    return last


def recent_jobs(user_pk: int | str, *, now: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """The user's last ``limit`` distinct jobs seen, newest first, as they were then: status, state, what
    happened (failure type or entries) and when the job was created, so that rows can be told apart."""
    seen: dict[uuid.UUID, dict[str, Any]] = {}
    events = (
        AuditEvent.objects.filter(
            user_id=user_pk,
            action__in=(AuditEvent.Action.VIEW, AuditEvent.Action.REFRESH),
            outcome=AuditEvent.Outcome.FOUND,
        )
        .order_by("-created_at", "-id")
        .values("job_id", "job_status", "job_state", "failure_type", "job_created_at", "job_entries", "created_at")[:50]
    )
    for event in events:
        if event["job_id"] is not None and event["job_id"] not in seen:
            seen[event["job_id"]] = recent_line(event, now)
        if len(seen) == limit:
            break
    return list(seen.values())
