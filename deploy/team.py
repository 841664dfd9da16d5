"""A team's set-up on one machine: nginx terminating TLS in front of two desk hosts.

``make team`` (``python -m deploy.team up``) starts, on loopback:

- nginx with a throwaway self-signed certificate on https://127.0.0.1:8443, configured from
  ``deploy/nginx/export-job-desk.conf`` (the file the README shows);
- two hosts, each a gunicorn master on its own address (127.0.0.2:8000 and 127.0.0.3:8000) with its own
  ``var/`` (pid file, logs, metrics), sharing one PostgreSQL (``DATABASE_URL``) and one Redis
  (``CACHE_URL``); the sandbox Pleo when ``PLEO_API_BASE_URL`` is unset, as ``make run`` does.

While it runs, from another terminal:

    .venv/bin/python -m deploy.team deploy [--release DIR]   # rolling deploy: one host out, restarted, back in
    .venv/bin/python -m deploy.team restart a                # one host restarted in place (USR2), nothing dropped

Everything lives under ``var/team/`` (``--run-dir``): nginx's prefix, each host's ``var/``, and the
hosts' environment (``hosts.env``, mode 0600, as ``/etc/export-job-desk/desk.env`` would be).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "export-job-desk.conf"
PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
READY = re.compile(r"Worker ready \(pid: (\d+)\)")  # dashboard/gunicorn_conf.py, post_worker_init


class TeamError(RuntimeError):
    """A step of starting, deploying or restarting did not happen in time, or failed."""


def render(template: str, values: dict[str, str]) -> str:
    """``template`` with every ``@NAME@`` replaced by ``values[NAME]``; a name without a value is an error."""
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise TeamError(f"no value for {', '.join(missing)} in {TEMPLATE.name}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def wait_until(ready: Callable[[], bool], *, what: str, seconds: float = 60.0) -> None:
    """Poll ``ready`` (every 50 ms) until it is true; after ``seconds`` give up with ``what`` in the error."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise TeamError(f"{what}: not within {seconds:g} s")


def running(pid: int) -> bool:
    """The process exists and is not a zombie (a killed child not yet reaped has ended for us)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def make_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for ``name`` (an address or a host name), valid two days."""
    certificate, key = directory / "certificate.pem", directory / "key.pem"
    kind = "IP" if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+", name) else "DNS"
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TeamError("openssl is not installed: it makes the throwaway certificate")
    subprocess.run(  # noqa: S603 - a fixed argument list
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName={kind}:{name}",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    key.chmod(0o600)
    return certificate, key


@dataclass
class Host:
    """One desk host: a gunicorn master on its own address, with its own ``var/``."""

    name: str
    address: str
    port: int
    var: Path
    workers: int = 2
    threads: int = 8
    started: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)  # masters this process started

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.var / "gunicorn.pid"

    @property
    def log(self) -> Path:
        return self.var / "desk.log"

    def master(self) -> int | None:
        """The master serving now (the pid file's), or None."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if running(pid) else None

    def command(self, release: Path) -> list[str]:
        # The .venv/bin/gunicorn script, not `python -m gunicorn`: only that master can re-execute itself
        # on USR2 (restart in place). Same flags as `make run` (manage.py rundesk).
        return [
            str(release / ".venv" / "bin" / "gunicorn"), "dashboard.wsgi",
            "--config", "python:dashboard.gunicorn_conf",
            "--bind", f"{self.address}:{self.port}",
            "--workers", str(self.workers), "--worker-class", "gthread", "--threads", str(self.threads),
            "--timeout", "30", "--graceful-timeout", "30", "--no-control-socket",
            "--limit-request-line", "8190", "--pid", str(self.pidfile),
            "--access-logfile", str(self.var / "access.log"),
        ]  # fmt: skip

    def start(self, release: Path, env: dict[str, str], *, host_header: str) -> int:
        """Start the master on ``release`` and wait until it answers ``/healthz``; returns its pid."""
        if self.master() is not None:
            raise TeamError(f"host {self.name} is already running (pid {self.master()})")
        self.var.mkdir(parents=True, exist_ok=True, mode=0o700)
        metrics = self.var / "metrics"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(mode=0o700)
        host_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics), "PWD": str(release)}
        with self.log.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - a fixed argument list
                self.command(release), cwd=release, env=host_env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        self.started[process.pid] = process
        wait_until(lambda: self.master() == process.pid or process.poll() is not None, what=f"host {self.name}'s pid")
        if process.poll() is not None:
            raise TeamError(f"host {self.name} stopped at start; see {self.log}")
        self.wait_healthy(host_header)
        return process.pid

    def healthy(self, host_header: str) -> bool:
        request = urllib.request.Request(self.url + "/healthz", headers={"Host": host_header})  # noqa: S310 - http only
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return int(response.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def wait_healthy(self, host_header: str) -> None:
        wait_until(lambda: self.healthy(host_header), what=f"host {self.name} answering /healthz")

    def stop(self, *, graceful: bool = True) -> None:
        """TERM (requests in flight finish, up to the graceful timeout) or KILL the master and its workers."""
        pid = self.master()
        if pid is None:
            return
        if graceful:
            os.kill(pid, signal.SIGTERM)
        else:  # as a host that dies: master and workers at once
            for process in [pid, *children(pid)]:
                os.kill(process, signal.SIGKILL)
        self._reap()
        wait_until(lambda: not running(pid), what=f"host {self.name} stopping", seconds=45)
        self._reap()

    def restart_in_place(self) -> int:
        """Zero-downtime restart on this host (gunicorn's binary upgrade); returns the new master's pid.

        USR2: the master starts a new master from the same command, sharing the listening socket, with
        new workers running the code now on disk. Once they have loaded the desk, TERM to the old master
        ends its workers gracefully (requests in flight finish). Connections never see a closed port.
        (WINCH, which stops the old workers first, is ignored by a gunicorn not run with --daemon.)
        """
        old = self.master()
        if old is None:
            raise TeamError(f"host {self.name} is not running")
        ready_before = len(READY.findall(self.log.read_text(errors="replace")))
        os.kill(old, signal.SIGUSR2)
        successor = Path(str(self.pidfile) + ".2")

        def new_master() -> int | None:
            try:
                pid = int(successor.read_text().strip())
            except (OSError, ValueError):
                return None
            return pid if running(pid) else None

        wait_until(lambda: new_master() is not None, what=f"host {self.name}'s new master")
        new = new_master()
        assert new is not None  # noqa: S101 - just waited for it

        def new_workers_ready() -> bool:
            workers = set(children(new))
            ready = {int(pid) for pid in READY.findall(self.log.read_text(errors="replace"))[ready_before:]}
            return len(workers) == self.workers and workers <= ready

        wait_until(new_workers_ready, what=f"host {self.name}'s new workers loading the desk")
        os.kill(old, signal.SIGTERM)
        wait_until(lambda: not running(old), what=f"host {self.name}'s old master stopping", seconds=45)
        wait_until(lambda: self.master() == new, what=f"host {self.name}'s new master taking over its pid file")
        return new

    def _reap(self) -> None:
        for pid, process in list(self.started.items()):
            if process.poll() is not None:
                del self.started[pid]


@dataclass
class Nginx:
    """nginx with its own prefix (configuration, certificate, logs, pid) under ``prefix``."""

    prefix: Path
    listen: str  # address:port of https
    http_listen: str
    server_name: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def hosts_file(self) -> Path:
        return self.prefix / "export-job-desk-hosts.conf"

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "export-job-desk.access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    def base(self) -> list[str]:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        return [binary, "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.error_log)]

    def configure(self, hosts: Iterable[Host]) -> None:
        for part in ("logs", "temp", "tls"):
            (self.prefix / part).mkdir(parents=True, exist_ok=True, mode=0o700)
        certificate, key = make_certificate(self.prefix / "tls", self.server_name)
        site = render(
            TEMPLATE.read_text(),
            {
                "UPSTREAM_HOSTS": str(self.hosts_file),
                "HTTPS_LISTEN": self.listen,
                "HTTP_LISTEN": self.http_listen,
                "HTTPS_PORT": self.listen.rsplit(":", 1)[1],
                "SERVER_NAME": self.server_name,
                "CERTIFICATE": str(certificate),
                "CERTIFICATE_KEY": str(key),
                "LOG_DIR": str(self.prefix / "logs"),
            },
        )
        (self.prefix / "export-job-desk.conf").write_text(site)
        temp = self.prefix / "temp"
        self.conf.write_text(
            "# nginx of `make team`: everything under this prefix; the desk's part is export-job-desk.conf.\n"
            "worker_processes 2;\n"
            f"pid {self.prefix / 'nginx.pid'};\n"
            f"error_log {self.error_log} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    client_body_temp_path {temp / 'client_body'};\n"
            f"    proxy_temp_path {temp / 'proxy'};\n"
            f"    fastcgi_temp_path {temp / 'fastcgi'};\n"
            f"    uwsgi_temp_path {temp / 'uwsgi'};\n"
            f"    scgi_temp_path {temp / 'scgi'};\n"
            "    default_type application/octet-stream;\n"
            f"    include {self.prefix / 'export-job-desk.conf'};\n"
            "}\n"
        )
        self.write_hosts(hosts)

    def write_hosts(self, hosts: Iterable[Host], *, down: str = "") -> None:
        """The upstream's servers; the host named ``down`` is marked down (no new requests)."""
        lines = [
            f"server {host.address}:{host.port} max_fails=3 fail_timeout=10s{' down' if host.name == down else ''};"
            for host in hosts
        ]
        temporary = self.hosts_file.with_suffix(".new")
        temporary.write_text("\n".join(lines) + "\n")
        temporary.replace(self.hosts_file)

    def start(self) -> None:
        check = subprocess.run([*self.base(), "-t", "-q"], capture_output=True, text=True, timeout=30)  # noqa: S603
        if check.returncode != 0:
            raise TeamError(f"nginx refused its configuration: {check.stderr.strip()}")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list
            [*self.base(), "-g", "daemon off;"], stdin=subprocess.DEVNULL, start_new_session=True
        )
        wait_until(lambda: len(self.workers()) >= 1 or self.process is None or self.process.poll() is not None,
                   what="nginx starting")  # fmt: skip
        if self.process.poll() is not None:
            raise TeamError(f"nginx stopped at start; see {self.error_log}")

    def master(self) -> int | None:
        try:
            pid = int((self.prefix / "nginx.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if running(pid) else None

    def workers(self) -> list[int]:
        master = self.master()
        return [pid for pid in children(master) if running(pid)] if master else []

    def reload(self) -> None:
        """Reload the configuration and wait until every worker of the old one has ended.

        Old workers finish the requests they hold (to any host) before they end, so once they are gone no
        request can still reach a host the new configuration marks down.
        """
        master = self.master()
        if master is None:
            raise TeamError("nginx is not running")
        check = subprocess.run([*self.base(), "-t", "-q"], capture_output=True, text=True, timeout=30)  # noqa: S603
        if check.returncode != 0:
            raise TeamError(f"nginx refused the new configuration: {check.stderr.strip()}")
        old = set(self.workers())
        os.kill(master, signal.SIGHUP)
        wait_until(
            lambda: not (old & set(self.workers())) and bool(self.workers()),
            what="nginx's workers of the old configuration ending",
            seconds=90,
        )

    def stop(self) -> None:
        master = self.master()
        if master is not None:
            os.kill(master, signal.SIGQUIT)
            wait_until(lambda: not running(master), what="nginx stopping", seconds=45)
        if self.process is not None:
            self.process.wait(10)
            self.process = None


@dataclass
class Team:
    """nginx and its hosts under ``run_dir``; the hosts' environment is in ``run_dir/hosts.env``."""

    run_dir: Path
    hosts: list[Host]
    nginx: Nginx
    release: Path = ROOT

    @classmethod
    def on_loopback(
        cls, run_dir: Path, *, https_port: int = 8443, http_port: int = 8080, host_port: int = 8000, workers: int = 2
    ) -> Team:
        hosts = [
            Host(name, address, host_port, run_dir / "hosts" / name / "var", workers=workers)
            for name, address in (("a", "127.0.0.2"), ("b", "127.0.0.3"))
        ]
        nginx = Nginx(run_dir / "nginx", f"127.0.0.1:{https_port}", f"127.0.0.1:{http_port}", "127.0.0.1")
        return cls(run_dir, hosts, nginx)

    @property
    def url(self) -> str:
        return f"https://{self.nginx.listen}"

    @property
    def certificate(self) -> Path:
        return self.nginx.prefix / "tls" / "certificate.pem"

    @property
    def env_file(self) -> Path:
        return self.run_dir / "hosts.env"

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise TeamError(f"no host {name!r}: the hosts are {', '.join(h.name for h in self.hosts)}")

    def settings(self, given: dict[str, str]) -> dict[str, str]:
        """What every host needs behind this nginx, on top of ``given`` (SECRET_KEY, DATABASE_URL, CACHE_URL…)."""
        return {
            **given,
            "HTTPS": "1",
            "ALLOWED_HOSTS": self.nginx.server_name,
            "CSRF_TRUSTED_ORIGINS": self.url,
            "TRUSTED_PROXY_COUNT": "1",
            "TRUSTED_PROXIES": "127.0.0.1",
        }

    def save_env(self, env: dict[str, str]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.writelines(f"{key}={shlex.quote(value)}\n" for key, value in sorted(env.items()))

    def load_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for line in self.env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = shlex.split(value)[0] if value else ""
        return env

    def manage(self, release: Path, env: dict[str, str], *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - a fixed argument list
            [str(release / ".venv" / "bin" / "python"), "manage.py", *args],
            cwd=release, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if result.returncode != 0:
            raise TeamError(f"manage.py {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout

    def start(self, env: dict[str, str]) -> None:
        """Migrate once, start every host, then nginx in front of them."""
        self.save_env(env)
        self.manage(self.release, env, "migrate", "--noinput", "-v", "0")
        self.nginx.configure(self.hosts)
        for host in self.hosts:
            host.start(self.release, env, host_header=self.nginx.server_name)
        self.nginx.start()

    def stop(self) -> None:
        self.nginx.stop()
        for host in self.hosts:
            host.stop()

    def rolling_deploy(
        self, release: Path | None = None, *, migrate: bool = True, say: Callable[[str], None] = lambda _: None
    ) -> None:
        """Each host in turn: out of nginx's rotation, restarted on ``release``, healthy, back in.

        Migrations run first, once, from the new release: they must be ones the old release can live
        with (README, "Migrations that the old release can live with").
        """
        release = release or self.release
        env = self.load_env()
        if migrate:
            say(f"migrating from {release}")
            self.manage(release, env, "migrate", "--noinput", "-v", "0")
        for host in self.hosts:
            say(f"host {host.name}: out of rotation")
            self.nginx.write_hosts(self.hosts, down=host.name)
            self.nginx.reload()
            say(f"host {host.name}: restarting on {release}")
            host.stop()
            pid = host.start(release, env, host_header=self.nginx.server_name)
            say(f"host {host.name}: healthy (master {pid}), back in rotation")
            self.nginx.write_hosts(self.hosts)
            self.nginx.reload()
        self.release = release


# --- make team ------------------------------------------------------------------------------------------

BASE_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")


def desk_variables() -> set[str]:
    """The names of the desk's settings: every variable ``.env.example`` lists, and ``TRUSTED_PROXIES``."""
    listed = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE)
    return {*listed, "TRUSTED_PROXIES", "READ_DOT_ENV"}


def up(args: argparse.Namespace) -> int:
    names = desk_variables()
    given = {key: value for key, value in os.environ.items() if key in names or key in BASE_VARIABLES}
    database, cache = given.get("DATABASE_URL", ""), given.get("CACHE_URL", "")
    if not database.startswith(("postgres://", "postgresql://")) or not cache.startswith(("redis://", "rediss://")):
        print(
            "make team needs the PostgreSQL and the Redis the two hosts share, e.g.\n"
            "  make team DATABASE_URL=postgres://postgres@127.0.0.1:5432/desk CACHE_URL=redis://127.0.0.1:6379/0",
            file=sys.stderr,
        )
        return 2
    team = Team.on_loopback(Path(args.run_dir), https_port=args.port, http_port=args.http_port)
    env = team.settings(given)
    sandbox = None
    if not env.get("PLEO_API_BASE_URL"):  # the sandbox Pleo and its demo user, as `make run` has them
        from exportjobs.sandbox import SandboxServer, seed

        token = secrets.token_urlsafe(24)
        sandbox = SandboxServer(("127.0.0.1", 0), token=token).start()
        env.update(PLEO_API_BASE_URL=sandbox.url, PLEO_API_TOKEN=token, PLEO_API_KEY="", PLEO_SANDBOX="1")
        env.setdefault("PLEO_COMPANY_LABELS", seed.company_labels())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        team.start(env)
        (team.run_dir / "team.json").write_text(json.dumps({"https_port": args.port, "http_port": args.http_port}))
        sign_in = "Sign in with an account from `manage.py createsuperuser`."
        if sandbox is not None:
            reset = "from exportjobs.management.commands.rundesk import Command; print(Command().reset_demo())"
            password = team.manage(team.release, env, "shell", "-v", "0", "-c", reset).strip()
            sign_in = f"Sign in as user 'demo' with password: {password}   (new at every start)"
        print(
            f"\nExport Job Desk for a team on {team.url}/  (throwaway certificate: {team.certificate})\n"
            f"  nginx in front of host a ({team.hosts[0].url}) and host b ({team.hosts[1].url})\n"
            f"  {sign_in}\n"
            "  Rolling deploy:   .venv/bin/python -m deploy.team deploy\n"
            "  Restart in place: .venv/bin/python -m deploy.team restart a\n"
            f"  Logs: {team.nginx.prefix / 'logs'}/, {team.run_dir / 'hosts'}/*/var/desk.log\n"
            "  Stop with Ctrl+C.\n",
            flush=True,
        )
        stop.wait()
    finally:
        team.stop()
        if sandbox is not None:
            sandbox.stop()
    return 0


def attached(run_dir: Path) -> Team:
    """The team that ``up`` started with the same ``--run-dir``."""
    try:
        ports = json.loads((run_dir / "team.json").read_text())
    except OSError:
        raise TeamError(f"no team runs from {run_dir}: start one with `make team`") from None
    return Team.on_loopback(run_dir, https_port=ports["https_port"], http_port=ports["http_port"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.team", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--run-dir", default=str(ROOT / "var" / "team"))
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start nginx and two hosts; stop with Ctrl+C")
    start.add_argument("--port", type=int, default=int(os.environ.get("TEAM_PORT", "8443")))
    start.add_argument("--http-port", type=int, default=int(os.environ.get("TEAM_HTTP_PORT", "8080")))
    deploy = commands.add_parser("deploy", help="rolling deploy of the running team")
    deploy.add_argument("--release", default=str(ROOT), help="the new release's directory (with its .venv)")
    deploy.add_argument("--no-migrate", action="store_true")
    restart = commands.add_parser("restart", help="restart one host in place (gunicorn USR2)")
    restart.add_argument("host", choices=["a", "b"])
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)

    try:
        if args.command == "up":
            return up(args)
        team = attached(Path(args.run_dir))
        if args.command == "deploy":
            team.rolling_deploy(Path(args.release).resolve(), migrate=not args.no_migrate, say=say)
        else:
            say(f"host {args.host}: restarted in place, new master {team.host(args.host).restart_in_place()}")
    except TeamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
