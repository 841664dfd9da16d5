"""Getting export jobs: caching, single flight and stale-if-error over the client.

The cache is Django's default cache (``CACHE_URL``). Keys are namespaced and
versioned. What is stored is the parsed ``ExportJob`` with the time it was
fetched, or a "not found" marker: never credentials and never an error that
looks like data. When the cache itself fails, pages still work, uncached.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Literal

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from . import __version__
from .client import (
    JobNotFound,
    PleoError,
    PleoRateLimited,
    PleoTimeout,
    PleoUnavailable,
    get_client,
)
from .jobs import ExportJob, ItemPage

logger = logging.getLogger(__name__)

NAMESPACE = f"exportjobs:{__version__}"
WAIT_STEP = 0.05  # seconds between looks at the cache while another request fetches
ERROR_MARK_TTL = 5  # seconds waiters may reuse a fetch's failure instead of repeating it
STALE_ERRORS = (PleoUnavailable, PleoTimeout, PleoRateLimited)

try:  # the Redis client is optional at import time; RedisCache needs it
    from redis.exceptions import RedisError as _RedisError
except ImportError:  # pragma: no cover - redis is in requirements.txt
    _RedisError = OSError

CACHE_ERRORS = (_RedisError, OSError, DatabaseError)

Source = Literal["fresh", "cache", "stale"]


@dataclass(frozen=True, slots=True)
class JobResult:
    """A job and where it came from: fresh from Pleo, the cache, or a stale copy."""

    job: ExportJob
    fetched_at: datetime
    source: Source
    error: PleoError | None = None  # why a stale copy is shown


@dataclass(frozen=True, slots=True)
class _Entry:
    job: ExportJob | None  # None: Pleo said the job does not exist
    fetched_at: datetime


# --- cache access that survives a cache outage ----------------------------------------

_last_cache_warning = 0.0


def _cache_call(fn: Callable[..., Any], *args: Any, default: Any = None, **kwargs: Any) -> Any:
    global _last_cache_warning
    try:
        return fn(*args, **kwargs)
    except CACHE_ERRORS as exc:
        now = time.monotonic()
        if now - _last_cache_warning >= 60:
            _last_cache_warning = now
            logger.warning("Cache unavailable (%s: %s); serving without cache", type(exc).__name__, exc)
        return default


def _key(kind: str, job_id: uuid.UUID) -> str:
    return f"{NAMESPACE}:{kind}:{job_id}"


def ttl_for(job: ExportJob | None) -> int:
    """Seconds to keep an answer: short while a job can still change."""
    if job is None:
        return settings.JOB_CACHE_TTL_NOT_FOUND
    return settings.JOB_CACHE_TTL_FINAL if job.is_final else settings.JOB_CACHE_TTL_ACTIVE


# --- the service -------------------------------------------------------------------


def job_get(*, job_id: uuid.UUID, refresh: bool = False) -> JobResult:
    """The job, from the cache when fresh enough, else from Pleo (one call for many waiters).

    Raises ``JobNotFound`` or another ``PleoError`` when there is nothing to show.
    When Pleo is unavailable, slow or rate-limiting and a last good copy exists,
    returns that copy with ``source="stale"`` and the error.
    """
    started = datetime.now(timezone.utc)
    if not refresh:
        entry = _cache_call(cache.get, _key("job", job_id))
        if entry is not None:
            return _from_entry(entry, "cache")

    lock_key = _key("lock", job_id)
    owner = secrets.token_hex(8)
    budget = 2 * settings.PLEO_API_TIMEOUT + 1
    # default=True: with the cache down, everyone fetches for themselves.
    leader = _cache_call(cache.add, lock_key, owner, timeout=int(budget) + 1, default=True)
    if not leader:
        waited = _wait_for_leader(job_id, since=started if refresh else None, budget=budget)
        if waited is not None:
            return waited
    try:
        return _fetch(job_id)
    finally:
        if leader and _cache_call(cache.get, lock_key) == owner:
            _cache_call(cache.delete, lock_key)


def _from_entry(entry: _Entry, source: Source) -> JobResult:
    if entry.job is None:
        raise JobNotFound("Pleo has no export job with this ID.", status=404)
    return JobResult(job=entry.job, fetched_at=entry.fetched_at, source=source)


def _wait_for_leader(job_id: uuid.UUID, *, since: datetime | None, budget: float) -> JobResult | None:
    """Wait for the request that holds the lock; None when it vanished without an answer."""
    deadline = time.monotonic() + budget
    lock_key, job_key, error_key = _key("lock", job_id), _key("job", job_id), _key("error", job_id)
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP)
        found = _cache_call(cache.get_many, [job_key, error_key], default={})
        entry = found.get(job_key)
        if entry is not None and (since is None or entry.fetched_at >= since.replace(microsecond=0)):
            return _from_entry(entry, "cache" if since is None else "fresh")
        error = found.get(error_key)
        if error is not None:
            return _stale_or_raise(job_id, _rebuild_error(error))
        if not _cache_call(cache.get, lock_key):
            return None
    return None


def _fetch(job_id: uuid.UUID) -> JobResult:
    try:
        job = get_client().get_export_job(job_id)
    except JobNotFound:
        _cache_call(cache.set, _key("job", job_id), _Entry(None, _now()), ttl_for(None))
        raise
    except PleoError as error:
        _cache_call(cache.set, _key("error", job_id), _error_mark(error), ERROR_MARK_TTL)
        return _stale_or_raise(job_id, error)
    entry = _Entry(job, _now())
    _cache_call(
        cache.set_many,
        {_key("job", job_id): entry},
        ttl_for(job),
    )
    _cache_call(cache.set, _key("stale", job_id), entry, settings.JOB_CACHE_STALE_TTL)
    return JobResult(job=job, fetched_at=entry.fetched_at, source="fresh")


def _stale_or_raise(job_id: uuid.UUID, error: PleoError) -> JobResult:
    if isinstance(error, STALE_ERRORS):
        stale = _cache_call(cache.get, _key("stale", job_id))
        if stale is not None and stale.job is not None:
            logger.info("Showing stale copy of job %s from %s: %s", job_id, stale.fetched_at, error.code)
            return JobResult(job=stale.job, fetched_at=stale.fetched_at, source="stale", error=error)
    raise error


def _error_mark(error: PleoError) -> dict[str, Any]:
    mark = {"class": type(error).__name__, "message": error.message, "status": error.status}
    if isinstance(error, PleoRateLimited):
        mark["retry_after"] = error.retry_after
    return mark


def _rebuild_error(mark: dict[str, Any]) -> PleoError:
    from . import client

    cls = getattr(client, mark.get("class", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, PleoError)):
        cls = PleoError
    if cls is PleoRateLimited:
        return PleoRateLimited(mark["message"], retry_after=mark.get("retry_after"))
    return cls(mark["message"], status=mark.get("status"))


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


ITEM_STATUSES = ("successful", "failed", "pending", "in_progress", "abandoned")
ITEMS_PAGE_SIZE = 50
BULK_LIMIT = 50
BULK_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class ItemsSummary:
    """How a job's entries fared: a count per item status and one page of failed entries."""

    counts: dict[str, int]
    failed: ItemPage
    fetched_at: datetime

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def job_items_get(*, job: ExportJob, after: str | None = None) -> ItemsSummary:
    """Counts per item status (from each filter's ``total``) and a page of failed entries.

    Cached like the job: ``JOB_CACHE_TTL_FINAL`` once the job is final, else the active TTL. The
    five count queries ask for no items (``limit=0``) and run concurrently.
    """
    key = _key("items", job.id) + f":{job.status_value}:{after or 'first'}"
    summary = _cache_call(cache.get, key)
    if summary is not None:
        return summary
    client = get_client()

    def count(status: str) -> tuple[str, int]:
        page = client.get_export_job_items(job.id, status=status, limit=0)
        return status, page.total if page.total is not None else len(page.items)

    with ThreadPoolExecutor(max_workers=len(ITEM_STATUSES), thread_name_prefix="items") as pool:
        failed_page = pool.submit(
            client.get_export_job_items, job.id, status="failed", limit=ITEMS_PAGE_SIZE, after=after
        )
        counts = dict(pool.map(count, ITEM_STATUSES))
        failed = failed_page.result()
    summary = ItemsSummary(counts=counts, failed=failed, fetched_at=_now())
    _cache_call(cache.set, key, summary, ttl_for(job))
    return summary


@dataclass(frozen=True, slots=True)
class BulkRow:
    job_id: uuid.UUID
    result: JobResult | None
    error: PleoError | None


def jobs_get_many(*, job_ids: list[uuid.UUID]) -> list[BulkRow]:
    """Each job through ``job_get`` (cache, single flight), at most ``BULK_CONCURRENCY`` at a time."""

    def one(job_id: uuid.UUID) -> BulkRow:
        try:
            return BulkRow(job_id, job_get(job_id=job_id), None)
        except PleoError as error:
            return BulkRow(job_id, None, error)

    with ThreadPoolExecutor(max_workers=BULK_CONCURRENCY, thread_name_prefix="bulk") as pool:
        return list(pool.map(one, job_ids[:BULK_LIMIT]))
