"""Helpers shared by the test modules: constants, service checks, payload builders, contract schemas.

Fixtures live in ``conftest.py``; everything a test module imports lives here, so no test module
imports another.
"""

from __future__ import annotations

import fcntl
import functools
import html
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from exportjobs.alerts import outbox as alert_outbox
from exportjobs.alerts.poll import alerts_poll
from exportjobs.sandbox import seed

ROOT = Path(__file__).resolve().parent.parent
IN_CI = bool(os.environ.get("CI"))
SANDBOX_TOKEN = "sandbox-" + secrets.token_urlsafe(16)
API_KEY = "apikey-" + secrets.token_urlsafe(16)  # for tests of Basic auth
REDIS_URL = os.environ["TEST_REDIS_URL"]  # tests/bootstrap.py sets it (default: database 15), per test process
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CONTRACT = Path(__file__).parent / "contract"
HANG_GUARD = 60.0  # seconds a test waits for an event before calling it a hang (never a measure of speed)


def need(available: bool, reason: str) -> None:
    """Skip with ``reason`` on a machine that lacks a service; fail instead in CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def job_url(name_or_id: str) -> str:
    job_id = name_or_id if len(name_or_id) == 36 else seed.job_uuid(name_or_id)
    return f"/jobs/{job_id}/"


def job_payload(job_id: str = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c", **fields: Any) -> dict[str, Any]:
    """A contract-shaped ``data`` object; keyword arguments override or add fields (camelCase)."""
    payload: dict[str, Any] = {
        "id": job_id,
        "companyId": seed.COMPANY_ID,
        "status": "completed",
        "createdAt": "2026-11-03T14:02:00Z",
        "createdBy": seed.USER_MARIA,
        "isInteractive": True,
        "numberOfItems": 1234,
        "vendorBasedBookkeeping": False,
        "startedAt": "2026-11-03T14:05:30Z",
        "lastUpdatedAt": "2026-11-03T14:20:00Z",
        "completedAt": "2026-11-03T14:20:00Z",
        "expiredAt": None,
        "expiresIn": 3600,
        "failureReason": None,
        "failureReasonType": None,
    }
    payload.update(fields)
    return payload


@contextmanager
def log_as_written(name: str = "exportjobs") -> Iterator[list[logging.LogRecord]]:
    """The records of ``name``'s loggers as the desk's handler writes them: through its filters (a failure
    that repeats is written once a minute, with a count), not every record a logger was given."""
    from exportjobs import logs

    written: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            written.append(record)

    handler = Keep(level=logging.WARNING)
    handler.addFilter(logs.RepeatFilter())
    log = logging.getLogger(name)
    log.addHandler(handler)
    try:
        yield written
    finally:
        log.removeHandler(handler)


def counter(name: str, **labels: str) -> float:
    """A metric's value in this process (0 before it was first counted): which path answered."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def lifetime(key: str) -> float:
    """Seconds the cache was told to keep the entry under ``key``: its expiry (as the backend recorded it)
    minus the entry's own ``fetched_at``, both written together, so the answer does not depend on how long
    the test took to ask."""
    from django.core.cache import cache, caches

    entry = cache.get(key)
    assert isinstance(entry, dict), f"no cache entry under {key}"
    backend = caches["default"]
    raw = backend.make_and_validate_key(key)
    if hasattr(backend, "_expire_info"):  # local memory
        expires_at = float(backend._expire_info[raw])
    else:  # Redis: the absolute expiry, in seconds since the epoch
        expires_at = float(backend._cache.get_client(raw).expiretime(raw))
    return expires_at - entry["fetched_at"]


def text_of(page: str) -> str:
    """The visible words of an HTML page, whitespace collapsed (a ``<wbr>`` is no space)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.replace("<wbr>", ""))))


def at_once(count: int, call: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``call`` from ``count`` threads released together; return (results, exceptions)."""
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        try:
            results.append(call())
        except Exception as exc:  # handed back to the test to assert on
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD)
    assert not any(thread.is_alive() for thread in threads), "a call did not return (hung)"
    return results, errors


# --- Pleo's contract as JSON Schemas ---------------------------------------------------------


def _format_checker() -> FormatChecker:
    checker = FormatChecker()  # uuid is checked by jsonschema itself; date-time needs an extra package, so:

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if isinstance(value, str):
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")  # a real calendar date and time, not just the shape
        return True

    return checker


def contract_validator(name: str) -> Draft202012Validator:
    schema = json.loads((CONTRACT / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


JOB_SCHEMA = contract_validator("export_job.schema.json")
ITEM_SCHEMA = contract_validator("export_job_item.schema.json")
PAGE_SCHEMA = contract_validator("item_page.schema.json")
JOB_PAGE_SCHEMA = contract_validator("job_page.schema.json")
ENTRY_SCHEMA = contract_validator("accounting_entry.schema.json")
COMPANY_SCHEMA = contract_validator("company.schema.json")


def entry_payload(entry_id: str, **fields: Any) -> dict[str, Any]:
    """A contract-shaped ``AccountingEntryV1``; keyword arguments override or add fields (camelCase)."""
    payload: dict[str, Any] = {
        "id": entry_id,
        "companyId": seed.COMPANY_ID,
        "family": "CARD_PURCHASE",
        "subFamily": "ONLINE",
        "performedAt": "2026-11-12T11:45:00Z",
        "transactionValue": {"currency": "DKK", "minors": 45000},
        "totalBillValue": {"currency": "DKK", "minors": 45000},
        "note": "Team lunch",
        "accountCode": "6810",
        "receiptIds": ["2f8a1c3e-5b7d-4e9f-8a1b-3c5d7e9f1a2b"],
        "status": "COMPLETED",
        "exportStatus": "NOT_EXPORTED",
        "reviewStatus": "OK",
        "tags": [],
        "splitItems": [],
        "attendees": [],
        "createdAt": "2026-11-12T11:50:00Z",
        "updatedAt": "2026-11-13T08:00:00Z",
    }
    payload.update(fields)
    return payload


def problems(validator: Draft202012Validator, instance: object) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


# --- servers of the tests' own: a Redis and a PostgreSQL a test may stop, hang and start again ---------


class OwnRedis:
    """A Redis server on a free port that nothing else uses: stop it, hang it (SIGSTOP), go on."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        need(binary is not None, "redis-server not installed (apt-get install redis-server)")
        self.binary = str(binary)
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OwnRedis:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [self.binary, *args, "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(self.url, self.port), what=f"Redis on port {self.port}")
        return self

    def hang(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
            self.process = None


class OwnPostgres:
    """A PostgreSQL cluster of its own (initdb in a temporary directory, a free port), run as the
    ``postgres`` OS user when the tests run as root."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        need(bool(bins), "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin)")
        self.bin = bins[-1].parent
        self.directory = Path(tempfile.mkdtemp(prefix="desk-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> OwnPostgres:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", str(self.directory / "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def wait_for(ready: Callable[[], object], *, what: str, seconds: float = HANG_GUARD) -> None:
    """Until ``ready()`` is true: the event a test waits for (a server answering, a line in a log, a count
    reached). A check that raises (a server not listening yet) is tried again; when ``seconds`` run out,
    the last error is part of the message. ``seconds`` only guards against a hang."""
    deadline = time.monotonic() + seconds
    last: BaseException | None = None
    while True:
        try:
            if ready():
                return
            last = None
        except Exception as error:  # not ready yet: kept for the report
            last = error
        if time.monotonic() >= deadline:
            break
        time.sleep(0.02)  # polls the event above
    detail = f" (last error: {type(last).__name__}: {last})" if last is not None else ""
    raise AssertionError(f"{what} did not happen within {seconds} s{detail}")


@functools.cache
def collect_static() -> None:
    """The desk's static files in STATIC_ROOT, where whitenoise serves them to a gunicorn the test starts
    (``make run`` collects them; a fresh clone has none). Once per test run: with pytest-xdist the first
    worker to need them collects under a lock while the others wait, and they find the run's mark after."""
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
    mark = var / f".static-collected-{run}"
    with (var / ".static-collecting.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if run and mark.exists():
            return
        env = {**os.environ, "READ_DOT_ENV": "0", "SECRET_KEY": secrets.token_urlsafe(50)}
        result = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        if run:
            for old in var.glob(".static-collected-*"):
                old.unlink()
            mark.touch()


class DeskServer:
    """The desk under gunicorn (as ``make run`` serves it) with the environment given, on a free port."""

    def __init__(self, directory: Path, env: dict[str, str], *, workers: int = 2, threads: int = 8) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.threads = threads
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "CACHE_", "DATABASE_", "LOCAL_"))},
            "READ_DOT_ENV": "0",
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{directory / 'desk.sqlite3'}",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.migrated = False

    def migrate(self) -> None:
        if not self.migrated:
            self.manage("migrate", "--noinput", "-v", "0")
            self.migrated = True

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def add_user(self, name: str, password: str) -> None:
        self.migrate()
        self.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import Group, User; "
            f"u = User.objects.create_user({name!r}, password={password!r}); "
            "u.groups.add(Group.objects.get(name='Finance'))",
        )

    def start(self) -> DeskServer:
        self.migrate()
        collect_static()
        log = (self.directory / "desk.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "dashboard.wsgi", "--config", "python:dashboard.gunicorn_conf",
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--worker-class", "gthread",
                "--threads", str(self.threads), "--no-control-socket", "--timeout", "30",
            ],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        wait_for(lambda: self.healthy(), what=f"the desk under gunicorn at {self.url}")
        return self

    def healthy(self) -> bool:
        """Ready: ``/healthz`` answers 200 (a refused connection or a slow first answer is tried again)."""
        import requests

        return requests.get(self.url + "/healthz", timeout=10).status_code == 200

    def sign_in(self, name: str, password: str) -> dict[str, str]:
        import requests

        session = requests.Session()
        form = session.get(self.url + "/accounts/login/", timeout=HANG_GUARD)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.text[:500]
        answer = session.post(
            self.url + "/accounts/login/",
            data={"username": name, "password": password, "csrfmiddlewaretoken": token.group(1), "next": "/"},
            headers={"Referer": self.url + "/accounts/login/"},
            timeout=HANG_GUARD,
            allow_redirects=False,
        )
        assert answer.status_code == 302, answer.text[:500]
        return dict(session.cookies)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


def list_page_problems(page: object) -> list[str]:
    """What in a page of ``GET /v2/export-jobs`` breaks the contract: the envelope, then each job."""
    found = problems(JOB_PAGE_SCHEMA, page)
    if not found and isinstance(page, dict):
        for index, job in enumerate(page["data"]):
            found += [f"data/{index}/{problem}" for problem in problems(JOB_SCHEMA, job)]
    return found


# --- alerts: the other ends of a channel, on loopback --------------------------------------------------


class Receiver:
    """An HTTP server that takes webhooks (Apprise's ``json://``) and keeps each request: its headers and
    JSON body. ``fail(count, status)`` answers the next ``count`` requests with ``status``; ``hold()`` keeps
    every request waiting (``arrived`` is set when one does) until ``release()``."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.failures: list[int] = []
        self.lock = threading.Lock()
        self.held = threading.Event()
        self.held.set()
        self.arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.arrived.set()
                owner.held.wait(HANG_GUARD)
                with owner.lock:
                    status = owner.failures.pop(0) if owner.failures else 200
                    owner.requests.append({"headers": dict(self.headers), "body": json.loads(body or b"null")})
                    owner.answers.append(status)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender is gone (killed while it waited)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, scheme: str = "json", auth: str = "alerts:s3cr3t-hook-password") -> str:
        return f"{scheme}://{auth}@127.0.0.1:{self.port}/hook"

    def fail(self, count: int, status: int = 500) -> None:
        with self.lock:
            self.failures += [status] * count

    def hold(self) -> None:
        self.arrived.clear()
        self.held.clear()

    def release(self) -> None:
        self.held.set()

    def ok(self) -> list[dict[str, Any]]:
        with self.lock:
            return [request for request, status in zip(self.requests, self.answers, strict=True) if status == 200]

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        owner = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import email

                owner.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.controller.stop()


def sign_webhook(secret: str, body: bytes, *, msg_id: str = "msg_1", at: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for ``body``, signed with ``secret`` (whsec_…) at ``at`` (default: now)."""
    from standardwebhooks.webhooks import Webhook

    moment = at or datetime.now(timezone.utc)
    signature = Webhook(secret).sign(msg_id, moment, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }


# --- alerts: the poll an interval at a time on the desk's clock ---------------------------------------


def poll_now(clock, deliver=None):
    """One interval on, then the poll (the worker's ``alerts_tick`` without the task queue)."""
    clock.shift(60)
    handed: list[str] = []
    poll = alerts_poll(deliver=deliver or handed.extend, worker="test")
    assert poll is not None, "another poll had this interval"
    return poll


def deliver_all(clock) -> None:
    later: list[tuple[str, datetime]] = []
    alert_outbox.notifications_deliver_due(later=lambda nid, when: later.append((nid, when)))


def new_job(sandbox, index: int = 0, **fields) -> str:
    job_id = str(uuid.UUID(int=0xA1E27 * 10**6 + index))
    created = seed.ts(datetime.now(timezone.utc))
    sandbox.state.put_job(
        job_payload(
            job_id, status="in_progress", createdAt=created, startedAt=created, lastUpdatedAt=created,
            completedAt=None, **fields,
        )
    )  # fmt: skip
    return job_id


def fail(sandbox, job_id: str, kind: str = "accounting_system_unreachable") -> None:
    sandbox.state.update_job(
        job_id, status="failed", failureReasonType=kind, failureReason="Connection refused",
        completedAt=seed.ts(datetime.now(timezone.utc)),
    )  # fmt: skip


def fails_between_polls(sandbox, clock) -> str:
    """A job that one poll sees running and the next sees failed (after a first poll that only remembers):
    the change of state a rule hears about. Returns its id."""
    poll_now(clock)
    job_id = new_job(sandbox)
    poll_now(clock)
    fail(sandbox, job_id)
    poll_now(clock)
    return job_id
