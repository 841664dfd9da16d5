"""Faults without fallout, in one process: the cache breaker, this worker's own cache, the bulkhead,
single flight that wakes waiters at once, request ids, log lines that do not flood, the 500 page
without a database, and /metrics. (tests/test_faults.py breaks the same things under gunicorn.)"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager

import pytest
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from exportjobs import cache as desk_cache
from exportjobs import clock as desk_clock
from exportjobs import logs, services
from exportjobs.sandbox import seed
from exportjobs.views import errors, jobs
from tests.helpers import HANG_GUARD, ROOT, at_once, counter, job_payload, wait_for

JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
OTHER = "0f8e7d6c-5b4a-4392-8a1b-2c3d4e5f6a7b"


def redis_settings(url: str) -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "ejd-test-" + uuid.uuid4().hex[:6],
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "serializer": "exportjobs.cache.JSONSerializer",
            },
        }
    }


# --- A: a hung Redis costs one call that waits for it, then nothing ----------------------------------


@pytest.mark.redis
def test_a_hung_redis_costs_one_call_then_pages_skip_it(desk, sandbox, settings, own_redis):
    settings.CACHES = redis_settings(own_redis.url)
    settings.CACHE_BREAKER_SECONDS = 0.5
    desk_cache.reset()
    sandbox.state.put_job(job_payload(JOB))
    assert desk.get(f"/jobs/{JOB}/").status_code == 200  # cached in Redis and in this worker
    desk_cache.clear_local()  # a worker that has only Redis to ask

    own_redis.hang()
    failed, skipped = counter("desk_cache_errors_total"), counter("desk_cache_skipped_total")
    assert desk.get(f"/jobs/{JOB}/").status_code == 200
    assert counter("desk_cache_errors_total") == failed + 1  # one call waited for Redis; then the breaker opened
    assert desk_cache.breaker_open()
    statuses = [desk.get(path).status_code for path in ("/", f"/jobs/{JOB}/", "/", f"/jobs/{JOB}/")]
    assert statuses == [200] * 4
    assert counter("desk_cache_errors_total") == failed + 1  # no page asked the hung Redis again
    assert counter("desk_cache_skipped_total") > skipped  # they skipped it at once

    # The breaker's probes run in a thread of their own: a probe that failed made no page wait either.
    probes = counter("desk_cache_breaker_probes_total", outcome="failed")
    wait_for(lambda: counter("desk_cache_breaker_probes_total", outcome="failed") > probes, what="a failed probe")
    assert desk.get("/").status_code == 200
    assert counter("desk_cache_errors_total") == failed + 1

    own_redis.resume()
    wait_for(lambda: not desk_cache.breaker_open(), what="the probe finding Redis well again")
    assert counter("desk_cache_breaker_probes_total", outcome="ok") >= 1


# --- E: with Redis gone, this worker's own cache keeps calls to Pleo rare ---------------------------


def test_a_worker_keeps_answers_it_has_read_and_asks_the_shared_cache_less(desk, sandbox, monkeypatch):
    from django.core.cache import cache

    sandbox.state.put_job(job_payload(JOB))
    desk.get(f"/jobs/{JOB}/")
    round_trips = []
    for name in ("get", "get_many"):
        real = getattr(cache, name)
        monkeypatch.setattr(
            cache, name, lambda *args, _real=real, **kwargs: round_trips.append(args) or _real(*args, **kwargs)
        )
    for _ in range(3):
        assert desk.get(f"/jobs/{JOB}/").status_code == 200
    assert sandbox.state.calls(JOB) == 1
    assert round_trips == []  # the job and the permission answer come from this worker's own memory


def test_the_local_copy_of_an_active_job_never_outlives_its_shared_ttl(sandbox, settings, clock):
    settings.JOB_CACHE_TTL_ACTIVE = 60
    settings.LOCAL_CACHE_TTL = 120
    sandbox.state.put_job(job_payload(JOB, status="in_progress", completedAt=None))
    services.job_get(job_id=uuid.UUID(JOB))
    clock.shift(30)
    assert services.job_get(job_id=uuid.UUID(JOB)).source == "cache"
    clock.shift(31)
    assert services.job_get(job_id=uuid.UUID(JOB)).source == "fresh"
    assert sandbox.state.calls(JOB) == 2


def test_after_a_refresh_no_older_copy_is_shown_by_any_worker(sandbox, clock):
    from django.core.cache import cache

    job_id = uuid.UUID(JOB)
    sandbox.state.put_job(job_payload(JOB, status="in_progress", completedAt=None))
    services.job_get(job_id=job_id)  # this worker holds the job
    sandbox.state.update_job(JOB, status="completed", completedAt="2026-11-03T15:00:00Z")
    refreshed_at = int(clock.time()) + 1
    newer = {"schema": desk_cache.SCHEMA, "fetched_at": refreshed_at, "data": sandbox.state.job(JOB)}
    cache.set(services.job_cache_keys(job_id).value, newer, 600)  # another worker's refresh

    assert services.job_get(job_id=job_id).value.status == "in_progress"  # this worker's own copy
    after_refresh = services.job_get(job_id=job_id, fresh_since=refreshed_at)
    assert after_refresh.value.status == "completed"
    assert sandbox.state.calls(JOB) == 1


def test_the_page_after_a_refresh_shows_the_refreshed_job(desk, sandbox):
    sandbox.state.put_job(job_payload(JOB, status="in_progress", completedAt=None))
    desk.get(f"/jobs/{JOB}/")
    sandbox.state.update_job(JOB, status="completed", completedAt="2026-11-03T15:00:00Z")
    assert desk.post(f"/jobs/{JOB}/refresh/").status_code == 303
    page = desk.get(f"/jobs/{JOB}/").content.decode()
    assert "Every entry reached the accounting system" in page
    assert JOB not in desk.session.get(jobs.FRESH_SINCE, {})  # the mark was used once, and is gone


# --- D: the bulkhead -------------------------------------------------------------------------------


@contextmanager
def holding_the_only_place(sandbox, settings, *, slow: bool = True):
    """A call to Pleo that holds the bulkhead's only place, waiting at the sandbox's gate until the end;
    ``slow``: it has already waited longer than ``PLEO_SLOW_AFTER`` (Pleo is slow)."""
    settings.PLEO_BULKHEAD = 1
    settings.PLEO_API_TIMEOUT = 30  # the held call never gives up by itself while the test runs
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "gate", times=1)
    gate = sandbox.state.gate()
    held = threading.Thread(target=lambda: services.job_get(job_id=uuid.UUID(JOB)))
    held.start()
    try:
        gate.wait_for_arrivals(1)  # the call is at Pleo's door, holding the only place
        if slow:
            desk_clock.shift(settings.PLEO_SLOW_AFTER + 1)
        yield gate
    finally:
        gate.open()
        held.join(HANG_GUARD)
    assert not held.is_alive()


def test_a_full_bulkhead_turns_the_next_uncached_request_away_without_calling_or_waiting(desk, sandbox, settings):
    sandbox.state.put_job(job_payload(OTHER))
    rejected, waits = counter("desk_bulkhead_rejections_total"), counter("desk_bulkhead_waits_total")
    with holding_the_only_place(sandbox, settings) as gate:  # Pleo is slow: the call holding it is old
        response = desk.get(f"/jobs/{OTHER}/")
        assert not gate.is_open  # answered while the other call still waits: it did not wait for that call
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Pleo is busy right now" in response.content.decode()
    assert sandbox.state.calls(OTHER) == 0
    assert counter("desk_bulkhead_rejections_total") == rejected + 1  # the bulkhead answered,
    assert counter("desk_bulkhead_waits_total") == waits  # at once: it did not wait for a place


def test_a_full_bulkhead_still_shows_a_stale_copy(desk, sandbox, settings):
    sandbox.state.put_job(job_payload(OTHER))
    desk.get(f"/jobs/{OTHER}/")
    desk_cache.forget(services.job_cache_keys(uuid.UUID(OTHER)))  # its fresh copy is gone; the stale one stays
    with holding_the_only_place(sandbox, settings) as gate:
        response = desk.get(f"/jobs/{OTHER}/")
        assert not gate.is_open
    assert response.status_code == 200
    assert "An older copy" in response.content.decode()
    assert "Pleo is busy right now; showing what it said at" in response.content.decode()  # the real reason
    assert sandbox.state.calls(OTHER) == 1


def test_with_every_place_taken_at_pleos_normal_pace_the_next_request_waits_for_one(desk, sandbox, settings):
    """Many people at once are not a slow Pleo: the call holding the place is young, so the next one waits."""
    sandbox.state.put_job(job_payload(OTHER))
    rejected, waits = counter("desk_bulkhead_rejections_total"), counter("desk_bulkhead_waits_total")
    with holding_the_only_place(sandbox, settings, slow=False) as gate:
        settings.PLEO_SLOW_AFTER = 30  # however busy the machine, the held call stays young while the test runs
        results, errors = [], []
        newcomer = threading.Thread(target=lambda: results.append(services.job_get(job_id=uuid.UUID(OTHER))))
        newcomer.start()
        wait_for(lambda: counter("desk_bulkhead_waits_total") == waits + 1, what="the newcomer waiting for a place")
        assert sandbox.state.calls(OTHER) == 0
        gate.open()  # the held call gets its answer and frees the place
        newcomer.join(HANG_GUARD)
    assert not errors
    assert [result.value.id for result in results] == [uuid.UUID(OTHER)]
    assert counter("desk_bulkhead_rejections_total") == rejected


def test_a_request_waiting_for_a_place_gives_up_once_pleo_turns_out_slow(desk, sandbox, settings):
    sandbox.state.put_job(job_payload(OTHER))
    rejected = counter("desk_bulkhead_rejections_total")
    with holding_the_only_place(sandbox, settings, slow=False) as gate:
        settings.PLEO_SLOW_AFTER = 0.2  # the held call, still waiting, soon counts as slow
        response = desk.get(f"/jobs/{OTHER}/")
        assert not gate.is_open
    assert response.status_code == 503
    assert "Pleo is busy right now" in response.content.decode()
    assert sandbox.state.calls(OTHER) == 0
    assert counter("desk_bulkhead_rejections_total") == rejected + 1


def test_requests_waiting_for_the_same_answer_do_not_take_a_place_in_the_bulkhead(sandbox, settings):
    settings.PLEO_BULKHEAD = 1
    settings.PLEO_API_TIMEOUT = 30
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "gate", times=1)
    gate = sandbox.state.gate()
    waits = counter("desk_singleflight_waits_total", scope="process")
    rejected = counter("desk_bulkhead_rejections_total")

    def open_once_all_wait() -> None:
        gate.wait_for_arrivals(1)
        wait_for(lambda: counter("desk_singleflight_waits_total", scope="process") == waits + 7, what="7 waiters")
        gate.open()

    opener = threading.Thread(target=open_once_all_wait)
    opener.start()
    results, errors = at_once(8, lambda: services.job_get(job_id=uuid.UUID(JOB)))
    opener.join(HANG_GUARD)
    assert counter("desk_bulkhead_rejections_total") == rejected
    assert not errors
    assert len(results) == 8
    assert sandbox.state.calls(JOB) == 1


# --- stampede: waiters wake the moment the answer is there -------------------------------------------


def test_waiters_in_one_process_are_woken_by_the_answer_and_never_poll(sandbox, settings):
    settings.PLEO_API_TIMEOUT = 30
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "gate", times=1)
    gate = sandbox.state.gate()
    waits = counter("desk_singleflight_waits_total", scope="process")
    polled = counter("desk_singleflight_waits_total", scope="shared")

    def open_once_all_wait() -> None:
        gate.wait_for_arrivals(1)
        wait_for(lambda: counter("desk_singleflight_waits_total", scope="process") == waits + 11, what="11 waiters")
        gate.open()

    opener = threading.Thread(target=open_once_all_wait)
    opener.start()
    results, errors = at_once(12, lambda: services.job_get(job_id=uuid.UUID(JOB)))
    opener.join(HANG_GUARD)
    assert not errors
    assert sorted(result.source for result in results) == ["cache"] * 11 + ["fresh"]
    assert sandbox.state.calls(JOB) == 1
    # Woken by the leader's answer itself: no waiter polled the shared cache for it.
    assert counter("desk_singleflight_waits_total", scope="shared") == polled


# --- B: no look without its audit row --------------------------------------------------------------
# (tests/test_audit.py: the 503 page when the row cannot be written)


# --- C: the 500 page, and logs that do not flood --------------------------------------------------


def test_the_500_page_renders_without_the_database_the_session_or_the_cache(db, django_assert_num_queries):
    def untouchable():
        raise AssertionError("the 500 page touched the user (and so the database)")

    request = RequestFactory().get("/jobs/x/")
    request.request_id = "abcdef0123456789"
    request.user = SimpleLazyObject(untouchable)
    request.session = SimpleLazyObject(untouchable)
    with django_assert_num_queries(0):
        response = errors.server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "abcdef0123456789" in page
    assert "Something went wrong on our side" in page


def test_a_failure_repeated_on_every_request_is_logged_once_a_minute_with_a_count(clock):
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(logs.RepeatFilter(schedule=lambda delay, callback: threading.Timer(delay, callback)))
    log = logging.getLogger("exportjobs.test-repeats")
    log.addHandler(handler)
    log.propagate = False

    def fail() -> None:
        try:
            raise ConnectionRefusedError("the database is down")
        except ConnectionRefusedError:
            log.exception("Unhandled error, reference %s", uuid.uuid4().hex)

    try:
        for _ in range(500):
            fail()
        assert len(records) == 1
        assert records[0].exc_info is not None
        clock.shift(logs.REPEAT_WINDOW)
        fail()
        assert len(records) == 3
        assert "499 more like this" in records[1].getMessage()  # the count, on a record of its own
        assert records[2].exc_info is not None
        assert "more like this" not in records[2].getMessage()
    finally:
        log.removeHandler(handler)


def test_every_log_line_of_a_request_carries_its_id(desk, sandbox):
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    handler.addFilter(logs.RequestIdFilter())
    log = logging.getLogger("exportjobs")
    log.addHandler(handler)
    try:
        response = desk.get(f"/jobs/{seed.job_uuid('completed')}/")
    finally:
        log.removeHandler(handler)
    ident = response["X-Request-ID"]
    assert len(ident) == 16
    assert any(r.name == "exportjobs.pleo.client" for r in seen)
    assert {r.request_id for r in seen} == {ident}


def test_a_request_id_from_a_trusted_proxy_is_kept_and_otherwise_replaced(desk, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.TRUSTED_PROXY_COUNT = 1
    proxied = {"REMOTE_ADDR": "10.0.0.1"}
    assert desk.get("/", headers={"X-Request-ID": "lb-1234567890"}, **proxied)["X-Request-ID"] == "lb-1234567890"
    assert desk.get("/", headers={"X-Request-ID": "bad id\n"}, **proxied)["X-Request-ID"] != "bad id\n"
    direct = {"REMOTE_ADDR": "203.0.113.66"}  # the desk reached other than through its proxy
    answers = [desk.get("/", headers={"X-Request-ID": "lb-1234567890"}, **direct)["X-Request-ID"] for _ in range(2)]
    assert "lb-1234567890" not in answers  # a client cannot choose (or repeat) the id its lines are logged under
    assert answers[0] != answers[1]
    settings.TRUSTED_PROXIES = []
    settings.TRUSTED_PROXY_COUNT = 0
    assert desk.get("/", headers={"X-Request-ID": "lb-1234567890"}, **proxied)["X-Request-ID"] != "lb-1234567890"


def test_json_logs_are_one_object_per_line_with_the_request_id():
    probe = (
        "import django, logging; django.setup(); "
        "from exportjobs.logs import request_id; request_id.set('r-123456789'); "
        "logging.getLogger('exportjobs.probe').warning('hello %s', 'world')"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "dashboard.settings", "READ_DOT_ENV": "0"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello world"
    assert line["request_id"] == "r-123456789"
    assert line["level"] == "WARNING"
    assert line["logger"] == "exportjobs.probe"


# --- /metrics -------------------------------------------------------------------------------------


def test_metrics_are_served_to_allowed_addresses_only(client, settings, db):
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    settings.METRICS_TOKEN = "scrape-token-123"
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", headers={"Authorization": "Bearer scrape-token-123"})
    assert response.status_code == 200
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.9", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404


def test_metrics_count_what_happened(desk, sandbox, client, settings):
    sandbox.state.put_job(job_payload(JOB))
    desk.get(f"/jobs/{JOB}/")
    desk.get(f"/jobs/{JOB}/")
    sandbox.state.add_fault(OTHER, "503")
    desk.get(f"/jobs/{OTHER}/")
    text = client.get("/metrics").content.decode()
    for name in (
        'desk_pleo_calls_total{endpoint="job",outcome="ok"}',
        'desk_pleo_calls_total{endpoint="job",outcome="unavailable"}',
        "desk_pleo_call_seconds_bucket",
        'desk_cache_lookups_total{kind="job",result="hit_local"}',
        'desk_cache_lookups_total{kind="job",result="miss"}',
        "desk_cache_breaker_open",
        "desk_singleflight_waits_total",
        "desk_bulkhead_rejections_total",
        "desk_audit_write_failures_total",
        "django_http_requests_total_by_view_transport_method_total",
    ):
        assert name in text, name
