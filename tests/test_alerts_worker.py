"""Alerts with every part real, on loopback: the desk's worker as a separate process (``manage.py alerts
worker``, django-tasks-db's ``db_worker``), the sandbox Pleo, an SMTP server (aiosmtpd) and an HTTP receiver
for a ``json://`` webhook. Polls are one second apart here (``ALERT_POLL_SECONDS=1``); every wait is for an
event (a message arriving, a row written), with a hang guard, never a sleep."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from exportjobs.sandbox import seed
from tests.helpers import (
    ROOT,
    SANDBOX_TOKEN,
    DeskServer,
    OwnPostgres,
    SmtpSink,
    job_payload,
    wait_for,
)

pytestmark = pytest.mark.slow


class Desk:
    """The desk's database and its workers, as ``make run`` would run them (no web server needed here)."""

    def __init__(self, directory: Path, sandbox: Any, **env: str) -> None:
        self.directory = directory
        settings = {
            "PLEO_API_BASE_URL": sandbox.url,
            "PLEO_API_TOKEN": SANDBOX_TOKEN,
            "PLEO_API_TIMEOUT": "5",
            "ALERT_POLL_SECONDS": "1",
            "ATTENTION_CACHE_TTL": "1",
            "ALERT_RETRY_SECONDS": "0.05",
            "ALERT_DELIVERY_LEASE_SECONDS": "2",
            "DESK_BASE_URL": "https://desk.example.com",
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.server = DeskServer(directory, settings)
        self.server.migrate()
        self.workers: list[subprocess.Popen[bytes]] = []

    @property
    def database(self) -> str:
        return self.server.env["DATABASE_URL"]

    def manage(self, *args: str) -> str:
        return self.server.manage(*args)

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = (self.directory / f"worker-{len(self.workers)}.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "alerts", "worker", "--interval", "0.05"],
            cwd=ROOT, env=self.server.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        if self.database.startswith("sqlite"):
            with sqlite3.connect(self.database.removeprefix("sqlite:///"), timeout=30) as connection:
                return connection.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(self.database) as connection:
            return connection.execute(sql.replace("?", "%s"), params).fetchall()  # type: ignore[arg-type]

    def count(self, sql: str, *params: object) -> int:
        return int(self.rows(sql, *params)[0][0])

    def ok_polls(self) -> int:
        return self.count("SELECT count(*) FROM exportjobs_alertpoll WHERE ok")

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()


@pytest.fixture
def smtp():
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def desk(tmp_path, sandbox, smtp):
    made = Desk(tmp_path, sandbox, EMAIL_URL=smtp.url)
    yield made
    made.stop()


def active_job(sandbox) -> str:
    job_id = str(uuid.uuid4())
    now = seed.ts(datetime.now(timezone.utc))
    sandbox.state.put_job(
        job_payload(job_id, status="in_progress", createdAt=now, startedAt=now, lastUpdatedAt=now, completedAt=None)
    )
    return job_id


def fail(sandbox, job_id: str) -> None:
    sandbox.state.update_job(
        job_id, status="failed", failureReasonType="accounting_system_unreachable",
        failureReason="Connection refused", completedAt=seed.ts(datetime.now(timezone.utc)),
    )  # fmt: skip


def seen(desk: Desk, job_id: str) -> bool:
    return desk.count("SELECT count(*) FROM exportjobs_alertjobstate WHERE job_id = ?", uuid.UUID(job_id).hex) == 1


def test_a_failed_job_reaches_mail_and_webhook_within_two_polls_and_only_once(desk, sandbox, receiver, smtp):
    desk.manage("alerts", "add-rule", "--name", "Mail", "--channel", "mailto:finance@example.com")
    desk.manage("alerts", "add-rule", "--name", "Hook", "--channel", receiver.url(), "--language", "da")
    job_id = active_job(sandbox)
    desk.start_worker()
    wait_for(lambda: seen(desk, job_id), what="the poll seeing the active job")
    polls_before = desk.ok_polls()
    fail(sandbox, job_id)
    wait_for(lambda: receiver.ok() and smtp.messages, what="the alert by webhook and by e-mail")
    [(written,)] = desk.rows("SELECT min(created_at) FROM exportjobs_alertnotification")
    polls_until = desk.count("SELECT count(*) FROM exportjobs_alertpoll WHERE ok AND started_at <= ?", written)
    assert polls_until - polls_before <= 2
    after = desk.ok_polls()
    wait_for(lambda: desk.ok_polls() >= after + 5, what="five more polls")
    assert len(receiver.ok()) == 1
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == "finance@example.com"
    kinds = {part.get_content_type() for part in mail.walk()}
    assert {"text/plain", "text/html"} <= kinds
    body = receiver.ok()[0]["body"]
    assert f"https://desk.example.com/jobs/{job_id}/" in body["message"]
    assert receiver.ok()[0]["headers"]["webhook-id"] == body["id"]


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next(desk, sandbox, receiver):
    desk.manage("alerts", "add-rule", "--name", "Hook", "--channel", receiver.url())
    job_id = active_job(sandbox)
    worker = desk.start_worker()
    wait_for(lambda: seen(desk, job_id), what="the poll seeing the active job")
    receiver.hold()
    fail(sandbox, job_id)
    wait_for(receiver.arrived.is_set, what="the worker sending the alert")
    worker.send_signal(signal.SIGKILL)
    worker.wait(30)
    receiver.release()
    assert desk.count("SELECT count(*) FROM exportjobs_alertnotification WHERE status = 'pending'") == 1
    desk.start_worker()
    wait_for(
        lambda: desk.count("SELECT count(*) FROM exportjobs_alertnotification WHERE status = 'delivered'") == 1,
        what="the alert delivered by the next worker",
    )
    assert desk.count("SELECT count(*) FROM exportjobs_alertdelivery WHERE ok") == 1
    ids = {request["headers"]["webhook-id"] for request in receiver.requests}
    assert len(ids) == 1, "a repeat carries the same id, so the receiver can drop it"


def test_a_receiver_failing_three_times_gets_the_alert_once_after_four_attempts(desk, sandbox, receiver):
    desk.manage("alerts", "add-rule", "--name", "Hook", "--channel", receiver.url())
    job_id = active_job(sandbox)
    desk.start_worker()
    wait_for(lambda: seen(desk, job_id), what="the poll seeing the active job")
    receiver.fail(3)
    fail(sandbox, job_id)
    wait_for(
        lambda: desk.count("SELECT count(*) FROM exportjobs_alertnotification WHERE status = 'delivered'") == 1,
        what="the alert delivered",
    )
    assert desk.count("SELECT count(*) FROM exportjobs_alertdelivery") == 4
    assert desk.count("SELECT count(*) FROM exportjobs_alertdelivery WHERE ok") == 1
    assert receiver.answers == [500, 500, 500, 200]


ENQUEUE_TICKS = """
from datetime import timedelta
from exportjobs import clock
from exportjobs.alerts.poll import next_slot
from exportjobs.alerts.tasks import alerts_tick
start = next_slot(clock.now() + timedelta(seconds=3))
for index in range(5):
    for _copy in range(2):
        print(alerts_tick.using(run_after=start + timedelta(seconds=index)).enqueue().id)
print(start.isoformat())
"""


def test_two_workers_on_postgresql_poll_once_per_interval(tmp_path, sandbox):
    server = OwnPostgres().init()
    server.start()
    try:
        desk = Desk(tmp_path, sandbox, DATABASE_URL=server.url)
        try:
            desk.start_worker()
            desk.start_worker()
            *ids, start = desk.manage("shell", "--verbosity", "0", "-c", ENQUEUE_TICKS).split()
            assert len(ids) == 10
            finished = (
                "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE id = ANY(?) AND status = 'SUCCESSFUL'"
            )
            wait_for(lambda: desk.count(finished, [uuid.UUID(i) for i in ids]) == 10, what="ten ticks run")
            slots = desk.rows(
                "SELECT slot FROM exportjobs_alertpoll WHERE slot >= ? AND slot < ? + interval '5 seconds'",
                datetime.fromisoformat(start), datetime.fromisoformat(start),
            )  # fmt: skip
            # Ten ticks (and the workers' own) ran in these five intervals: one poll each at most, never two.
            assert 1 <= len(slots) <= 5, "five polls, not ten"
        finally:
            desk.stop()
    finally:
        server.remove()
