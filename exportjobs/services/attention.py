"""Needs attention: failed, cancelled, partly exported and active export jobs across companies, from Pleo's list.

``attention_get`` walks ``GET /v2/export-jobs`` within bounds and keeps the answer per filter set for
``ATTENTION_CACHE_TTL`` through the cache engine (single flight, stale copy when Pleo is down). Every
job in a fresh answer also fills the per-job cache (``services.jobs_store``): opening a row costs no
call. Two walks, concurrent when both are wanted:

- **failed (and cancelled) / partly exported** jobs created in the period, newest first
  (``sorting_keys=createdAt``, ``sorting_order=DESC``), stopping at the period's edge while Pleo keeps
  that order; a cancelled job is Pleo's ``failed`` with ``canceled_by_user``, told apart by its verdict;
- **active** jobs (waiting or exporting) whatever their age: a stuck job matters however old it is.

Pleo documents neither its sorting keys nor its largest page, so the desk asks for pages of
``PAGE_SIZE``; when Pleo refuses the sort (400 on the first page) it asks again without one, and when
Pleo ignores it the desk sorts what it got. A walk ends at ``ATTENTION_MAX_JOBS`` jobs, at
``MAX_PAGES`` pages, and always within ``2 × PLEO_API_TIMEOUT`` (inside ``page_budget()``, so the
callers waiting on it get its answer). A page that fails after the first ends the walk: the jobs so far
are shown, saying why the list is shorter.

An answer of 500 jobs takes far longer to parse (and to lay out) than a page takes to serve from the
cache, and every viewer of the same filters reads the same answer. So each walk gets a random id, kept in
its cache entry, and a worker parses a given walk once (an ``LRU`` by walk id): the entry is still the one
source of truth, read on every request, and a new walk (or a refresh) is a new id.

Both walks charge the user's budget before each call, in whatever thread makes it (``cache.submit``
carries the user along): a user over budget makes no call at all.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings
from pydantic import BaseModel, ConfigDict

from .. import clock
from ..cache import Answer, Keys, fetch_through, peek, store, submit
from ..lru import LRU
from ..pleo import (
    ExportJob,
    NotFound,
    PleoBadResponse,
    PleoRateLimited,
    PleoTimeout,
    PleoUnavailable,
    get_client,
)
from ..verdict import State, verdict_of
from .answers import PLEO_FAILURES, found
from .jobs import jobs_store

logger = logging.getLogger(__name__)
WAITING_FOR_ACTIVE = "The list waits for its walk of active jobs to end before it answers."

PERIODS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEFAULT_PERIOD = "7d"
# What the status filter offers: Pleo's statuses, and the desk's own "cancelled" (Pleo's failed, cancelled by a
# user), which is never counted as failed.
FINAL = ("failed", "cancelled", "completed_with_errors")
ACTIVE = ("pending", "in_progress")
STATUSES = FINAL + ACTIVE
PLEO_STATUS = {"cancelled": "failed"}  # the status Pleo's list knows a desk status by
PAGE_SIZE = 100
MAX_PAGES = 50  # a safety net for a Pleo that ignores the sort and the filters
SORT_KEY, SORT_ORDER = "createdAt", "DESC"
# After the first page these end a walk with the jobs so far (before it, they are the answer's failure).
ENDS_A_WALK = (PleoUnavailable, PleoTimeout, PleoRateLimited, PleoBadResponse)

_WALKS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pleo-list")


@dataclass(frozen=True)
class Filters:
    """What a view of the list asks for; ``ident`` names its cache entry, ``query`` its link."""

    period: str = DEFAULT_PERIOD
    statuses: tuple[str, ...] = STATUSES  # in the order of STATUSES, no repeats
    company: uuid.UUID | None = None

    @property
    def ident(self) -> str:
        return f"{self.period}:{'+'.join(self.statuses)}:{self.company or 'all'}"

    def query(self) -> list[tuple[str, str]]:
        """The URL parameters of this view: period always, status and company when they narrow it."""
        params = [("period", self.period)]
        if self.statuses != STATUSES:
            params += [("status", status) for status in self.statuses]
        if self.company is not None:
            params.append(("company", str(self.company)))
        return params

    def for_audit(self) -> dict[str, Any]:
        return {"period": self.period, "statuses": list(self.statuses), "company": str(self.company or "")}


def attention_keys(filters: Filters) -> Keys:
    """Where the answer for one filter set, its stale copy, lock and last failure live in the cache."""
    return Keys.of("attention", filters.ident)


# --- the answer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class JobList:
    """One walk's answer: the jobs to show (newest first) and how complete the list is."""

    jobs: tuple[ExportJob, ...]
    since: datetime  # the period's start when it was fetched
    skipped: int = 0  # jobs in Pleo's pages that did not parse
    capped: bool = False  # more jobs matched than ATTENTION_MAX_JOBS
    sorted_by_pleo: bool = True  # False: Pleo refused or ignored the sort, the desk sorted what it got
    cut_short: str = ""  # the PleoError code that ended the walk part-way; "" when complete
    pages: int = 0
    walk: str = ""  # a random id of the walk that fetched this answer


ListResult = Answer[JobList]  # a list answer and where it came from: fresh from Pleo, the cache, or a stale copy


class _Entry(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    jobs: str  # Pleo's job objects as one JSON text
    since: int
    skipped: int
    capped: bool
    sorted_by_pleo: bool
    cut_short: str
    pages: int
    walk: str


_PARSED: LRU[str, JobList] = LRU(8)  # about 1.5 MB each at 500 jobs


class _Jobs(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    jobs: list[dict[str, Any]]


class _ListCodec:
    """A list answer is cached as Pleo's own job objects and the facts of the walk (with its id).

    A worker parses each walk once: an entry whose walk it has parsed before is that walk's answer. The
    jobs are kept as one JSON text inside the entry, so that reading an entry of a walk already parsed
    (every cached view but the first) costs a string, not 500 objects rebuilt by the cache backend.
    """

    def dump(self, value: JobList) -> dict[str, Any]:
        return {
            "jobs": json.dumps([job.payload for job in value.jobs], separators=(",", ":"), ensure_ascii=False),
            "since": int(value.since.timestamp()),
            "skipped": value.skipped,
            "capped": value.capped,
            "sorted_by_pleo": value.sorted_by_pleo,
            "cut_short": value.cut_short,
            "pages": value.pages,
            "walk": value.walk,
        }

    def load(self, data: Any) -> JobList:
        walk = data.get("walk") if isinstance(data, dict) else None
        if not isinstance(walk, str) or len(walk) < 16:
            raise ValueError("no walk id")
        return _PARSED.get_or_make(walk, lambda: self._parse(data))

    @staticmethod
    def _parse(data: Any) -> JobList:
        entry = _Entry.model_validate(data)
        try:
            decoded = json.loads(entry.jobs)
        except RecursionError:
            raise ValueError("the jobs are nested too deep") from None
        payloads = _Jobs.model_validate({"jobs": decoded}).jobs
        try:
            jobs = tuple(ExportJob.from_payload(job) for job in payloads)
        except PleoBadResponse as error:  # kept by another release in another shape: a miss
            raise ValueError(error.message) from None
        return JobList(
            jobs=jobs,
            since=datetime.fromtimestamp(entry.since, timezone.utc),
            skipped=entry.skipped,
            capped=entry.capped,
            sorted_by_pleo=entry.sorted_by_pleo,
            cut_short=entry.cut_short,
            pages=entry.pages,
            walk=entry.walk,
        )


@dataclass(frozen=True)
class Summary:
    """An answer's counts, kept beside it: the home page's one line reads those of the default view."""

    period: str
    failed: int
    cancelled: int
    partly: int
    stuck: int  # possibly stuck or overdue


class _Counts(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    period: str
    failed: int
    cancelled: int
    partly: int
    stuck: int


class _SummaryCodec:
    def dump(self, value: Summary) -> dict[str, Any]:
        return {
            "period": value.period,
            "failed": value.failed,
            "cancelled": value.cancelled,
            "partly": value.partly,
            "stuck": value.stuck,
        }

    def load(self, data: Any) -> Summary:
        counts = _Counts.model_validate(data)
        if counts.period not in PERIODS:
            raise ValueError(f"unknown period {counts.period!r}")
        return Summary(
            period=counts.period,
            failed=counts.failed,
            cancelled=counts.cancelled,
            partly=counts.partly,
            stuck=counts.stuck,
        )


def _summary_keys(filters: Filters) -> Keys:
    return Keys.of("attention-summary", filters.ident)


def summarise(jobs: JobList, *, period: str, now: datetime) -> Summary:
    """The list's counts by each job's verdict (the same states the list's sections show)."""
    states = [verdict_of(job, now=now).state for job in jobs.jobs]
    return Summary(
        period=period,
        failed=states.count(State.FAILED),
        cancelled=states.count(State.CANCELLED),
        partly=states.count(State.PARTLY_EXPORTED),
        stuck=states.count(State.POSSIBLY_STUCK) + states.count(State.OVERDUE),
    )


def _ttl(_value: object) -> int:
    return int(settings.ATTENTION_CACHE_TTL)


# --- the service ------------------------------------------------------------------------------


def attention_get(*, filters: Filters, refresh: bool = False) -> ListResult:
    """The list for ``filters``: from the cache when fresh enough, else one bounded walk of Pleo's pages
    for all concurrent callers. Raises a ``PleoError`` when there is nothing to show; returns the last
    good copy (``source="stale"``) when Pleo is unavailable, slow or rate-limiting."""

    def fetch() -> JobList:
        now = clock.now().replace(microsecond=0)
        jobs = _walk_all(filters, now=now, deadline=time.monotonic() + 2 * float(settings.PLEO_API_TIMEOUT))
        jobs_store(jobs=jobs.jobs)
        _PARSED.get_or_make(jobs.walk, lambda: jobs)  # this worker need not parse what it just fetched
        store(
            _summary_keys(filters),
            summarise(jobs, period=filters.period, now=now),
            codec=_SummaryCodec(),
            ttl=_ttl(None),
        )
        return jobs

    answer = fetch_through(
        attention_keys(filters), fetch=fetch, codec=_ListCodec(), ttl=_ttl, failures=PLEO_FAILURES, refresh=refresh
    )
    if answer.value is None:  # only a "not found" is stored without a value, and a list is never that
        raise PleoBadResponse("Pleo answered the list of export jobs with 'not found'.", status=404)
    return found(answer, what="list", message="")


def attention_summary_cached(*, filters: Filters | None = None) -> Summary | None:
    """The counts of the cached answer for ``filters`` (the default view): from the cache only, never Pleo."""
    answer = peek(_summary_keys(filters or Filters()), codec=_SummaryCodec(), ttl=_ttl)
    return None if answer is None else answer.value


# --- the walks ------------------------------------------------------------------------------------


@dataclass
class _Walk:
    jobs: list[ExportJob] = field(default_factory=list)
    skipped: int = 0
    more: bool = False
    sorted_by_pleo: bool = True
    cut_short: str = ""
    pages: int = 0


def _walk_all(filters: Filters, *, now: datetime, deadline: float) -> JobList:
    limit = int(settings.ATTENTION_MAX_JOBS)
    since = now - PERIODS[filters.period]
    final = tuple(dict.fromkeys(PLEO_STATUS.get(s, s) for s in filters.statuses if s in FINAL))
    active = tuple(s for s in filters.statuses if s in ACTIVE)
    pending_active = (
        submit(_WALKS, _walk, statuses=active, company=filters.company, since=None, limit=limit, deadline=deadline)
        if active and final
        else None
    )
    walks: list[_Walk] = []
    try:
        if final:
            walks.append(_walk(statuses=final, company=filters.company, since=since, limit=limit, deadline=deadline))
        elif active:
            walks.append(_walk(statuses=active, company=filters.company, since=None, limit=limit, deadline=deadline))
    finally:
        if pending_active is not None:  # no call outlives this fetch, even when the walk above failed
            if not pending_active.done():
                logger.debug(WAITING_FOR_ACTIVE)
            wait([pending_active], timeout=max(0.0, deadline - time.monotonic()) + 1)
    if pending_active is not None:
        if not pending_active.done():
            raise PleoTimeout("Pleo did not answer the list of active jobs in time.")
        walks.append(pending_active.result())
    seen: set[uuid.UUID] = set()
    jobs: list[ExportJob] = []
    for walk in walks:
        for job in walk.jobs:
            if job.id not in seen:
                seen.add(job.id)
                jobs.append(job)
    jobs.sort(key=lambda job: job.created_at, reverse=True)
    return JobList(
        jobs=tuple(jobs[:limit]),
        since=since,
        skipped=sum(walk.skipped for walk in walks),
        capped=len(jobs) > limit or any(walk.more for walk in walks),
        sorted_by_pleo=all(walk.sorted_by_pleo for walk in walks),
        cut_short=next((walk.cut_short for walk in walks if walk.cut_short), ""),
        pages=sum(walk.pages for walk in walks),
        walk=secrets.token_hex(8),
    )


def _walk(
    *, statuses: tuple[str, ...], company: uuid.UUID | None, since: datetime | None, limit: int, deadline: float
) -> _Walk:
    """Pleo's pages for ``statuses``, newest first when Pleo sorts, until one of the bounds is reached."""
    client = get_client()
    walk = _Walk()
    sort = True
    after: str | None = None
    cursors: set[str] = set()
    oldest: datetime | None = None  # createdAt of the last job Pleo sent, to check its order
    while True:
        if walk.pages >= MAX_PAGES:
            walk.more = True
            break
        try:
            if time.monotonic() >= deadline - 0.05:
                raise PleoTimeout("Pleo did not send the whole list in time.")
            page = client.list_export_jobs(
                company_id=company,
                statuses=statuses,
                limit=PAGE_SIZE,
                after=after,
                sorting_keys=(SORT_KEY,) if sort else (),
                sorting_order=(SORT_ORDER,) if sort else (),
                deadline=deadline,
            )
        except NotFound:
            raise PleoBadResponse("Pleo has no list of export jobs at this address (404).", status=404) from None
        except ENDS_A_WALK as error:
            if sort and walk.pages == 0 and error.status == 400:
                logger.info("Pleo refused sorting the list by %s; asking again without a sort", SORT_KEY)
                sort = walk.sorted_by_pleo = False
                continue
            if walk.pages == 0:
                raise
            logger.warning("The list of export jobs stopped after %d page(s): %s", walk.pages, error.code)
            walk.cut_short = error.code
            break
        walk.pages += 1
        walk.skipped += page.skipped
        for job in page.jobs:
            if oldest is not None and job.created_at > oldest:
                walk.sorted_by_pleo = False
            oldest = job.created_at
            if job.status_value not in statuses or (company is not None and job.company_id != company):
                continue  # Pleo did not apply a filter: the desk does
            if since is None or job.created_at >= since:
                walk.jobs.append(job)
        at_edge = sort and walk.sorted_by_pleo and since is not None and oldest is not None and oldest < since
        cursor = page.end_cursor if page.has_next_page and page.end_cursor not in cursors else None
        if len(walk.jobs) >= limit:
            walk.more = len(walk.jobs) > limit or (bool(cursor) and not at_edge)
            break
        if at_edge or not cursor:
            break
        cursors.add(cursor)
        after = cursor
    if walk.skipped:
        logger.warning("%d job(s) in Pleo's list did not parse and are left out", walk.skipped)
    if not walk.sorted_by_pleo:
        walk.jobs.sort(key=lambda job: job.created_at, reverse=True)
    walk.jobs = walk.jobs[: limit + 1]
    return walk
