"""The desk's one in-process cache: a bounded, thread-safe map, least recently used first out.

Each worker keeps a few things in its own memory in front of the shared cache (``exportjobs.cache``), parses
a list's walk once, lays out a list's rows once and reuses a rendered job for a few seconds. All of them use
this class: bounded by a number of entries and, where values can be large, by their size in bytes, with an
optional lifetime per entry measured on the desk's clock.

Hand-written rather than ``functools.lru_cache`` or ``cachetools``: the first has no expiry, no size in
bytes and no way to drop one key; the second would add a dependency for these forty lines, and neither
reads the desk's clock, which the tests move.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from . import clock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def size_of(value: object) -> int:
    """Bytes a value takes, roughly (its own object; a string's text is all of it)."""
    return sys.getsizeof(value)


_ALL: weakref.WeakSet[LRU[Any, Any]] = weakref.WeakSet()


def clear_all() -> None:
    """Forget everything every ``LRU`` of this process holds (as a freshly started worker would)."""
    for instance in list(_ALL):
        instance.clear()


class LRU(Generic[K, V]):
    """At most ``entries`` values (and, with ``max_bytes``, at most that many bytes of them), each for at
    most the seconds it was put with (``None``: until pushed out)."""

    def __init__(
        self, entries: int | Callable[[], int], *, max_bytes: int | None = None, sizer: Callable[[V], int] = size_of
    ) -> None:
        self._entries = entries
        self.max_bytes = max_bytes
        self._sizer = sizer
        self._lock = threading.Lock()
        self._items: OrderedDict[K, tuple[float | None, int, V]] = OrderedDict()
        self.bytes = 0
        _ALL.add(self)

    @property
    def limit(self) -> int:
        return self._entries() if callable(self._entries) else self._entries

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            expires, size, value = item
            if expires is not None and expires <= clock.monotonic():
                del self._items[key]
                self.bytes -= size
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V, seconds: float | None = None) -> None:
        """Keep ``value`` (for at most ``seconds``); a value of None or a lifetime of 0 drops the key."""
        if value is None or (seconds is not None and seconds <= 0):
            self.delete(key)
            return
        size = self._sizer(value) if self.max_bytes is not None else 0
        if self.max_bytes is not None and size > self.max_bytes:
            self.delete(key)  # larger than the whole cache: not kept at all
            return
        now = clock.monotonic()
        expires = None if seconds is None else now + seconds
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._drop_expired(now)
            self._items[key] = (expires, size, value)
            self.bytes += size
            limit = self.limit
            while len(self._items) > limit or (self.max_bytes is not None and self.bytes > self.max_bytes):
                _key, (_expires, dropped, _value) = self._items.popitem(last=False)
                self.bytes -= dropped

    def _drop_expired(self, now: float) -> None:
        """Drop the entries that have run out from the least recently used end, up to the first that has not.

        Without it a value that is never asked for again stays until pushed out: a worker kept up to 1,000
        rendered jobs (32 MB) ten seconds after their last use. The lock is held."""
        while self._items:
            key, (expires, size, _value) = next(iter(self._items.items()))
            if expires is None or expires > now:
                return
            del self._items[key]
            self.bytes -= size

    def get_or_make(self, key: K, make: Callable[[], V], seconds: float | None = None) -> V:
        """The value kept under ``key``, else ``make()`` (outside the lock: two threads may both make it,
        which is harmless for values that depend only on their key), kept for next time."""
        found = self.get(key)
        if found is not None:
            return found
        value = make()
        self.put(key, value, seconds)
        return value

    def delete(self, key: K) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
