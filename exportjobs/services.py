"""Getting export jobs, their entries, the entries' details and companies' names: thin users of the
cache engine over the Pleo client.

``job_get``, ``job_items_get``, ``jobs_get_many``, ``jobs_store``, ``entry_details_get`` and
``company_names_get`` say what to fetch, how long to keep it and how it is stored; ``exportjobs.cache``
does the caching, single flight and stale copies.
"""

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

from . import clock
from .budgets import charge, spending_for
from .cache import (
    NAMESPACE,
    Answer,
    Keys,
    Source,
    bulkhead_slot,
    cache_get,
    cache_set,
    fetch_through,
    page_budget,
    peek_many,
    store_many,
    submit,
)
from .pleo import (
    AccountingEntry,
    Company,
    ExportJob,
    ExportJobItem,
    JobNotFound,
    OverBudget,
    PleoAuthError,
    PleoBusy,
    PleoError,
    PleoTimeout,
    PleoUnavailable,
    get_client,
)

ITEM_STATUSES = ("successful", "failed", "pending", "in_progress", "abandoned")
ENTRIES_PER_PAGE = 50  # failed entries the job page shows at a time
FAILED_PAGE_SIZE = 200  # failed entries asked of Pleo per call
FAILED_LIST_MAX = 1000  # failed entries the desk lists for one job at most
BULK_LIMIT = 50
BULK_CONCURRENCY = 8
# Calls for entries' details at once, per worker process: a page's 50 entries take two rounds.
ENTRY_CONCURRENCY = 25
# A page's details cost the user's Pleo budget one call per this many entries asked for: a cold page of 50
# costs 5, so a person can open many failed jobs, and still nobody can make the desk ask Pleo without limit.
ENTRIES_PER_BUDGET_CALL = 10
COMPANY_CONCURRENCY = 4
COMPANY_CACHE_TTL = 86400  # seconds a company's name is kept
COMPANY_LIMIT = 20  # companies whose names one page asks Pleo for at most
REFUSED_TTL = 300  # seconds the desk stops asking for what Pleo refused (403) to its key
ENTRY_TROUBLE_TTL = 30  # seconds pages stop waiting for entries' details after Pleo was down or too slow

# Long-lived pools: their threads keep their cache connections between requests, and the sizes
# bound how many calls one worker process makes to Pleo at once for these pages.
_ITEMS_POOL = ThreadPoolExecutor(max_workers=2 * (len(ITEM_STATUSES) + 1), thread_name_prefix="pleo-items")
_BULK_POOL = ThreadPoolExecutor(max_workers=BULK_CONCURRENCY, thread_name_prefix="pleo-bulk")
_ENTRY_POOL = ThreadPoolExecutor(max_workers=ENTRY_CONCURRENCY, thread_name_prefix="pleo-entry")
_COMPANY_POOL = ThreadPoolExecutor(max_workers=COMPANY_CONCURRENCY, thread_name_prefix="pleo-company")
_COMPANY_PAGE_POOL = ThreadPoolExecutor(max_workers=COMPANY_CONCURRENCY, thread_name_prefix="company-names")


def ttl_for(job: ExportJob | None) -> int:
    """Seconds to keep an answer about ``job``: short while it can still change; None is "not found"."""
    if job is None:
        return int(settings.JOB_CACHE_TTL_NOT_FOUND)
    return int(settings.JOB_CACHE_TTL_FINAL if job.is_final else settings.JOB_CACHE_TTL_ACTIVE)


def job_cache_keys(job_id: uuid.UUID) -> Keys:
    """Where a job's answer, stale copy, lock and last failure live in the cache."""
    return Keys.of("job", job_id)


# --- one job ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobResult:
    """A job and where it came from: fresh from Pleo, the cache, or a stale copy."""

    job: ExportJob
    fetched_at: datetime
    source: Source
    error: PleoError | None = None  # why a stale copy is shown


class _JobCodec:
    """A job is cached as Pleo's own ``data`` object."""

    def dump(self, value: ExportJob) -> dict[str, Any]:
        return value.payload

    def load(self, data: Any) -> ExportJob:
        return ExportJob.from_payload(data)


def job_get(*, job_id: uuid.UUID, refresh: bool = False, fresh_since: float | None = None) -> JobResult:
    """The job, from the cache when fresh enough, else from Pleo (one call for many waiters).

    Raises ``JobNotFound`` or another ``PleoError`` when there is nothing to show. When Pleo is
    unavailable, slow, rate-limiting or busy and a last good copy exists, returns that copy with
    ``source="stale"`` and the error. ``fresh_since`` (epoch seconds): ignore copies fetched
    before it (after a refresh, whichever worker serves the next page).
    """
    answer = fetch_through(
        job_cache_keys(job_id),
        fetch=lambda: get_client().get_export_job(job_id),
        codec=_JobCodec(),
        ttl=ttl_for,
        refresh=refresh,
        fresh_since=fresh_since,
    )
    return _job_result(answer)


def jobs_store(*, jobs: Iterable[ExportJob]) -> None:
    """Keep jobs Pleo sent in another answer (a list) exactly as ``job_get`` would have: same keys, same
    entry, same lifetime by status, and a stale copy. Opening one of them then costs no call."""
    store_many(((job_cache_keys(job.id), job) for job in jobs), codec=_JobCodec(), ttl=ttl_for)


def _job_result(answer: Answer[ExportJob]) -> JobResult:
    if answer.value is None:
        raise JobNotFound("Pleo has no export job with this ID.", status=404)
    return JobResult(job=answer.value, fetched_at=answer.fetched_at, source=answer.source, error=answer.error)


# --- its entries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemsSummary:
    """How a job's entries fared: a count per item status, and its failed entries (up to ``FAILED_LIST_MAX``)."""

    counts: dict[str, int | None]  # None: Pleo gave no total for that status
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
        failed = tuple(ExportJobItem.from_payload(item) for item in entry.failed)
        return ItemsSummary(counts=dict(entry.counts), failed=failed, more=entry.more)


def job_items_get(*, job: ExportJob, refresh: bool = False) -> ItemsSummary:
    """Counts per item status (from each filter's ``total``) and the job's failed entries.

    The five count queries ask for no items (``limit=0``) and run concurrently with the walk of the
    failed entries (pages of ``FAILED_PAGE_SIZE``, at most ``FAILED_LIST_MAX`` entries). The page then
    groups, filters and pages them itself: no request can make the desk ask Pleo for a page of its own.
    Same cache rules as the job (TTL by the job's status, single flight, stale copy when Pleo is down).
    """
    client = get_client()

    def count(status: str) -> tuple[str, int | None]:
        return status, client.get_export_job_items(job.id, status=status, limit=0).total

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
        Keys.of("items", f"{job.id}:{job.status_value}"),
        fetch=fetch,
        codec=_ItemsCodec(),
        ttl=lambda _value: ttl_for(job),
        refresh=refresh,
    )
    if answer.value is None:  # Pleo answered 404 for the items: the job is gone
        raise JobNotFound("Pleo has no export job with this ID.", status=404)
    summary = answer.value
    return ItemsSummary(
        counts=summary.counts,
        failed=summary.failed,
        more=summary.more,
        fetched_at=answer.fetched_at,
        source=answer.source,
    )


# --- many jobs at once --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkRow:
    job_id: uuid.UUID
    result: JobResult | None
    error: PleoError | None


def jobs_get_many(*, job_ids: list[uuid.UUID]) -> list[BulkRow]:
    """Each job through ``job_get`` (cache, single flight), ``BULK_CONCURRENCY`` at a time.

    The whole table has one page budget: a job not answered by then gets a timeout row (its fetch
    goes on and fills the cache for the next look). The request takes one place in the bulkhead for
    all its calls; without one, each job that is not cached gets its stale copy or "Pleo is busy".
    """

    def one(job_id: uuid.UUID) -> BulkRow:
        try:
            return BulkRow(job_id, job_get(job_id=job_id), None)
        except PleoError as error:
            return BulkRow(job_id, None, error)

    job_ids = job_ids[:BULK_LIMIT]
    with bulkhead_slot():
        futures = [submit(_BULK_POOL, one, job_id) for job_id in job_ids]
        wait(futures, timeout=page_budget())
    rows = []
    for job_id, future in zip(job_ids, futures, strict=True):
        if future.done():
            rows.append(future.result())
        else:
            future.cancel()
            rows.append(BulkRow(job_id, None, PleoTimeout("Pleo did not answer in time for this job.")))
    return rows


# --- what each failed entry is (the Accounting Entries API) ---------------------------------------


class _EntryCodec:
    """An entry is cached as Pleo's own ``data`` object."""

    def dump(self, value: AccountingEntry) -> dict[str, Any]:
        return value.payload

    def load(self, data: Any) -> AccountingEntry:
        return AccountingEntry.from_payload(data)


class _CompanyCodec:
    """A company is cached as Pleo's own ``data`` object."""

    def dump(self, value: Company) -> dict[str, Any]:
        return value.payload

    def load(self, data: Any) -> Company:
        return Company.from_payload(data)


def entry_ttl(_entry: AccountingEntry | None) -> int:
    """Seconds an entry's answer (or Pleo's "no such entry") is kept: a changed note shows after this."""
    return int(settings.ENTRY_CACHE_TTL)


def company_ttl(_company: Company | None) -> int:
    return COMPANY_CACHE_TTL


def _refused_key(kind: str) -> str:
    return f"{NAMESPACE}:refused:{kind}"


def _recent(mark: object, ttl: int) -> dict[str, object] | None:
    """A mark written less than ``ttl`` seconds ago by the desk's clock, else None."""
    if not isinstance(mark, dict) or not isinstance(mark.get("at"), (int, float)):
        return None
    return mark if clock.time() < mark["at"] + ttl else None


def _refused(kind: str) -> bool:
    """Pleo refused the desk's key for this kind of call (403) within the last ``REFUSED_TTL`` seconds."""
    return _recent(cache_get(_refused_key(kind), local_seconds=REFUSED_TTL), REFUSED_TTL) is not None


def _remember_refusal(kind: str) -> None:
    cache_set(_refused_key(kind), {"at": clock.time()}, REFUSED_TTL, local_seconds=REFUSED_TTL)


def _trouble_key(kind: str) -> str:
    return f"{NAMESPACE}:trouble:{kind}"


def _recent_trouble(kind: str) -> str:
    """The problem ("unavailable" or "timeout") Pleo had with this kind of call in the last
    ``ENTRY_TROUBLE_TTL`` seconds, or ""."""
    mark = _recent(cache_get(_trouble_key(kind), local_seconds=ENTRY_TROUBLE_TTL), ENTRY_TROUBLE_TTL)
    problem = mark.get("problem") if mark is not None else None
    return str(problem) if problem in ("unavailable", "timeout") else ""


def _remember_trouble(kind: str, problem: str) -> None:
    mark = {"problem": problem, "at": clock.time()}
    cache_set(_trouble_key(kind), mark, ENTRY_TROUBLE_TTL, local_seconds=ENTRY_TROUBLE_TTL)


@dataclass(frozen=True, slots=True)
class EntryDetails:
    """What Pleo said about the entries on a page.

    ``found``: the entries by id; ``gone``: ids Pleo says do not exist; ``problem``: why some or all
    are without details ("" when none: ``refused``, ``over_budget``, ``busy``, ``unavailable``,
    ``timeout``); ``waiting``: ids not answered within the page's time, filled in for the next view.
    """

    found: dict[str, AccountingEntry] = field(default_factory=dict)
    gone: frozenset[str] = frozenset()
    problem: str = ""
    waiting: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        """Nothing more will arrive soon: every entry answered, or Pleo refuses them all (remembered)."""
        return not self.waiting and self.problem in ("", "refused")


PROBLEM_ORDER = ("refused", "over_budget", "busy", "unavailable", "timeout")  # the first one found is told


def _problem_of(error: PleoError) -> str:
    if isinstance(error, PleoAuthError):
        return "refused"
    if isinstance(error, OverBudget):
        return "over_budget"
    if isinstance(error, PleoBusy):
        return "busy"
    if isinstance(error, PleoTimeout):
        return "timeout"
    return "unavailable"


def entry_details_get(*, entry_ids: Sequence[uuid.UUID], deadline: float) -> EntryDetails:
    """The details of the entries on one page (at most ``ENTRIES_PER_PAGE``), waiting until ``deadline``
    (``time.monotonic()``) at the latest.

    Cached answers (and cached "no such entry") cost no call: all are read in one round trip. The others
    are asked for ``ENTRY_CONCURRENCY`` at a time, each through the cache engine (single flight, a stale
    copy when Pleo is down). Together they count as one call of the page view against the user's budget
    (``exportjobs.budgets``): they are at most ``ENTRIES_PER_PAGE``, asked only on a cold page, and cached.
    A spent budget asks for none; the first refusal (403) or Pleo down or slow stops the calls not yet
    made; a refusal is remembered for ``REFUSED_TTL`` seconds, Pleo down or too slow for
    ``ENTRY_TROUBLE_TTL``, so that no page asks (and waits) again meanwhile. Calls still running at
    ``deadline`` go on and fill the cache for the next view.
    """
    ids = list(dict.fromkeys(str(entry_id) for entry_id in entry_ids))[:ENTRIES_PER_PAGE]
    keys = {entry_id: Keys.of("entry", entry_id) for entry_id in ids}
    codec = _EntryCodec()
    cached = peek_many(keys.values(), codec=codec, ttl=entry_ttl)
    found: dict[str, AccountingEntry] = {}
    gone: set[str] = set()
    missing: list[str] = []
    for entry_id in ids:
        answer = cached.get(keys[entry_id].value)
        if answer is None:
            missing.append(entry_id)
        elif answer.value is None:
            gone.add(entry_id)
        else:
            found[entry_id] = answer.value
    if not missing:
        return EntryDetails(found, frozenset(gone))
    if _refused("entry"):
        return EntryDetails(found, frozenset(gone), "refused")
    trouble = _recent_trouble("entry")
    if trouble:  # Pleo was just down or too slow for them: no page waits for it again meanwhile
        return EntryDetails(found, frozenset(gone), trouble, frozenset(missing))

    try:
        charge("entries", calls=-(-len(missing) // ENTRIES_PER_BUDGET_CALL))
    except OverBudget:
        return EntryDetails(found, frozenset(gone), "over_budget", frozenset(missing))
    client = get_client()
    stop = threading.Event()  # set by the first failure that says: do not ask for the others now

    def one(entry_id: str) -> AccountingEntry | PleoError | None:
        if stop.is_set():
            return None
        try:
            with spending_for(None):  # already counted above
                answer = fetch_through(
                    keys[entry_id],
                    fetch=lambda: client.get_accounting_entry(uuid.UUID(entry_id)),
                    codec=codec,
                    ttl=entry_ttl,
                )
        except JobNotFound as error:
            return error
        except PleoError as error:
            stop.set()
            if isinstance(error, PleoAuthError):
                _remember_refusal("entry")
            return error
        if answer.value is None:  # another request just learnt that Pleo has no such entry
            return JobNotFound("Pleo has no accounting entry with this ID.", status=404)
        return answer.value

    with bulkhead_slot() as admitted:
        if not admitted:
            return EntryDetails(found, frozenset(gone), "busy", frozenset(missing))
        futures = {entry_id: submit(_ENTRY_POOL, one, entry_id) for entry_id in missing}
        wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
    problems: set[str] = set()
    waiting: set[str] = set()
    for entry_id, future in futures.items():
        if not future.done():
            waiting.add(entry_id)
            continue
        result = future.result()
        if isinstance(result, AccountingEntry):
            found[entry_id] = result
        elif isinstance(result, JobNotFound):
            gone.add(entry_id)
        elif isinstance(result, PleoError):
            problems.add(_problem_of(result))
    if waiting:
        problems.add("timeout")
    problem = next((name for name in PROBLEM_ORDER if name in problems), "")
    if problem in ("unavailable", "timeout"):
        _remember_trouble("entry", problem)
    return EntryDetails(found, frozenset(gone), problem, frozenset(waiting))


# --- companies by name (the Companies API) ---------------------------------------------------------


def company_names_get(*, company_ids: Iterable[uuid.UUID | str], deadline: float | None = None) -> dict[str, str]:
    """Pleo's name of each company by id (lower-case string), for those Pleo named in time.

    Companies ``PLEO_COMPANY_LABELS`` names are not asked for (the label wins). Names are cached for
    ``COMPANY_CACHE_TTL``; at most ``COMPANY_LIMIT`` companies are asked for, ``COMPANY_CONCURRENCY``
    at a time, until ``deadline`` (default: one page budget from now). A refusal (403) is remembered
    for ``REFUSED_TTL`` seconds, Pleo down or too slow for ``ENTRY_TROUBLE_TTL``: meanwhile no page asks
    (or waits). A company Pleo does not name is simply left out.
    """
    labels: dict[str, str] = settings.PLEO_COMPANY_LABELS
    ids = [key for key in dict.fromkeys(str(value).lower() for value in company_ids) if key not in labels]
    ids = ids[:COMPANY_LIMIT]
    if not ids:
        return {}
    keys = {company_id: Keys.of("company", company_id) for company_id in ids}
    codec = _CompanyCodec()
    names: dict[str, str] = {}
    missing: list[str] = []
    cached = peek_many(keys.values(), codec=codec, ttl=company_ttl)
    for company_id in ids:
        answer = cached.get(keys[company_id].value)
        if answer is None:
            missing.append(company_id)
        elif answer.value is not None and answer.value.name.strip():
            names[company_id] = answer.value.name.strip()
    if not missing or _refused("company") or _recent_trouble("company"):
        return names
    client = get_client()

    def one(company_id: str) -> Company | None:
        try:
            answer = fetch_through(
                keys[company_id],
                fetch=lambda: client.get_company(uuid.UUID(company_id)),
                codec=codec,
                ttl=company_ttl,
            )
        except JobNotFound:
            return None
        except PleoAuthError:
            _remember_refusal("company")
            return None
        except PleoError as error:
            if isinstance(error, (PleoTimeout, PleoUnavailable)):  # no page waits for it again for a while
                _remember_trouble("company", _problem_of(error))
            return None
        return answer.value

    until = deadline if deadline is not None else time.monotonic() + page_budget()
    futures = {company_id: submit(_COMPANY_POOL, one, company_id) for company_id in missing}
    wait(futures.values(), timeout=max(0.0, until - time.monotonic()))
    for company_id, future in futures.items():
        company = future.result() if future.done() else None
        if company is not None and company.name.strip():
            names[company_id] = company.name.strip()
    return names


def company_names_later(*, company_ids: Iterable[uuid.UUID | str]) -> Future[dict[str, str]]:
    """``company_names_get`` started now in the background, for a page that has other calls to make."""
    return submit(_COMPANY_PAGE_POOL, company_names_get, company_ids=list(company_ids))
