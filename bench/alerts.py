"""``make bench``'s alerts phase: alerts at scale. 1,000 jobs in Pleo's list, 100 of them changing state before
each poll; the desk's alerts workers (``manage.py alerts worker``) poll the sandbox Pleo and deliver to an
HTTP receiver on loopback (a ``json://`` webhook). Measured with 1 and with 2 workers:

- **poll time**: one poll from its start to its end (the list walk, every job's verdict, the new states and
  their notifications written in one transaction), from the desk's own record of each poll;
- **delivery lag**: from the moment 100 jobs changed in Pleo to the moment their message reached the
  receiver (it includes waiting for the next poll: at most one interval).

The sandbox and each worker run in their own processes; the database is a fresh SQLite file per run (the
embedded default `make run` uses).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from bench import servers
from exportjobs.sandbox import seed

JOBS = 1000
CHANGING = 100
# Five reasons, 20 jobs each per poll: five messages that each name all their jobs (a message lists 20 at most).
REASONS = (
    "accounting_system_unreachable",
    "validation_failure",
    "authorization_failure",
    "service_timeout",
    "accounting_system_timeout",
)
INTERVAL = 2.0  # seconds between polls (ALERT_POLL_SECONDS) during the phase


class Receiver:
    """Takes the webhooks and notes when each job's link arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                now = time.monotonic()
                with owner.lock:
                    for part in str(body.get("message", "")).split("/jobs/")[1:]:
                        owner.arrived.setdefault(part[:36], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def got(self, job_ids: list[str]) -> bool:
        with self.lock:
            return all(job_id in self.arrived for job_id in job_ids)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _jobs(count: int) -> list[dict[str, Any]]:
    """``count`` jobs exporting now (they change during the phase) across the sandbox's companies."""
    now = datetime.now(timezone.utc)
    made = []
    for index in range(count):
        created = _ts(now - timedelta(seconds=index))
        made.append(
            {
                "id": str(uuid.UUID(int=0xB3A1E27 << 64 | index)),
                "companyId": (seed.COMPANY_ID, seed.COMPANY_SE, seed.COMPANY_NO)[index % 3],
                "status": "in_progress",
                "createdAt": created,
                "createdBy": None,
                "isInteractive": False,
                "numberOfItems": 10 + index % 90,
                "vendorBasedBookkeeping": False,
                "startedAt": created,
                "lastUpdatedAt": created,
                "completedAt": None,
                "expiredAt": None,
                "expiresIn": 86400,
                "failureReason": None,
                "failureReasonType": None,
            }
        )
    return made


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p95": _percentile(values, 0.95), "count": len(values)}


def run_once(*, workers: int, rounds: int, directory: Path, log: Callable[[str], None]) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / f"alerts-{workers}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    sandbox = servers.Sandbox(latency=0.0, generated=0, log_dir=directory, name=f"sandbox-alerts-{workers}").start()
    receiver = Receiver()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        jobs = _jobs(JOBS)
        requests.post(sandbox.url + "/_sandbox/jobs", json={"jobs": jobs}, timeout=60).raise_for_status()
        env = servers.app_env(
            secret_key=secrets.token_urlsafe(50),
            database_url=f"sqlite:///{database}",
            cache_url="locmemcache://alerts-bench",
            sandbox=sandbox,
        )
        env.update(
            ALERT_POLL_SECONDS=str(INTERVAL),
            ATTENTION_CACHE_TTL="1",
            ATTENTION_MAX_JOBS=str(JOBS + 500),
            DESK_BASE_URL="http://127.0.0.1:8000",
        )
        servers.manage(env, "migrate", "--noinput", "-v", "0")
        servers.manage(
            env, "alerts", "add-rule", "--name", "Bench", "--channel", f"json://127.0.0.1:{receiver.port}/hook"
        )
        for index in range(workers):
            log_file = (directory / f"alerts-worker-{workers}-{index}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [servers.PYTHON, "manage.py", "alerts", "worker", "--interval", "0.05"],
                    cwd=servers.ROOT,
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
            )

        def ok_polls() -> int:
            with sqlite3.connect(database, timeout=30) as connection:
                return int(connection.execute("SELECT count(*) FROM exportjobs_alertpoll WHERE ok").fetchone()[0])

        servers.wait_until(lambda: ok_polls() >= 2, timeout=120, what="the first two polls")
        lags: list[float] = []
        started = datetime.now(timezone.utc)
        for round_index in range(rounds):
            batch = [job["id"] for job in jobs[round_index * CHANGING : (round_index + 1) * CHANGING]]
            changed_at = time.monotonic()
            for reason_index, reason in enumerate(REASONS):
                ids = batch[reason_index :: len(REASONS)]
                fields = {
                    "status": "failed",
                    "failureReasonType": reason,
                    "failureReason": "Bench",
                    "completedAt": _ts(datetime.now(timezone.utc)),
                }
                requests.post(
                    sandbox.url + "/_sandbox/jobs/update", json={"ids": ids, "fields": fields}, timeout=30
                ).raise_for_status()
            servers.wait_until(lambda batch=batch: receiver.got(batch), timeout=120, what="a round's alerts")
            lags += [receiver.arrived[job_id] - changed_at for job_id in batch]
        with sqlite3.connect(database, timeout=30) as connection:
            rows = connection.execute(
                "SELECT started_at, finished_at, jobs FROM exportjobs_alertpoll WHERE ok AND started_at >= ?",
                (started.strftime("%Y-%m-%d %H:%M:%S"),),
            ).fetchall()
        poll_seconds = [
            (datetime.fromisoformat(end) - datetime.fromisoformat(begin)).total_seconds() for begin, end, _jobs in rows
        ]
        listed = max((int(row[2]) for row in rows), default=0)
        log(f"alerts, {workers} worker(s): {len(poll_seconds)} polls of {listed} jobs, {len(lags)} jobs told")
        return {
            "workers": workers,
            "jobs_listed": listed,
            "polls": _summary(poll_seconds) if poll_seconds else {},
            "lag": _summary(lags),
        }
    finally:
        for process in processes:
            servers.stop_process(process)
        receiver.stop()
        sandbox.stop()


def run(*, directory: Path, log: Callable[[str], None], rounds: int = 5) -> dict[str, Any]:
    return {
        "interval_s": INTERVAL,
        "changing": CHANGING,
        "runs": [run_once(workers=count, rounds=rounds, directory=directory, log=log) for count in (1, 2)],
    }


def render(results: dict[str, Any] | None) -> str:
    """The phase's section of the report."""
    if not results:
        return ""
    lines = [
        "",
        "## Alerts: 1,000 jobs listed, 100 changing state per poll",
        "",
        f"Polls every {results['interval_s']:g} s (`ALERT_POLL_SECONDS`); {results['changing']} jobs fail before "
        "each poll, for five reasons (so five messages of 20 jobs per poll to one `json://` rule). Poll time: one poll "
        "from start to end (the list walk, every verdict, the new states and notifications in one "
        "transaction). Delivery lag: from the change in Pleo to the message at the receiver, waiting for the "
        "next poll included (at most one interval). SQLite, as `make run` uses it.",
        "",
        "| workers | jobs listed | polls | poll time median | poll time p95 | jobs told | lag median | lag p95 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run_ in results["runs"]:
        polls, lag = run_["polls"] or {"median": 0.0, "p95": 0.0, "count": 0}, run_["lag"]
        lines.append(
            f"| {run_['workers']} | {run_['jobs_listed']:,} | {polls['count']} | {polls['median']:.2f} s | "
            f"{polls['p95']:.2f} s | {lag['count']} | {lag['median']:.2f} s | {lag['p95']:.2f} s |"
        )
    return "\n".join(lines) + "\n"
