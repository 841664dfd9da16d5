"""What a job's state is, who acts and what comes next: decided here, once, for every surface.

``verdict_of`` is a pure function (no request, no I/O, no words): it takes what the desk knows of a job
(Pleo's job, and its entries' summary when the desk has it) and returns a ``Verdict``. The job page
(badge, title, panel, timeline, entries, ticket text), the bulk table, the needs-attention list and its
CSV, the recent jobs and the home line all show that verdict and nothing else decides it; the words for
it live in ``exportjobs.wording``.

The rules a finance person would expect:

- The badge follows Pleo's ``status``; a job a user cancelled (``failed`` with ``canceled_by_user``) is
  its own state everywhere, never counted as failed.
- Failure fields on a job that is not failed or partly exported are an oddity ("Pleo also reported …"),
  never the failure panel.
- A waiting or exporting job quiet for half its expiry time may be stuck; past its expiry it is overdue.
  Either way the Pleo admin who owns the integration is asked to look.
- A partly exported job's failed entries name their own parties, each with its share; an entry Pleo
  says no longer exists has nobody to act.
- A count below zero is unknown, never shown; an answer about another job than the one asked for is
  an oddity the caller must refuse.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from .pleo.models import ExportJob, ExportJobItem, FailureType, ItemFailureType, JobStatus


class State(str, enum.Enum):
    """What a person should see a job as."""

    EXPORTED = "exported"
    PARTLY_EXPORTED = "partly_exported"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WAITING = "waiting"
    EXPORTING = "exporting"
    POSSIBLY_STUCK = "possibly_stuck"
    OVERDUE = "overdue"
    UNKNOWN = "unknown"


ACTIVE_STATES = frozenset({State.WAITING, State.EXPORTING, State.POSSIBLY_STUCK, State.OVERDUE})
NEEDS_ACTION = frozenset({State.FAILED, State.PARTLY_EXPORTED, State.POSSIBLY_STUCK, State.OVERDUE})

# The parties who can act on an export, by a stable key (the words for each are in wording.ACTORS).
FINANCE = "finance"
INTEGRATION_OWNER = "integration_owner"
ACCOUNTING_ADMIN = "accounting_admin"
PLEO_SUPPORT = "pleo_support"
PARTIES = (FINANCE, INTEGRATION_OWNER, ACCOUNTING_ADMIN, PLEO_SUPPORT)

# Who fixes a job that failed (or was partly exported) for each of Pleo's job failure types.
JOB_FAILURE_PARTY: dict[FailureType, str] = {
    FailureType.INVALID_CONFIGURATION: INTEGRATION_OWNER,
    FailureType.MISSING_CONFIGURATION: INTEGRATION_OWNER,
    FailureType.AUTHENTICATION_FAILURE: INTEGRATION_OWNER,
    FailureType.ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE: INTEGRATION_OWNER,
    FailureType.PLEO_RATE_LIMIT: FINANCE,
    FailureType.ACCOUNTING_SYSTEM_RATE_LIMIT: FINANCE,
    FailureType.SERVICE_UNREACHABLE: FINANCE,
    FailureType.ACCOUNTING_SYSTEM_UNREACHABLE: ACCOUNTING_ADMIN,
    FailureType.VALIDATION_FAILURE: FINANCE,
    FailureType.AUTHORIZATION_FAILURE: ACCOUNTING_ADMIN,
    FailureType.INTEGRATION_UNUSABLE: PLEO_SUPPORT,
    FailureType.JOB_EXPIRED: FINANCE,
    FailureType.SERVICE_TIMEOUT: FINANCE,
    FailureType.ACCOUNTING_SYSTEM_TIMEOUT: FINANCE,
    FailureType.CANCELED_BY_USER: FINANCE,
}

# Who fixes one failed entry, for each of Pleo's entry failure types.
ENTRY_FAILURE_PARTY: dict[ItemFailureType, str] = {
    ItemFailureType.RECEIPT_UPLOAD_FAILURE: FINANCE,
    ItemFailureType.RECEIPT_DOWNLOAD_FAILURE: PLEO_SUPPORT,
    ItemFailureType.RECEIPT_FILE_SIZE_LIMIT_EXCEEDED: FINANCE,
    ItemFailureType.RECEIPT_CONVERSION_FAILURE: FINANCE,
    ItemFailureType.UNEXPECTED_FAILURE: PLEO_SUPPORT,
    ItemFailureType.INVALID_CONFIGURATION: INTEGRATION_OWNER,
    ItemFailureType.MISSING_CONFIGURATION: INTEGRATION_OWNER,
    ItemFailureType.ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE: INTEGRATION_OWNER,
    ItemFailureType.ACCOUNTING_SYSTEM_RATE_LIMIT: FINANCE,
    ItemFailureType.ACCOUNTING_SYSTEM_UNREACHABLE: ACCOUNTING_ADMIN,
    ItemFailureType.VALIDATION_FAILURE: FINANCE,
    ItemFailureType.ACCOUNTING_SYSTEM_VALIDATION_FAILURE: FINANCE,
    ItemFailureType.AUTHORIZATION_FAILURE: ACCOUNTING_ADMIN,
    ItemFailureType.ACCOUNTING_SYSTEM_TIMEOUT: FINANCE,
    ItemFailureType.VENDOR_UNKNOWN: FINANCE,
    ItemFailureType.ACCOUNT_UNKNOWN: FINANCE,
    ItemFailureType.TAX_CODE_UNKNOWN: INTEGRATION_OWNER,
    ItemFailureType.TAG_UNKNOWN: FINANCE,
}


def job_failure_party(kind: FailureType | str | None) -> str:
    """Who fixes a job failure of this type; Pleo support for a type the desk does not know (or none)."""
    return JOB_FAILURE_PARTY.get(kind, PLEO_SUPPORT) if isinstance(kind, FailureType) else PLEO_SUPPORT


def entry_failure_party(kind: ItemFailureType | str | None) -> str:
    """Who fixes one failed entry of this type; Pleo support for a type the desk does not know (or none)."""
    return ENTRY_FAILURE_PARTY.get(kind, PLEO_SUPPORT) if isinstance(kind, ItemFailureType) else PLEO_SUPPORT


class Step(str, enum.Enum):
    """What to do next, as a key the words are looked up by."""

    NOTHING = "nothing"  # exported: nothing to do
    WAIT_START = "wait_start"  # waiting: it starts by itself
    WAIT_FINISH = "wait_finish"  # exporting: wait for it to finish
    CHECK_STUCK = "check_stuck"  # possibly stuck or overdue: the integration's owner checks it
    JOB_FAILURE = "job_failure"  # failed or cancelled: the failure type's own next step (``failure``)
    FIX_ENTRIES = "fix_entries"  # partly exported, the failed entries known: each says what to do
    ENTRY_FAILURE = "entry_failure"  # partly exported, every failed entry for one reason (``entry_failure``)
    PARTLY_SUMMARY = "partly_summary"  # partly exported, entries not known: the job's failure type's words
    OPEN_ENTRIES = "open_entries"  # partly exported, no reason and entries not known: open the job to see
    ASK_SUPPORT = "ask_support"  # a status or data the desk cannot read: Pleo support


class Oddity(str, enum.Enum):
    """Something in Pleo's data that does not fit the rest of it."""

    ALSO_REPORTED = "also_reported"  # failure fields on a job that is not failed or partly exported
    NEGATIVE_COUNT = "negative_count"  # numberOfItems (or an entries total) below zero: unknown
    OTHER_ID = "other_id"  # the answer is about another job than the one asked for
    UNKNOWN_STATUS = "unknown_status"  # a status the desk does not know
    NO_REASON = "no_reason"  # failed or partly exported without a failure type or message


@dataclass(frozen=True)
class Share:
    """One party that must act, and how many failed entries are theirs (None: the job as a whole)."""

    party: str
    entries: int | None = None


@dataclass(frozen=True)
class Moment:
    """The moment that matters, named by the state: ``failed`` at, ``exported`` at, ``quiet`` since…"""

    kind: str  # created, started, failed, cancelled, exported, partly_exported, quiet, overdue, updated
    when: datetime | None


@dataclass(frozen=True)
class EntriesKnown:
    """What the desk knows of a job's failed entries: the entries themselves (up to the desk's cap), whether
    Pleo has more, and which of them Pleo says no longer exist (404 on their details)."""

    failed: tuple[ExportJobItem, ...]
    more: bool = False
    gone: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    state: State
    badge: str  # the badge's key: Pleo's status value, or "cancelled"
    parties: tuple[Share, ...]  # who acts; empty: nobody
    step: Step
    failure: str | None  # Pleo's job failure type that explains the state (failed, cancelled, partly exported)
    entry_failure: str | None  # the one entry failure type of all failed entries, when there is one
    moment: Moment
    end: Moment | None  # when the job ended, named by its state; None while it runs (or never said)
    entries: int | None  # numberOfItems, None when Pleo's count cannot be right
    gone: int  # failed entries that no longer exist: nobody acts on them
    entries_known: bool  # the parties come from the failed entries themselves
    oddities: tuple[Oddity, ...]

    @property
    def party_keys(self) -> tuple[str, ...]:
        return tuple(share.party for share in self.parties)

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def needs_action(self) -> bool:
        return self.state in NEEDS_ACTION


def _active_state(job: ExportJob, now: datetime) -> State:
    deadline = job.expires_at
    if deadline is not None and deadline <= now:
        return State.OVERDUE
    if job.may_be_stuck(now):
        return State.POSSIBLY_STUCK
    return State.WAITING if job.status == JobStatus.PENDING else State.EXPORTING


def _state(job: ExportJob, now: datetime) -> State:
    if job.status == JobStatus.FAILED:
        return State.CANCELLED if job.failure_reason_type == FailureType.CANCELED_BY_USER else State.FAILED
    if job.status == JobStatus.COMPLETED_WITH_ERRORS:
        return State.PARTLY_EXPORTED
    if job.status == JobStatus.COMPLETED:
        return State.EXPORTED
    if job.is_active:
        return _active_state(job, now)
    return State.UNKNOWN


def entry_shares(entries: EntriesKnown) -> tuple[Share, ...]:
    """The parties of a job's failed entries, each with its number of entries, most first (then in the
    order of ``PARTIES``). Entries that no longer exist have nobody to act."""
    counts = Counter(
        entry_failure_party(item.failure_reason_type)
        for item in entries.failed
        if str(item.accounting_entry_id) not in entries.gone
    )
    order = {party: index for index, party in enumerate(PARTIES)}
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], order.get(pair[0], len(order))))
    return tuple(Share(party, count) for party, count in ranked)


def _end(job: ExportJob, state: State) -> Moment | None:
    if state in ACTIVE_STATES:
        return None
    when = job.completed_at or job.expired_at
    kind = {
        State.FAILED: "failed",
        State.CANCELLED: "cancelled",
        State.EXPORTED: "exported",
        State.PARTLY_EXPORTED: "partly_exported",
    }.get(state, "ended")
    return Moment(kind, when)


def _moment(job: ExportJob, state: State, end: Moment | None) -> Moment:
    if end is not None and end.when is not None:
        return end
    if state == State.OVERDUE:
        return Moment("overdue", job.expires_at)
    if state == State.POSSIBLY_STUCK:
        return Moment("quiet", job.expiry_base)
    if state == State.EXPORTING and job.started_at is not None:
        return Moment("started", job.started_at)
    if state == State.UNKNOWN and job.last_updated_at is not None:
        return Moment("updated", job.last_updated_at)
    return Moment("created", job.created_at)


def _oddities(job: ExportJob, state: State, asked_id: uuid.UUID | None) -> tuple[Oddity, ...]:
    found: list[Oddity] = []
    if asked_id is not None and job.id != asked_id:
        found.append(Oddity.OTHER_ID)
    if state == State.UNKNOWN:
        found.append(Oddity.UNKNOWN_STATUS)
    if job.has_failure and state not in (State.FAILED, State.CANCELLED, State.PARTLY_EXPORTED):
        found.append(Oddity.ALSO_REPORTED)
    if state in (State.FAILED, State.PARTLY_EXPORTED) and not job.has_failure:
        found.append(Oddity.NO_REASON)
    if job.number_of_items < 0:
        found.append(Oddity.NEGATIVE_COUNT)
    return tuple(found)


def _who_and_next(
    job: ExportJob, state: State, entries: EntriesKnown | None
) -> tuple[tuple[Share, ...], Step, str | None, bool]:
    """The parties, the next step, the one entry failure type (if all share it), and whether the parties
    come from the entries."""
    if state in (State.FAILED, State.CANCELLED):
        return (Share(job_failure_party(job.failure_reason_type)),), Step.JOB_FAILURE, None, False
    if state == State.PARTLY_EXPORTED:
        if entries is not None and entries.failed:
            shares = entry_shares(entries)
            kinds = {item.failure_type_value for item in entries.failed}
            one_kind = next(iter(kinds)) if len(kinds) == 1 and not entries.more else None
            if one_kind is not None and shares:
                return shares, Step.ENTRY_FAILURE, one_kind, True
            return shares, Step.FIX_ENTRIES, None, True
        if job.failure_reason_type:
            return (Share(job_failure_party(job.failure_reason_type)),), Step.PARTLY_SUMMARY, None, False
        return (), Step.OPEN_ENTRIES, None, False
    if state in (State.POSSIBLY_STUCK, State.OVERDUE):
        return (Share(INTEGRATION_OWNER),), Step.CHECK_STUCK, None, False
    if state == State.WAITING:
        return (), Step.WAIT_START, None, False
    if state == State.EXPORTING:
        return (), Step.WAIT_FINISH, None, False
    if state == State.EXPORTED:
        return (), Step.NOTHING, None, False
    return (Share(PLEO_SUPPORT),), Step.ASK_SUPPORT, None, False


def verdict_of(
    job: ExportJob,
    *,
    now: datetime,
    entries: EntriesKnown | None = None,
    asked_id: uuid.UUID | None = None,
) -> Verdict:
    """The one verdict on ``job`` at ``now``: state, badge, who acts (with their shares), next step, the
    moment that matters, how it ended, and what in Pleo's data was odd. ``entries``: its failed entries,
    when the desk has them (only a partly exported job's parties depend on them)."""
    state = _state(job, now)
    parties, step, entry_failure, from_entries = _who_and_next(job, state, entries)
    end = _end(job, state)
    gone = 0
    if entries is not None and state == State.PARTLY_EXPORTED:
        gone = sum(str(item.accounting_entry_id) in entries.gone for item in entries.failed)
    return Verdict(
        state=state,
        badge="cancelled" if state == State.CANCELLED else job.status_value,
        parties=parties,
        step=step,
        failure=job.failure_type_value if state in (State.FAILED, State.CANCELLED, State.PARTLY_EXPORTED) else None,
        entry_failure=entry_failure,
        moment=_moment(job, state, end),
        end=end,
        entries=job.number_of_items if job.number_of_items >= 0 else None,
        gone=gone,
        entries_known=from_entries,
        oddities=_oddities(job, state, asked_id),
    )


def entries_known(failed: Iterable[ExportJobItem], *, more: bool = False, gone: Collection[str] = ()) -> EntriesKnown:
    """``EntriesKnown`` from the desk's copy of a job's failed entries (and the ids Pleo says are gone)."""
    return EntriesKnown(tuple(failed), more=more, gone=frozenset(str(entry_id) for entry_id in gone))
