"""The cache engine: answers kept as data, one fetch for many callers, stale copies, counters.

Nothing here knows what it caches or whom it asks. A caller names its keys (``Keys.of``), how to fetch
a value, how to turn it into JSON-compatible data and back (``Codec``), how long to keep it, and how
its fetch can fail (``Failures``: which failure means "no such thing", which are about one caller only,
which a stale copy may cover, and how a failure is shared with other processes); the engine does the
rest:

- **What is stored** is data, never objects: ``{"schema": SCHEMA, "fetched_at": <epoch seconds>,
  "data": <Pleo's own payload, or None for "not found">}``. It is parsed on read; an entry that no
  longer parses (an older or newer release, a hand edit) is a miss, fetched again. Redis uses
  ``JSONSerializer``, so nothing read from it is ever unpickled. An entry past its lifetime by the desk's
  clock (``exportjobs.clock``) is a miss, whatever the backend still holds.
- **Two layers**: a small in-process cache (``exportjobs.lru``; bounded, at most ``LOCAL_CACHE_TTL``
  seconds, holding parsed values) in front of the shared one (``CACHE_URL``). Hot answers skip the
  round trip to Redis, and a Redis outage costs a few fetches, not one per page.
- **A breaker**: the first failing call to the shared cache makes this process skip it for
  ``CACHE_BREAKER_SECONDS``; then one call probes it again. A hung Redis costs one socket timeout.
- **Single flight**: callers in this process wait on the one in-process leader's answer (woken at
  once); across processes the leader takes a lock in the shared cache and the others poll it.
- **A bulkhead**: at most ``PLEO_BULKHEAD`` threads of a process wait on fetches at once. With every
  place taken, a newcomer waits for one while the source answers at its normal pace (the oldest call
  holding a place has waited under ``PLEO_SLOW_AFTER``: a place frees up soon); once the source is slow it
  gets the stale copy or ``Busy`` at once, so healthy pages never queue behind a slow source and a busy
  hour at a healthy source never sees "busy".
- **Stale if error**: the last good copy is kept ``JOB_CACHE_STALE_TTL`` and answers when the caller's
  ``Failures`` say a stale copy may cover the failure (the engine's own ``Busy`` and ``TooLong``
  included, when the caller says so).
- ``page_budget()``: how long a page may wait for one fetched answer.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from . import clock, lru, metrics
from .lru import LRU

try:  # the Redis client is optional at import time; RedisCache needs it
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is in requirements.txt
    RedisError = OSError  # type: ignore[assignment,misc] # stand-in base class when redis is absent

logger = logging.getLogger(__name__)

NAMESPACE = "exportjobs"
SCHEMA = 1  # the shape of a cache entry; an entry of another schema is a miss
ENTRY_KEYS = frozenset({"schema", "fetched_at", "data"})
POLL_STEP = 0.01  # seconds between looks at the shared cache while another process fetches
ERROR_MARK_TTL = 5  # seconds waiters may reuse a fetch's failure instead of repeating it
SHARED_CACHE_ERRORS = (RedisError, OSError, DatabaseError)

Source = Literal["fresh", "cache", "stale"]
V = TypeVar("V")
A = TypeVar("A")
R = TypeVar("R")


def page_budget() -> float:
    """Seconds a page may wait for one answer from Pleo: the client's deadline (2 × timeout) and 1 s."""
    return 2 * float(settings.PLEO_API_TIMEOUT) + 1


class JSONSerializer:
    """For Django's ``RedisCache``: values as JSON, never pickles; plain ints raw so ``incr`` works."""

    def __init__(self, protocol: int | None = None) -> None:
        pass

    def dumps(self, obj: Any) -> bytes | int:
        if type(obj) is int:
            return obj
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(self, data: bytes) -> Any:
        try:
            return int(data)
        except ValueError:
            pass
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            return None  # not ours (a pickle of an older release, a hand edit): a miss


# --- the shared cache behind a breaker -------------------------------------------------------


class _Breaker:
    """Open on the first failure: no request touches the shared cache until a probe finds it well.

    The probe runs in a thread of its own every ``CACHE_BREAKER_SECONDS``, so no request ever waits
    for a cache that is still hung.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = False
        self._prober: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        return self._open

    def allow(self) -> bool:
        return not self._open

    def failed(self) -> None:
        with self._lock:
            self._open = True
            if self._prober is None or not self._prober.is_alive():
                self._prober = threading.Thread(target=self._probe, name="cache-breaker-probe", daemon=True)
                self._prober.start()
        metrics.BREAKER_OPEN.set(1)

    def _probe(self) -> None:
        while self._open:
            time.sleep(float(settings.CACHE_BREAKER_SECONDS))
            try:
                cache.get(f"{NAMESPACE}:probe")
            except SHARED_CACHE_ERRORS:
                metrics.BREAKER_PROBES.labels(outcome="failed").inc()
                continue
            metrics.BREAKER_PROBES.labels(outcome="ok").inc()
            self.close()
            logger.warning("Cache available again; using it")

    def close(self) -> None:
        with self._lock:
            self._open = False
        metrics.BREAKER_OPEN.set(0)


_breaker = _Breaker()


def _shared(fn: Callable[..., Any], *args: Any, default: Any = None, **kwargs: Any) -> Any:
    if not _breaker.allow():
        metrics.CACHE_SKIPPED.inc()
        return default
    try:
        result = fn(*args, **kwargs)
    except SHARED_CACHE_ERRORS as exc:
        _breaker.failed()
        metrics.CACHE_ERRORS.inc()
        logger.warning(
            "Cache unavailable (%s: %s); serving without it, trying it again every %s s",
            type(exc).__name__,
            exc,
            settings.CACHE_BREAKER_SECONDS,
        )
        return default
    return result


# --- this process's own small cache in front of it --------------------------------------------


_local: LRU[str, Any] = LRU(lambda: int(settings.LOCAL_CACHE_MAX_ENTRIES))


def _local_seconds(ttl: float) -> float:
    return min(float(ttl), float(settings.LOCAL_CACHE_TTL))


# --- cache calls that survive a cache outage -------------------------------------------------


def cache_get(key: str, *, local_seconds: float = 0) -> Any:
    return cache_get_many([key], local_seconds=local_seconds).get(key)


def cache_get_many(keys: Iterable[str], *, local_seconds: float | Mapping[str, float] = 0) -> dict[str, Any]:
    """The values found, in one round trip to the shared cache for those not held in this process.

    ``local_seconds``: also keep what was read in this process for that long (0: not at all), for
    every key or per key.
    """
    found: dict[str, Any] = {}
    missing = []
    for key in keys:
        seconds = local_seconds.get(key, 0) if isinstance(local_seconds, Mapping) else local_seconds
        value = _local.get(key) if seconds else None
        if value is None:
            missing.append(key)
        else:
            found[key] = value
    if missing:
        for key, value in _shared(cache.get_many, missing, default={}).items():
            seconds = local_seconds.get(key, 0) if isinstance(local_seconds, Mapping) else local_seconds
            if value is not None:
                found[key] = value
                if seconds:
                    _local.put(key, value, seconds)
    return found


def cache_set(key: str, value: Any, ttl: float | None, *, local_seconds: float = 0) -> None:
    if local_seconds:
        _local.put(key, value, local_seconds)
    else:
        _local.delete(key)
    _shared(cache.set, key, value, ttl)


def cache_set_many(values: dict[str, Any], ttl: float | None) -> None:
    if values:
        for key in values:
            _local.delete(key)
        _shared(cache.set_many, values, ttl)


def cache_delete_many(keys: Iterable[str]) -> None:
    keys = list(keys)
    if keys:
        for key in keys:
            _local.delete(key)
        _shared(cache.delete_many, keys)


def cache_add(key: str, value: Any, ttl: float | None, *, when_down: bool) -> bool:
    """``cache.add`` on the shared cache; ``when_down`` is the answer when it cannot be asked."""
    return bool(_shared(cache.add, key, value, ttl, default=when_down))


def cache_delete(key: str) -> None:
    _local.delete(key)
    _shared(cache.delete, key)


_counters_lock = threading.Lock()


def count_up(key: str, window: float, amount: int = 1) -> int:
    """Add ``amount`` to a counter that lives ``window`` seconds; returns its new value.

    Shared by every worker through the shared cache (an atomic ``incr`` with Redis). When the shared
    cache cannot be asked, this process counts on its own, so a limit still holds per worker.
    """
    value = _shared(_incr, key, window, amount)
    if isinstance(value, int):
        return value
    with _counters_lock:
        count = int(_local.get(key) or 0) + amount
        _local.put(key, count, window)
    return count


def _incr(key: str, window: float, amount: int) -> int:
    cache.add(key, 0, window)
    try:
        return int(cache.incr(key, amount))
    except ValueError:  # expired between add and incr: start again
        cache.add(key, amount, window)
        return amount


def local_get(key: str) -> Any:
    """A value this process keeps for itself (never in the shared cache), or None."""
    return _local.get(key)


def local_put(key: str, value: Any, seconds: float) -> None:
    """Keep a value in this process only, for at most ``seconds`` (bounded with the local cache)."""
    _local.put(key, value, seconds)


def clear_local() -> None:
    """Forget everything this process holds, in every in-process cache (the shared cache is left as it is)."""
    lru.clear_all()


def reset() -> None:
    """Start afresh in this process: empty in-process caches, closed breaker."""
    lru.clear_all()
    _breaker.close()


def breaker_open() -> bool:
    return _breaker.is_open


# --- the bulkhead ----------------------------------------------------------------------------

_holding_slot: contextvars.ContextVar[bool] = contextvars.ContextVar("desk_holding_slot", default=False)


class _Bulkhead:
    """The places of this process's threads that wait on fetches.

    "Busy" must mean the source is slow, not that many people look at once: with every place taken, a
    newcomer waits for one as long as the oldest call holding a place has waited under
    ``slow_after()`` (the source answers at its pace; a place frees up within that time). Once the oldest
    has waited longer, the source is slow and a newcomer is turned away at once: its thread stays free
    for health checks and cached pages. Hand-written: a semaphore library counts places but knows
    nothing of how long their holders have waited.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.in_use = 0
        self.most = 0
        self.waiting = 0
        self._taken: dict[int, float] = {}  # place -> when it was taken (``clock.monotonic``)
        self._next = 0

    def try_acquire(self, deadline: float) -> int | None:
        """A place (its number), or None when the source is slow or ``deadline`` passes first."""
        limit = int(settings.PLEO_BULKHEAD)
        with self._changed:
            while self.in_use >= limit:
                now = clock.monotonic()
                oldest = min(self._taken.values(), default=now)
                give_up = min(oldest + slow_after(), now + max(0.0, deadline - time.monotonic()))
                if now >= give_up:
                    return None
                self.waiting += 1
                metrics.BULKHEAD_WAITS.inc()
                try:
                    self._changed.wait(give_up - now)
                finally:
                    self.waiting -= 1
            self.in_use += 1
            self._next += 1
            place = self._next
            self._taken[place] = clock.monotonic()
            if self.in_use > self.most:
                self.most = self.in_use
                metrics.BULKHEAD_MOST_IN_USE.set(self.most)
        metrics.BULKHEAD_IN_USE.inc()
        return place

    def release(self, place: int) -> None:
        with self._changed:
            self.in_use -= 1
            self._taken.pop(place, None)
            self._changed.notify()
        metrics.BULKHEAD_IN_USE.dec()


def slow_after() -> float:
    """How long a call may wait on the source before the source counts as slow (``PLEO_SLOW_AFTER``, at
    most the client's timeout)."""
    return min(float(settings.PLEO_SLOW_AFTER), float(settings.PLEO_API_TIMEOUT))


_bulkhead = _Bulkhead()


@contextmanager
def bulkhead_slot(deadline: float | None = None) -> Iterator[bool]:
    """A place among the threads that may wait on Pleo; yields False when none is free and the source is
    slow (at once), or none freed up by ``deadline`` (``time.monotonic()``; default: a page's budget).

    Work this context hands to a pool with ``submit`` runs under the same place.
    """
    if _holding_slot.get():
        yield True
        return
    place = _bulkhead.try_acquire(time.monotonic() + page_budget() if deadline is None else deadline)
    if place is None:
        metrics.BULKHEAD_REJECTIONS.inc()
        yield False
        return
    token = _holding_slot.set(True)
    try:
        yield True
    finally:
        _holding_slot.reset(token)
        _bulkhead.release(place)


def submit(pool: Executor, fn: Callable[..., R], *args: Any, **kwargs: Any) -> Future[R]:
    """``pool.submit`` in a copy of this context: the request id and the bulkhead place go along."""
    context = contextvars.copy_context()
    return pool.submit(context.run, fn, *args, **kwargs)


# --- the engine's own failures, and how a caller's fetch can fail -----------------------------------------


class EngineError(Exception):
    """Why the engine has no answer for a caller though it asked nobody itself (or stopped waiting)."""

    code: ClassVar[str] = "engine"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.status: int | None = None


class Busy(EngineError):
    """Not fetched: too many of this process's threads already wait on fetches (the bulkhead is full)."""

    code = "busy"


class TooLong(EngineError):
    """Another caller's fetch of the same answer did not end within this caller's time."""

    code = "timeout"


@dataclass(frozen=True)
class Failures:
    """How a caller's fetch can fail, told to the engine, which knows none of the caller's errors.

    ``known``: every failure the fetch may raise as an answer of sorts (anything else is a bug and goes up
    untouched); ``missing``: "no such thing", kept as an answer (``value`` None) for its own lifetime;
    ``personal``: about this caller only (a spent budget): never shared with others waiting, never covered
    by a stale copy; ``stale_if``: whether a stale copy may answer instead of this failure (asked for the
    engine's own ``Busy`` and ``TooLong`` too); ``to_mark`` / ``from_mark``: a failure as JSON-compatible
    data, shared with the other processes waiting for the same answer.
    """

    known: tuple[type[Exception], ...]
    missing: type[Exception]
    personal: tuple[type[Exception], ...]
    stale_if: Callable[[Exception], bool]
    to_mark: Callable[[Exception], dict[str, Any]]
    from_mark: Callable[[dict[str, Any]], Exception]


# --- entries ----------------------------------------------------------------------------------


class Codec(Protocol[V]):
    """How a value becomes JSON-compatible data for the cache, and back (``load`` raises ``ValueError``, or
    ``TypeError``/``KeyError``, on data it cannot read: the entry is then a miss)."""

    def dump(self, value: V) -> Any: ...

    def load(self, data: Any) -> V: ...


@dataclass(frozen=True, slots=True)
class Keys:
    """The cache keys of one cached answer: the answer, its stale copy, its lock and its last failure."""

    kind: str
    value: str
    stale: str
    lock: str
    error: str

    @classmethod
    def of(cls, kind: str, ident: object) -> Keys:
        def key(part: str) -> str:
            return f"{NAMESPACE}:{part}:{ident}"

        return cls(kind, key(kind), key(f"{kind}-stale"), key(f"{kind}-lock"), key(f"{kind}-error"))


@dataclass(frozen=True, slots=True)
class Answer(Generic[A]):
    """A value, when it was fetched and where it came from (the desk's one answer type). The engine's own
    answers are ``Answer[V | None]``: None is the source's "there is no such thing"."""

    value: A
    fetched_at: datetime
    source: Source
    error: Exception | None = None  # why a stale copy is shown


def _now() -> datetime:
    return clock.now().replace(microsecond=0)


def _encode(value: Any, codec: Codec[Any], fetched_at: datetime) -> dict[str, Any]:
    data = None if value is None else codec.dump(value)
    return {"schema": SCHEMA, "fetched_at": int(fetched_at.timestamp()), "data": data}


def _decode(raw: Any, codec: Codec[V], key: str) -> tuple[V | None, datetime] | None:
    """The value and fetch time in a cache entry; None (a miss) when the entry does not parse."""
    if raw is None:
        return None
    try:
        if not isinstance(raw, dict) or raw.keys() != ENTRY_KEYS or raw["schema"] != SCHEMA:
            raise ValueError("not an entry of this schema")
        stamp = raw["fetched_at"]
        if type(stamp) is not int:
            raise ValueError("no fetch time")
        data = raw["data"]
        value = None if data is None else codec.load(data)
        return value, datetime.fromtimestamp(stamp, timezone.utc)
    except (ValueError, TypeError, KeyError, OverflowError, OSError, RecursionError) as exc:
        logger.warning("Ignoring a cache entry that does not parse (%s): %s", key, exc)
        return None


def _remaining(fetched_at: datetime, ttl: float) -> float:
    return fetched_at.timestamp() + ttl - clock.time()


def _unexpired(found: tuple[V | None, datetime] | None, ttl: float) -> tuple[V | None, datetime] | None:
    """An entry read from the shared cache, unless its lifetime has run out by the desk's clock (the
    backend forgets it then too; asking the clock as well lets a test move time instead of waiting)."""
    if found is None or _remaining(found[1], ttl) <= 0:
        return None
    return found


def _keep_local(key: str, value: Any, fetched_at: datetime, ttl: float) -> None:
    """Hold a parsed answer in this process no longer than the shared cache keeps it."""
    _local.put(key, (value, fetched_at), min(_local_seconds(ttl), _remaining(fetched_at, ttl)))


def _read(
    keys: Keys, codec: Codec[V], ttl: Callable[[V | None], int], fresh_since: float | None
) -> tuple[V | None, datetime] | None:
    """The answer held in this process, else in the shared cache; None when neither has one."""
    local = _local.get(keys.value)
    if local is not None and (fresh_since is None or local[1].timestamp() >= fresh_since):
        metrics.CACHE_LOOKUPS.labels(kind=keys.kind, result="hit_local").inc()
        held: tuple[V | None, datetime] = local
        return held
    shared = _decode(cache_get(keys.value), codec, keys.value)
    if shared is not None:
        shared = _unexpired(shared, ttl(shared[0]))
    if shared is None:
        metrics.CACHE_LOOKUPS.labels(kind=keys.kind, result="miss").inc()
        return None
    metrics.CACHE_LOOKUPS.labels(kind=keys.kind, result="hit_shared").inc()
    _keep_local(keys.value, shared[0], shared[1], ttl(shared[0]))
    return shared


def store(keys: Keys, value: V, *, codec: Codec[V], ttl: int, fetched_at: datetime | None = None) -> None:
    """Keep ``value`` as the fresh answer and the stale copy under ``keys`` (in both layers)."""
    fetched_at = fetched_at or _now()
    entry = _encode(value, codec, fetched_at)
    cache_set(keys.value, entry, ttl)
    cache_set(keys.stale, entry, settings.JOB_CACHE_STALE_TTL)
    _keep_local(keys.value, value, fetched_at, ttl)
    _keep_local(keys.stale, value, fetched_at, settings.JOB_CACHE_STALE_TTL)


def forget(keys: Keys) -> None:
    """Drop an answer (not its stale copy) from both layers: the next look fetches it."""
    cache_delete(keys.value)


# --- single flight with stale-if-error --------------------------------------------------------


@dataclass
class _Flight:
    """One fetch in this process that other callers in this process wait for."""

    started: float = field(default_factory=clock.time)
    done: threading.Event = field(default_factory=threading.Event)
    answer: Answer[Any] | None = None
    error: Exception | None = None


_flights: dict[str, _Flight] = {}
_flights_lock = threading.Lock()


def fetch_through(
    keys: Keys,
    *,
    fetch: Callable[[], V],
    codec: Codec[V],
    ttl: Callable[[V | None], int],
    failures: Failures,
    refresh: bool = False,
    fresh_since: float | None = None,
) -> Answer[V | None]:
    """The cached answer, or one fetched by exactly one of many concurrent callers.

    ``failures.missing`` is remembered as an answer (``value`` None). Returns a stale copy with the
    failure when ``failures.stale_if`` allows it; otherwise raises the failure. ``refresh`` skips the
    cache; ``fresh_since`` (epoch seconds) skips copies fetched before it.
    """
    deadline = time.monotonic() + page_budget()
    if not refresh:
        cached = _read(keys, codec, ttl, fresh_since)
        if cached is not None:
            return Answer(cached[0], cached[1], "cache")
    name = keys.value + ("#refresh" if refresh else "")
    mine: _Flight | None = None
    for _attempt in range(2):  # a leader refused for personal reasons shares nothing: then lead (or follow) anew
        with _flights_lock:
            other = _flights.get(name)
            if other is None:
                mine = _flights[name] = _Flight()
        if other is None:
            break
        followed = _follow(other, keys, codec, failures, refresh=refresh, deadline=deadline)
        if followed is not None:
            return followed
    if mine is None:
        raise TooLong("Other requests are still waiting for this answer.")
    flight = mine
    try:
        flight.answer = _lead(
            keys, fetch, codec, ttl, failures, refresh=refresh, started=flight.started, deadline=deadline
        )
        return flight.answer
    except failures.known as error:
        flight.error = error
        raise
    except EngineError as error:
        flight.error = error
        raise
    finally:
        with _flights_lock:
            if _flights.get(name) is flight:
                del _flights[name]
        flight.done.set()


def _follow(
    flight: _Flight, keys: Keys, codec: Codec[V], failures: Failures, *, refresh: bool, deadline: float
) -> Answer[V | None] | None:
    """Wait for this process's leader: woken the moment it has an answer or a failure.

    None when the leader was refused for reasons of its own (``failures.personal``): that says nothing
    about this caller.
    """
    started = time.monotonic()
    metrics.FLIGHT_WAITS.labels(scope="process").inc()
    finished = flight.done.wait(max(0.0, deadline - started))
    metrics.FLIGHT_WAIT_SECONDS.labels(scope="process").observe(time.monotonic() - started)
    if not finished:
        return _stale_or_raise(keys, codec, failures, TooLong("Another request is still waiting for this answer."))
    if flight.error is not None:
        if isinstance(flight.error, failures.personal):
            return None
        if isinstance(flight.error, failures.missing):
            raise flight.error
        return _stale_or_raise(keys, codec, failures, flight.error)
    if flight.answer is None:  # the leader failed in an unexpected way: nothing to share
        raise TooLong("The request that was fetching this answer failed.")
    answer: Answer[V | None] = flight.answer
    if answer.source == "fresh" and not refresh:
        return Answer(answer.value, answer.fetched_at, "cache")
    return answer


def _lead(
    keys: Keys,
    fetch: Callable[[], V],
    codec: Codec[V],
    ttl: Callable[[V | None], int],
    failures: Failures,
    *,
    refresh: bool,
    started: float,
    deadline: float,
) -> Answer[V | None]:
    """This process's one caller: takes the shared lock and fetches, or waits for another process."""
    with bulkhead_slot(deadline) as admitted:
        if not admitted:
            return _stale_or_raise(keys, codec, failures, Busy("Too many requests are already waiting on fetches."))
        owner = secrets.token_hex(8)
        # With the shared cache down every process is its own leader.
        leader = cache_add(keys.lock, owner, int(page_budget()) + 1, when_down=True)
        try:
            if not leader:
                waited = _wait_for_other_process(
                    keys, codec, ttl, failures, started=started, refresh=refresh, deadline=deadline
                )
                if waited is not None:
                    return waited
                if time.monotonic() >= deadline:  # the other process is still at it: do not pile on
                    error = TooLong("Another process is still fetching this answer.")
                    return _stale_or_raise(keys, codec, failures, error)
            elif not refresh:
                just = _decode(cache_get(keys.value), codec, keys.value)  # another process may have just finished
                if just is not None:
                    just = _unexpired(just, ttl(just[0]))
                if just is not None:
                    _keep_local(keys.value, just[0], just[1], ttl(just[0]))
                    return Answer(just[0], just[1], "cache")
            return _fetch(keys, fetch, codec, ttl, failures)
        finally:
            if leader and cache_get(keys.lock) == owner:
                cache_delete(keys.lock)


def _wait_for_other_process(
    keys: Keys,
    codec: Codec[V],
    ttl: Callable[[V | None], int],
    failures: Failures,
    *,
    started: float,
    refresh: bool,
    deadline: float,
) -> Answer[V | None] | None:
    """Poll the shared cache for the other process's answer or failure.

    None when its lock vanished without an answer or time ran out. Only a failure recorded after
    this caller started counts: an older one belongs to an earlier burst. A refresh also waits for
    an answer fetched after it started.
    """
    begun = time.monotonic()
    metrics.FLIGHT_WAITS.labels(scope="shared").inc()
    try:
        while time.monotonic() < deadline:
            time.sleep(POLL_STEP)
            found = cache_get_many([keys.value, keys.error, keys.lock])
            cached = _decode(found.get(keys.value), codec, keys.value)
            if cached is not None:
                cached = _unexpired(cached, ttl(cached[0]))
            if cached is not None and (not refresh or cached[1].timestamp() >= int(started)):
                _keep_local(keys.value, cached[0], cached[1], ttl(cached[0]))
                return Answer(cached[0], cached[1], "fresh" if refresh else "cache")
            mark = found.get(keys.error)
            if isinstance(mark, dict) and isinstance(mark.get("at"), (int, float)) and mark["at"] >= started:
                return _stale_or_raise(keys, codec, failures, failures.from_mark(mark))
            if keys.lock not in found:
                return None
        return None
    finally:
        metrics.FLIGHT_WAIT_SECONDS.labels(scope="shared").observe(time.monotonic() - begun)


def _fetch(
    keys: Keys, fetch: Callable[[], V], codec: Codec[V], ttl: Callable[[V | None], int], failures: Failures
) -> Answer[V | None]:
    try:
        value = fetch()
    except failures.personal:
        raise  # about one caller: no failure mark for others, no stale copy instead
    except failures.missing:
        fetched_at = _now()
        cache_set(keys.value, _encode(None, codec, fetched_at), ttl(None))
        _keep_local(keys.value, None, fetched_at, ttl(None))
        raise
    except failures.known as error:
        cache_set(keys.error, {**failures.to_mark(error), "at": clock.time()}, ERROR_MARK_TTL)
        return _stale_or_raise(keys, codec, failures, error)
    fetched_at = _now()
    store(keys, value, codec=codec, ttl=ttl(value), fetched_at=fetched_at)
    cache_delete(keys.error)
    return Answer(value, fetched_at, "fresh")


def store_many(pairs: Iterable[tuple[Keys, V]], *, codec: Codec[V], ttl: Callable[[V | None], int]) -> None:
    """``store`` for many values at once: one ``set_many`` per lifetime (one round trip each with Redis).

    Kept in this process too, as a fetch would, so opening one of them here needs no round trip."""
    fetched_at = _now()
    by_ttl: dict[int, dict[str, Any]] = {}
    stale: dict[str, Any] = {}
    errors: list[str] = []
    for keys, value in pairs:
        entry = _encode(value, codec, fetched_at)
        lifetime = ttl(value)
        by_ttl.setdefault(lifetime, {})[keys.value] = entry
        stale[keys.stale] = entry
        errors.append(keys.error)
        _keep_local(keys.value, value, fetched_at, lifetime)
    for lifetime, entries in by_ttl.items():
        cache_set_many(entries, lifetime)
    cache_set_many(stale, settings.JOB_CACHE_STALE_TTL)
    cache_delete_many(errors)


def peek(keys: Keys, *, codec: Codec[V], ttl: Callable[[V | None], int]) -> Answer[V] | None:
    """The cached answer if there is one (never a stale copy, never a fetch); None otherwise."""
    local = _local.get(keys.value)
    cached = local
    if cached is None:
        cached = _decode(cache_get(keys.value), codec, keys.value)
        cached = None if cached is None else _unexpired(cached, ttl(cached[0]))
    if cached is None or cached[0] is None:
        return None
    value: V = cached[0]
    return Answer(value, cached[1], "cache")


def peek_many(keys: Iterable[Keys], *, codec: Codec[V], ttl: Callable[[V | None], int]) -> dict[str, Answer[V | None]]:
    """The cached answers among ``keys`` by ``Keys.value``, "not found" included (``value`` None), in one
    round trip to the shared cache for those this process does not hold; never a stale copy, never a fetch."""
    found: dict[str, Answer[V | None]] = {}
    missing: list[Keys] = []
    for key in keys:
        local = _local.get(key.value)
        if local is None:
            missing.append(key)
        else:
            metrics.CACHE_LOOKUPS.labels(kind=key.kind, result="hit_local").inc()
            found[key.value] = Answer(local[0], local[1], "cache")
    if missing:
        shared = cache_get_many([key.value for key in missing])
        for key in missing:
            decoded = _decode(shared.get(key.value), codec, key.value)
            if decoded is not None:
                decoded = _unexpired(decoded, ttl(decoded[0]))
            if decoded is None:
                metrics.CACHE_LOOKUPS.labels(kind=key.kind, result="miss").inc()
                continue
            metrics.CACHE_LOOKUPS.labels(kind=key.kind, result="hit_shared").inc()
            _keep_local(key.value, decoded[0], decoded[1], ttl(decoded[0]))
            found[key.value] = Answer(decoded[0], decoded[1], "cache")
    return found


def _stale_or_raise(keys: Keys, codec: Codec[V], failures: Failures, error: Exception) -> Answer[V | None]:
    """The last good copy when the caller's ``failures`` allow one for this failure; else the failure itself."""
    if failures.stale_if(error):
        stale = _local.get(keys.stale) or _decode(cache_get(keys.stale), codec, keys.stale)
        if stale is not None:
            stale = _unexpired(stale, settings.JOB_CACHE_STALE_TTL)
        if stale is not None and stale[0] is not None:
            metrics.CACHE_LOOKUPS.labels(kind=keys.kind, result="stale").inc()
            logger.info("Showing stale copy %s from %s: %s", keys.stale, stale[1], getattr(error, "code", error))
            return Answer(stale[0], stale[1], "stale", error)
    raise error
