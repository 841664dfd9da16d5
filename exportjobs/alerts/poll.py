"""One poll of Pleo for alerts per ``ALERT_POLL_SECONDS``, however many workers run.

The poll costs at most one walk of Pleo's list (``attention_get`` with /attention/'s default filters: the
same cache entry, so a list someone just opened costs nothing) plus at most ``ALERT_WATCH_MAX`` calls for
watched jobs the list does not show. It is charged to no user. Each job's state is its verdict
(``verdict_of``, the job page's own); a job whose state differs from the last one seen has entered a new
state, and every rule for that state gets a notification. The new states and their notifications are
written in one transaction (the outbox): a worker delivers them (``outbox``).

When Pleo does not answer, or only a stale copy of the list is left, the poll fails and records nothing:
no state is decided from old data (a job is never called stuck because Pleo was down).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from .. import clock
from ..metrics import ALERT_POLLS
from ..models import AlertJobState, AlertNotification, AlertPoll, AlertRule, JobWatch, Profile
from ..pleo import ExportJob
from ..policy import NO_ANSWER, code_of
from ..services.attention import Filters, attention_get
from ..services.jobs import job_get
from ..verdict import State, Verdict, verdict_of

logger = logging.getLogger(__name__)

# The states a rule fires on; an overdue job is possibly stuck to a rule (and entering overdue is no new state).
RULE_STATES = (State.FAILED, State.PARTLY_EXPORTED, State.POSSIBLY_STUCK, State.CANCELLED)
DEFAULT_STATES = (State.FAILED, State.PARTLY_EXPORTED, State.POSSIBLY_STUCK)
FINAL_STATES = frozenset({State.FAILED, State.PARTLY_EXPORTED, State.CANCELLED, State.EXPORTED})


def alert_state(verdict: Verdict) -> State:
    return State.POSSIBLY_STUCK if verdict.state == State.OVERDUE else verdict.state


def reason_of(verdict: Verdict) -> str:
    """Why a job is in its state, as a key: the failure type, the one entry failure type, or the next step."""
    return (verdict.failure or verdict.entry_failure or verdict.step.value)[:64]


@dataclass(frozen=True)
class Change:
    job: ExportJob
    state: State
    reason: str


def slot_of(moment: datetime) -> datetime:
    """The start of the poll interval ``moment`` is in (intervals counted from the epoch)."""
    seconds = float(settings.ALERT_POLL_SECONDS)
    start = math.floor(moment.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(start, timezone.utc)


def next_slot(moment: datetime) -> datetime:
    return slot_of(moment) + timedelta(seconds=float(settings.ALERT_POLL_SECONDS))


def poll_take(*, now: datetime, worker: str = "") -> AlertPoll | None:
    """This interval's poll, when this worker is the first to ask for it; None when another worker has it."""
    try:
        with transaction.atomic():
            return AlertPoll.objects.create(slot=slot_of(now), started_at=now, worker=worker[:64])
    except IntegrityError:
        return None


Deliver = Callable[[list[str]], None]  # hands the new notifications' ids to the workers


def alerts_poll(*, deliver: Deliver, worker: str = "") -> AlertPoll | None:
    """Poll Pleo once for this interval (unless another worker has); None when it was not this worker's turn.
    ``deliver`` gets the ids of the notifications the poll wrote, once they are committed."""
    now = clock.now()
    poll = poll_take(now=now, worker=worker)
    if poll is None:
        return None
    try:
        answer = attention_get(filters=Filters())
    except NO_ANSWER as error:
        return _failed(poll, code_of(error))
    if answer.source == "stale":
        return _failed(poll, code_of(answer.error) if answer.error else "stale")
    jobs = {job.id: job for job in answer.value.jobs}
    calls = 0
    order = (F("checked_at").asc(nulls_first=True), "created_at")  # never asked first, then the longest waiting
    watches = list(JobWatch.objects.filter(done_at=None).order_by(*order))
    asked: set[uuid.UUID] = set()
    for watch in watches:
        if watch.job_id in jobs or watch.job_id in asked or len(asked) >= int(settings.ALERT_WATCH_MAX):
            continue
        asked.add(watch.job_id)
        try:
            result = job_get(job_id=watch.job_id)
        except NO_ANSWER:
            continue  # not known now: asked again next time
        calls += result.source == "fresh"
        if result.source != "stale":
            jobs[watch.job_id] = result.value
    if asked:
        JobWatch.objects.filter(job_id__in=asked, done_at=None).update(checked_at=now)
    changed = record(jobs=jobs.values(), now=clock.now(), poll=poll, watches=watches, deliver=deliver)
    poll.ok = True
    poll.finished_at = clock.now()
    poll.jobs = len(jobs)
    poll.changed = changed
    poll.job_calls = calls
    poll.save(update_fields=["ok", "finished_at", "jobs", "changed", "job_calls"])
    ALERT_POLLS.labels(outcome="ok").inc()
    return poll


def _failed(poll: AlertPoll, code: str) -> AlertPoll:
    logger.warning("The poll for alerts got no answer from Pleo (%s): nothing decided, nothing sent", code)
    poll.error = code[:32]
    poll.finished_at = clock.now()
    poll.save(update_fields=["error", "finished_at"])
    ALERT_POLLS.labels(outcome="failed").inc()
    return poll


def record(
    *, jobs: Iterable[ExportJob], now: datetime, poll: AlertPoll, watches: list[JobWatch], deliver: Deliver
) -> int:
    """The states seen, and a notification for each rule (and watcher) a new state concerns: one transaction.
    A job seen for the first time counts as entering its state when it was created after alerts began (the
    first successful poll); older jobs are only remembered. Returns how many jobs entered a new state."""
    verdicts = {job.id: (job, verdict_of(job, now=now)) for job in jobs}
    first = AlertPoll.objects.filter(ok=True).exclude(pk=poll.pk).order_by("started_at").first()
    began = first.started_at if first is not None else None
    created: list[AlertNotification] = []
    with transaction.atomic():
        known = AlertJobState.objects.select_for_update().in_bulk(list(verdicts))
        changes: list[Change] = []
        new_rows: list[AlertJobState] = []
        for job_id, (job, verdict) in verdicts.items():
            state, reason = alert_state(verdict), reason_of(verdict)
            row = known.get(job_id)
            if row is None:
                new_rows.append(
                    AlertJobState(
                        job_id=job_id, state=state.value, reason=reason, company_id=job.company_id,
                        changed_at=now, seen_at=now,
                    )
                )  # fmt: skip
                if began is not None and job.created_at >= began:
                    changes.append(Change(job, state, reason))
            elif row.state != state.value:
                row.state, row.reason, row.changed_at, row.seen_at = state.value, reason, now, now
                row.save(update_fields=["state", "reason", "changed_at", "seen_at"])
                changes.append(Change(job, state, reason))
        AlertJobState.objects.bulk_create(new_rows, ignore_conflicts=True)
        created += _rule_notifications(changes, now)
        created += _watch_notifications(changes, now, watches)
    ids = [str(notification.id) for notification in created]
    if ids:
        transaction.on_commit(lambda: deliver(ids))
    return len(changes)


def _entry(job: ExportJob) -> dict[str, Any]:
    return {"payload": job.payload, "company": ""}


def digest_due(rule: AlertRule, now: datetime) -> datetime:
    """The next time of the rule's daily digest (today's, or tomorrow's once it has passed), in TIME_ZONE."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    at = rule.digest_at or time(8, 0)
    due = datetime.combine(local.date(), at, tzinfo=zone)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return due.astimezone(timezone.utc)


def _rule_notifications(changes: list[Change], now: datetime) -> list[AlertNotification]:
    if not changes:
        return []
    made: list[AlertNotification] = []
    for rule in AlertRule.objects.all():
        states = set(rule.states)
        companies = {str(company).lower() for company in rule.companies}
        mine = [
            change
            for change in changes
            if change.state.value in states and (not companies or str(change.job.company_id).lower() in companies)
        ]
        if not mine:
            continue
        if rule.mode == AlertRule.Mode.DIGEST:
            made += _digest(rule, mine, now)
            continue
        groups: dict[tuple[State, str], list[ExportJob]] = defaultdict(list)
        for change in mine:
            groups[(change.state, change.reason)].append(change.job)
        for (state, reason), jobs in groups.items():
            made.append(
                AlertNotification.objects.create(
                    rule=rule, language=rule.language, state=state.value, reason=reason,
                    jobs=[_entry(job) for job in jobs], seen_at=now, next_attempt_at=now,
                )
            )  # fmt: skip
    return made


def _digest(rule: AlertRule, changes: list[Change], now: datetime) -> list[AlertNotification]:
    """A digest rule's jobs gather in one notification, sent at the rule's time of day."""
    pending = (
        AlertNotification.objects.select_for_update()
        .filter(rule=rule, kind="digest", status=AlertNotification.Status.PENDING, attempts=0)
        .first()
    )
    entries = [_entry(change.job) for change in changes]
    if pending is not None:
        pending.jobs = [*pending.jobs, *entries]
        pending.save(update_fields=["jobs"])
        return []
    made = AlertNotification.objects.create(
        rule=rule, language=rule.language, state="digest", reason="", kind="digest", jobs=entries, seen_at=now,
        next_attempt_at=digest_due(rule, now),
    )  # fmt: skip
    return [made] if made.next_attempt_at <= now else []


def _watch_notifications(changes: list[Change], now: datetime, watches: list[JobWatch]) -> list[AlertNotification]:
    """A watcher hears once, when the job ends or may be stuck; the webhook's watches only make the poll ask."""
    by_job: dict[uuid.UUID, list[JobWatch]] = defaultdict(list)
    for watch in watches:
        by_job[watch.job_id].append(watch)
    made: list[AlertNotification] = []
    for change in changes:
        if change.state not in FINAL_STATES and change.state != State.POSSIBLY_STUCK:
            continue
        for watch in by_job.get(change.job.id, []):
            JobWatch.objects.filter(pk=watch.pk).update(done_at=now)
            user = watch.user
            if user is None or not user.email:
                continue
            made.append(
                AlertNotification.objects.create(
                    watch=watch, recipient=user.email, language=_language_of(user.pk), state=change.state.value,
                    reason=change.reason, kind="watch", jobs=[_entry(change.job)], seen_at=now, next_attempt_at=now,
                )
            )  # fmt: skip
    return made


def _language_of(user_pk: int) -> str:
    profile = Profile.objects.filter(user_id=user_pk).first()
    return (profile.language if profile is not None else "") or settings.LANGUAGE_CODE


def last_polls() -> tuple[AlertPoll | None, AlertPoll | None]:
    """The last poll that got an answer, and the last poll (finished or not)."""
    return AlertPoll.objects.filter(ok=True).first(), AlertPoll.objects.first()
