"""The processes a benchmark runs: the standalone sandbox, gunicorn serving the dashboard, and helpers
to sign in, read a worker's memory, and send many requests from Python where wrk cannot (exactly N
requests: filling the cache, a stampede)."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_USER = "bench"
NEW_USER = "bench-new"  # never opens a job: its home page has no "recent jobs" list


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, *, timeout: float, what: str, process: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with code {process.returncode}\n{tail}")
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s")


def stop_process(process: subprocess.Popen | None, *, grace: float = 10.0) -> None:
    """SIGTERM the process we started, then SIGKILL it if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# --- the sandbox ------------------------------------------------------------------------


class Sandbox:
    """``python -m exportjobs.sandbox`` in its own process: a fake Pleo with an artificial latency."""

    def __init__(
        self,
        *,
        latency: float,
        generated: int,
        log_dir: Path,
        token: str | None = None,
        name: str = "sandbox",
        listed: int = 0,
        failed: int = 0,
    ):
        self.latency = latency
        self.generated = generated
        self.listed = listed
        self.failed = failed
        self.token = token or "bench-" + secrets.token_urlsafe(16)
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.url = ""
        self._log_file = None

    def start(self) -> Sandbox:
        command = [
            PYTHON,
            "-m",
            "exportjobs.sandbox",
            "--port",
            "0",
            "--token",
            self.token,
            "--latency",
            str(self.latency),
            "--generated",
            str(self.generated),
            "--listed",
            str(self.listed),
            "--failed",
            str(self.failed),
        ]
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log_file, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("SANDBOX_URL="):
            stop_process(self.process)
            raise RuntimeError(f"the sandbox did not start: {line!r}\n{self.log.read_text()[-2000:]}")
        self.url = line.split("=", 1)[1]
        wait_until(lambda: requests.get(self.url + "/_sandbox/health", timeout=1).ok, timeout=10, what="the sandbox")
        return self

    def stats(self) -> dict:
        return requests.get(self.url + "/_sandbox/stats", timeout=5).json()

    def calls(self, job_id: str) -> int:
        return int(self.stats()["jobs"].get(job_id, 0))

    def walk_list(self, statuses: list[str], pages: int, *, limit: int = 100) -> float:
        """Seconds ``pages`` pages of the list take, asked one after another as the desk asks them
        (repeated statuses, newest first, following ``endCursor``): the upstream part of a cold list."""
        headers = {"Authorization": f"Bearer {self.token}"}
        total = 0.0
        after = None
        with requests.Session() as session:
            for _ in range(pages):
                params = [("statuses", status) for status in statuses] + [("limit", str(limit))]
                params += [("sorting_keys", "createdAt"), ("sorting_order", "DESC")]
                params += [("after", after)] if after else []
                started = time.perf_counter()
                answer = session.get(self.url + "/v2/export-jobs", params=params, headers=headers, timeout=30)
                body = answer.json()
                total += time.perf_counter() - started
                after = body["pagination"].get("endCursor")
                if not body["pagination"]["hasNextPage"] or not after:
                    break
        return total

    def job_and_items(self, job_id: str) -> float:
        """Seconds the calls of a cold page of a partly exported job take when asked directly, as the desk asks
        them: the job, then its five counts and its failed entries (200 a page) at once."""
        headers = {"Authorization": f"Bearer {self.token}"}
        items = self.url + f"/v2/export-jobs/{job_id}/items"
        with requests.Session() as session:
            started = time.perf_counter()
            session.get(self.url + f"/v2/export-jobs/{job_id}", headers=headers, timeout=30).raise_for_status()
            asks = [{"status": status, "limit": "0"} for status in ("successful", "failed", "pending", "in_progress")]
            asks += [{"status": "abandoned", "limit": "0"}, {"status": "failed", "limit": "200"}]
            threads = [
                threading.Thread(
                    target=lambda params=params: requests.get(items, params=params, headers=headers, timeout=30)
                )
                for params in asks
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return time.perf_counter() - started

    def partly_exported_chain(self, job_id: str, *, concurrency: int = 25) -> float:
        """Seconds the calls a cold page of a partly exported job waits on take when asked directly, in the
        desk's order: the job, then its counts and failed entries at once, then the failed entries' accounting
        entries ``concurrency`` at a time (the company's name is asked beside them, so it is left out)."""
        headers = {"Authorization": f"Bearer {self.token}"}
        items = self.url + f"/v2/export-jobs/{job_id}/items"
        failed: list[dict] = []

        def get(url: str, params: dict | None = None) -> None:
            answer = requests.get(url, params=params, headers=headers, timeout=30)
            if params and params.get("limit") == "200":
                failed.extend(answer.json().get("data", []))

        def at_once(calls: list[tuple[str, dict | None]]) -> None:
            threads = [threading.Thread(target=get, args=call) for call in calls]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        started = time.perf_counter()
        requests.get(self.url + f"/v2/export-jobs/{job_id}", headers=headers, timeout=30).raise_for_status()
        asks: list[tuple[str, dict | None]] = [
            (items, {"status": status, "limit": "0"})
            for status in ("successful", "failed", "pending", "in_progress", "abandoned")
        ]
        at_once([*asks, (items, {"status": "failed", "limit": "200"})])
        entries = [item["accountingEntryId"] for item in failed if item.get("accountingEntryId")]
        for start in range(0, len(entries), concurrency):
            at_once(
                [(self.url + f"/v1/accounting-entries/{entry}", None) for entry in entries[start : start + concurrency]]
            )
        return time.perf_counter() - started

    def refuse_entries(self, refuse: bool) -> None:
        """Every accounting entry asked for from now on is refused (403), or no longer."""
        requests.post(self.url + "/_sandbox/entries", params={"refuse": int(refuse)}, timeout=5).raise_for_status()

    def reset(self) -> None:
        requests.post(self.url + "/_sandbox/reset", timeout=5).raise_for_status()

    def set_latency(self, seconds: float) -> None:
        """Every API answer from now on comes after ``seconds``."""
        requests.post(self.url + "/_sandbox/latency", params={"seconds": seconds}, timeout=5).raise_for_status()
        self.latency = seconds

    def stop(self) -> None:
        stop_process(self.process)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        if self._log_file is not None:
            self._log_file.close()


# --- the dashboard under gunicorn ------------------------------------------------------------


def app_env(*, secret_key: str, database_url: str, cache_url: str, sandbox: Sandbox) -> dict[str, str]:
    """The dashboard's environment for a benchmark: every setting explicit, the developer's .env not read."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "JOB_CACHE_", "DJANGO_"))}
    return {
        **keep,
        "READ_DOT_ENV": "0",
        "SECRET_KEY": secret_key,
        "DEBUG": "0",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TIME_ZONE": "UTC",
        "LOG_LEVEL": "WARNING",
        "AUTH_REMOTE_USER_HEADER": "",
        "TRUSTED_PROXY_COUNT": "0",
        "SESSION_COOKIE_AGE": "28800",
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "PLEO_API_BASE_URL": sandbox.url,
        "PLEO_API_TOKEN": sandbox.token,
        "PLEO_API_KEY": "",
        "PLEO_API_TIMEOUT": "5",
        "PLEO_SANDBOX": "0",
        # The bench user looks up thousands of jobs in minutes: far beyond a person's budget of Pleo calls,
        # which would answer 429 and measure the budget instead of the desk.
        "PLEO_USER_BUDGET": "1000000",
        "JOB_CACHE_TTL_ACTIVE": "10",
        "JOB_CACHE_TTL_FINAL": "86400",
        "JOB_CACHE_TTL_NOT_FOUND": "30",
        "JOB_CACHE_STALE_TTL": "604800",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict[str, str], *args: str, input_env: dict[str, str] | None = None, root: Path = ROOT) -> str:
    out = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=root, env={**env, **(input_env or {})}, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return out.stdout


CREATE_USERS = f"""
import os
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
for name in ({BENCH_USER!r}, {NEW_USER!r}):
    user, _ = get_user_model().objects.get_or_create(username=name)
    user.set_password(os.environ["BENCH_PASSWORD"])
    user.is_active = True
    user.save()
    user.groups.add(Group.objects.get(name="Finance"))
"""


def prepare_database(env: dict[str, str], root: Path = ROOT) -> str:
    """Migrate the bench database, collect static files, create the bench users; returns their password."""
    manage(env, "migrate", "--noinput", "-v", "0", root=root)
    manage(env, "collectstatic", "--noinput", "-v", "0", root=root)
    password = secrets.token_urlsafe(18)
    manage(env, "shell", "-c", CREATE_USERS, input_env={"BENCH_PASSWORD": password}, root=root)
    return password


@dataclass
class Desk:
    """The dashboard under gunicorn (gthread workers, as ``make run`` starts it), on a free port."""

    env: dict[str, str]
    workers: int
    log_dir: Path
    threads: int = 8
    name: str = "desk"
    root: Path = ROOT  # the checkout whose code is served (another one for "before" figures)
    extra_args: tuple[str, ...] = ()  # more gunicorn options (a config file with hooks, for the soak)
    process: subprocess.Popen | None = None
    port: int = 0
    _log_file: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        return [
            PYTHON,
            "-m",
            "gunicorn",
            "dashboard.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(self.threads),
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--no-control-socket",
            "--access-logfile",
            str(self.log_dir / f"{self.name}-access.log"),
            *self.extra_args,
        ]

    def start(self) -> Desk:
        self.port = free_port()
        log = self.log_dir / f"{self.name}.log"
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            self.command, cwd=self.root, env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        wait_until(
            lambda: requests.get(self.url + "/healthz", timeout=2).status_code == 200,
            timeout=30,
            what=f"gunicorn ({self.name})",
            process=self.process,
            log=log,
        )
        wait_until(lambda: len(self.worker_pids()) == self.workers, timeout=30, what="gunicorn's workers")
        return self

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        return children(self.process.pid)

    def rss_kib(self) -> list[int]:
        return [rss_kib(pid) for pid in self.worker_pids()]

    def stop(self) -> None:
        stop_process(self.process, grace=15)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            pids.append(int(entry.name))
    return sorted(pids)


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def redis_reachable(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except Exception:
        return False


# --- a signed-in client ----------------------------------------------------------------------


def sign_in(base_url: str, username: str, password: str) -> dict[str, str]:
    """Sign in through the login form like a browser; returns the cookies (sessionid, csrftoken)."""
    with requests.Session() as browser:
        page = browser.get(base_url + "/accounts/login/", timeout=10)
        page.raise_for_status()
        token = browser.cookies.get("csrftoken")
        response = browser.post(
            base_url + "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": base_url + "/accounts/login/"},
            allow_redirects=False,
            timeout=10,
        )
        if response.status_code != 302 or "sessionid" not in browser.cookies:
            raise RuntimeError(f"signing in as {username} failed: HTTP {response.status_code}")
        return {"sessionid": browser.cookies["sessionid"], "csrftoken": browser.cookies.get("csrftoken", "")}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items() if value)


def check_page(base_url: str, path: str, cookies: dict[str, str], *, contains: str) -> int:
    """GET a page as the signed-in user; it must be 200 and contain ``contains``. Returns its size in bytes."""
    response = requests.get(base_url + path, cookies=cookies, allow_redirects=False, timeout=15)
    if response.status_code != 200 or contains not in response.text:
        raise RuntimeError(f"GET {path}: HTTP {response.status_code}, expected 200 with {contains!r}")
    return len(response.content)


# --- exactly-N requests from Python -----------------------------------------------------------


def _connection(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def visit_all(base_url: str, paths: list[str], cookie: str, *, concurrency: int = 16) -> tuple[float, int]:
    """GET every path once with ``concurrency`` keep-alive connections; returns (seconds, non-200 answers)."""
    lock = threading.Lock()
    todo = iter(paths)
    failures = [0]

    def worker() -> None:
        connection = _connection(base_url)
        while True:
            with lock:
                path = next(todo, None)
            if path is None:
                break
            try:
                connection.request("GET", path, headers={"Cookie": cookie})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = _connection(base_url)
                ok = False
            if not ok:
                with lock:
                    failures[0] += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, failures[0]


def timed_get(base_url: str, path: str, cookie: str) -> tuple[int, float, bytes]:
    """One GET on a fresh connection: (status, seconds until the whole body was read, body)."""
    connection = _connection(base_url)
    try:
        connection.connect()
        started = time.perf_counter()
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        body = response.read()
        return response.status, time.perf_counter() - started, body
    finally:
        connection.close()


def stampede(base_url: str, path: str, cookie: str, *, count: int = 50) -> list[tuple[int, float]]:
    """``count`` requests for one path sent at the same instant (connections opened first).

    Returns (status, seconds) for each request."""
    connections = [_connection(base_url) for _ in range(count)]
    for connection in connections:
        connection.connect()
    barrier = threading.Barrier(count)
    results: list[tuple[int, float]] = [(0, 0.0)] * count

    def one(index: int) -> None:
        connection = connections[index]
        barrier.wait()
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
        results[index] = (status, time.perf_counter() - started)
        connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the same definition wrk reports)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]
