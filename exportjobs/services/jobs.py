"""Export jobs: one job (``job_get``), jobs Pleo sent in a list (``jobs_store``) and many at once
(``jobs_get_many``), each through the cache engine: TTL by status, single flight, a stale copy when Pleo
is down."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings

from ..cache import Answer, Keys, bulkhead_slot, fetch_through, page_budget, store_many, submit
from ..pleo import ExportJob, PleoTimeout, get_client
from ..policy import NO_ANSWER
from .answers import PLEO_FAILURES, PayloadCodec, found

BULK_LIMIT = 50
BULK_CONCURRENCY = 8
_BULK_POOL = ThreadPoolExecutor(max_workers=BULK_CONCURRENCY, thread_name_prefix="pleo-bulk")
JOB_CODEC = PayloadCodec(ExportJob)

JobResult = Answer[ExportJob]  # a job, when it was fetched, and whether fresh, cached or a stale copy


def ttl_for(job: ExportJob | None) -> int:
    """Seconds to keep an answer about ``job``: short while it can still change; None is "not found"."""
    if job is None:
        return int(settings.JOB_CACHE_TTL_NOT_FOUND)
    return int(settings.JOB_CACHE_TTL_FINAL if job.is_final else settings.JOB_CACHE_TTL_ACTIVE)


def job_cache_keys(job_id: uuid.UUID) -> Keys:
    """Where a job's answer, stale copy, lock and last failure live in the cache."""
    return Keys.of("job", job_id)


def job_get(*, job_id: uuid.UUID, refresh: bool = False, fresh_since: float | None = None) -> JobResult:
    """The job, from the cache when fresh enough, else from Pleo (one call for many waiters).

    Raises ``NotFound`` or another failure (``policy.NO_ANSWER``) when there is nothing to show. When Pleo
    is unavailable, slow, rate-limiting or busy and a last good copy exists, returns that copy with
    ``source="stale"`` and the error. ``fresh_since`` (epoch seconds): ignore copies fetched before it
    (after a refresh, whichever worker serves the next page). An answer about another job than ``job_id``
    is a bad answer (``PleoBadResponse``), never kept.
    """
    answer = fetch_through(
        job_cache_keys(job_id),
        fetch=lambda: get_client().get_export_job(job_id),
        codec=JOB_CODEC,
        ttl=ttl_for,
        failures=PLEO_FAILURES,
        refresh=refresh,
        fresh_since=fresh_since,
    )
    return found(answer, what="job", message="Pleo has no export job with this ID.")


def jobs_store(*, jobs: Iterable[ExportJob]) -> None:
    """Keep jobs Pleo sent in another answer (a list) exactly as ``job_get`` would have: same keys, same
    entry, same lifetime by status, and a stale copy. Opening one of them then costs no call."""
    store_many(((job_cache_keys(job.id), job) for job in jobs), codec=JOB_CODEC, ttl=ttl_for)


@dataclass(frozen=True, slots=True)
class BulkRow:
    job_id: uuid.UUID
    result: JobResult | None
    error: Exception | None


def jobs_get_many(*, job_ids: list[uuid.UUID]) -> list[BulkRow]:
    """Each job through ``job_get`` (cache, single flight), ``BULK_CONCURRENCY`` at a time.

    The whole table has one page budget: a job not answered by then gets a timeout row (its fetch
    goes on and fills the cache for the next look). The request takes one place in the bulkhead for
    all its calls; without one, each job that is not cached gets its stale copy or "busy".
    """

    def one(job_id: uuid.UUID) -> BulkRow:
        try:
            return BulkRow(job_id, job_get(job_id=job_id), None)
        except NO_ANSWER as error:
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
