"""A job's entries: how they fared (``job_items_get``), what the failed ones on a page are
(``entry_details_get``, Pleo's Accounting Entries API), and what the desk already knows of a job's failed
entries without asking Pleo (``entries_known_many``), for every surface's verdict."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from pydantic import BaseModel, ConfigDict

from .. import clock
from ..budgets import OverBudget, charge, spending_for
from ..cache import (
    NAMESPACE,
    Keys,
    Source,
    bulkhead_slot,
    cache_get_many,
    cache_set,
    fetch_through,
    peek_many,
    submit,
)
from ..pleo import AccountingEntry, ExportJob, ExportJobItem, JobStatus, NotFound, PleoAuthError, get_client
from ..pleo.errors import PleoBadResponse
from ..policy import NO_ANSWER, policy_of
from ..verdict import EntriesKnown, entries_known
from . import marks
from .answers import PLEO_FAILURES, PayloadCodec, found
from .jobs import ttl_for

ITEM_STATUSES = ("successful", "failed", "pending", "in_progress", "abandoned")
ENTRIES_PER_PAGE = 50  # failed entries the job page shows at a time
FAILED_PAGE_SIZE = 200  # failed entries asked of Pleo per call
FAILED_LIST_MAX = 1000  # failed entries the desk lists for one job at most
# Calls for entries' details at once, per worker process: a page's 50 entries take two rounds.
ENTRY_CONCURRENCY = 25
# A page's details cost the user's Pleo budget one call per this many entries asked for: a cold page of 50
# costs 5, so a person can open many failed jobs, and still nobody can make the desk ask Pleo without limit.
ENTRIES_PER_BUDGET_CALL = 10
WITH_ENTRIES = (JobStatus.FAILED, JobStatus.COMPLETED_WITH_ERRORS)  # jobs whose failed entries are fetched

# Long-lived pools: their threads keep their cache connections between requests, and the sizes
# bound how many calls one worker process makes to Pleo at once for these pages.
_ITEMS_POOL = ThreadPoolExecutor(max_workers=2 * (len(ITEM_STATUSES) + 1), thread_name_prefix="pleo-items")
_ENTRY_POOL = ThreadPoolExecutor(max_workers=ENTRY_CONCURRENCY, thread_name_prefix="pleo-entry")
ENTRY_CODEC = PayloadCodec(AccountingEntry)


# --- how a job's entries fared -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemsSummary:
    """How a job's entries fared: a count per item status, and its failed entries (up to ``FAILED_LIST_MAX``)."""

    counts: dict[str, int | None]  # None: Pleo gave no total for that status (or one below zero)
    failed: tuple[ExportJobItem, ...]  # in Pleo's order
    more: bool = False  # Pleo has more failed entries than the desk lists
    fetched_at: datetime | None = None
    source: Source = "fresh"

    @property
    def total(self) -> int | None:
        values = list(self.counts.values())
        return None if None in values else sum(v for v in values if v is not None)


class _ItemsEntry(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    counts: dict[str, int | None]
    failed: list[dict[str, Any]]
    more: bool


class _ItemsCodec:
    """Entries are cached as the counts and Pleo's own failed items."""

    def dump(self, value: ItemsSummary) -> dict[str, Any]:
        return {"counts": value.counts, "failed": [item.payload for item in value.failed], "more": value.more}

    def load(self, data: Any) -> ItemsSummary:
        entry = _ItemsEntry.model_validate(data)
        try:
            failed = tuple(ExportJobItem.from_payload(item) for item in entry.failed)
        except PleoBadResponse as error:
            raise ValueError(error.message) from None
        return ItemsSummary(counts=dict(entry.counts), failed=failed, more=entry.more)


ITEMS_CODEC = _ItemsCodec()


def _items_keys(job: ExportJob) -> Keys:
    return Keys.of("items", f"{job.id}:{job.status_value}")


def job_items_get(*, job: ExportJob, refresh: bool = False) -> ItemsSummary:
    """Counts per item status (from each filter's ``total``) and the job's failed entries.

    The five count queries ask for no items (``limit=0``) and run concurrently with the walk of the
    failed entries (pages of ``FAILED_PAGE_SIZE``, at most ``FAILED_LIST_MAX`` entries). The page then
    groups, filters and pages them itself: no request can make the desk ask Pleo for a page of its own.
    Same cache rules as the job (TTL by the job's status, single flight, stale copy when Pleo is down).
    A total below zero is not a count: it is kept as unknown (None).
    """
    client = get_client()

    def count(status: str) -> tuple[str, int | None]:
        total = client.get_export_job_items(job.id, status=status, limit=0).total
        return status, total if total is None or total >= 0 else None

    def walk_failed() -> tuple[list[ExportJobItem], bool]:
        failed: list[ExportJobItem] = []
        after: str | None = None
        while True:
            page = client.get_export_job_items(job.id, status="failed", limit=FAILED_PAGE_SIZE, after=after)
            failed.extend(page.items)
            if not page.has_next_page or not page.end_cursor:
                return failed[:FAILED_LIST_MAX], False
            if len(failed) >= FAILED_LIST_MAX:
                return failed[:FAILED_LIST_MAX], True
            after = page.end_cursor

    def fetch() -> ItemsSummary:
        failed = submit(_ITEMS_POOL, walk_failed)
        counts = [submit(_ITEMS_POOL, count, status) for status in ITEM_STATUSES]
        futures: list[Future[Any]] = [failed, *counts]
        wait(futures)  # no call outlives this fetch, even when one of them fails
        items, more = failed.result()
        return ItemsSummary(counts=dict(c.result() for c in counts), failed=tuple(items), more=more)

    answer = fetch_through(
        _items_keys(job),
        fetch=fetch,
        codec=ITEMS_CODEC,
        ttl=lambda _value: ttl_for(job),
        failures=PLEO_FAILURES,
        refresh=refresh,
    )
    summary = found(answer, what="job", message="Pleo has no export job with this ID.")  # 404 for its items
    return ItemsSummary(
        counts=summary.value.counts,
        failed=summary.value.failed,
        more=summary.value.more,
        fetched_at=summary.fetched_at,
        source=summary.source,
    )


# --- failed entries Pleo says no longer exist ---------------------------------------------------------


def _gone_key(job_id: uuid.UUID | str) -> str:
    return f"{NAMESPACE}:gone:{job_id}"


def _gone_of(mark: object) -> frozenset[str]:
    """The entry ids in a job's "no longer exists" mark, while it is younger than ``ENTRY_CACHE_TTL``."""
    if not isinstance(mark, dict) or not isinstance(mark.get("at"), (int, float)):
        return frozenset()
    if clock.time() >= mark["at"] + int(settings.ENTRY_CACHE_TTL):
        return frozenset()
    ids = mark.get("ids")
    return frozenset(str(value) for value in ids) if isinstance(ids, list) else frozenset()


def _remember_gone(job_id: uuid.UUID, gone: Iterable[str]) -> None:
    """Add entries Pleo says no longer exist to the job's mark (read by every surface's verdict)."""
    key = _gone_key(job_id)
    known = _gone_of(cache_get_many([key]).get(key))
    ids = sorted(known | set(gone))
    cache_set(key, {"ids": ids, "at": clock.time()}, int(settings.ENTRY_CACHE_TTL))


def entries_known_for(job: ExportJob, summary: ItemsSummary | None) -> EntriesKnown | None:
    """What the verdict needs of ``job``'s failed entries: ``summary``'s, with those Pleo says are gone."""
    if summary is None:
        return None
    key = _gone_key(job.id)
    return entries_known(summary.failed, more=summary.more, gone=_gone_of(cache_get_many([key]).get(key)))


def entries_known_many(jobs: Iterable[ExportJob]) -> dict[uuid.UUID, EntriesKnown]:
    """What the desk already holds of these jobs' failed entries (from the cache only: never a call to
    Pleo), for the jobs with failed entries; in two round trips to the shared cache at most."""
    wanted = [job for job in jobs if job.status in WITH_ENTRIES]
    if not wanted:
        return {}
    keys = {job.id: _items_keys(job) for job in wanted}
    summaries = peek_many(keys.values(), codec=ITEMS_CODEC, ttl=lambda _value: int(settings.JOB_CACHE_TTL_FINAL))
    gone = cache_get_many([_gone_key(job.id) for job in wanted])
    known: dict[uuid.UUID, EntriesKnown] = {}
    for job in wanted:
        answer = summaries.get(keys[job.id].value)
        if answer is None or answer.value is None:
            continue
        summary = answer.value
        known[job.id] = entries_known(summary.failed, more=summary.more, gone=_gone_of(gone.get(_gone_key(job.id))))
    return known


# --- what each failed entry is (the Accounting Entries API) ---------------------------------------


def entry_ttl(_entry: AccountingEntry | None) -> int:
    """Seconds an entry's answer (or Pleo's "no such entry") is kept: a changed note shows after this."""
    return int(settings.ENTRY_CACHE_TTL)


def entry_details_held(*, entry_ids: Iterable[uuid.UUID | str]) -> dict[str, AccountingEntry | None]:
    """What the desk already holds of these entries (from the cache only: never a call to Pleo), by id: the
    entry, or None where Pleo says it no longer exists; an entry not held is left out. One round trip."""
    keys = {str(entry_id): Keys.of("entry", str(entry_id)) for entry_id in entry_ids}
    if not keys:
        return {}
    cached = peek_many(keys.values(), codec=ENTRY_CODEC, ttl=entry_ttl)
    held: dict[str, AccountingEntry | None] = {}
    for entry_id, key in keys.items():
        answer = cached.get(key.value)
        if answer is not None:
            held[entry_id] = answer.value
    return held


@dataclass(frozen=True, slots=True)
class EntryDetails:
    """What Pleo said about the entries on a page.

    ``found``: the entries by id; ``gone``: ids Pleo says do not exist; ``problem``: why some or all
    are without details ("" when none: ``refused``, ``over_budget``, ``from_link`` (not asked: the
    page came from a link on another site), ``busy``, ``unavailable``, ``timeout``); ``waiting``: ids
    not answered within the page's time, filled in for the next view.
    """

    found: dict[str, AccountingEntry] = field(default_factory=dict)
    gone: frozenset[str] = frozenset()
    problem: str = ""
    waiting: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        """Nothing more will arrive soon: every entry answered, or Pleo refuses them all (remembered)."""
        return not self.waiting and self.problem in ("", "refused")


PROBLEM_ORDER = ("refused", "over_budget", "from_link", "busy", "unavailable", "timeout")  # the first one found is told


def entry_details_get(
    *,
    entry_ids: Sequence[uuid.UUID],
    deadline: float,
    job_id: uuid.UUID | None = None,
    limit: int = ENTRIES_PER_PAGE,
) -> EntryDetails:
    """The details of the entries on one page (at most ``limit``: ``ENTRIES_PER_PAGE``, or every failed
    entry the desk holds for the file of a job's failed entries), waiting until ``deadline``
    (``time.monotonic()``) at the latest.

    Cached answers (and cached "no such entry") cost no call: all are read in one round trip. The others
    are asked for ``ENTRY_CONCURRENCY`` at a time, each through the cache engine (single flight, a stale
    copy when Pleo is down). Together they count as one call per ``ENTRIES_PER_BUDGET_CALL`` entries
    against the user's budget (``exportjobs.budgets``): they are asked only when not cached. A spent budget
    asks for none; the first refusal (403) or Pleo down or slow stops the calls not yet made; a refusal is
    remembered for ``marks.REFUSED_TTL`` seconds, Pleo down or too slow for ``marks.TROUBLE_TTL``, for the
    entries of ``job_id`` only (``marks.entries_of``), so that no view of that job asks (and waits) again
    meanwhile, and no other job is affected. Calls still
    running at ``deadline`` go on and fill the cache for the next view. Entries Pleo says no longer exist
    are added to ``job_id``'s mark, which every surface's verdict reads.
    """
    ids = list(dict.fromkeys(str(entry_id) for entry_id in entry_ids))[:limit]
    keys = {entry_id: Keys.of("entry", entry_id) for entry_id in ids}
    cached = peek_many(keys.values(), codec=ENTRY_CODEC, ttl=entry_ttl)
    answered: dict[str, AccountingEntry] = {}
    gone: set[str] = set()
    missing: list[str] = []
    for entry_id in ids:
        answer = cached.get(keys[entry_id].value)
        if answer is None:
            missing.append(entry_id)
        elif answer.value is None:
            gone.add(entry_id)
        else:
            answered[entry_id] = answer.value
    scope = marks.entries_of(job_id if job_id is not None else "any")
    details = _details_asked(keys, missing, answered, gone, deadline, scope) if missing else EntryDetails(answered)
    all_gone = gone | set(details.gone)
    if job_id is not None and all_gone:
        _remember_gone(job_id, all_gone)
    return EntryDetails(details.found, frozenset(all_gone), details.problem, details.waiting)


def _details_asked(
    keys: dict[str, Keys],
    missing: list[str],
    answered: dict[str, AccountingEntry],
    gone: set[str],
    deadline: float,
    scope: str,
) -> EntryDetails:
    """Ask Pleo for the ``missing`` entries (see ``entry_details_get``); ``scope``: whose entries they are."""
    held_back = marks.blocked([scope]).get(scope, "")
    if held_back == "refused":
        return EntryDetails(answered, frozenset(gone), "refused")
    if held_back:  # Pleo was just down or too slow for them: no view waits for it again meanwhile
        return EntryDetails(answered, frozenset(gone), held_back, frozenset(missing))
    try:
        charge("entries", calls=-(-len(missing) // ENTRIES_PER_BUDGET_CALL))
    except OverBudget as error:  # FromAnotherSite too: its code names it
        return EntryDetails(answered, frozenset(gone), error.code, frozenset(missing))
    client = get_client()
    stop = threading.Event()  # set by the first failure that says: do not ask for the others now

    def one(entry_id: str) -> AccountingEntry | Exception | None:
        if stop.is_set():
            return None
        try:
            with spending_for(None):  # already counted above
                answer = fetch_through(
                    keys[entry_id],
                    fetch=lambda: client.get_accounting_entry(uuid.UUID(entry_id)),
                    codec=ENTRY_CODEC,
                    ttl=entry_ttl,
                    failures=PLEO_FAILURES,
                )
        except NotFound as error:
            return error
        except NO_ANSWER as error:
            stop.set()
            if isinstance(error, PleoAuthError):
                marks.remember_refusal(scope)
            return error
        if answer.value is None:  # another request just learnt that Pleo has no such entry
            return NotFound("Pleo has no accounting entry with this ID.", what="entry")
        return answer.value

    with bulkhead_slot() as admitted:
        if not admitted:
            return EntryDetails(answered, frozenset(gone), "busy", frozenset(missing))
        futures = {entry_id: submit(_ENTRY_POOL, one, entry_id) for entry_id in missing}
        wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
    return _collected(futures, answered, gone, scope)


def _collected(
    futures: dict[str, Future[AccountingEntry | Exception | None]],
    answered: dict[str, AccountingEntry],
    gone: set[str],
    scope: str,
) -> EntryDetails:
    """What the calls answered by now: the entries, those gone, the first problem and those still on their way."""
    problems: set[str] = set()
    waiting: set[str] = set()
    for entry_id, future in futures.items():
        if not future.done():
            waiting.add(entry_id)
            continue
        result = future.result()
        if isinstance(result, AccountingEntry):
            answered[entry_id] = result
        elif isinstance(result, NotFound):
            gone.add(entry_id)
        elif isinstance(result, Exception):
            problems.add(policy_of(result).details_problem or "unavailable")
    if waiting:
        problems.add("timeout")
    problem = next((name for name in PROBLEM_ORDER if name in problems), "")
    if problem in ("unavailable", "timeout"):
        marks.remember_trouble(scope, problem)
    return EntryDetails(answered, frozenset(gone), problem, frozenset(waiting))


__all__ = [
    "ENTRIES_PER_PAGE",
    "FAILED_LIST_MAX",
    "ITEM_STATUSES",
    "EntryDetails",
    "ItemsSummary",
    "entries_known_for",
    "entries_known_many",
    "entry_details_get",
    "entry_details_held",
    "job_items_get",
]
