"""The cache engine: Pleo's answers kept as data, one fetch for many callers, stale copies, budgets.

Nothing here knows what a job is. A caller names its keys (``Keys.of``), how to fetch a value, how
to turn it into JSON-compatible data and back (``Codec``) and how long to keep it; the engine does
the rest:

- **What is stored** is data, never objects: ``{"schema": SCHEMA, "fetched_at": <epoch seconds>,
  "data": <Pleo's own payload, or None for "not found">}``. It is parsed on every read; an entry
  that no longer parses (an older or newer release, a hand edit) is a miss, fetched again.
  Redis uses ``JSONSerializer``, so nothing read from it is ever unpickled.
- **Single flight**: the first caller takes a lock (``cache.add`` with an expiry) and fetches;
  the others wait for its answer or its failure within the page budget (``page_budget()``).
- **Stale if error**: the last good copy is kept ``JOB_CACHE_STALE_TTL`` and shown when Pleo is
  unavailable, slow or rate-limiting.
- **A failing cache is not an outage**: every cache call that fails counts as a miss.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, Literal, Protocol, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from .pleo.errors import JobNotFound, PleoError, PleoRateLimited, PleoTimeout, PleoUnavailable, error_from_mark

try:  # the Redis client is optional at import time; RedisCache needs it
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is in requirements.txt
    RedisError = OSError  # type: ignore[assignment,misc] # stand-in base class when redis is absent

logger = logging.getLogger(__name__)

NAMESPACE = "exportjobs"
SCHEMA = 1  # the shape of a cache entry; an entry of another schema is a miss
ENTRY_KEYS = frozenset({"schema", "fetched_at", "data"})
WAIT_STEP = 0.05  # seconds between looks at the cache while another caller fetches
ERROR_MARK_TTL = 5  # seconds waiters may reuse a fetch's failure instead of repeating it
STALE_ERRORS = (PleoUnavailable, PleoTimeout, PleoRateLimited)
CACHE_ERRORS = (RedisError, OSError, DatabaseError)

Source = Literal["fresh", "cache", "stale"]
V = TypeVar("V")


def page_budget() -> float:
    """Seconds a page may wait for one answer from Pleo: the client's deadline (2 × timeout) and 1 s."""
    return 2 * float(settings.PLEO_API_TIMEOUT) + 1


# --- the cache, failing softly ------------------------------------------------------------


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


class _Throttled:
    """A log line at most once a ``period`` per process, with how many were held back."""

    def __init__(self, period: float = 60.0) -> None:
        self.period = period
        self.last = -period
        self.held = 0

    def __call__(self, level: int, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last < self.period:
            self.held += 1
            return
        held, self.held, self.last = self.held, 0, now
        suffix = f" ({held} more since the last report)" if held else ""
        logger.log(level, message + suffix, *args)


_cache_warning = _Throttled()
_unreadable_warning = _Throttled()


def _safely(fn: Callable[..., Any], *args: Any, default: Any = None, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except CACHE_ERRORS as exc:
        _cache_warning(logging.WARNING, "Cache unavailable (%s: %s); serving without cache", type(exc).__name__, exc)
        return default


def cache_get(key: str) -> Any:
    return _safely(cache.get, key)


def cache_get_many(keys: Iterable[str]) -> dict[str, Any]:
    found = _safely(cache.get_many, list(keys), default={})
    return {key: value for key, value in found.items() if value is not None}


def cache_set(key: str, value: Any, ttl: float | None) -> None:
    _safely(cache.set, key, value, ttl)


def cache_set_many(values: dict[str, Any], ttl: float | None) -> None:
    if values:
        _safely(cache.set_many, values, ttl)


def cache_delete_many(keys: Iterable[str]) -> None:
    keys = list(keys)
    if keys:
        _safely(cache.delete_many, keys)


def cache_add(key: str, value: Any, ttl: float | None, *, when_down: bool) -> bool:
    """``cache.add``; ``when_down`` is the answer when the cache cannot be asked."""
    return bool(_safely(cache.add, key, value, ttl, default=when_down))


def cache_delete(key: str) -> None:
    _safely(cache.delete, key)


# --- entries --------------------------------------------------------------------------------


class Codec(Protocol[V]):
    """How a value becomes JSON-compatible data for the cache, and back (raising on bad data)."""

    def dump(self, value: V) -> Any: ...

    def load(self, data: Any) -> V: ...


@dataclass(frozen=True, slots=True)
class Keys:
    """The cache keys of one cached answer: the answer, its stale copy, its lock and its last failure."""

    value: str
    stale: str
    lock: str
    error: str

    @classmethod
    def of(cls, kind: str, ident: object) -> Keys:
        def key(part: str) -> str:
            return f"{NAMESPACE}:{part}:{ident}"

        return cls(key(kind), key(f"{kind}-stale"), key(f"{kind}-lock"), key(f"{kind}-error"))


@dataclass(frozen=True, slots=True)
class Answer(Generic[V]):
    """A value (None: Pleo said it does not exist), when it was fetched and where it came from."""

    value: V | None
    fetched_at: datetime
    source: Source
    error: PleoError | None = None  # why a stale copy is shown


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


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
    except (PleoError, ValueError, TypeError, KeyError, OverflowError, OSError) as exc:
        _unreadable_warning(logging.WARNING, "Ignoring a cache entry that does not parse (%s): %s", key, exc)
        return None


def _mark_error(keys: Keys, error: PleoError) -> None:
    cache_set(keys.error, {**error.to_mark(), "at": time.time()}, ERROR_MARK_TTL)


# --- single flight with stale-if-error --------------------------------------------------------


def fetch_through(
    keys: Keys,
    *,
    fetch: Callable[[], V],
    codec: Codec[V],
    ttl: Callable[[V | None], int],
    refresh: bool = False,
) -> Answer[V]:
    """The cached answer, or one fetched by exactly one of many concurrent callers.

    The first caller takes a lock in the cache (``cache.add`` with an expiry) and calls ``fetch``;
    the others wait for its answer or its failure, within ``page_budget()``. ``JobNotFound`` is
    remembered as an answer (``value`` None). Returns a stale copy with the error when Pleo is
    unavailable, slow or rate-limiting; otherwise raises the ``PleoError``.
    """
    started = time.time()
    if not refresh:
        cached = _decode(cache_get(keys.value), codec, keys.value)
        if cached is not None:
            return Answer(cached[0], cached[1], "cache")
    budget = page_budget()
    deadline = time.monotonic() + budget
    owner = secrets.token_hex(8)
    # With the cache down every caller is its own leader: it fetches for itself.
    leader = cache_add(keys.lock, owner, int(budget) + 1, when_down=True)
    if not leader:
        waited = _wait_for_leader(keys, codec, started=started, refresh=refresh, deadline=deadline)
        if waited is not None:
            return waited
        if time.monotonic() >= deadline:  # the leader is still at it: do not pile onto Pleo
            error = PleoTimeout("Pleo did not answer in time (another request is still waiting for it).")
            return _stale_or_raise(keys, codec, error)
    elif not refresh:
        just_cached = _decode(cache_get(keys.value), codec, keys.value)  # a leader may have just finished
        if just_cached is not None:
            cache_delete(keys.lock)
            return Answer(just_cached[0], just_cached[1], "cache")
    try:
        return _fetch(keys, fetch, codec, ttl)
    finally:
        if leader and cache_get(keys.lock) == owner:
            cache_delete(keys.lock)


def _wait_for_leader(
    keys: Keys, codec: Codec[V], *, started: float, refresh: bool, deadline: float
) -> Answer[V] | None:
    """Wait for the caller that holds the lock; None when it vanished without an answer or time ran out.

    Only a failure recorded after this caller started counts: an older one belongs to an earlier
    burst. A refresh also waits for an answer fetched after it started.
    """
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP)
        found = cache_get_many([keys.value, keys.error, keys.lock])
        cached = _decode(found.get(keys.value), codec, keys.value)
        if cached is not None and (not refresh or cached[1].timestamp() >= int(started)):
            return Answer(cached[0], cached[1], "fresh" if refresh else "cache")
        mark = found.get(keys.error)
        if isinstance(mark, dict) and isinstance(mark.get("at"), (int, float)) and mark["at"] >= started:
            return _stale_or_raise(keys, codec, error_from_mark(mark))
        if keys.lock not in found:
            return None
    return None


def _fetch(keys: Keys, fetch: Callable[[], V], codec: Codec[V], ttl: Callable[[V | None], int]) -> Answer[V]:
    try:
        value = fetch()
    except JobNotFound:
        cache_set(keys.value, _encode(None, codec, _now()), ttl(None))
        raise
    except PleoError as error:
        _mark_error(keys, error)
        return _stale_or_raise(keys, codec, error)
    fetched_at = _now()
    entry = _encode(value, codec, fetched_at)
    cache_set(keys.value, entry, ttl(value))
    cache_set(keys.stale, entry, settings.JOB_CACHE_STALE_TTL)
    cache_delete(keys.error)
    return Answer(value, fetched_at, "fresh")


def store(keys: Keys, value: V, *, codec: Codec[V], ttl: Callable[[V | None], int]) -> None:
    """Keep ``value`` under ``keys`` exactly as a fetch through ``fetch_through`` would: entry and stale copy."""
    store_many([(keys, value)], codec=codec, ttl=ttl)


def store_many(pairs: Iterable[tuple[Keys, V]], *, codec: Codec[V], ttl: Callable[[V | None], int]) -> None:
    """``store`` for many values at once: one ``set_many`` per lifetime (one round trip each with Redis)."""
    fetched_at = _now()
    by_ttl: dict[int, dict[str, Any]] = {}
    stale: dict[str, Any] = {}
    errors: list[str] = []
    for keys, value in pairs:
        entry = _encode(value, codec, fetched_at)
        by_ttl.setdefault(ttl(value), {})[keys.value] = entry
        stale[keys.stale] = entry
        errors.append(keys.error)
    for lifetime, entries in by_ttl.items():
        cache_set_many(entries, lifetime)
    cache_set_many(stale, settings.JOB_CACHE_STALE_TTL)
    cache_delete_many(errors)


def peek(keys: Keys, *, codec: Codec[V]) -> Answer[V] | None:
    """The cached answer if there is one (never a stale copy, never a fetch); None otherwise."""
    cached = _decode(cache_get(keys.value), codec, keys.value)
    if cached is None or cached[0] is None:
        return None
    return Answer(cached[0], cached[1], "cache")


def _stale_or_raise(keys: Keys, codec: Codec[V], error: PleoError) -> Answer[V]:
    """The last good copy when Pleo is down, slow or limiting us; else the error itself."""
    if isinstance(error, STALE_ERRORS):
        stale = _decode(cache_get(keys.stale), codec, keys.stale)
        if stale is not None and stale[0] is not None:
            logger.info("Showing stale copy %s from %s: %s", keys.stale, stale[1], error.code)
            return Answer(stale[0], stale[1], "stale", error)
    raise error


def forget_warnings() -> None:
    """Start the once-a-minute warnings afresh (for a new worker, or a test that counts them)."""
    for throttle in (_cache_warning, _unreadable_warning):
        throttle.last, throttle.held = -throttle.period, 0
