"""``make bench`` phase 12: the soak. Does a worker's memory level off once its caches are full?

The desk runs as a team runs it: 3 gunicorn workers × 8 threads, a Redis of the bench's own as the
cache, the sandbox as Pleo (50 ms an answer). A low, steady load for ``minutes`` (bounded in time and
in requests): 3 clients, each in a loop (a new connection per request, so every worker serves them)
asking for a cached job page, the home page, a job not asked before (every one a miss: Pleo is called,
the answer cached, an audit row written) and ``/healthz``, ``/attention/`` every fifth round, then a
200 ms pause.

A file ``stop`` in the soak's directory (``var/bench/soak-<report>/stop``) ends it early; the report
gives the length actually run.

Every 30 s the bench reads each worker's resident memory (VmRSS); the report gives it at 5, 15 and
30 minutes. The first worker traces its allocations (``bench/soak_gunicorn.py``): snapshots at 1, 5, 15
and 30 minutes (those within the soak, and its end), compared one with the next, name the lines
whose memory grew most. Tracing costs that worker memory and time, so its RSS is reported apart.
"""

from __future__ import annotations

import itertools
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import requests

from bench import servers
from bench.faults import OwnRedis
from exportjobs.sandbox import seed

CLIENTS = 3
PAUSE = 0.2  # seconds each client waits after a round
LATENCY = 0.05  # seconds the sandbox adds to every answer
SAMPLE_EVERY = 30.0  # seconds between two readings of the workers' memory
MARKS = (5, 15, 30)  # minutes at which memory is reported
SNAPSHOTS = (1, 5, 15, 30)  # minutes at which the traced worker writes a snapshot (those within the soak)
REQUEST_LIMIT = 400_000  # at most this many requests, however long the soak
HOT_INDEX = 0  # the generated job every round asks for from the cache
TOP = 8  # lines reported per comparison of snapshots
PROJECT = ("exportjobs/", "dashboard/")


def jobs_needed(minutes: float) -> int:
    """Distinct generated jobs a soak of ``minutes`` may ask for (an upper bound): one per round."""
    return int(minutes * 60 * CLIENTS / PAUSE) + 100


def _mark_minutes(minutes: float, marks: tuple[int, ...]) -> list[float]:
    inside = [float(mark) for mark in marks if mark <= minutes + 1e-9]
    if not inside or inside[-1] < minutes - 1e-9:
        inside.append(float(minutes))
    return inside


class Snapshots:
    """Asks the traced worker for snapshots, by file (see bench/soak_gunicorn.py)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()

    def traced_pid(self) -> int | None:
        path = self.directory / "traced-pid"
        return int(path.read_text()) if path.exists() else None

    def ask(self, name: str) -> None:
        """The traced worker is asked for a snapshot; it writes it while the soak goes on."""
        (self.directory / f"want-{name}").write_text("")

    def collect(self, names: list[str], timeout: float = 300.0) -> list[tuple[str, Path, int]]:
        """(name, snapshot file, traced bytes) of each snapshot asked for, once written (those written in time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all((self.directory / f"{n}.done").exists() for n in names):
            time.sleep(0.5)
        return [
            (name, self.directory / f"{name}.snapshot", int((self.directory / f"{name}.done").read_text()))
            for name in names
            if (self.directory / f"{name}.done").exists()
        ]


def _where(trace: tracemalloc.Traceback) -> tuple[str, str]:
    """The allocating line and the innermost line of the desk's own code that led to it."""
    frames = list(reversed(trace))  # a Traceback lists the oldest frame first: the allocating line is its last
    line = f"{_short(frames[0].filename)}:{frames[0].lineno}" if frames else "?"
    ours = next((f"{_short(f.filename)}:{f.lineno}" for f in frames if _short(f.filename).startswith(PROJECT)), "")
    return line, ours


def _short(filename: str) -> str:
    for marker in ("site-packages/", "python3.11/", str(servers.ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def compare(first: Path, second: Path, *, top: int = TOP) -> dict[str, Any]:
    """What grew between two snapshots: the total, and the lines that grew most (by traceback)."""
    before = tracemalloc.Snapshot.load(str(first))
    after = tracemalloc.Snapshot.load(str(second))
    total_before = sum(stat.size for stat in before.statistics("filename"))
    total_after = sum(stat.size for stat in after.statistics("filename"))
    rows = []
    for stat in after.compare_to(before, "traceback")[:top]:
        line, ours = _where(stat.traceback)
        rows.append(
            {
                "line": line,
                "desk_line": ours,
                "size_diff_kib": stat.size_diff / 1024,
                "count_diff": stat.count_diff,
                "size_kib": stat.size / 1024,
            }
        )
    return {"traced_before_kib": total_before / 1024, "traced_after_kib": total_after / 1024, "top": rows}


def run(
    *,
    var: Path,
    sandbox_log_dir: Path,
    env_for: Any,
    password_for: Any,
    minutes: float,
    first_job: int,
    log: Any,
) -> dict[str, Any]:
    """The soak against this checkout: ``env_for(sandbox)`` is the desk's environment, ``password_for(env)``
    prepares its database (if need be) and returns the bench user's password."""
    var.mkdir(parents=True, exist_ok=True)
    trace_dir = var / "tracemalloc"
    snapshots = Snapshots(trace_dir)
    redis = OwnRedis(var).start()
    count = first_job + jobs_needed(minutes)
    sandbox = servers.Sandbox(latency=LATENCY, generated=count, log_dir=sandbox_log_dir, name="sandbox-soak").start()
    desk: servers.Desk | None = None
    try:
        desk_env = {**env_for(sandbox), "CACHE_URL": redis.url, "SOAK_TRACE_DIR": str(trace_dir)}
        password = password_for(desk_env)
        desk = servers.Desk(
            desk_env,
            workers=3,
            threads=8,
            log_dir=var,
            name="desk-soak",
            extra_args=("-c", str(Path(__file__).with_name("soak_gunicorn.py"))),
        ).start()
        cookies = servers.sign_in(desk.url, servers.BENCH_USER, password)
        return _soak(desk, sandbox, snapshots, cookies, minutes=minutes, first_job=first_job, log=log)
    finally:
        if desk is not None:
            desk.stop()
        sandbox.stop()
        redis.stop()


def _soak(
    desk: servers.Desk,
    sandbox: servers.Sandbox,
    snapshots: Snapshots,
    cookies: dict[str, str],
    *,
    minutes: float,
    first_job: int,
    log: Any,
) -> dict[str, Any]:
    seconds = minutes * 60
    hot = f"/jobs/{seed.generated_uuid(HOT_INDEX)}/"
    lock = threading.Lock()
    counter = {"next": first_job + 1, "requests": 0, "errors": 0}
    statuses: dict[str, int] = {}
    latencies: dict[str, list[float]] = {"cached": [], "uncached": [], "home": []}
    stop = threading.Event()
    started = time.monotonic()
    end = started + seconds

    def client(number: int) -> None:
        _client(
            number,
            desk.url,
            hot,
            cookies,
            lock=lock,
            counter=counter,
            statuses=statuses,
            latencies=latencies,
            stop=stop,
            end=end,
        )

    servers.check_page(desk.url, hot, cookies, contains=seed.generated_uuid(HOT_INDEX))
    pids = desk.worker_pids()
    traced = snapshots.traced_pid()
    log(f"  soak: {minutes:g} min, {CLIENTS} clients, workers {pids} (traced: {traced})")
    samples: list[dict[str, Any]] = [{"minute": 0.0, "rss_kib": {str(pid): servers.rss_kib(pid) for pid in pids}}]
    pool = [threading.Thread(target=client, args=(number,), daemon=True) for number in range(CLIENTS)]
    for thread in pool:
        thread.start()
    stop_file = snapshots.directory.parent / "stop"  # `touch` it to end the soak early: its report says so
    stop_file.unlink(missing_ok=True)
    snapshot_at = _mark_minutes(minutes, SNAPSHOTS)
    mark_at = _mark_minutes(minutes, MARKS)
    asked: list[str] = []
    next_sample = started + SAMPLE_EVERY
    try:
        while time.monotonic() < end and any(thread.is_alive() for thread in pool) and not stop_file.exists():
            now = time.monotonic()
            minute = (now - started) / 60
            if snapshot_at and minute >= snapshot_at[0]:
                asked.append(f"{snapshot_at.pop(0):g}")
                snapshots.ask(asked[-1])
            if now >= next_sample or (mark_at and minute >= mark_at[0]):
                while mark_at and minute >= mark_at[0]:
                    mark_at.pop(0)
                next_sample = now + SAMPLE_EVERY
                rss = {str(pid): servers.rss_kib(pid) for pid in pids if Path(f"/proc/{pid}").exists()}
                samples.append({"minute": minute, "rss_kib": rss})
                with lock:
                    done, errors = counter["requests"], counter["errors"]
                log(f"  soak {minute:5.1f} min: {done} requests, {errors} errors, RSS MiB " + _rss_line(rss))
            time.sleep(min(1.0, max(0.05, end - time.monotonic())))
    finally:
        stop.set()
        for thread in pool:
            thread.join(60)
    elapsed = time.monotonic() - started
    samples.append(
        {"minute": elapsed / 60, "rss_kib": {str(p): servers.rss_kib(p) for p in pids if Path(f"/proc/{p}").exists()}}
    )
    if snapshot_at:  # the end of a soak cut short (its request limit) or its last mark passed while ending
        asked.append(f"{elapsed / 60:.1f}")
        snapshots.ask(asked[-1])
    taken = snapshots.collect(asked)
    traced_kib = {name: size // 1024 for name, _path, size in taken}
    growth = [
        {"from": a, "to": b, **compare(path_a, path_b)} for (a, path_a, _), (b, path_b, _) in itertools.pairwise(taken)
    ]
    jobs_asked = counter["next"] - first_job - 1
    return {
        "minutes_planned": minutes,
        "minutes_run": elapsed / 60,
        "clients": CLIENTS,
        "pause_s": PAUSE,
        "latency_ms": LATENCY * 1000,
        "requests": counter["requests"],
        "errors": counter["errors"],
        "statuses": statuses,
        "uncached_jobs": jobs_asked,
        "upstream_calls": sandbox.stats()["calls"],
        "workers": [str(pid) for pid in pids],
        "traced_worker": str(traced) if traced else None,
        "samples": samples,
        "marks": [float(m) for m in MARKS],
        "traced_kib": traced_kib,
        "growth": growth,
        "latency": {
            kind: {
                "first_minute_p95_ms": _p95_ms(values[: max(1, len(values) // max(1, int(minutes)))]),
                "last_minute_p95_ms": _p95_ms(values[-max(1, len(values) // max(1, int(minutes))) :]),
                "p50_ms": servers.percentile([v * 1000 for v in values], 50),
                "p95_ms": servers.percentile([v * 1000 for v in values], 95),
            }
            for kind, values in latencies.items()
        },
    }


def _client(
    number: int,
    url: str,
    hot: str,
    cookies: dict[str, str],
    *,
    lock: threading.Lock,
    counter: dict[str, int],
    statuses: dict[str, int],
    latencies: dict[str, list[float]],
    stop: threading.Event,
    end: float,
) -> None:
    """One client of the soak: rounds of pages, then a pause, until the end or the request limit."""
    session = requests.Session()
    session.cookies.update(cookies)
    rounds = 0
    while not stop.is_set() and time.monotonic() < end:
        with lock:
            if counter["requests"] >= REQUEST_LIMIT:
                return
            job = counter["next"]
            counter["next"] += 1
        paths = [("cached", hot), ("home", "/"), ("uncached", f"/jobs/{seed.generated_uuid(job)}/")]
        paths.append(("health", "/healthz"))
        if rounds % 5 == number % 5:
            paths.append(("attention", "/attention/"))
        for kind, path in paths:
            begun = time.monotonic()
            try:
                # a new connection each time, as separate browsers open them: spread over every worker
                status = session.get(url + path, timeout=30, headers={"Connection": "close"}).status_code
            except requests.RequestException:
                status = 0
            took = time.monotonic() - begun
            with lock:
                counter["requests"] += 1
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status != 200:
                    counter["errors"] += 1
                if kind in latencies:
                    latencies[kind].append(took)
        rounds += 1
        stop.wait(PAUSE)


def _p95_ms(values: list[float]) -> float:
    return servers.percentile([value * 1000 for value in values], 95)


def _rss_line(rss: dict[str, int]) -> str:
    return " / ".join(f"{kib / 1024:.1f}" for kib in rss.values())


def rss_at(soak: dict[str, Any], minute: float) -> dict[str, int] | None:
    """The workers' memory at the sample nearest to ``minute`` (within a minute of it), if the soak got there."""
    samples = [s for s in soak["samples"] if abs(s["minute"] - minute) <= 1.0]
    if not samples:
        return None
    return min(samples, key=lambda s: abs(s["minute"] - minute))["rss_kib"]
