"""``make bench`` phase 7: faults, before and after, side by side in one run.

The same scenarios run against two checkouts of the desk: the code under test, and the release
named by ``--before`` (checked out with ``git worktree`` into var/bench/, served with the same
virtualenv). Each runs as a team runs it: 3 gunicorn workers × 8 threads, a Redis of the bench's own
(which it hangs and stops), a sandbox Pleo whose latency it changes:

- **Redis hung** (SIGSTOP): home page and cached job pages under 8 clients for a few seconds.
- **Pleo slow** (3 s answers, ``PLEO_API_TIMEOUT=2``): 30 clients asking for uncached jobs while a
  probe asks for ``/healthz`` and a cached job page every 50 ms.
- **Redis down**: calls to Pleo per job view, fresh workers, over 150 jobs: with Redis, then without.
- **Stampede**: 50 simultaneous cold requests for one job, 1 worker and 3 workers.
"""

from __future__ import annotations

import random
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench import servers
from exportjobs.sandbox import seed

WORKERS = 3
THREADS = 8
JOBS = 150  # distinct jobs in the Redis-down and hung runs
JOBS_NEEDED = 3000  # generated jobs one run uses: its own (hung, Redis down) and cold ones (Pleo slow, stampedes)


class OwnRedis:
    """A Redis of the bench's own on a free port, to hang and stop (never the machine's shared one)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = servers.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OwnRedis:
        binary = shutil.which("redis-server") or "redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.wait_until(lambda: servers.redis_reachable(self.url), timeout=10, what="the bench's Redis")
        return self

    def signal(self, number: int) -> None:
        if self.process is not None:
            self.process.send_signal(number)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
            self.process = None


def checkout(ref: str, directory: Path, root: Path) -> Path:
    """``ref`` of this repository, checked out (detached) in ``directory``."""
    if directory.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(directory)], cwd=root, check=False)
        shutil.rmtree(directory, ignore_errors=True)
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(directory), ref],
        cwd=root,
        check=True,
        capture_output=True,
    )
    (directory / "var" / "static").mkdir(parents=True, exist_ok=True)
    return directory


def remove_checkout(directory: Path, root: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(directory)], cwd=root, check=False, capture_output=True)
    shutil.rmtree(directory, ignore_errors=True)


def _percentile(values: list[float], pct: float) -> float:
    return servers.percentile(values, pct) if values else 0.0


def _answered(answers: list[tuple[int, float]]) -> dict[str, Any]:
    """How a stampede's requests were answered: how many with 200, and their times in ms."""
    times = [seconds * 1000 for _, seconds in answers]
    return {
        "ok": sum(1 for status, _ in answers if status == 200),
        "p50_ms": _percentile(times, 50),
        "p95_ms": _percentile(times, 95),
        "max_ms": max(times, default=0.0),
    }


def _summary(latencies: list[float], seconds: float) -> dict[str, float]:
    ms = [value * 1000 for value in latencies]
    return {
        "requests": len(ms),
        "rps": len(ms) / seconds if seconds else 0.0,
        "p50_ms": _percentile(ms, 50),
        "p95_ms": _percentile(ms, 95),
        "max_ms": max(ms) if ms else 0.0,
    }


def _clients(
    url: str,
    cookies: dict[str, str],
    choose: Any,
    *,
    threads: int,
    seconds: float,
    limit: int,
    pause_after_503: float = 0.0,
    keep_alive: bool = True,
) -> list[tuple[str, int, float]]:
    """``threads`` clients for ``seconds`` (at most ``limit`` requests): (path, status, seconds) each.

    Without ``keep_alive`` every request opens a new connection, so requests spread over the workers
    as many separate browsers' would."""
    hits: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client() -> None:
        session = requests.Session()
        session.cookies.update(cookies)
        while time.monotonic() < end:
            with lock:
                if len(hits) >= limit:
                    return
            path = choose()
            started = time.monotonic()
            headers = {} if keep_alive else {"Connection": "close"}
            try:
                status = session.get(url + path, timeout=30, headers=headers).status_code
            except requests.RequestException:
                status = 0
            with lock:
                hits.append((path, status, time.monotonic() - started))
            if status == 503 and pause_after_503:
                time.sleep(pause_after_503)

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(seconds + 60)
    return hits


class FaultRun:
    """The fault scenarios against one checkout of the desk."""

    def __init__(
        self, *, label: str, root: Path, var: Path, sandbox: servers.Sandbox, log: Any, first_job: int
    ) -> None:
        self.label = label
        self.first_job = first_job
        self.root = root
        self.var = var / label
        self.var.mkdir(parents=True, exist_ok=True)
        self.sandbox = sandbox
        self.log = log
        self.redis = OwnRedis(self.var).start()
        for suffix in ("", "-wal", "-shm", "-journal"):
            (self.var / f"db.sqlite3{suffix}").unlink(missing_ok=True)
        self.env = servers.app_env(
            secret_key=secrets.token_urlsafe(50),
            database_url=f"sqlite:///{self.var / 'db.sqlite3'}",
            cache_url=self.redis.url,
            sandbox=sandbox,
        )
        self.env["PLEO_API_TIMEOUT"] = "2"
        self.password = servers.prepare_database(self.env, root=root)
        self.desk: servers.Desk | None = None
        self.cookies: dict[str, str] = {}
        self.next_cold = first_job + 2 * JOBS

    def start(
        self,
        workers: int = WORKERS,
        cache_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        name: str = "desk",
    ) -> servers.Desk:
        env = {**self.env, "CACHE_URL": cache_url or self.redis.url, **(extra_env or {})}
        self.desk = servers.Desk(env, workers=workers, log_dir=self.var, threads=THREADS, name=name, root=self.root)
        self.desk.start()
        self.cookies = servers.sign_in(self.desk.url, servers.BENCH_USER, self.password)
        return self.desk

    def stop(self) -> None:
        if self.desk is not None:
            self.desk.stop()
            self.desk = None

    def restart_workers(self) -> None:
        """Fresh workers (nothing in their memory), as after a deploy; the master stays."""
        assert self.desk is not None
        assert self.desk.process is not None
        before = set(self.desk.worker_pids())
        self.desk.process.send_signal(signal.SIGHUP)
        servers.wait_until(
            lambda: not (set(self.desk.worker_pids()) & before) and len(self.desk.worker_pids()) == WORKERS,  # type: ignore[union-attr]
            timeout=30,
            what="new workers",
        )
        servers.wait_until(lambda: requests.get(self.desk.url + "/healthz", timeout=2).ok, timeout=30, what="the desk")  # type: ignore[union-attr]

    def jobs(self, start: int, count: int) -> list[str]:
        return [f"/jobs/{seed.generated_uuid(self.first_job + start + i)}/" for i in range(count)]

    def cold(self) -> str:
        self.next_cold += 1
        return f"/jobs/{seed.generated_uuid(self.next_cold)}/"

    def warm(self, paths: list[str]) -> None:
        assert self.desk is not None
        for _ in range(2):
            servers.visit_all(self.desk.url, paths, servers.cookie_header(self.cookies), concurrency=8)

    # -- the scenarios ----------------------------------------------------------------------

    def redis_hung(self, seconds: float) -> dict[str, Any]:
        assert self.desk is not None
        jobs = self.jobs(0, JOBS)
        self.warm(["/", *jobs])
        rng = random.Random(1)
        self.redis.signal(signal.SIGSTOP)
        started = time.monotonic()
        try:
            hits = _clients(
                self.desk.url,
                self.cookies,
                lambda: "/" if rng.random() < 0.5 else rng.choice(jobs),
                threads=8,
                seconds=seconds,
                limit=20_000,
            )
        finally:
            self.redis.signal(signal.SIGCONT)
        elapsed = time.monotonic() - started
        home = [s for path, status, s in hits if path == "/"]
        job = [s for path, status, s in hits if path != "/"]
        result = {
            "seconds": elapsed,
            "home": _summary(home, elapsed),
            "job": _summary(job, elapsed),
            "all": _summary([s for _, _, s in hits], elapsed),
            "errors": sum(1 for _, status, _ in hits if status != 200),
        }
        self.log(
            f"  [{self.label}] Redis hung: {result['all']['rps']:.0f} req/s, home p95 "
            f"{result['home']['p95_ms']:.0f} ms, job p95 {result['job']['p95_ms']:.0f} ms"
        )
        time.sleep(2)  # the breaker's probe finds Redis again
        return result

    def _probe(self, hot: str, seconds: float, stop: threading.Event) -> list[tuple[str, int, float]]:
        """``/healthz`` and the cached job page ``hot`` in turn, one every 50 ms, until ``stop`` or ``seconds``."""
        assert self.desk is not None
        probes: list[tuple[str, int, float]] = []
        session = requests.Session()
        session.cookies.update(self.cookies)
        for index in range(int(seconds / 0.05) + 40):
            if stop.is_set():
                break
            path = "/healthz" if index % 2 else hot
            started = time.monotonic()
            try:
                status = session.get(self.desk.url + path, timeout=30).status_code
            except requests.RequestException:
                status = 0
            probes.append((path, status, time.monotonic() - started))
            time.sleep(0.05)
        return probes

    @staticmethod
    def _probe_summary(probes: list[tuple[str, int, float]], seconds: float) -> dict[str, Any]:
        return {
            "healthz": _summary([s for path, _, s in probes if path == "/healthz"], seconds),
            "cached_job": _summary([s for path, _, s in probes if path != "/healthz"], seconds),
            "probe_errors": sum(1 for _, status, _ in probes if status != 200),
        }

    def pleo_healthy(self, seconds: float, *, latency: float = 0.2) -> dict[str, Any]:
        """The same probe as :meth:`pleo_slow` with Pleo at its normal pace and no other clients: the baseline."""
        hot = self.jobs(0, 1)[0]
        self.warm(["/", hot])
        self.sandbox.set_latency(latency)
        try:
            result = self._probe_summary(self._probe(hot, seconds, threading.Event()), seconds)
        finally:
            self.sandbox.set_latency(0.0)
        self.log(
            f"  [{self.label}] Pleo healthy: /healthz p95 {result['healthz']['p95_ms']:.1f} ms, cached job p95 "
            f"{result['cached_job']['p95_ms']:.1f} ms"
        )
        return result

    def pleo_slow(self, seconds: float) -> dict[str, Any]:
        assert self.desk is not None
        hot = self.jobs(0, 1)[0]
        self.warm(["/", hot])
        self.sandbox.set_latency(3.0)
        probes: list[tuple[str, int, float]] = []
        stop = threading.Event()
        desk_url = self.desk.url
        watcher = threading.Thread(target=lambda: probes.extend(self._probe(hot, seconds, stop)))
        try:
            watcher.start()
            hits = _clients(
                desk_url,
                self.cookies,
                self.cold,
                threads=30,
                seconds=seconds,
                limit=20_000,
                pause_after_503=0.2,
                keep_alive=False,
            )
        finally:
            stop.set()
            watcher.join(60)
            self.sandbox.set_latency(0.0)
        statuses: dict[str, int] = {}
        for _, status, _ in hits:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        result = {
            **self._probe_summary(probes, seconds),
            "uncached_statuses": statuses,
            "uncached_max_ms": max((s for _, _, s in hits), default=0.0) * 1000,
        }
        self.log(
            f"  [{self.label}] Pleo slow: /healthz p95 {result['healthz']['p95_ms']:.0f} ms, cached job p95 "
            f"{result['cached_job']['p95_ms']:.0f} ms, uncached answers {statuses}"
        )
        return result

    def calls_per_view(self, views: int) -> dict[str, Any]:
        assert self.desk is not None
        jobs = self.jobs(JOBS, JOBS)
        rng = random.Random(2)
        out: dict[str, Any] = {}
        for name in ("with_redis", "redis_down"):
            self.restart_workers()
            if name == "redis_down":
                self.redis.stop()
            else:
                servers_flush(self.redis.url)
            before = self.sandbox.stats()["calls"]
            hits = _clients(self.desk.url, self.cookies, lambda: rng.choice(jobs), threads=8, seconds=60, limit=views)
            calls = self.sandbox.stats()["calls"] - before
            out[name] = {
                "views": len(hits),
                "calls": calls,
                "calls_per_view": calls / max(1, len(hits)),
                "errors": sum(1 for _, status, _ in hits if status != 200),
            }
        self.redis.start()
        out["ratio"] = out["redis_down"]["calls_per_view"] / max(1e-9, out["with_redis"]["calls_per_view"])
        self.log(
            f"  [{self.label}] calls per view: {out['with_redis']['calls_per_view']:.3f} with Redis, "
            f"{out['redis_down']['calls_per_view']:.3f} with Redis down ({out['ratio']:.1f} ×)"
        )
        return out

    def stampede(self, workers: int, count: int, *, upstream: float) -> dict[str, Any]:
        cache_url = self.redis.url if workers > 1 else "locmemcache://stampede"
        self.stop()
        desk = self.start(workers=workers, cache_url=cache_url)
        self.warm(["/", self.jobs(0, 1)[0]])
        self.sandbox.set_latency(upstream)
        try:
            path = self.cold()
            job_id = path.split("/")[2]
            before = self.sandbox.calls(job_id)
            answers = servers.stampede(desk.url, path, servers.cookie_header(self.cookies), count=count)
            calls = self.sandbox.calls(job_id) - before
        finally:
            self.sandbox.set_latency(0.0)
        result = {
            "workers": workers,
            "requests": len(answers),
            "upstream_calls": calls,
            **_answered(answers),
            "upstream_ms": upstream * 1000,
        }
        self.log(
            f"  [{self.label}] stampede, {workers} worker(s): p95 {result['p95_ms']:.0f} ms = "
            f"{result['p95_ms'] / (upstream * 1000):.2f} × upstream, {calls} call(s)"
        )
        return result

    def stampede_partly(self, workers: int, count: int, *, upstream: float, index: int) -> dict[str, Any]:
        """``count`` simultaneous requests for a partly exported job not asked before (450 entries, 50 failed,
        their accounting entries shown): p95 against the same calls asked straight from the sandbox."""
        cache_url = self.redis.url if workers > 1 else "locmemcache://stampede-partly"
        self.stop()
        desk = self.start(workers=workers, cache_url=cache_url)
        self.warm(["/", self.jobs(0, 1)[0]])
        job_id = seed.bench_failed_uuid(index)
        self.sandbox.set_latency(upstream)
        try:
            before = self.sandbox.stats()
            answers = servers.stampede(desk.url, f"/jobs/{job_id}/", servers.cookie_header(self.cookies), count=count)
            after = self.sandbox.stats()
            chain = self.sandbox.partly_exported_chain(seed.bench_failed_uuid(index + 1))
        finally:
            self.sandbox.set_latency(0.0)
        result = {
            "workers": workers,
            "requests": len(answers),
            "job_calls": int(after["jobs"].get(job_id, 0)) - int(before["jobs"].get(job_id, 0)),
            "item_calls": after["itemCalls"] - before["itemCalls"],
            "entry_calls": after["entryCalls"] - before["entryCalls"],
            "company_calls": after["companyCalls"] - before["companyCalls"],
            **_answered(answers),
            "latency_ms": upstream * 1000,
            "upstream_ms": chain * 1000,
        }
        self.log(
            f"  [{self.label}] stampede on a partly exported job, {workers} worker(s): p95 {result['p95_ms']:.0f} ms "
            f"= {result['p95_ms'] / result['upstream_ms']:.2f} × its calls asked directly ({chain * 1000:.0f} ms); "
            f"calls: job {result['job_calls']}, items {result['item_calls']}, entries {result['entry_calls']}"
        )
        return result

    def close(self) -> None:
        self.stop()
        self.redis.stop()


def servers_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def run(
    *,
    label: str,
    root: Path,
    var: Path,
    sandbox: servers.Sandbox,
    log: Any,
    seconds: float,
    stampede: int,
    first_job: int,
) -> dict[str, Any]:
    """Every scenario against the checkout at ``root``; the numbers, by scenario."""
    run = FaultRun(label=label, root=root, var=var, sandbox=sandbox, log=log, first_job=first_job)
    try:
        run.start()
        results = {
            "redis_hung": run.redis_hung(seconds),
            "pleo_slow": run.pleo_slow(seconds),
            "calls_per_view": run.calls_per_view(600),
            "stampede_1": run.stampede(1, stampede, upstream=0.2),
            "stampede_3": run.stampede(3, stampede, upstream=0.2),
        }
    finally:
        run.close()
    return results
