"""The desk's clock: every decision that depends on the time reads it here.

Cache lifetimes, budgets, the "possibly stuck" rule, relative times, expiry, poll windows and log
throttles all ask this module, never ``time`` or ``datetime`` directly, so that a test can move the
desk's time forward (``shift``) instead of sleeping until a lifetime runs out.

How long a request may *wait* for Pleo or the cache (a deadline that guards against a hang) is not a
decision about the time: those waits read ``time.monotonic()`` themselves and are never moved.

Hand-written rather than ``time-machine``: that library moves the wall clock only, and the desk's own
cache in each worker measures lifetimes on the monotonic clock, which must move with it.
"""

from __future__ import annotations

import threading
import time as _time
from datetime import datetime, timezone

_lock = threading.Lock()
_offset = 0.0  # seconds the clock has been moved forward (by tests; always 0 in production)


def time() -> float:
    """Seconds since the epoch (``time.time()``), as the desk sees them."""
    return _time.time() + _offset


def monotonic() -> float:
    """A clock that never goes back (``time.monotonic()``), for lifetimes measured in this process."""
    return _time.monotonic() + _offset


def now() -> datetime:
    """The current moment, timezone-aware in UTC."""
    return datetime.fromtimestamp(time(), timezone.utc)


def shift(seconds: float) -> None:
    """Move the desk's clock forward by ``seconds`` (for tests: a lifetime runs out without waiting)."""
    global _offset
    if seconds < 0:
        raise ValueError("the desk's clock only moves forward")
    with _lock:
        _offset += seconds


def reset() -> None:
    """Back to the real time."""
    global _offset
    with _lock:
        _offset = 0.0
