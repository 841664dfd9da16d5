"""Log lines an operator can use: each carries its request id, and a failure repeated on every request
is written once a minute with a count, not once per request (a stopped database must not flood the log).
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import clock

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("desk_request_id", default="-")

REPEAT_WINDOW = 60.0  # seconds: one record per kind of failure per window, per process
MAX_KINDS = 1000  # kinds of failure remembered at once
MAX_KINDS_PER_TEMPLATE = 20  # beyond this many kinds of one message in a window, new ones count as one
SUMMARY = "desk_repeat_summary"  # set on the records that report what was held back

# What differs between two records of the same failure and is blanked before comparing them: ids,
# references, addresses, long numbers and durations. What is left (an error code, a status, Pleo's
# error type) tells the failures apart.
_UUIDS = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ADDRESSES = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_HEX = re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b")
_NUMBERS = re.compile(r"\d+\.\d+|\d{4,}")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (of the request being served, or ``-``) to every record that has none."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class SkipLoggedServerErrors(logging.Filter):
    """Drops Django's own record of a 5xx answer ("Internal Server Error", "Service Unavailable") when
    the desk has already logged why (the 500 page, or an error page about Pleo or the audit trail)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        return not (record.name == "django.request" and getattr(request, "desk_error_logged", False))


def _shape(text: str) -> str:
    """``text`` with what varies between occurrences of one failure blanked (``Job 5b0e…`` → ``Job <id>``)."""
    text = _UUIDS.sub("<id>", text[:400])
    text = _ADDRESSES.sub("<address>", text)
    text = _HEX.sub("<hex>", text)
    return _NUMBERS.sub("#", text)[:200]


def _arg_kind(value: object) -> object:
    """What an argument says about the kind of failure: a code or a message (shaped), not a count."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return type(value).__name__  # a count, a duration: the same failure whatever the number
    if isinstance(value, BaseException):
        return (type(value).__name__, _shape(str(value)))
    return _shape(str(value))


def _template(record: logging.LogRecord) -> tuple[Any, ...]:
    return (record.name, record.levelno, str(record.msg))


def _kind(record: logging.LogRecord) -> tuple[Any, ...]:
    """What makes two records "the same failure": logger, level and message template, the kind of each of
    its arguments (``Job <id>: unavailable`` and ``Job <id>: auth`` differ) and the exception's type,
    message and place."""
    args = record.args
    if isinstance(args, Mapping):
        shaped: tuple[Any, ...] = tuple(sorted((str(key), _arg_kind(value)) for key, value in args.items()))
    else:
        shaped = tuple(_arg_kind(value) for value in args or ())
    kind: tuple[Any, ...] = (*_template(record), shaped)
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        tb = record.exc_info[2]
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb is not None else None
        kind += (type(error).__name__, _shape(str(error)), where)
    return kind


class Timer(Protocol):
    def cancel(self) -> None: ...


Schedule = Callable[[float, Callable[[], None]], Timer]


def thread_timer(delay: float, callback: Callable[[], None]) -> Timer:
    """Run ``callback`` in ``delay`` seconds, in a daemon thread of its own."""
    timer = threading.Timer(delay, callback)
    timer.name = "log-repeats"
    timer.daemon = True
    timer.start()
    return timer


@dataclass
class _Window:
    """One kind of failure: written when its window opened, then counted until the window ends."""

    opened: float  # clock.monotonic() of the record written
    template: tuple[Any, ...]
    logger: str
    level: int
    message: str  # the record written, as it reads
    held: int = 0
    first: float = 0.0  # clock.time() of the first record held back
    last: float = 0.0  # and of the last

    @property
    def ends(self) -> float:
        return self.opened + REPEAT_WINDOW


_filters: weakref.WeakSet[RepeatFilter] = weakref.WeakSet()


class RepeatFilter(logging.Filter):
    """Warnings and errors: the first of a kind passes; the same kind within a minute is counted, not written.

    When the minute ends, whichever comes first of a timer and the next record of any kind writes, as a
    record of its own, how many were held back and between which times ("816 more like this between
    12:00:03 and 12:00:18 were not logged: …"). The next record of that kind is then written as it is:
    one outage's count is never attached to another outage's record.
    """

    def __init__(self, name: str = "", *, schedule: Schedule = thread_timer) -> None:
        super().__init__(name)
        self._schedule = schedule
        self._lock = threading.Lock()
        self._windows: dict[tuple[Any, ...], _Window] = {}  # oldest first: windows open in time order
        self._per_template: dict[tuple[Any, ...], int] = {}
        self._timer: Timer | None = None
        self._timer_at: float | None = None
        _filters.add(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, SUMMARY, False):
            return True
        now, wall = clock.monotonic(), clock.time()
        with self._lock:
            ended = self._take_ended(now)
            kind = _kind(record)
            window = self._windows.get(kind)
            if window is None and self._per_template.get(_template(record), 0) >= MAX_KINDS_PER_TEMPLATE:
                kind = (*_template(record), "many kinds")  # a flood of different messages counts as one kind
                window = self._windows.get(kind)
            if window is not None:
                window.held += 1
                window.first = window.first or wall
                window.last = wall
                wake_at = window.ends if window.held == 1 else None
            else:
                if len(self._windows) >= MAX_KINDS:  # the oldest kind makes room, its count written now
                    oldest = self._close(next(iter(self._windows)))
                    ended += [oldest] if oldest.held else []
                self._windows[kind] = _Window(now, _template(record), record.name, record.levelno, _message(record))
                self._per_template[_template(record)] = self._per_template.get(_template(record), 0) + 1
                wake_at = None
        self._report(ended)  # before this record: the counts of windows that ended come first
        if wake_at is not None:
            self._wake_at(wake_at)
        return window is None

    def flush(self) -> None:
        """Write the counts of every window that has ended (the timer calls this)."""
        with self._lock:
            self._timer, self._timer_at = None, None
            ended = self._take_ended(clock.monotonic())
            pending = [window.ends for window in self._windows.values() if window.held]
        self._report(ended)
        if pending:
            self._wake_at(min(pending))

    def reset(self) -> None:
        """Forget every window and cancel the timer, writing nothing (a new worker, or a test)."""
        with self._lock:
            self._windows.clear()
            self._per_template.clear()
            timer, self._timer, self._timer_at = self._timer, None, None
        if timer is not None:
            timer.cancel()

    def _take_ended(self, now: float) -> list[_Window]:
        ended = []
        while self._windows:
            kind, window = next(iter(self._windows.items()))
            if window.ends > now:
                break
            ended.append(self._close(kind))
        return [window for window in ended if window.held]

    def _close(self, kind: tuple[Any, ...]) -> _Window:
        window = self._windows.pop(kind)
        left = self._per_template.get(window.template, 1) - 1
        if left > 0:
            self._per_template[window.template] = left
        else:
            self._per_template.pop(window.template, None)
        return window

    def _wake_at(self, when: float) -> None:
        with self._lock:
            if self._timer_at is not None and self._timer_at <= when:
                return  # a timer already wakes up in time
            old, self._timer_at = self._timer, when
            self._timer = self._schedule(max(0.0, when - clock.monotonic()), self.flush)
        if old is not None:
            old.cancel()

    def _report(self, windows: list[_Window]) -> None:
        for window in windows:
            logging.getLogger(window.logger).log(
                window.level,
                "%d more like this between %s and %s were not logged: %s",
                window.held,
                _hms(window.first),
                _hms(window.last),
                window.message,
                extra={SUMMARY: True, "request_id": "-"},  # about no one request
            )


def _message(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except (TypeError, ValueError):
        text = str(record.msg)
    return text if len(text) <= 300 else text[:299] + "…"


def _hms(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment))


def reset_repeats() -> None:
    """Reset every ``RepeatFilter`` of this process (a test starts with none of its windows open)."""
    for repeat in list(_filters):
        repeat.reset()
