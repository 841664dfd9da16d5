#!/usr/bin/env python
"""``make bench``: the dashboard measured against its limits, side by side, in one run.

Starts the standalone sandbox (a fake Pleo with an artificial latency) and the
dashboard under gunicorn exactly as ``make run`` does (gthread workers, 8
threads, static files collected, a signed-in session), drives it with wrk, and
writes the results table, the command and the machine to ``docs/benchmarks.md``
(and every number to ``bench/results/latest.json``). Not part of ``make test``.

    make bench                                  # all of it, about 5 minutes
    make bench BENCH_ARGS="--latency 0.5"       # a slower Pleo
    .venv/bin/python bench/run.py --quick       # a short trial (under 2 minutes), to bench/results/quick.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import alerts as alerts_phase  # noqa: E402 - after the path set-up above
from bench import faults as faults_phase  # noqa: E402 - after the path set-up above
from bench import machine, report, servers, soak, wrk  # noqa: E402
from exportjobs.sandbox import seed  # noqa: E402
from exportjobs.services.entries import ENTRY_CONCURRENCY  # noqa: E402 - entries' details asked at once per worker

VAR = ROOT / "var" / "bench"
RESULTS = ROOT / "bench" / "results"
HOT_JOB = seed.job_uuid("completed")  # a finished sample job: cached for a day once fetched
HOME_MARK = "Look up an export job"
BEFORE_FAULTS = "0a0f9e5"  # the release before the cache breaker, local cache, bulkhead and waking waiters
BEFORE_COMPARE = "082a706"  # the release before one verdict per job and the bulkhead that waits (phase 11)
COMPARE_FAILED = (10, 20)  # phase 11: partly exported jobs (seed.bench_failed_uuid) of before and after, 4 each
ATTENTION_JOBS = 500  # failed jobs of the last day the slow sandbox lists (seed.bench_listed_job), = ATTENTION_MAX_JOBS
ATTENTION_MARK = f"Showing the {ATTENTION_JOBS} most recent jobs"
# Six cold views of the list, each a filter set not asked before, each ATTENTION_JOBS jobs in 5 pages of 100
# with no concurrent walk of active jobs (statuses without pending/in_progress).
ATTENTION_COLD = [
    f"/attention/?period={period}&status=failed" + ("&status=completed_with_errors" if partly else "")
    for period in ("24h", "7d", "30d")
    for partly in (False, True)
]
ATTENTION_STAMPEDE = "/attention/"  # the default view: the failed and partly exported walk and the active one
ATTENTION_WALK = "/attention/?period=30d"  # every status: one walk for comparison with the stampede
PROFILE_FOLLOWER_JOBS = 5  # stampedes of 20 whose followers are profiled, each on a job not asked before
ENTRY_LATENCY = 0.1  # seconds the entries' sandbox adds to every answer (job, items, entries, company)
ENTRY_COLD = 8  # cold job pages, each a job with 50 failed entries not asked before
ENTRY_MARK = b'class="entry-kind"'  # one per failed entry shown with its details
NOISY = 0.10  # a measurement during which other programs used more than this share of the CPUs is flagged

_t0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _t0:6.1f}s] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmarks of Export Job Desk (see docs/benchmarks.md)")
    parser.add_argument(
        "--latency", type=float, default=0.2, help="seconds the sandbox adds to every Pleo answer (default 0.2)"
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk measurement (default 5)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="connections for the throughput comparison (default 8)"
    )
    parser.add_argument(
        "--workers-concurrency", type=int, default=16, help="connections for 1 vs 3 workers (default 16)"
    )
    parser.add_argument(
        "--jobs", type=int, default=10_000, help="distinct jobs looked up for the cache's scale (default 10000)"
    )
    parser.add_argument("--stampede", type=int, default=50, help="simultaneous cold requests for one job (default 50)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (default 8, as make run)")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="Redis for the shared-cache runs; only this database is flushed (default: a Redis of the "
        "bench's own on a free port, started and stopped with it)",
    )
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis runs")
    parser.add_argument(
        "--database-url",
        help="a DISPOSABLE database to migrate and use instead of a fresh SQLite file "
        "in var/bench/ (e.g. postgres://…/bench): the bench adds a user and thousands of audit rows",
    )
    parser.add_argument(
        "--profile-requests", type=int, default=200, help="requests per page under cProfile (default 200)"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=120.0,
        help="seconds to wait for other programs to leave the CPUs idle before measuring (default 120)",
    )
    parser.add_argument(
        "--output", type=Path, help="report file (default docs/benchmarks.md; bench/results/quick.md with --quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short trial: 2 s runs, 2,000 jobs, 100 profiled requests"
    )
    parser.add_argument(
        "--before",
        default=BEFORE_FAULTS,
        help=f"git revision measured beside this code in phase 7 (default {BEFORE_FAULTS}; 'none': skip)",
    )
    parser.add_argument("--fault-seconds", type=float, default=8.0, help="seconds per fault scenario (default 8)")
    parser.add_argument(
        "--compare",
        default=BEFORE_COMPARE,
        help=f"git revision measured beside this code in phase 11 (default {BEFORE_COMPARE}; 'none': skip)",
    )
    parser.add_argument("--no-faults", action="store_true", help="skip phase 7 (faults, before and after)")
    parser.add_argument(
        "--soak-minutes",
        type=float,
        default=float(os.environ.get("SOAK_MINUTES") or 30),
        help="minutes of the soak, phase 12 (default $SOAK_MINUTES or 30; 0: skip it)",
    )
    parser.add_argument(
        "--only",
        choices=["entries", "soak", "compare", "alerts"],
        help="run one phase alone (entries: the failed entries' details, phase 10; soak: phase 12; compare: phase 11; "
        "alerts: alerts at scale) and write "
        "bench/results/<phase>.md instead of docs/benchmarks.md",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 2.0)
        args.jobs = min(args.jobs, 2000)
        args.profile_requests = min(args.profile_requests, 100)
        args.soak_minutes = min(args.soak_minutes, 2.0)
    if args.output is None and args.only:
        args.output = RESULTS / f"{args.only}.md"
    if args.output is None:
        args.output = RESULTS / "quick.md" if args.quick else ROOT / "docs" / "benchmarks.md"
    if args.jobs < 1000:
        parser.error("--jobs must be at least 1000 (the cache is compared at 1,000 and at --jobs entries)")
    return args


def masked(text: str) -> str:
    """A URL or command line with any password in a URL replaced by ***."""
    return re.sub(r"(://[^/:@\s]*:)[^@\s]+@", r"\1***@", text)


def command_line(argv: list[str]) -> str:
    argv = [masked(arg) for arg in argv]
    if os.environ.get("MAKELEVEL"):
        return "make bench" + (f" BENCH_ARGS={shlex.quote(shlex.join(argv))}" if argv else "")
    return shlex.join(
        [
            os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable,
            "bench/run.py",
            *argv,
        ]
    )


class Bench:
    def __init__(self, args: argparse.Namespace, argv: list[str]):
        self.args = args
        self.secret_key = secrets.token_urlsafe(50)
        self.database_url = args.database_url or f"sqlite:///{VAR / 'bench.sqlite3'}"
        self.started = datetime.now(timezone.utc)
        self.results: dict = {
            "started_at": self.started.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "command": command_line(argv),
            "config": {
                "latency_s": args.latency,
                "duration_s": args.duration,
                "concurrency": args.concurrency,
                "workers_concurrency": args.workers_concurrency,
                "jobs": args.jobs,
                "stampede": args.stampede,
                "threads": args.threads,
                "redis_url": None if args.no_redis or not args.redis_url else masked(args.redis_url),
                "quick": args.quick,
                "database": self.database_url.split(":", 1)[0]
                + ("" if args.database_url else " (fresh file in var/bench/)"),
            },
            "notes": [],
        }
        # generated job ids: [0, jobs) for the scale runs, then cold pages, direct calls, stampedes
        self.cold_count = int(args.duration / max(args.latency, 0.004)) * 2 + 50
        self.cold_base = args.jobs
        self.direct_base = self.cold_base + self.cold_count
        self.quick_count = int(args.duration * 250) + 50  # cold pages with no upstream latency: up to ~150/s
        self.quick_base = self.direct_base + self.cold_count
        self.quick_direct_base = self.quick_base + self.quick_count
        self.stampede_base = self.quick_direct_base + self.quick_count
        self.fault_base = self.stampede_base + 2 + PROFILE_FOLLOWER_JOBS  # phase 7: 2 × (jobs of its own and cold ones)
        self.compare_base = self.fault_base + 2 * faults_phase.JOBS_NEEDED  # phase 11: 2 × the same again
        self.generated = self.compare_base + 2 * faults_phase.JOBS_NEEDED
        self.cookies: dict[str, str] = {}
        default_output = args.output.resolve() == (ROOT / "docs" / "benchmarks.md").resolve()
        self.json_path = RESULTS / ("latest.json" if default_output else f"{args.output.stem}.json")
        self.results["json"] = os.path.relpath(self.json_path, ROOT)
        self.to_stop: list = []

    # -- helpers --------------------------------------------------------------------------------

    def env(self, cache_url: str, sandbox: servers.Sandbox) -> dict[str, str]:
        return servers.app_env(
            secret_key=self.secret_key, database_url=self.database_url, cache_url=cache_url, sandbox=sandbox
        )

    def desk(
        self,
        name: str,
        cache_url: str,
        sandbox: servers.Sandbox,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
    ) -> servers.Desk:
        log(
            f"starting gunicorn '{name}': {workers} worker(s) x {self.args.threads} threads, "
            f"cache {cache_url.split(':')[0]}"
        )
        env = {**self.env(cache_url, sandbox), **(extra_env or {})}
        desk = servers.Desk(env, workers=workers, threads=self.args.threads, log_dir=VAR, name=name)
        self.to_stop.append(desk)
        desk.start()
        return desk

    @property
    def cookie(self) -> str:
        return servers.cookie_header(self.cookies)

    def measure(
        self,
        desk_url: str,
        *,
        label: str,
        path: str = "/",
        paths: list[str] | None = None,
        order: str = "seq",
        connections: int = 1,
        expect_bytes: int = 0,
        headers: dict | None = None,
        duration: float | None = None,
        delay_ms: int = 0,
    ) -> dict:
        self.settle()
        with machine.OtherLoad() as other:
            result = wrk.run(
                desk_url,
                path=path,
                paths=paths,
                order=order,
                duration=duration or self.args.duration,
                connections=connections,
                threads=1 if connections == 1 else 2,
                headers=headers or {"Cookie": self.cookie},
                label=label,
                delay_ms=delay_ms,
            )
        log(
            f"  {label}: p50 {result.p50_ms:.2f} ms, p95 {result.p95_ms:.2f} ms, {result.rps:.0f} req/s"
            + (f", ERRORS {result.errors}" if result.errors else "")
            + (f" (other programs used {other.fraction * 100:.0f} % of the CPUs)" if other.fraction > NOISY else "")
        )
        if other.fraction > NOISY:
            self.results["notes"].append(
                f"{label}: other programs used {other.fraction * 100:.0f} % of the CPUs meanwhile; take it with salt."
            )
        if result.errors:
            self.results["notes"].append(
                f"{label}: wrk counted errors {result.errors} (non-2xx/3xx answers or socket errors)."
            )
        if expect_bytes and result.bytes_per_request < 0.8 * expect_bytes:
            self.results["notes"].append(
                f"{label}: {result.bytes_per_request:.0f} bytes per answer against a {expect_bytes}-byte page: "
                "some answers were not the page (redirects to sign-in?)."
            )
        return {**result.as_dict(), "other_load": other.fraction}

    def settle(self, limit: float = 10.0) -> None:
        """Wait (up to ``limit`` s) while other programs keep the CPUs busy: their load is our noise."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and machine.cpu_busy(0.5) > 0.15:
            time.sleep(1)

    def warm(self, desk: servers.Desk, paths: list[str]) -> None:
        for path in paths:
            wrk.run(desk.url, path=path, duration=1, connections=self.args.concurrency, headers={"Cookie": self.cookie})

    def job_paths(self, start: int, count: int) -> list[str]:
        return [f"/jobs/{seed.generated_uuid(i)}/" for i in range(start, start + count)]

    def stampede(self, desk: servers.Desk, sandbox: servers.Sandbox, index: int, label: str) -> dict:
        job_id = seed.generated_uuid(index)
        before = sandbox.calls(job_id)
        self.settle()
        with machine.OtherLoad() as other:
            answers = servers.stampede(desk.url, f"/jobs/{job_id}/", self.cookie, count=self.args.stampede)
        calls = sandbox.calls(job_id) - before
        times = [seconds * 1000 for _status, seconds in answers]
        statuses: dict[str, int] = {}
        for status, _seconds in answers:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        result = {
            "label": label,
            "requests": len(answers),
            "upstream_calls": calls,
            "statuses": statuses,
            "p50_ms": servers.percentile(times, 50),
            "p95_ms": servers.percentile(times, 95),
            "max_ms": max(times) if times else 0.0,
            "upstream_ms": sandbox.latency * 1000,
            "workers": desk.workers,
            "other_load": other.fraction,
        }
        log(
            f"  {label}: {calls} upstream call(s) for {len(answers)} requests, p95 {result['p95_ms']:.0f} ms, "
            f"statuses {statuses}"
        )
        return result

    # -- the phases ------------------------------------------------------------------------------

    def setup(self) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        if not self.args.database_url:
            for suffix in ("", "-wal", "-shm", "-journal"):
                (VAR / f"bench.sqlite3{suffix}").unlink(missing_ok=True)
        self.slow = servers.Sandbox(
            latency=self.args.latency, generated=self.generated, listed=ATTENTION_JOBS, log_dir=VAR, name="sandbox-slow"
        ).start()
        self.to_stop.append(self.slow)
        self.fast = servers.Sandbox(
            latency=0.0,
            generated=self.generated,
            failed=max(COMPARE_FAILED) + 4,
            log_dir=VAR,
            token=self.slow.token,
            name="sandbox-fast",
        ).start()
        self.to_stop.append(self.fast)
        log(
            f"sandboxes: {self.slow.url} ({self.args.latency * 1000:.0f} ms), {self.fast.url} (0 ms), "
            f"{self.generated} generated jobs"
        )
        log("migrating the bench database, collecting static files, creating the bench user")
        self.password = servers.prepare_database(self.env("locmemcache://bench", self.slow))

    def phase_local(self) -> None:
        """1-4: cached job page vs home, throughput, cold overhead, stampede: one worker, local memory."""
        args = self.args
        desk = self.desk("desk-locmem", "locmemcache://bench", self.slow)
        self.cookies = servers.sign_in(desk.url, servers.BENCH_USER, self.password)
        hot = f"/jobs/{HOT_JOB}/"
        home_bytes = servers.check_page(desk.url, "/", self.cookies, contains=HOME_MARK)
        job_bytes = servers.check_page(desk.url, hot, self.cookies, contains=HOT_JOB)  # also caches the job
        self.warm(desk, ["/", hot])
        new_user = {"Cookie": servers.cookie_header(servers.sign_in(desk.url, servers.NEW_USER, self.password))}
        wrk.run(desk.url, path="/", duration=1, connections=args.concurrency, headers=new_user)
        german = {"Cookie": self.cookie, "Accept-Language": "de"}  # the bench user has no language of its own
        wrk.run(desk.url, path=hot, duration=1, connections=args.concurrency, headers=german)
        log("1. latency, one connection")
        self.results["latency"] = {
            "home": self.measure(desk.url, label="home page, 1 connection", path="/", expect_bytes=home_bytes),
            "job": self.measure(desk.url, label="cached job page, 1 connection", path=hot, expect_bytes=job_bytes),
            "home_new_user": self.measure(
                desk.url, label="home page of a user with no history, 1 connection", path="/", headers=new_user
            ),
            "job_translated": self.measure(
                desk.url, label="cached job page in German, 1 connection", path=hot, headers=german
            ),
        }
        log(f"2. throughput, {args.concurrency} connections")
        self.results["throughput"] = {
            "home": self.measure(
                desk.url,
                label=f"home page, {args.concurrency} connections",
                path="/",
                connections=args.concurrency,
                expect_bytes=home_bytes,
            ),
            "job": self.measure(
                desk.url,
                label=f"cached job page, {args.concurrency} connections",
                path=hot,
                connections=args.concurrency,
                expect_bytes=job_bytes,
            ),
        }
        log(f"3. cold job page vs a direct call to the sandbox ({args.latency * 1000:.0f} ms)")
        calls_before = self.slow.stats()["calls"]
        cold = self.measure(
            desk.url,
            label="cold job page (a new job each request)",
            paths=self.job_paths(self.cold_base, self.cold_count),
            expect_bytes=int(job_bytes * 0.8),
        )
        cold["upstream_calls"] = self.slow.stats()["calls"] - calls_before
        direct_paths = [
            f"/v2/export-jobs/{seed.generated_uuid(i)}"
            for i in range(self.direct_base, self.direct_base + self.cold_count)
        ]
        direct = self.measure(
            self.slow.url,
            label="direct GET to the sandbox",
            paths=direct_paths,
            headers={"Authorization": f"Bearer {self.slow.token}"},
        )
        if cold["requests"] > self.cold_count or direct["requests"] > self.cold_count:
            self.results["notes"].append(
                "cold run: more requests than distinct job ids, so some were served from the cache"
            )
        pause = round(args.latency * 1000)
        idle = (
            self.measure(
                desk.url,
                label=f"cached job page, 1 connection, {pause} ms pause before each request",
                path=hot,
                expect_bytes=job_bytes,
                delay_ms=pause,
            )
            if pause
            else None
        )
        self.results["cold"] = {
            "job": cold,
            "direct": direct,
            "distinct_ids": self.cold_count,
            "cached_after_pause": idle,
        }
        log(f"4. stampede: {args.stampede} simultaneous requests for one uncached job")
        self.results["stampede"] = [self.stampede(desk, self.slow, self.stampede_base, "1 worker, local-memory cache")]
        desk.stop()

    def phase_attention(self) -> None:
        """7-9: /attention/ with 500 jobs: cached against the home page, cold against its calls to Pleo, a stampede.

        The list's cache lifetime is raised to 10 minutes so that no measurement straddles an expiry; each cold
        view is a filter set not asked before."""
        args = self.args
        extra = {"ATTENTION_CACHE_TTL": "600", "ATTENTION_MAX_JOBS": str(ATTENTION_JOBS)}
        desk = self.desk("desk-attention", "locmemcache://bench-attention", self.slow, extra_env=extra)
        latency_ms = args.latency * 1000
        log(
            f"8. cold /attention/: {len(ATTENTION_COLD)} filter sets, {ATTENTION_JOBS} jobs each, "
            f"{latency_ms:.0f} ms a page"
        )
        cold = []
        for path in ATTENTION_COLD:
            self.settle()
            before = self.slow.stats()["listCalls"]
            status, seconds, body = servers.timed_get(desk.url, path, self.cookie)
            calls = self.slow.stats()["listCalls"] - before
            statuses = [value for key, value in parse_qsl(path.split("?", 1)[1]) if key == "status"]
            direct = self.slow.walk_list(statuses, calls)  # the same pages, straight from the sandbox
            cold.append(
                {
                    "path": path,
                    "status": status,
                    "ms": seconds * 1000,
                    "upstream_calls": calls,
                    "upstream_ms": direct * 1000,
                    "full": ATTENTION_MARK.encode() in body,
                }
            )
            log(
                f"  {path}: HTTP {status}, {seconds * 1000:.0f} ms, {calls} list call(s) taking "
                f"{direct * 1000:.0f} ms when asked directly"
            )
        if not all(sample["status"] == 200 and sample["full"] for sample in cold):
            self.results["notes"].append(f"cold /attention/: not every answer was a full page of {ATTENTION_JOBS} jobs")
        before = self.slow.stats()["listCalls"]
        servers.timed_get(desk.url, ATTENTION_WALK, self.cookie)
        walk_calls = self.slow.stats()["listCalls"] - before
        log(f"9. stampede: {args.stampede} simultaneous cold requests for {ATTENTION_STAMPEDE}")
        self.settle()
        before = self.slow.stats()["listCalls"]
        answers = servers.stampede(desk.url, ATTENTION_STAMPEDE, self.cookie, count=args.stampede)
        times = [seconds * 1000 for _status, seconds in answers]
        statuses: dict[str, int] = {}
        for status, _seconds in answers:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        stampede = {
            "path": ATTENTION_STAMPEDE,
            "requests": len(answers),
            "upstream_calls": self.slow.stats()["listCalls"] - before,
            "walk_calls": walk_calls,
            "statuses": statuses,
            "p50_ms": servers.percentile(times, 50),
            "p95_ms": servers.percentile(times, 95),
            "max_ms": max(times) if times else 0.0,
        }
        log(f"  {stampede['upstream_calls']} list call(s) for {len(answers)} requests (one walk: {walk_calls})")
        log("7. cached /attention/ against the home page, 1 connection")
        page_bytes = servers.check_page(desk.url, ATTENTION_STAMPEDE, self.cookies, contains=ATTENTION_MARK)
        home_bytes = servers.check_page(desk.url, "/", self.cookies, contains=HOME_MARK)
        self.warm(desk, ["/", ATTENTION_STAMPEDE])
        self.results["attention"] = {
            "jobs": ATTENTION_JOBS,
            "latency_ms": latency_ms,
            "page_size": 100,
            "home": self.measure(
                desk.url, label="home page, 1 connection (beside /attention/)", expect_bytes=home_bytes
            ),
            "cached": self.measure(
                desk.url,
                label=f"cached /attention/ ({ATTENTION_JOBS} jobs), 1 connection",
                path=ATTENTION_STAMPEDE,
                expect_bytes=page_bytes,
            ),
            "page_bytes": page_bytes,
            "cold": cold,
            "stampede": stampede,
        }
        desk.stop()

    def phase_entries(self) -> None:
        """10: a cold job page with 50 failed entries and their details, against its own calls to Pleo; the
        cached page with details against the cached page without them (entries refused by Pleo)."""
        latency = ENTRY_LATENCY
        sandbox = servers.Sandbox(
            latency=latency, generated=0, failed=ENTRY_COLD + 1, log_dir=VAR, name="sandbox-entries"
        ).start()
        self.to_stop.append(sandbox)
        desk = self.desk("desk-entries", "locmemcache://bench-entries", sandbox)
        self.cookies = servers.sign_in(desk.url, servers.BENCH_USER, self.password)
        log(
            f"10. cold job pages with 50 failed entries: {ENTRY_COLD} jobs, every answer {latency * 1000:.0f} ms, "
            f"entries {ENTRY_CONCURRENCY} at a time"
        )
        cold = []
        for index in range(ENTRY_COLD):
            job_id = seed.bench_failed_uuid(index)
            self.settle()
            before = sandbox.stats()
            status, seconds, body = servers.timed_get(desk.url, f"/jobs/{job_id}/", self.cookie)
            after = sandbox.stats()
            direct = sandbox.job_and_items(job_id)  # the same calls, straight from the sandbox
            sample = {
                "status": status,
                "ms": seconds * 1000,
                "upstream_ms": direct * 1000,
                "details": body.count(ENTRY_MARK),
                "entry_calls": after["entryCalls"] - before["entryCalls"],
                "company_calls": after["companyCalls"] - before["companyCalls"],
            }
            cold.append(sample)
            log(
                f"  job {index}: HTTP {status}, {sample['ms']:.0f} ms (job and items asked directly: "
                f"{sample['upstream_ms']:.0f} ms), {sample['details']} entries with details, "
                f"{sample['entry_calls']} entry call(s)"
            )
        hot = f"/jobs/{seed.bench_failed_uuid(0)}/"
        page_bytes = servers.check_page(desk.url, hot, self.cookies, contains="Card purchase (online)")
        before = sandbox.stats()["entryCalls"]
        servers.timed_get(desk.url, hot, self.cookie)
        cached_calls = sandbox.stats()["entryCalls"] - before
        sandbox.refuse_entries(True)  # from now on the entries are listed as before the details existed
        bare = f"/jobs/{seed.bench_failed_uuid(ENTRY_COLD)}/"
        servers.timed_get(desk.url, bare, self.cookie)
        bare_bytes = servers.check_page(
            desk.url, bare, self.cookies, contains="does not let Export Job Desk see what these entries are"
        )
        self.warm(desk, [hot, bare])
        # Alternated, twice each: the quieter run of each counts (other programs share this machine's CPUs).
        runs: dict[str, list[dict]] = {"with": [], "without": []}
        for _round in range(2):
            runs["with"].append(
                self.measure(
                    desk.url, label="cached job page, 50 failed entries with details", path=hot, expect_bytes=page_bytes
                )
            )
            runs["without"].append(
                self.measure(
                    desk.url,
                    label="cached job page, 50 failed entries without details",
                    path=bare,
                    expect_bytes=bare_bytes,
                )
            )
        with_details = min(runs["with"], key=lambda run: run["p50_ms"])
        without = min(runs["without"], key=lambda run: run["p50_ms"])
        sandbox.refuse_entries(False)
        self.results["entries"] = {
            "latency_ms": latency * 1000,
            "concurrency": ENTRY_CONCURRENCY,
            "cold": cold,
            "cached": with_details,
            "cached_without": without,
            "cached_entry_calls": cached_calls,
            "page_bytes": page_bytes,
            "bare_bytes": bare_bytes,
        }
        desk.stop()
        sandbox.stop()

    def phase_profile(self) -> None:
        log(f"profiling the cached job page in-process (cProfile, {self.args.profile_requests} requests per page)")
        env = {**self.env("locmemcache://bench-profile", self.fast), "BENCH_USER": servers.BENCH_USER}
        followers = [seed.generated_uuid(self.stampede_base + 2 + i) for i in range(PROFILE_FOLLOWER_JOBS)]
        profile = self.profile_code(env, followers=followers)
        if profile is not None:
            self.results["profile"] = profile

    def profile_code(self, env: dict[str, str], *, followers: list[str], code: Path | None = None) -> dict | None:
        """bench/profile_job.py in a process of its own, against this checkout or ``code``: its numbers."""
        out = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "profile_job.py"),
                "--job-id",
                HOT_JOB,
                "--requests",
                str(self.args.profile_requests),
                "--latency",
                str(self.args.latency),
                "--follower-jobs",
                *followers,
            ],
            cwd=code or ROOT,
            env={**env, **({"PROFILE_CODE": str(code)} if code else {})},
            capture_output=True,
            text=True,
            timeout=900,
        )
        line = next((text for text in out.stdout.splitlines() if text.startswith("PROFILE_JSON ")), None)
        if out.returncode != 0 or line is None:
            self.results["notes"].append(f"profiling {code or 'this code'} failed: {out.stderr.strip()[-500:]}")
            log("  profiling FAILED: " + out.stderr.strip()[-1000:])
            return None
        result: dict = json.loads(line.split(" ", 1)[1])
        return result

    def fill(self, desk: servers.Desk, start: int, count: int) -> dict:
        concurrency = 4 if desk.workers == 1 else 8
        seconds, failures = servers.visit_all(
            desk.url, self.job_paths(start, count), self.cookie, concurrency=concurrency
        )
        log(
            f"  looked up jobs {start}..{start + count - 1}: {count / seconds:.0f} jobs/s"
            + (f", {failures} FAILED" if failures else "")
        )
        if failures:
            self.results["notes"].append(f"filling the cache: {failures} of {count} lookups did not answer 200")
        return {"seconds": seconds, "failures": failures}

    def phase_scale_local(self) -> None:
        """5a: 10,000 jobs through one worker's local-memory cache: memory and cached latency."""
        n = self.args.jobs
        desk = self.desk("desk-scale-locmem", "locmemcache://bench", self.fast)
        hot = f"/jobs/{HOT_JOB}/"
        self.warm(desk, ["/", hot])
        rss = {"start": desk.rss_kib()[0]}
        fills = [self.fill(desk, 0, 1000)]
        rss["after_1000"] = desk.rss_kib()[0]
        servers.check_page(desk.url, hot, self.cookies, contains=HOT_JOB)
        latency_1k = self.measure(desk.url, label="cached job page after 1,000 jobs (local memory)", path=hot)
        fills.append(self.fill(desk, 1000, n - 1000))
        rss[f"after_{n}"] = desk.rss_kib()[0]
        servers.check_page(desk.url, hot, self.cookies, contains=HOT_JOB)  # culled by now: fetched again
        latency_nk = self.measure(desk.url, label=f"cached job page after {n:,} jobs (local memory)", path=hot)
        log("3b. cold job page vs a direct call, with no upstream latency (no idle pause)")
        self.results["cold"]["no_latency"] = {
            "job": self.measure(
                desk.url, label="cold job page, 0 ms upstream", paths=self.job_paths(self.quick_base, self.quick_count)
            ),
            "direct": self.measure(
                self.fast.url,
                label="direct GET to the sandbox, 0 ms upstream",
                duration=2,
                paths=[
                    f"/v2/export-jobs/{seed.generated_uuid(i)}"
                    for i in range(self.quick_direct_base, self.quick_direct_base + self.quick_count)
                ],
                headers={"Authorization": f"Bearer {self.fast.token}"},
            ),
        }
        self.results["scale_locmem"] = {
            "jobs": n,
            "rss_kib": rss,
            "fills": fills,
            "latency_1000": latency_1k,
            "latency_n": latency_nk,
            "max_entries": self.locmem_max_entries(),
        }
        desk.stop()

    @staticmethod
    def locmem_max_entries() -> int:
        """MAX_ENTRIES of the local-memory cache as dashboard/settings.py configures it."""
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from django.conf import settings; "
                "print(settings.CACHES['default'].get('OPTIONS', {}).get('MAX_ENTRIES', 300))",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "dashboard.settings",
                "CACHE_URL": "locmemcache://bench",
                "SECRET_KEY": os.environ.get("SECRET_KEY", secrets.token_urlsafe(50)),
            },
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip().splitlines()[-1])

    def phase_redis(self) -> None:
        """5b and 6: the same 10,000 jobs in Redis, then 3 workers vs 1 sharing it.

        The jobs are looked up through 3 workers on the sandbox without latency (the fill is the slow
        part of the whole run); the worker comparison and the stampede use fresh servers on the slow one."""
        import redis

        n = self.args.jobs
        client = redis.Redis.from_url(self.args.redis_url)
        client.flushdb()
        hot = f"/jobs/{HOT_JOB}/"
        desk = self.desk("desk-redis-fill", self.args.redis_url, self.fast, workers=3)
        self.warm(desk, ["/", hot])
        used = {"start": int(client.info("memory")["used_memory"])}
        fills = [self.fill(desk, 0, 1000)]
        used["after_1000"] = int(client.info("memory")["used_memory"])
        latency_1k = self.measure(
            desk.url,
            label="cached job page, random of 1,000 jobs (Redis)",
            paths=self.job_paths(0, 1000),
            order="random",
        )
        fills.append(self.fill(desk, 1000, n - 1000))
        used[f"after_{n}"] = int(client.info("memory")["used_memory"])
        latency_nk = self.measure(
            desk.url, label=f"cached job page, random of {n:,} jobs (Redis)", paths=self.job_paths(0, n), order="random"
        )
        desk.stop()
        self.results["scale_redis"] = {
            "jobs": n,
            "used_memory": used,
            "fills": fills,
            "keys": int(client.dbsize()),
            "workers": desk.workers,
            "latency_1000": latency_1k,
            "latency_n": latency_nk,
            "bytes_per_job": (used[f"after_{n}"] - used["start"]) / n,
        }
        c = self.args.workers_concurrency
        log(f"6. workers: 3 vs 1 sharing Redis, {c} connections")
        workers = {}
        for count in (3, 1):
            desk = self.desk(f"desk-redis-{count}", self.args.redis_url, self.slow, workers=count)
            self.warm(desk, ["/", hot])
            workers[str(count)] = self.workers_run(desk, c)
            if count == 3:
                self.results["stampede"].append(
                    self.stampede(desk, self.slow, self.stampede_base + 1, "3 workers, shared Redis cache")
                )
            desk.stop()
        self.results["workers"] = workers
        client.flushdb()

    def workers_run(self, desk: servers.Desk, connections: int) -> dict:
        n = self.args.jobs
        return {
            "home": self.measure(
                desk.url,
                label=f"home page, {desk.workers} worker(s), {connections} connections",
                path="/",
                connections=connections,
            ),
            "job": self.measure(
                desk.url,
                label=f"cached job page (random of {n:,}), {desk.workers} worker(s), {connections} connections",
                paths=self.job_paths(0, n),
                order="random",
                connections=connections,
            ),
        }

    def phase_faults(self) -> None:
        """7: the fault scenarios against this code and against --before, side by side."""
        args = self.args
        seconds = min(args.fault_seconds, 4.0) if args.quick else args.fault_seconds
        log(f"7. faults: Redis hung, Pleo slow, Redis down, stampede ({seconds:.0f} s each)")
        faults: dict = {"before_ref": None}
        common = {
            "var": VAR / "faults",
            "sandbox": self.fast,
            "log": log,
            "seconds": seconds,
            "stampede": args.stampede,
        }
        faults["after"] = faults_phase.run(label="after", root=ROOT, first_job=self.fault_base, **common)
        if args.before and args.before != "none":
            directory = VAR / "before-checkout"
            try:
                faults_phase.checkout(args.before, directory, ROOT)
                faults["before_ref"] = machine.git_revision(directory)
                first = self.fault_base + faults_phase.JOBS_NEEDED
                faults["before"] = faults_phase.run(label="before", root=directory, first_job=first, **common)
            finally:
                faults_phase.remove_checkout(directory, ROOT)
        self.results["faults"] = faults

    def phase_compare(self) -> None:
        """11: this code against --compare (082a706), side by side: the pages' ratios to the home page (issue 20),
        cached pages while Pleo is slow against the same while it is healthy, stampedes on a completed and on a
        partly exported job, and the profile of the cached job page."""
        args = self.args
        seconds = min(args.fault_seconds, 4.0) if args.quick else args.fault_seconds
        log(f"11. this code against {args.compare}, side by side")
        directory = VAR / "compare-checkout"
        out: dict = {"before_ref": None}
        try:
            faults_phase.checkout(args.compare, directory, ROOT)
            out["before_ref"] = machine.git_revision(directory)
            sides = {
                label: faults_phase.FaultRun(
                    label=f"compare-{label}",
                    root=root,
                    var=VAR / "compare",
                    sandbox=self.fast,
                    log=log,
                    first_job=self.compare_base + number * faults_phase.JOBS_NEEDED,
                )
                for number, (label, root) in enumerate((("before", directory), ("after", ROOT)))
            }
            try:
                out["ratios"] = self.compare_ratios(sides)
                out["sides"] = {label: {} for label in sides}
                for label, run in sides.items():
                    run.start()
                    out["sides"][label]["pleo_healthy"] = run.pleo_healthy(seconds, latency=args.latency)
                    out["sides"][label]["pleo_slow"] = run.pleo_slow(seconds)
                    run.stop()
                log(
                    f"  profiling the cached job page and stampede followers of both ({args.profile_requests} requests)"
                )
                out["profile"] = {}
                for label, run in sides.items():
                    env = {**run.env, "CACHE_URL": "locmemcache://profile", "BENCH_USER": servers.BENCH_USER}
                    followers = [run.cold().split("/")[2] for _ in range(PROFILE_FOLLOWER_JOBS)]
                    profile = self.profile_code(env, followers=followers, code=None if run.root == ROOT else run.root)
                    if profile is not None:
                        out["profile"][label] = profile
                for (label, run), first in zip(sides.items(), COMPARE_FAILED, strict=True):
                    side = out["sides"][label]
                    side["stampede_1"] = run.stampede(1, args.stampede, upstream=args.latency)
                    side["stampede_3"] = run.stampede(3, args.stampede, upstream=args.latency)
                    side["partly_1"] = run.stampede_partly(1, args.stampede, upstream=args.latency, index=first)
                    side["partly_3"] = run.stampede_partly(3, args.stampede, upstream=args.latency, index=first + 2)
                    run.stop()
            finally:
                for run in sides.values():
                    run.close()
        finally:
            faults_phase.remove_checkout(directory, ROOT)
        self.results["compare"] = out

    def compare_ratios(self, sides: dict[str, faults_phase.FaultRun]) -> dict:
        """Issue 20's ratios, both releases up at once (1 worker, local memory, the slow sandbox listing 500 jobs),
        measured in turns, twice each: the quieter run of each counts."""
        extra = {
            "PLEO_API_BASE_URL": self.slow.url,
            "ATTENTION_CACHE_TTL": "600",
            "ATTENTION_MAX_JOBS": str(ATTENTION_JOBS),
        }
        hot = f"/jobs/{HOT_JOB}/"
        pages = {"home": "/", "job": hot, "attention": ATTENTION_STAMPEDE}
        marks = {"home": HOME_MARK, "job": HOT_JOB, "attention": ATTENTION_MARK}
        desks = {}
        for label, run in sides.items():
            desks[label] = run.start(workers=1, cache_url="locmemcache://ratios", extra_env=extra, name="desk-ratios")
            for name, path in pages.items():
                servers.check_page(desks[label].url, path, run.cookies, contains=marks[name])
            self.warm_with(desks[label], list(pages.values()), servers.cookie_header(run.cookies))
        runs: dict[str, dict[str, list[dict]]] = {label: {name: [] for name in pages} for label in sides}
        for _round in range(2):
            for name, path in pages.items():
                for label, run in sides.items():
                    runs[label][name].append(
                        self.measure(
                            desks[label].url,
                            label=f"{name} ({label}: {'this code' if label == 'after' else args_ref(self.args)})",
                            path=path,
                            headers={"Cookie": servers.cookie_header(run.cookies)},
                        )
                    )
        for run in sides.values():
            run.stop()
        return {
            label: {name: min(measured, key=lambda m: m["p50_ms"]) for name, measured in by_page.items()}
            for label, by_page in runs.items()
        }

    def phase_compare_alone(self) -> None:
        self.setup()
        self.phase_compare()

    def warm_with(self, desk: servers.Desk, paths: list[str], cookie: str) -> None:
        for path in paths:
            wrk.run(desk.url, path=path, duration=1, connections=self.args.concurrency, headers={"Cookie": cookie})

    def phase_soak(self) -> None:
        """12: a low steady load for --soak-minutes: the workers' memory at 5, 15 and 30 minutes, what grew."""
        minutes = self.args.soak_minutes
        log(f"12. soak: {minutes:g} minutes of low steady load, memory per worker, tracemalloc in one worker")
        self.results["soak"] = soak.run(
            var=VAR / f"soak-{self.json_path.stem}",
            sandbox_log_dir=VAR,
            env_for=lambda sandbox: self.env("locmemcache://bench-soak", sandbox),
            password_for=lambda _env: self.password,
            minutes=minutes,
            first_job=0,
            log=log,
        )

    def phase(self, name: str, run: Callable[[], None]) -> None:
        """One phase, with how long it took and how busy other programs kept the CPUs meanwhile."""
        started = time.monotonic()
        with machine.OtherLoad() as other:
            try:
                run()
            except Exception as error:  # one phase that fails leaves the numbers of the others
                log(f"  phase {name} FAILED: {type(error).__name__}: {error}")
                self.results["notes"].append(f"Phase {name} failed ({type(error).__name__}: {error}); not measured.")
        self.results.setdefault("phases", []).append(
            {"phase": name, "seconds": time.monotonic() - started, "other_load": other.fraction}
        )

    # -- the whole run ----------------------------------------------------------------------------

    def wait_for_idle(self) -> None:
        """Numbers taken while something else (a test run, a build) uses the CPUs are worthless: wait a while."""
        deadline = time.monotonic() + self.args.wait_idle
        busy = machine.cpu_busy()
        while busy > 0.15 and time.monotonic() < deadline:
            log(f"the CPUs are {busy * 100:.0f} % busy with other programs; waiting for them to calm down ...")
            time.sleep(4)
            busy = machine.cpu_busy()
        self.results["cpu_busy_before"] = busy
        if busy > 0.15:
            self.results["notes"].append(
                f"Other programs kept the CPUs {busy * 100:.0f} % busy when the run started: "
                "these numbers are noisier than usual."
            )

    def run(self) -> int:
        args = self.args
        if args.only == "alerts":  # no wrk: the workers and a receiver only
            self.results["revision"] = machine.git_revision(ROOT)
            return self.run_alerts_alone()
        if not wrk.ensure_installed(log):
            print(wrk.install_hint(), file=sys.stderr)
            return 2
        self.wait_for_idle()
        if not args.no_redis and not args.redis_url and not args.only:
            VAR.mkdir(parents=True, exist_ok=True)
            own = faults_phase.OwnRedis(VAR).start()  # never the machine's shared one
            self.to_stop.append(own)
            args.redis_url = own.url
            self.results["config"]["redis_url"] = f"{own.url} (the bench's own)"
        redis_ok = not args.no_redis and bool(args.redis_url) and servers.redis_reachable(args.redis_url)
        if not args.no_redis and not redis_ok:
            self.results["notes"].append(
                f"Redis at {args.redis_url} was not reachable: the Redis runs (5b, 6) were skipped."
            )
        self.results["machine"] = machine.describe(
            wrk_version=wrk.version(), redis_url=args.redis_url if redis_ok else None
        )
        self.results["revision"] = machine.git_revision(ROOT)
        if args.only == "entries":
            return self.run_alone(self.phase_entries, report.render_entries)
        if args.only == "soak":
            return self.run_alone(self.phase_soak, report.render_soak)
        if args.only == "compare":
            return self.run_alone(self.phase_compare_alone, report.render_compare)
        try:
            self.setup()
            self.phase("1-4 (one worker, local memory)", self.phase_local)
            self.phase("7-9 (/attention/)", self.phase_attention)
            self.phase("profile", self.phase_profile)
            self.phase("5a (cache scale, local memory)", self.phase_scale_local)
            self.phase("10 (failed entries' details)", self.phase_entries)
            self.phase("alerts (1 and 2 workers)", self.phase_alerts)
            if redis_ok:
                self.phase("5b, 6 (Redis, 3 workers against 1)", self.phase_redis)
            if not args.no_faults:
                self.phase("7 (faults, before and after)", self.phase_faults)
            if args.compare and args.compare != "none":
                self.phase(f"11 (this code against {args.compare})", self.phase_compare)
            if args.soak_minutes > 0:
                self.phase("12 (soak)", self.phase_soak)
        finally:
            for process in reversed(self.to_stop):
                process.stop()
        elapsed = time.monotonic() - _t0
        self.results["elapsed_s"] = elapsed
        self.json_path.write_text(json.dumps(self.results, indent=2))
        text = report.render(self.results) + alerts_phase.render(self.results.get("alerts"))
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(report.summary(self.results))
        log(f"done in {elapsed:.0f} s; wrote {os.path.relpath(args.output, ROOT)}")
        return 0

    def phase_alerts(self) -> None:
        """The alerts phase: 1 and 2 workers, 1,000 jobs listed, 100 changing per poll (bench/alerts.py)."""
        log("the alerts phase, 1 and 2 workers")
        self.results["alerts"] = alerts_phase.run(directory=VAR, log=log, rounds=2 if self.args.quick else 5)

    def run_alerts_alone(self) -> int:
        VAR.mkdir(parents=True, exist_ok=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.phase_alerts()
        elapsed = time.monotonic() - _t0
        text = f"# Benchmarks: alerts\n\nRevision {self.results['revision']}, {elapsed:.0f} s.\n"
        self.args.output.parent.mkdir(parents=True, exist_ok=True)
        self.args.output.write_text(text + alerts_phase.render(self.results["alerts"]))
        log(f"done in {elapsed:.0f} s; wrote {os.path.relpath(self.args.output, ROOT)}")
        return 0

    def run_alone(self, phase: Callable[[], None], render: Callable[[dict], str]) -> int:
        """One phase on its own: the bench database and user, the phase, its own report."""
        try:
            VAR.mkdir(parents=True, exist_ok=True)
            RESULTS.mkdir(parents=True, exist_ok=True)
            if not self.args.database_url:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    (VAR / f"bench.sqlite3{suffix}").unlink(missing_ok=True)
            placeholder = servers.Sandbox(latency=0.0, generated=0, log_dir=VAR, name="sandbox-setup").start()
            self.to_stop.append(placeholder)
            log("migrating the bench database, collecting static files, creating the bench user")
            self.password = servers.prepare_database(self.env("locmemcache://bench", placeholder))
            phase()
        finally:
            for process in reversed(self.to_stop):
                process.stop()
        self.results["elapsed_s"] = time.monotonic() - _t0
        self.json_path.write_text(json.dumps(self.results, indent=2))
        self.args.output.parent.mkdir(parents=True, exist_ok=True)
        self.args.output.write_text(render(self.results))
        print(report.summary(self.results))
        log(f"done in {self.results['elapsed_s']:.0f} s; wrote {os.path.relpath(self.args.output, ROOT)}")
        return 0


def args_ref(args: argparse.Namespace) -> str:
    return str(args.compare)


def _stop(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)  # through every finally: the servers started are stopped


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    argv = sys.argv[1:] if argv is None else argv
    return Bench(parse_args(argv), argv).run()


if __name__ == "__main__":
    sys.exit(main())
