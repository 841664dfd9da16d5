"""The log throttle (``exportjobs.logs.RepeatFilter``): one line per kind of failure a minute, and the
count held back written when the minute ends, with its real span, on a line of its own."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import pytest

from exportjobs import logs
from tests.helpers import wait_for

FAILURES = [  # eleven different failures of Pleo, as views.py logs them: "<job>: <code> (<message>)"
    ("unavailable", "Pleo is unavailable (503)."),
    ("unavailable", "Pleo is unavailable (502)."),
    ("unavailable", "Pleo had an internal error (500)."),
    ("unavailable", "Pleo could not be reached (connection failed)."),
    ("timeout", "Pleo did not answer in time."),
    ("auth", "Pleo rejected the dashboard's credentials (401): the token or API key is missing, wrong or expired."),
    ("auth", "Pleo accepted the dashboard's credentials but refused access (403): export-jobs:read."),
    ("rate_limited", "Pleo is rate-limiting the dashboard (429)."),
    ("bad_response", "Pleo's answer is not JSON (content type text/html)."),
    ("bad_response", "Pleo answered 404 with error type 'EXPORT_GONE'."),
    ("bad_response", "Pleo answered with a redirect (302 to 'http://169.254.169.254/'), not followed."),
]


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Timers:
    """The filter's timer, handed in: the test fires it once it has moved the desk's clock."""

    def __init__(self) -> None:
        self.armed: list[Timers.One] = []

    class One:
        def __init__(self, delay: float, callback: Callable[[], None]) -> None:
            self.delay, self.callback, self.cancelled = delay, callback, False

        def cancel(self) -> None:
            self.cancelled = True

    def __call__(self, delay: float, callback: Callable[[], None]) -> Timers.One:
        self.armed.append(Timers.One(delay, callback))
        return self.armed[-1]

    def fire(self) -> None:
        for timer in [timer for timer in self.armed if not timer.cancelled]:
            self.armed.remove(timer)
            timer.callback()


@pytest.fixture
def throttled():
    """A logger whose one handler writes only what a ``RepeatFilter`` (made by the test) lets through."""
    made: list[tuple[logging.Logger, Keep]] = []

    def make(repeat: logs.RepeatFilter) -> tuple[logging.Logger, list[logging.LogRecord]]:
        handler = Keep()
        handler.addFilter(repeat)
        log = logging.getLogger(f"exportjobs.test-logs-{uuid.uuid4().hex[:8]}")
        log.addHandler(handler)
        log.propagate = False
        made.append((log, handler))
        return log, handler.records

    yield make
    for log, handler in made:
        log.removeHandler(handler)


def database_down(log: logging.Logger) -> None:
    """A failed request while the database is down, as the 500 page logs it."""
    try:
        raise ConnectionRefusedError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
    except ConnectionRefusedError:
        log.exception("Unhandled error, reference %s, %s %s", uuid.uuid4().hex[:16], "GET", f"/jobs/{uuid.uuid4()}/")


def hms(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment))


def test_eleven_different_pleo_failures_in_a_minute_give_eleven_lines(throttled):
    log, written = throttled(logs.RepeatFilter(schedule=Timers()))
    for _ in range(5):  # each failure on five different jobs
        for code, message in FAILURES:
            log.warning("%s: %s (%s)", f"Job {uuid.uuid4()}", code, message)
    assert len(written) == 11
    assert [(r.args[1], r.args[2]) for r in written] == FAILURES


def test_held_back_counts_are_written_when_the_window_ends_with_their_real_span(throttled, clock):
    timers = Timers()
    log, written = throttled(logs.RepeatFilter(schedule=timers))
    database_down(log)  # 12:00:00, say: written
    clock.shift(3)
    first = clock.time()
    for index in range(816):
        if index == 815:
            clock.shift(15)
        database_down(log)
    last = clock.time()
    assert len(written) == 1
    assert len(timers.armed) == 1
    assert timers.armed[0].delay == pytest.approx(logs.REPEAT_WINDOW - 3, abs=1)  # when the window ends
    timers.fire()  # too early: nothing has ended yet
    assert len(written) == 1
    clock.shift(logs.REPEAT_WINDOW - 18)
    timers.fire()
    assert len(written) == 2
    summary = written[1]
    assert summary.getMessage().startswith(
        f"816 more like this between {hms(first)} and {hms(last)} were not logged: Unhandled error, reference "
    )
    assert summary.levelno == logging.ERROR
    assert summary.exc_info is None
    assert summary.request_id == "-"  # about no one request
    timers.fire()
    assert len(written) == 2  # counted once


def test_without_the_timer_the_next_record_after_the_window_writes_the_count_first(throttled, clock):
    log, written = throttled(logs.RepeatFilter(schedule=Timers()))  # a timer that never fires
    for _ in range(4):
        log.warning("%s: %s (%s)", f"Job {uuid.uuid4()}", "unavailable", "Pleo is unavailable (503).")
    clock.shift(logs.REPEAT_WINDOW + 1)
    log.warning("Cache unavailable (%s: %s); serving without it", "TimeoutError", "Timeout reading from socket")
    messages = [r.getMessage() for r in written]
    assert len(messages) == 3
    assert messages[0].endswith(": unavailable (Pleo is unavailable (503).)")
    assert messages[1].startswith("3 more like this between ")
    assert messages[1].endswith(messages[0])
    assert messages[2] == "Cache unavailable (TimeoutError: Timeout reading from socket); serving without it"


def test_one_outages_count_is_never_attached_to_another_outages_record(throttled, clock):
    timers = Timers()
    log, written = throttled(logs.RepeatFilter(schedule=timers))
    for _ in range(6):  # the first outage
        database_down(log)
        clock.shift(2)
    clock.shift(logs.REPEAT_WINDOW)
    timers.fire()
    clock.shift(85)
    for _ in range(3):  # the second, 85 s after the first one's window ended
        database_down(log)
    clock.shift(logs.REPEAT_WINDOW)
    timers.fire()
    messages = [r.getMessage() for r in written]
    assert len(messages) == 4
    assert messages[0].startswith("Unhandled error, reference ")
    assert messages[1].startswith("5 more like this between ")
    assert messages[2].startswith("Unhandled error, reference ")
    assert "more like this" not in messages[2]
    assert written[2].exc_info is not None
    assert messages[3].startswith("2 more like this between ")


def test_a_flood_of_different_messages_of_one_kind_is_held_back_too(throttled):
    log, written = throttled(logs.RepeatFilter(schedule=Timers()))
    for index in range(500):  # a hostile Pleo naming a new error type in every answer
        log.warning("%s: %s (%s)", "Job x", "bad_response", f"Pleo answered 404 with error type 'T{'x' * index}'.")
    assert len(written) == logs.MAX_KINDS_PER_TEMPLATE + 1


def test_the_real_timer_writes_the_count_without_another_record(throttled, clock):
    log, written = throttled(logs.RepeatFilter())  # the thread timer the desk runs with
    log.error("Could not write audit event for %s: %s: %s", "view", "OperationalError", "database is locked")
    clock.shift(logs.REPEAT_WINDOW - 3)  # the window ends three seconds from now
    log.error("Could not write audit event for %s: %s: %s", "view", "OperationalError", "database is locked")
    assert len(written) == 1
    wait_for(lambda: len(written) == 2, what="the held-back count written by the timer")
    assert written[1].getMessage().startswith("1 more like this between ")
