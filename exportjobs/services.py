"""Getting export jobs and their entries: thin users of the cache engine over the Pleo client.

``job_get``, ``job_items_get``, ``jobs_get_many`` and ``jobs_store`` say what to fetch, how long to keep
it and how it is stored; ``exportjobs.cache`` does the caching, single flight and stale copies.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from pydantic import BaseModel, ConfigDict

from .cache import Answer, Keys, Source, bulkhead_slot, fetch_through, page_budget, store_many, submit
from .pleo import ExportJob, ExportJobItem, JobNotFound, PleoError, PleoTimeout, get_client

ITEM_STATUSES = ("successful", "failed", "pending", "in_progress", "abandoned")
ENTRIES_PER_PAGE = 50  # failed entries the job page shows at a time
FAILED_PAGE_SIZE = 200  # failed entries asked of Pleo per call
FAILED_LIST_MAX = 1000  # failed entries the desk lists for one job at most
BULK_LIMIT = 50
BULK_CONCURRENCY = 8

# Long-lived pools: their threads keep their cache connections between requests, and the sizes
# bound how many calls one worker process makes to Pleo at once for these pages.
_ITEMS_POOL = ThreadPoolExecutor(max_workers=2 * (len(ITEM_STATUSES) + 1), thread_name_prefix="pleo-items")
_BULK_POOL = ThreadPoolExecutor(max_workers=BULK_CONCURRENCY, thread_name_prefix="pleo-bulk")


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
