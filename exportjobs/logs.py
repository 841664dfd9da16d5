"""Log lines an operator can use: each carries its request id, and a failure repeated on every request
is written once a minute with a count, not once per request (a stopped database must not flood the log).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from typing import Any

from . import clock

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("desk_request_id", default="-")

REPEAT_WINDOW = 60.0  # seconds: one record per kind of failure per window, per process
MAX_KINDS = 1000  # kinds of failure remembered per window


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (of the request being served, or ``-``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class SkipLoggedServerErrors(logging.Filter):
    """Drops Django's own record of a 5xx answer ("Internal Server Error", "Service Unavailable") when
    the desk has already logged why (the 500 page, or an error page about Pleo or the audit trail)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        return not (record.name == "django.request" and getattr(request, "desk_error_logged", False))


def _kind(record: logging.LogRecord) -> tuple[Any, ...]:
    """What makes two records "the same failure": logger, message template and the exception's place."""
    kind: tuple[Any, ...] = (record.name, record.levelno, str(record.msg))
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        tb = record.exc_info[2]
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb is not None else None
        kind += (type(error).__name__, str(error)[:200], where)
    return kind


class RepeatFilter(logging.Filter):
    """Warnings and errors: the first of a kind passes, the same kind within a minute is counted, not written.

    The next one written after the minute says how many were held back.
    """

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self._seen: dict[tuple[Any, ...], list[float]] = {}  # kind -> [last written, held back since]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = _kind(record)
        now = clock.monotonic()
        with self._lock:
            seen = self._seen.get(kind)
            if seen is not None and now - seen[0] < REPEAT_WINDOW:
                seen[1] += 1
                return False
            held = int(seen[1]) if seen is not None else 0
            if len(self._seen) >= MAX_KINDS:
                self._seen.clear()
            self._seen[kind] = [now, 0]
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last minute were not logged]"
        return True
