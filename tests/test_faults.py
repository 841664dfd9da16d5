"""Faults without fallout, under gunicorn: the desk as a team runs it (2 workers × 8 threads, PostgreSQL,
Redis, Pleo), each dependency broken mid-load. The PostgreSQL and the Redis are the test's own (never
the machine's shared ones), Pleo is the sandbox; all traffic stays on loopback and every load loop is
bounded in requests and in time.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from exportjobs.sandbox import SandboxServer, SandboxState, seed
from tests.helpers import (
    HANG_GUARD,
    ROOT,
    SANDBOX_TOKEN,
    OwnPostgres,
    OwnRedis,
    collect_static,
    free_port,
    need,
    wait_for,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

TIMEOUT = 3.0  # PLEO_API_TIMEOUT of the desk under test (PLEO_SLOW_AFTER stays 2 s, under it)
WORKERS = 2
THREADS = 8
PASSWORD = "fault-test-" + secrets.token_urlsafe(12)
METRICS_TOKEN = "metrics-" + secrets.token_urlsafe(12)
HOT = [seed.generated_uuid(i) for i in range(20)]  # cached before each scenario
GENERATED = 20_000  # the sandbox serves generated jobs 0 … GENERATED-1


@dataclass
class Hit:
    started: float  # seconds since the load began
    path: str
    status: int
    seconds: float
    body: str = ""
    content_type: str = ""


@dataclass
class Team:
    url: str
    cookies: dict[str, str]
    sandbox: SandboxServer
    postgres: OwnPostgres
    redis: OwnRedis
    gunicorn: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]
    # Jobs after HOT, each handed out once (by any number of client threads) and so never cached before.
    cold: Iterator[int] = field(default_factory=lambda: itertools.count(len(HOT)))

    def get(self, path: str, *, timeout: float = 10.0, **headers: str) -> requests.Response:
        return requests.get(self.url + path, cookies=self.cookies, timeout=timeout, headers=headers)

    def next_cold(self) -> str:
        index = next(self.cold)  # atomic: two threads never get the same job
        assert index < GENERATED, "the fault suite used every generated job: raise GENERATED"
        return seed.generated_uuid(index)

    def restart_workers(self) -> None:
        """New workers (empty local caches), as after a deploy; the master stays."""
        before = worker_pids(self.gunicorn.pid)
        self.gunicorn.send_signal(signal.SIGHUP)
        wait_for(lambda: not (set(worker_pids(self.gunicorn.pid)) & set(before)), what="new gunicorn workers")
        wait_for(lambda: len(worker_pids(self.gunicorn.pid)) == WORKERS, what="all workers")
        wait_for(lambda: self.get("/healthz", timeout=10).status_code == 200, what="the desk after a restart")

    def psql(self, sql: str) -> str:
        result = subprocess.run(
            ["psql", self.postgres.url, "-At", "-c", sql], capture_output=True, text=True, check=True, timeout=30
        )
        return result.stdout.strip()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def worker_pids(master: int) -> list[int]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def sign_in(url: str) -> dict[str, str]:
    session = requests.Session()
    form = session.get(url + "/accounts/login/", timeout=HANG_GUARD)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    answer = session.post(
        url + "/accounts/login/",
        data={"username": "fiona", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1), "next": "/"},
        headers={"Referer": url + "/accounts/login/"},
        timeout=HANG_GUARD,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:500]
    return dict(session.cookies)


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    need(os.path.exists("/usr/bin/psql"), "psql not installed")
    directory = tmp_path_factory.mktemp("team")
    postgres = OwnPostgres().init()
    postgres.start()
    redis = OwnRedis(directory).start()
    sandbox = SandboxServer(token=SANDBOX_TOKEN, state=SandboxState(generated=GENERATED)).start()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "CACHE_", "DATABASE_", "LOCAL_"))},
        "READ_DOT_ENV": "0",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": postgres.url,
        "CACHE_URL": redis.url,
        "PLEO_API_BASE_URL": sandbox.url,
        "PLEO_API_TOKEN": SANDBOX_TOKEN,
        "PLEO_API_TIMEOUT": str(TIMEOUT),
        "CACHE_BREAKER_SECONDS": "1",
        "GUNICORN_THREADS": str(THREADS),
        "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
        "METRICS_ALLOWED_IPS": "192.0.2.1",  # not this test: it must send the token
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_LEVEL": "INFO",
        "PLEO_USER_BUDGET": "1000000",  # one signed-in client plays many people here
    }
    (directory / "metrics").mkdir()
    manage(env, "migrate", "--noinput", "-v", "0")
    collect_static()
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User; "
        f"u = User.objects.create_user('fiona', password='{PASSWORD}'); "
        "u.groups.add(Group.objects.get(name='Finance'))",
    )
    log = directory / "desk.log"
    gunicorn = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "dashboard.wsgi",
            "--config", "python:dashboard.gunicorn_conf",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS),
            "--no-control-socket", "--timeout", "30",
            "--access-logfile", str(directory / "access.log"),
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(url + "/healthz", timeout=10).status_code == 200, what="the desk under gunicorn")
        team = Team(url, sign_in(url), sandbox, postgres, redis, gunicorn, log, env)
        yield team
    finally:
        gunicorn.terminate()
        try:
            gunicorn.wait(20)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
        sandbox.stop()
        redis.stop()
        postgres.remove()


def load(
    team: Team,
    choose,
    *,
    threads: int,
    seconds: float,
    limit: int = 5000,
    hits: list[Hit] | None = None,
    stop: threading.Event | None = None,
) -> list[Hit]:
    """``threads`` clients asking for ``choose()`` paths for ``seconds`` (at most ``limit`` requests, and
    no longer than ``stop`` stays unset), each result added to ``hits`` as it comes."""
    hits = [] if hits is None else hits
    lock = threading.Lock()
    began = time.monotonic()
    end = began + seconds

    def client() -> None:
        session = requests.Session()
        session.cookies.update(team.cookies)
        while time.monotonic() < end and not (stop is not None and stop.is_set()):
            with lock:
                if len(hits) >= limit:
                    return
            path = choose()
            started = time.monotonic()
            try:
                response = session.get(team.url + path, timeout=15)
                status, body, kind = response.status_code, response.text, response.headers.get("Content-Type", "")
            except requests.RequestException:
                status, body, kind = 0, "", ""
            hit = Hit(started - began, path, status, time.monotonic() - started, body, kind)
            with lock:
                hits.append(hit)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 30)
    return hits


def warm(team: Team) -> None:
    for job in HOT:
        for _ in range(WORKERS * 2):  # every worker has seen them (and Redis has them)
            assert team.get(f"/jobs/{job}/").status_code == 200


def scrape(team: Team) -> str:
    response = team.get("/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200
    return response.text


# --- A: a hung Redis ---------------------------------------------------------------------------------


def test_a_hung_redis_costs_each_thread_one_wait_at_most_then_pages_skip_it(team):
    warm(team)
    before = scrape(team)
    team.redis.hang()
    try:
        paths = ["/", *[f"/jobs/{job}/" for job in HOT]]
        hits = load(team, lambda: random.choice(paths), threads=8, seconds=60.0, limit=400)
    finally:
        team.redis.resume()
    after = scrape(team)
    assert len(hits) >= 400
    assert all(hit.status == 200 for hit in hits), {hit.status for hit in hits}
    # A call that waits for the hung Redis counts an error; after the first, the worker's breaker skips
    # Redis at once: at most one wait per request thread, however many pages were served. (How fast those
    # pages are, with and without a hung Redis, is measured by `make bench`, phase 7.)
    waited = metric(after, "desk_cache_errors_total") - metric(before, "desk_cache_errors_total")
    assert 1 <= waited <= WORKERS * THREADS, waited
    assert metric(after, "desk_cache_skipped_total") > metric(before, "desk_cache_skipped_total")


# --- E: Redis gone ------------------------------------------------------------------------------------


def test_with_redis_gone_pleo_gets_a_few_times_the_calls_not_one_per_page(team):
    jobs = [team.next_cold() for _ in range(60)]
    rng = random.Random(7)

    def choose() -> str:
        return f"/jobs/{rng.choice(jobs)}/"

    team.restart_workers()
    before = team.sandbox.state.calls()
    normal = load(team, choose, threads=6, seconds=30.0, limit=300)
    normal_calls = team.sandbox.state.calls() - before
    assert all(hit.status == 200 for hit in normal), [
        (h.status, h.path, h.body[:300]) for h in normal if h.status != 200
    ][:3]

    team.restart_workers()  # empty local caches, and then Redis goes
    team.redis.stop()
    try:
        before = team.sandbox.state.calls()
        gone = load(team, choose, threads=6, seconds=30.0, limit=300)
        gone_calls = team.sandbox.state.calls() - before
    finally:
        team.redis.start()
    assert all(hit.status == 200 for hit in gone), [(h.status, h.path, h.body[:300]) for h in gone if h.status != 200][
        :3
    ]
    normal_rate, gone_rate = normal_calls / len(normal), gone_calls / len(gone)
    # Each worker fetches each job once: about WORKERS times the normal cold rate, never one call per page.
    assert gone_rate <= 3 * normal_rate, (normal_calls, len(normal), gone_calls, len(gone))
    assert gone_calls <= WORKERS * len(jobs) + 5


# --- D: a slow Pleo -----------------------------------------------------------------------------------


@pytest.mark.parametrize("clients", [30, 60])
def test_many_people_at_once_with_pleo_at_its_normal_pace_never_see_busy(team, clients):
    """More people than threads, each opening a job nobody has opened: they queue for a thread, and then
    for a place of the bulkhead, but Pleo answers in 200 ms, so nobody is told it is busy."""
    before = scrape(team)
    team.sandbox.state.latency = 0.2
    try:
        hits = load(team, lambda: f"/jobs/{team.next_cold()}/", threads=clients, seconds=6.0, limit=8 * clients)
    finally:
        team.sandbox.state.latency = 0.0
    after = scrape(team)
    assert len(hits) >= clients
    assert [(hit.status, hit.body[:200]) for hit in hits if hit.status != 200][:3] == []
    assert metric(after, "desk_bulkhead_rejections_total") == metric(before, "desk_bulkhead_rejections_total")
    assert metric(after, "desk_bulkhead_waits_total") > metric(before, "desk_bulkhead_waits_total")  # it was full


def test_a_slow_pleo_never_fills_every_thread(team):
    warm(team)
    hot = f"/jobs/{HOT[0]}/"
    before = scrape(team)
    team.sandbox.state.latency = 3 * TIMEOUT  # Pleo answers after its timeout
    hits: list[Hit] = []
    probes: list[Hit] = []
    stop = threading.Event()

    def probe() -> None:
        """Once the bulkhead turns people away (it is full), /healthz and a cached page, 20 times in turn;
        then the load stops. Counted, not timed: how fast they are is measured by `make bench`."""
        try:
            wait_for(lambda: any(hit.status == 503 for hit in list(hits)), what="the bulkhead turning a request away")
            session = requests.Session()
            session.cookies.update(team.cookies)
            for index in range(20):
                path = "/healthz" if index % 2 else hot
                response = session.get(team.url + path, timeout=30)
                probes.append(Hit(0, path, response.status_code, 0))
        finally:
            stop.set()

    watcher = threading.Thread(target=probe)
    try:
        watcher.start()
        cold = lambda: f"/jobs/{team.next_cold()}/"  # noqa: E731
        load(team, cold, threads=30, seconds=HANG_GUARD, limit=6000, hits=hits, stop=stop)
    finally:
        stop.set()
        watcher.join(HANG_GUARD)
        team.sandbox.state.latency = 0.0
    after = scrape(team)
    statuses = {hit.status for hit in hits}
    unexpected = [(hit.path, hit.status, round(hit.seconds, 2), hit.body[:2000]) for hit in hits if hit.status > 504]
    unexpected += [(hit.path, hit.status, round(hit.seconds, 2), hit.body[:2000]) for hit in hits if hit.status < 503]
    assert statuses <= {503, 504}, unexpected  # Pleo too slow (504) or the bulkhead full (503), never hung
    assert any(hit.status == 503 and "Pleo is busy" in hit.body for hit in hits)
    assert metric(after, "desk_bulkhead_rejections_total") > metric(before, "desk_bulkhead_rejections_total")
    # The bulkhead was full, and never held more than PLEO_BULKHEAD (all but two) of a worker's threads: the
    # two left always served /healthz and cached pages, which never wait on Pleo. (How fast they are while
    # Pleo is slow is measured by `make bench`.)
    assert metric(after, "desk_bulkhead_most_in_use") == THREADS - 2
    assert len(probes) == 20
    assert [hit for hit in probes if hit.status != 200] == []


# --- B: no look without its audit row --------------------------------------------------------------


def found_rows(team: Team) -> int:
    return int(team.psql("SELECT count(*) FROM exportjobs_auditevent WHERE action = 'view' AND outcome = 'found'"))


def shown(hit: Hit, job: str) -> bool:
    return hit.status == 200 and 'id="job-title"' in hit.body and job in hit.body


def test_when_the_audit_trail_refuses_writes_no_job_is_shown(team):
    warm(team)
    before = found_rows(team)
    team.psql(
        "ALTER TABLE exportjobs_auditevent ADD CONSTRAINT audit_refuses CHECK (false) NOT VALID"
    )  # as a full disk would: every INSERT fails, reads go on
    try:
        hits = load(team, lambda: f"/jobs/{random.choice(HOT)}/", threads=6, seconds=2.0, limit=300)
    finally:
        team.psql("ALTER TABLE exportjobs_auditevent DROP CONSTRAINT audit_refuses")
    assert hits
    assert all(hit.status == 503 for hit in hits), {hit.status for hit in hits}
    assert all("cannot record this look" in hit.body for hit in hits)
    assert not any('id="job-title"' in hit.body for hit in hits)
    assert found_rows(team) == before


def test_a_stopped_database_leaves_no_look_unrecorded_breaks_no_500_page_and_floods_no_log(team):
    warm(team)
    before_rows = found_rows(team)
    log_before = len(team.log_text())
    jobs = HOT[:8]
    results: list[Hit] = []
    done = threading.Event()

    def choose() -> str:
        return f"/jobs/{random.choice(jobs)}/"

    def outage() -> None:
        try:
            wait_for(lambda: len(results) >= 50, what="50 pages before the outage")
            team.postgres.stop("immediate")
            wait_for(lambda: sum(hit.status >= 500 for hit in results) >= 150, what="150 failed pages")
            team.postgres.start()
            served = len(results)
            wait_for(lambda: len(results) >= served + 50, what="50 pages after the outage")
        finally:
            done.set()

    breaker = threading.Thread(target=outage)
    breaker.start()
    load(team, choose, threads=8, seconds=120, limit=20_000, hits=results, stop=done)
    breaker.join(HANG_GUARD)
    assert not breaker.is_alive()
    wait_for(lambda: team.get("/healthz", timeout=10).status_code == 200, what="the database again")

    pages_shown = sum(1 for hit in results if any(shown(hit, job) for job in jobs))
    rows = found_rows(team) - before_rows
    failed = [hit for hit in results if hit.status >= 500]
    assert failed, "the outage produced no failed requests: the test did not break anything"
    assert pages_shown == rows  # every job page that went out has its audit row, and no more
    for hit in failed:
        assert hit.content_type.startswith("text/html"), hit.content_type  # our page, never a text/plain fallback
        if hit.status == 500:
            assert "Something went wrong on our side" in hit.body
            assert re.search(r"<code>[0-9a-f]{16}</code>", hit.body)

    written = team.log_text()[log_before:]
    records = [line for line in written.splitlines() if re.match(r"^\d{4}-\d\d-\d\d .* (WARNING|ERROR) ", line)]
    with_traceback = [line for line in records if "Unhandled error" in line]
    # One record (with its traceback) per kind of failure per worker per minute, not one per failed request.
    # The kinds: refused while down, "shutting down", "starting up", a connection cut mid-query.
    assert len(with_traceback) <= 6 * WORKERS, with_traceback
    assert len(records) <= 15 * WORKERS, records
    assert len(failed) >= 3 * len(records), (len(failed), len(records))


def test_healthz_with_a_session_cookie_during_a_database_outage_is_a_503_in_json(team):
    assert len(team.cookies["sessionid"]) == 32  # a real session: Django asks the database for it
    team.postgres.stop("immediate")
    try:
        answer = team.get("/healthz")
        head = requests.head(team.url + "/healthz", cookies=team.cookies, timeout=HANG_GUARD)
    finally:
        team.postgres.start()
    assert answer.status_code == 503, answer.text[:500]
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert (body["status"], body["database"], body["cache"]) == ("error", "unavailable", "ok")
    assert (head.status_code, head.content) == (503, b"")
    wait_for(lambda: team.get("/healthz").status_code == 200, what="the database again")


def test_healthz_reports_a_redis_outage_and_still_answers_200(team):
    team.redis.stop()
    try:
        answers = [team.get("/healthz") for _ in range(4)]  # both workers, whichever serves
    finally:
        team.redis.start()
    assert [a.status_code for a in answers] == [200] * 4
    assert {(a.json()["database"], a.json()["cache"]) for a in answers} == {("ok", "unavailable")}
    team.restart_workers()  # no worker's breaker still open: the next test's single flight needs Redis


# --- stampede and /metrics --------------------------------------------------------------------------


def test_a_stampede_across_workers_makes_one_call(team):
    job = team.next_cold()
    team.sandbox.state.latency = 0.3
    try:
        results: list[int] = []
        barrier = threading.Barrier(24)

        def one() -> None:
            barrier.wait()
            results.append(team.get(f"/jobs/{job}/").status_code)

        threads = [threading.Thread(target=one) for _ in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_GUARD)
    finally:
        team.sandbox.state.latency = 0.0
    assert results == [200] * 24
    assert team.sandbox.state.calls(job) == 1


def metric(text: str, name: str) -> float:
    """The sum of a metric's samples whose name and labels start with ``name``."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_show_what_the_faults_caused_and_only_to_the_scraper(team):
    assert team.get("/metrics").status_code == 404  # 127.0.0.1 is not in METRICS_ALLOWED_IPS here
    assert team.get("/metrics", Authorization="Bearer wrong").status_code == 404
    response = team.get("/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200
    text = response.text
    assert metric(text, 'desk_pleo_calls_total{endpoint="job",outcome="ok"}') > 0
    assert metric(text, 'desk_pleo_calls_total{endpoint="job",outcome="timeout"}') > 0  # the slow Pleo
    assert metric(text, "desk_pleo_call_seconds_count") > 0
    assert metric(text, 'desk_cache_lookups_total{kind="job",result="hit_local"}') > 0
    assert metric(text, 'desk_cache_lookups_total{kind="job",result="hit_shared"}') > 0
    assert metric(text, 'desk_cache_lookups_total{kind="job",result="miss"}') > 0
    assert metric(text, "desk_cache_errors_total") > 0  # the hung and the stopped Redis
    assert metric(text, "desk_cache_skipped_total") > 0  # the breaker at work
    assert "desk_cache_breaker_open" in text
    assert metric(text, "desk_singleflight_waits_total") > 0  # the stampede
    assert metric(text, "desk_bulkhead_rejections_total") > 0  # the slow Pleo
    assert metric(text, "desk_audit_write_failures_total") > 0  # the audit trail that refused writes
    assert metric(text, "django_http_requests_total_by_view_transport_method_total") > 0
    assert metric(text, 'django_http_responses_total_by_status_total{status="503"}') > 0


def test_request_ids_reach_the_access_log(team):
    response = team.get("/healthz")
    ident = response.headers["X-Request-ID"]
    access = team.log.parent / "access.log"
    wait_for(lambda: ident in access.read_text(), what="the request's id in the access log")  # written after the answer
