"""Caching finance staff can trust: TTL by status, refresh, not-found, stale-if-error, single flight."""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache

from exportjobs import cache as desk_cache
from exportjobs import services
from exportjobs.cache import TooLong
from exportjobs.pleo import ExportJob, NotFound, PleoAuthError, PleoUnavailable
from exportjobs.sandbox import seed
from tests.helpers import HANG_GUARD, SANDBOX_TOKEN, at_once, counter, job_payload, lifetime, log_as_written, wait_for

ROOT = Path(__file__).resolve().parent.parent
JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
JOB_ID = uuid.UUID(JOB)


def key_of(kind: str, job_id: uuid.UUID) -> str:
    """The cache key of a job's answer (``job``), stale copy (``stale``) or lock (``lock``)."""
    keys = services.job_cache_keys(job_id)
    return {"job": keys.value, "stale": keys.stale, "lock": keys.lock}[kind]


def remaining_ttl(kind: str, job_id: uuid.UUID) -> float:
    """Seconds the cache keeps an entry, from when it was fetched (the backend's own expiry)."""
    return lifetime(key_of(kind, job_id))


@pytest.mark.parametrize(
    ("status", "setting"),
    [
        ("pending", "JOB_CACHE_TTL_ACTIVE"),
        ("in_progress", "JOB_CACHE_TTL_ACTIVE"),
        ("failed", "JOB_CACHE_TTL_FINAL"),
        ("completed", "JOB_CACHE_TTL_FINAL"),
        ("completed_with_errors", "JOB_CACHE_TTL_FINAL"),
        ("something_new", "JOB_CACHE_TTL_ACTIVE"),  # an unknown status may still change
    ],
)
def test_time_to_live_follows_the_status(sandbox, settings, status, setting):
    settings.JOB_CACHE_TTL_ACTIVE, settings.JOB_CACHE_TTL_FINAL = 11, 86_000
    sandbox.state.put_job(job_payload(JOB, status=status))
    services.job_get(job_id=JOB_ID)
    assert remaining_ttl("job", JOB_ID) == pytest.approx(getattr(settings, setting), abs=2)
    assert remaining_ttl("stale", JOB_ID) == pytest.approx(settings.JOB_CACHE_STALE_TTL, abs=2)


def test_a_cached_job_is_served_without_calling_pleo_until_it_expires(sandbox, settings, clock):
    settings.JOB_CACHE_TTL_ACTIVE = 60
    sandbox.state.put_job(job_payload(JOB, status="in_progress", completedAt=None))
    first = services.job_get(job_id=JOB_ID)
    second = services.job_get(job_id=JOB_ID)
    assert (first.source, second.source) == ("fresh", "cache")
    assert second.fetched_at == first.fetched_at
    assert sandbox.state.calls(JOB) == 1
    clock.shift(30)
    assert services.job_get(job_id=JOB_ID).source == "cache"
    clock.shift(31)
    assert services.job_get(job_id=JOB_ID).source == "fresh"
    assert sandbox.state.calls(JOB) == 2


def test_refresh_bypasses_the_cache_and_replaces_the_entry(sandbox):
    sandbox.state.put_job(job_payload(JOB, status="in_progress", completedAt=None))
    services.job_get(job_id=JOB_ID)
    sandbox.state.update_job(JOB, status="completed", completedAt="2026-11-03T15:00:00Z")
    assert services.job_get(job_id=JOB_ID).value.status == "in_progress"  # still cached
    refreshed = services.job_get(job_id=JOB_ID, refresh=True)
    assert refreshed.source == "fresh"
    assert refreshed.value.status == "completed"
    assert services.job_get(job_id=JOB_ID).value.status == "completed"
    assert sandbox.state.calls(JOB) == 2


def test_not_found_is_remembered_for_its_own_short_time(sandbox, settings):
    settings.JOB_CACHE_TTL_NOT_FOUND = 30
    missing = uuid.UUID(seed.NOT_FOUND_EXAMPLE)
    for _ in range(3):
        with pytest.raises(NotFound):
            services.job_get(job_id=missing)
    assert sandbox.state.calls(str(missing)) == 1
    assert remaining_ttl("job", missing) == pytest.approx(30, abs=2)


def test_errors_are_never_cached_as_data(sandbox):
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "503", times=3)
    with pytest.raises(PleoUnavailable):
        services.job_get(job_id=JOB_ID)
    assert cache.get(key_of("job", JOB_ID)) is None
    assert cache.get(key_of("stale", JOB_ID)) is None
    result = services.job_get(job_id=JOB_ID)  # the next look asks Pleo again
    assert result.source == "fresh"


def test_what_is_cached_holds_no_credentials(sandbox):
    sandbox.state.put_job(job_payload(JOB))
    services.job_get(job_id=JOB_ID)
    for kind in ("job", "stale"):
        entry = cache.get(key_of(kind, JOB_ID))
        assert entry["data"]["id"] == JOB
        assert SANDBOX_TOKEN not in json.dumps(entry)


def test_keys_are_namespaced_and_entries_carry_their_schema(sandbox):
    key = key_of("job", JOB_ID)
    assert key.startswith("exportjobs:")
    assert JOB in key
    sandbox.state.put_job(job_payload(JOB))
    services.job_get(job_id=JOB_ID)
    assert cache.get(key)["schema"] == desk_cache.SCHEMA


@pytest.mark.parametrize(
    ("fault", "stale"),
    [
        ({"kind": "503"}, "Pleo could not be reached"),
        ({"kind": "hang", "seconds": 3}, "Pleo is slow to answer right now"),
        ({"kind": "429", "retry_after": 5}, "Pleo is limiting how often Export Job Desk may ask right now"),
        ({"kind": "401"}, ""),  # our credentials are broken: say so, do not hide it
        ({"kind": "malformed_json"}, ""),
    ],
)
def test_a_stale_copy_is_shown_only_when_pleo_is_down_slow_or_limiting(desk, sandbox, settings, fault, stale):
    sandbox.state.put_job(job_payload(JOB))
    assert desk.get(f"/jobs/{JOB}/").status_code == 200
    desk_cache.forget(services.job_cache_keys(JOB_ID))  # the fresh entry's time is up
    kind = fault.pop("kind")
    if kind == "hang":
        settings.PLEO_API_TIMEOUT = 0.3  # only the hang is meant to run out of time
    sandbox.state.add_fault(JOB, kind, **fault)
    response = desk.get(f"/jobs/{JOB}/")
    page = response.content.decode()
    if stale:
        assert response.status_code == 200
        assert f"{stale}; showing what it said at" in page  # the real reason
        assert "An older copy, fetched from Pleo" in page
    else:
        assert response.status_code == 502
        assert "; showing what it said at" not in page


def test_without_a_stale_copy_the_outage_is_an_error_page(desk, sandbox):
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "503")
    assert desk.get(f"/jobs/{JOB}/").status_code == 503


def test_concurrent_requests_in_one_process_make_one_call(sandbox, settings):
    settings.PLEO_API_TIMEOUT = 3
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "delay", seconds=0.5)
    results, errors = at_once(12, lambda: services.job_get(job_id=JOB_ID))
    assert not errors
    assert len(results) == 12
    assert sandbox.state.calls(JOB) == 1
    assert sorted(r.source for r in results).count("fresh") == 1


def opened_once_waiting(gate, waiters: int) -> threading.Thread:
    """A thread that opens ``gate`` once one call waits at it and ``waiters`` more wait for that call."""
    before = counter("desk_singleflight_waits_total", scope="process")

    def open_when_all_wait() -> None:
        gate.wait_for_arrivals(1)
        wait_for(
            lambda: counter("desk_singleflight_waits_total", scope="process") >= before + waiters,
            what=f"{waiters} callers waiting for the first one",
        )
        gate.open()

    opener = threading.Thread(target=open_when_all_wait)
    opener.start()
    return opener


def test_waiters_share_the_leaders_failure_instead_of_repeating_it(sandbox, settings):
    settings.PLEO_API_TIMEOUT = 30
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "401", gate="401")
    opener = opened_once_waiting(sandbox.state.gate("401"), 5)
    _, errors = at_once(6, lambda: services.job_get(job_id=JOB_ID))
    opener.join(HANG_GUARD)
    assert len(errors) == 6
    assert all(isinstance(e, PleoAuthError) for e in errors)
    assert sandbox.state.calls(JOB) == 1


def test_a_crashed_lock_holders_lock_runs_out_and_the_next_caller_asks_pleo(sandbox, settings):
    settings.PLEO_API_TIMEOUT = 10  # the page waits far longer than the dead lock lasts
    sandbox.state.put_job(job_payload(JOB))
    cache.add(key_of("lock", JOB_ID), "someone-who-died", timeout=1)
    result = services.job_get(job_id=JOB_ID)
    assert result.value.id == JOB_ID
    assert result.source == "fresh"
    assert sandbox.state.calls(JOB) == 1


def test_the_lock_a_caller_takes_runs_out_soon_after_its_page_would_give_up(sandbox, settings, monkeypatch):
    settings.PLEO_API_TIMEOUT = 4
    sandbox.state.put_job(job_payload(JOB))
    taken = []
    real_add = desk_cache.cache_add

    def add(key, value, ttl, **kwargs):
        taken.append((key, ttl))
        return real_add(key, value, ttl, **kwargs)

    monkeypatch.setattr(desk_cache, "cache_add", add)
    services.job_get(job_id=JOB_ID)
    assert taken == [(key_of("lock", JOB_ID), int(desk_cache.page_budget()) + 1)]


def test_jobs_from_another_answer_are_stored_exactly_as_job_get_stores_them(sandbox, settings):
    settings.JOB_CACHE_TTL_ACTIVE, settings.JOB_CACHE_TTL_FINAL = 11, 86_000
    other = uuid.UUID("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d")
    sandbox.state.put_job(job_payload(JOB))
    services.job_get(job_id=JOB_ID)
    fetched = {kind: cache.get(key_of(kind, JOB_ID)) for kind in ("job", "stale")}
    cache.clear()
    running = ExportJob.from_payload(job_payload(str(other), status="in_progress", completedAt=None))

    services.jobs_store(jobs=[ExportJob.from_payload(job_payload(JOB)), running])

    for kind in ("job", "stale"):
        stored = cache.get(key_of(kind, JOB_ID))
        assert set(stored) == set(fetched[kind]) == {"schema", "fetched_at", "data"}
        assert stored["data"] == fetched[kind]["data"]
    assert remaining_ttl("job", JOB_ID) == pytest.approx(86_000, abs=2)
    assert remaining_ttl("job", other) == pytest.approx(11, abs=2)
    assert remaining_ttl("stale", other) == pytest.approx(settings.JOB_CACHE_STALE_TTL, abs=2)
    assert services.job_get(job_id=JOB_ID).source == "cache"
    assert services.job_get(job_id=other).value.status == "in_progress"
    assert sandbox.state.calls(JOB) == 1
    assert sandbox.state.calls(str(other)) == 0


# --- Redis: shared between processes, and surviving its own outage ------------------------

WORKER = r"""
import json, sys, uuid
import django
django.setup()
from exportjobs import services
print("calling", flush=True)
result = services.job_get(job_id=uuid.UUID(sys.argv[1]))
print(json.dumps({"source": result.source}), flush=True)
"""


@pytest.mark.redis
@pytest.mark.slow
def test_single_flight_holds_across_processes_sharing_redis(sandbox, redis_url):
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "gate")  # the first caller's answer waits until all four are calling
    gate = sandbox.state.gate()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "CACHE_URL"))},
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "CACHE_URL": redis_url,
        "PLEO_API_BASE_URL": sandbox.url,
        "PLEO_API_TOKEN": SANDBOX_TOKEN,
        "PLEO_API_TIMEOUT": "30",
    }
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{JOB}*"):
        client.delete(key)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, JOB],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for worker in workers:  # each process is about to ask: one of them leads, the others find its lock
            assert worker.stdout.readline().strip() == "calling"
        gate.wait_for_arrivals(1)
        lock = key_of("lock", JOB_ID)
        wait_for(lambda: any(client.scan_iter(f"*{lock}")), what="the leader's lock in Redis")
    finally:
        gate.open()
    outputs = [w.communicate(timeout=HANG_GUARD) for w in workers]
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-2000:]
    sources = sorted(json.loads(out.strip().splitlines()[-1])["source"] for out, _ in outputs)
    assert sandbox.state.calls(JOB) == 1
    assert sources.count("fresh") == 1
    assert sources.count("cache") == 3


@pytest.mark.redis
def test_pages_are_still_served_when_redis_stops_mid_run(desk, sandbox, settings, own_redis):
    url = own_redis.url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "ejd-test",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    sandbox.state.put_job(job_payload(JOB))
    assert desk.get(f"/jobs/{JOB}/").status_code == 200
    assert "Fetched from Pleo at" in desk.get(f"/jobs/{JOB}/").content.decode()
    assert sandbox.state.calls(JOB) == 1

    own_redis.stop()
    desk_cache.clear_local()  # as in a worker that never saw the job
    with log_as_written("exportjobs.cache") as written:
        pages = [desk.get(f"/jobs/{JOB}/") for _ in range(3)]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert "Fetched from Pleo just now" in pages[0].content.decode()
    assert "Fetched from Pleo at" in pages[2].content.decode()  # this worker's own copy
    assert sandbox.state.calls(JOB) == 2  # one call for the three pages: no Redis, yet not one call per page
    assert desk_cache.breaker_open()
    warnings = [r for r in written if r.name == "exportjobs.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Cache unavailable" in warnings[0].getMessage()


def test_pages_are_served_when_redis_is_unreachable_from_the_start(desk, sandbox, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    sandbox.state.put_job(job_payload(JOB))
    failed = counter("desk_cache_errors_total")
    assert desk.get(f"/jobs/{JOB}/").status_code == 200
    assert desk.get(f"/jobs/{JOB}/").status_code == 200
    assert sandbox.state.calls(JOB) == 1  # the second page from this worker's own copy
    assert counter("desk_cache_errors_total") == failed + 1  # one try of Redis; then the breaker skipped it


def test_a_caller_that_takes_the_lock_after_a_leader_finished_uses_the_cached_answer(sandbox, monkeypatch):
    sandbox.state.put_job(job_payload(JOB))
    services.job_get(job_id=JOB_ID)  # cached
    desk_cache.clear_local()  # in another worker
    real = desk_cache.cache_get
    missed = []

    def first_get_misses(key):
        if key == key_of("job", JOB_ID) and not missed:
            missed.append(True)
            return None  # as if the leader stored its answer just after this look
        return real(key)

    monkeypatch.setattr(desk_cache, "cache_get", first_get_misses)
    result = services.job_get(job_id=JOB_ID)
    assert result.source == "cache"
    assert sandbox.state.calls(JOB) == 1


def test_an_earlier_failure_does_not_fail_a_later_bursts_waiters(sandbox, settings):
    settings.PLEO_API_TIMEOUT = 3
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "500", times=1)
    with pytest.raises(PleoUnavailable):
        services.job_get(job_id=JOB_ID)  # leaves its failure mark for a few seconds
    settings.PLEO_API_TIMEOUT = 30
    sandbox.state.add_fault(JOB, "gate", times=1)
    opener = opened_once_waiting(sandbox.state.gate(), 3)
    results, errors = at_once(4, lambda: services.job_get(job_id=JOB_ID))
    opener.join(HANG_GUARD)
    assert not errors
    assert len(results) == 4
    assert sandbox.state.calls(JOB) == 2


def test_a_waiter_whose_budget_runs_out_does_not_call_pleo_itself(sandbox, settings):
    settings.PLEO_API_TIMEOUT = 0.2
    sandbox.state.put_job(job_payload(JOB))
    cache.add(key_of("lock", JOB_ID), "a-slow-leader", timeout=120)  # held far beyond the page's budget
    with pytest.raises(TooLong):  # the page says "Pleo took too long to answer" (policy: timeout)
        services.job_get(job_id=JOB_ID)
    assert sandbox.state.calls(JOB) == 0


def test_entries_have_single_flight_too(sandbox, settings):
    from exportjobs.pleo import JobStatus

    settings.PLEO_API_TIMEOUT = 3
    sandbox.state.put_job(job_payload(JOB, status="completed_with_errors", numberOfItems=20))
    job = services.job_get(job_id=JOB_ID).value
    sandbox.state.add_fault(JOB, "delay", seconds=0.3, times=1)
    summaries, errors = at_once(5, lambda: services.job_items_get(job=job))
    assert not errors
    assert len(summaries) == 5
    assert job.status == JobStatus.COMPLETED_WITH_ERRORS
    assert sandbox.state.item_calls(JOB) == 6  # one fetch: five counts and one page
