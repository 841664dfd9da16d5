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
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
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
    value: Any  # an ExportJob or ItemsSummary; None: Pleo said the job does not exist
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class _Keys:
    """The cache keys of one cached answer: the answer, its stale copy, its lock, its last failure."""

    value: str
    stale: str
    lock: str
    error: str


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


def _key(kind: str, ident: uuid.UUID | str) -> str:
    return f"{NAMESPACE}:{kind}:{ident}"


def ttl_for(job: ExportJob | None) -> int:
    """Seconds to keep an answer: short while a job can still change."""
    if job is None:
        return settings.JOB_CACHE_TTL_NOT_FOUND
    return settings.JOB_CACHE_TTL_FINAL if job.is_final else settings.JOB_CACHE_TTL_ACTIVE


# --- single flight with stale-if-error, for jobs and their entries -----------------------------


def _keys(kind: str, ident: uuid.UUID | str, *, prefix: str = "") -> _Keys:
    """The four keys of one cached answer: ``job`` answers use ``stale``/``lock``/``error``, others prefix them."""
    return _Keys(_key(kind, ident), _key(f"{prefix}stale", ident), _key(f"{prefix}lock", ident), _key(f"{prefix}error", ident))


Answer = tuple[_Entry, Source, "PleoError | None"]


def _cached_fetch(keys: _Keys, fetch: Callable[[], Any], ttl: Callable[[Any], int], *, refresh: bool) -> Answer:
    """The cached answer, or one fetched by exactly one of many concurrent callers.

    The first caller takes a lock in the cache (``cache.add`` with an expiry) and calls ``fetch``;
    the others wait for its answer or its failure, within the page's budget of
    ``2 × PLEO_API_TIMEOUT + 1`` seconds. Returns the entry, where it came from and, for a stale
    copy, the error that made it stale. Raises ``PleoError`` when there is nothing to show.
    """
    started = time.time()
    if not refresh:
        entry = _cache_call(cache.get, keys.value)
        if entry is not None:
            return entry, "cache", None
    budget = 2 * settings.PLEO_API_TIMEOUT + 1
    deadline = time.monotonic() + budget
    owner = secrets.token_hex(8)
    # default=True: with the cache down, every caller fetches for itself.
    leader = _cache_call(cache.add, keys.lock, owner, timeout=int(budget) + 1, default=True)
    if not leader:
        waited = _wait_for_leader(keys, started=started, refresh=refresh, deadline=deadline)
        if waited is not None:
            return waited
        if time.monotonic() >= deadline:  # the leader is still at it: do not pile onto Pleo
            return _stale_or_raise(keys, PleoTimeout("Pleo did not answer in time (another request is still waiting for it)."))
    elif not refresh:
        entry = _cache_call(cache.get, keys.value)  # a leader may have finished just before we took the lock
        if entry is not None:
            _cache_call(cache.delete, keys.lock)
            return entry, "cache", None
    try:
        return _fetch(keys, fetch, ttl)
    finally:
        if leader and _cache_call(cache.get, keys.lock) == owner:
            _cache_call(cache.delete, keys.lock)


def _wait_for_leader(keys: _Keys, *, started: float, refresh: bool, deadline: float) -> Answer | None:
    """Wait for the caller that holds the lock; None when it vanished without an answer or time ran out.

    Only a failure recorded after this caller started counts: an older one belongs to an earlier
    burst. A refresh also waits for an answer fetched after it started.
    """
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP)
        found = _cache_call(cache.get_many, [keys.value, keys.error], default={})
        entry = found.get(keys.value)
        if entry is not None and (not refresh or entry.fetched_at.timestamp() >= int(started)):
            return entry, ("fresh" if refresh else "cache"), None
        mark = found.get(keys.error)
        if mark is not None and mark.get("at", 0) >= started:
            return _stale_or_raise(keys, _rebuild_error(mark))
        if not _cache_call(cache.get, keys.lock):
            return None
    return None


def _fetch(keys: _Keys, fetch: Callable[[], Any], ttl: Callable[[Any], int]) -> Answer:
    try:
        value = fetch()
    except JobNotFound:
        _cache_call(cache.set, keys.value, _Entry(None, _now()), ttl(None))
        raise
    except PleoError as error:
        _cache_call(cache.set, keys.error, _error_mark(error), ERROR_MARK_TTL)
        return _stale_or_raise(keys, error)
    entry = _Entry(value, _now())
    _cache_call(cache.set, keys.value, entry, ttl(value))
    _cache_call(cache.set, keys.stale, entry, settings.JOB_CACHE_STALE_TTL)
    _cache_call(cache.delete, keys.error)
    return entry, "fresh", None


def _stale_or_raise(keys: _Keys, error: PleoError) -> Answer:
    """The last good copy when Pleo is down, slow or limiting us; else the error itself."""
    if isinstance(error, STALE_ERRORS):
        stale = _cache_call(cache.get, keys.stale)
        if stale is not None and stale.value is not None:
            logger.info("Showing stale copy %s from %s: %s", keys.stale, stale.fetched_at, error.code)
            return stale, "stale", error
    raise error


def _error_mark(error: PleoError) -> dict[str, Any]:
    mark = {"class": type(error).__name__, "message": error.message, "status": error.status, "at": time.time()}
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


# --- the service ------------------------------------------------------------------------


def job_get(*, job_id: uuid.UUID, refresh: bool = False) -> JobResult:
    """The job, from the cache when fresh enough, else from Pleo (one call for many waiters).

    Raises ``JobNotFound`` or another ``PleoError`` when there is nothing to show.
    When Pleo is unavailable, slow or rate-limiting and a last good copy exists,
    returns that copy with ``source="stale"`` and the error.
    """
    entry, source, error = _cached_fetch(
        _keys("job", job_id), lambda: get_client().get_export_job(job_id), ttl_for, refresh=refresh
    )
    if entry.value is None:
        raise JobNotFound("Pleo has no export job with this ID.", status=404)
    return JobResult(job=entry.value, fetched_at=entry.fetched_at, source=source, error=error)


ITEM_STATUSES = ("successful", "failed", "pending", "in_progress", "abandoned")
ITEMS_PAGE_SIZE = 50
BULK_LIMIT = 50
BULK_CONCURRENCY = 8


# Long-lived pools: their threads keep their cache connections between requests, and the sizes
# bound how many calls one worker process makes to Pleo at once for these pages.
_ITEMS_POOL = ThreadPoolExecutor(max_workers=2 * (len(ITEM_STATUSES) + 1), thread_name_prefix="pleo-items")
_BULK_POOL = ThreadPoolExecutor(max_workers=BULK_CONCURRENCY, thread_name_prefix="pleo-bulk")


@dataclass(frozen=True, slots=True)
class ItemsSummary:
    """How a job's entries fared: a count per item status and one page of failed entries."""

    counts: dict[str, int | None]  # None: Pleo gave no total for that status
    failed: ItemPage
    fetched_at: datetime | None = None
    source: Source = "fresh"

    @property
    def total(self) -> int | None:
        values = list(self.counts.values())
        return None if None in values else sum(values)


def job_items_get(*, job: ExportJob, after: str | None = None, refresh: bool = False) -> ItemsSummary:
    """Counts per item status (from each filter's ``total``) and a page of failed entries.

    Same cache rules as the job (TTL by the job's status, single flight, stale copy when Pleo is
    down). The five count queries ask for no items (``limit=0``) and run concurrently with the page.
    """
    ident = f"{job.id}:{job.status_value}:{after or 'first'}"
    keys = _keys("items", ident, prefix="items-")
    client = get_client()

    def count(status: str) -> tuple[str, int | None]:
        return status, client.get_export_job_items(job.id, status=status, limit=0).total

    def fetch() -> ItemsSummary:
        failed_page = _ITEMS_POOL.submit(client.get_export_job_items, job.id, status="failed", limit=ITEMS_PAGE_SIZE, after=after)
        counts = [_ITEMS_POOL.submit(count, status) for status in ITEM_STATUSES]
        wait([failed_page, *counts])  # no call outlives this fetch, even when one of them fails
        return ItemsSummary(counts=dict(c.result() for c in counts), failed=failed_page.result())

    entry, source, _error = _cached_fetch(keys, fetch, lambda _value: ttl_for(job), refresh=refresh)
    return replace(entry.value, fetched_at=entry.fetched_at, source=source)


@dataclass(frozen=True, slots=True)
class BulkRow:
    job_id: uuid.UUID
    result: JobResult | None
    error: PleoError | None


def jobs_get_many(*, job_ids: list[uuid.UUID]) -> list[BulkRow]:
    """Each job through ``job_get`` (cache, single flight), ``BULK_CONCURRENCY`` at a time.

    The whole table has one page's budget (``2 × PLEO_API_TIMEOUT + 2`` s): a job not answered by
    then gets a timeout row (its fetch goes on and fills the cache for the next look).
    """

    def one(job_id: uuid.UUID) -> BulkRow:
        try:
            return BulkRow(job_id, job_get(job_id=job_id), None)
        except PleoError as error:
            return BulkRow(job_id, None, error)

    job_ids = job_ids[:BULK_LIMIT]
    futures = [_BULK_POOL.submit(one, job_id) for job_id in job_ids]
    wait(futures, timeout=2 * settings.PLEO_API_TIMEOUT + 2)
    rows = []
    for job_id, future in zip(job_ids, futures):
        if future.done():
            rows.append(future.result())
        else:
            future.cancel()
            rows.append(BulkRow(job_id, None, PleoTimeout("Pleo did not answer in time for this job.")))
    return rows
