"""``manage.py rundesk``: what ``make run`` serves.

Without ``PLEO_API_BASE_URL`` it starts the sandbox Pleo API beside the
dashboard, marks every page "Sandbox" and gives the ``demo`` user a fresh random
password. With it, the ``demo`` user (if any) is deactivated. Then it runs
gunicorn (or, with ``--dev``, Django's development server) until stopped, with one alerts worker beside it
(``manage.py alerts worker``); in the sandbox, a sample alert rule delivers to the built-in outbox.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError

from exportjobs.alerts.channels import OUTBOX
from exportjobs.alerts.poll import DEFAULT_STATES
from exportjobs.models import AlertRule

DEMO_USER = "demo"
SANDBOX_RULE = "Sandbox outbox"
WORKER = ("alerts", "--verbosity", "0", "worker")  # manage.py's arguments for the alerts worker beside the server


def sqlite_file() -> Path | None:
    database = settings.DATABASES["default"]
    return Path(str(database.get("NAME", ""))) if str(database.get("ENGINE", "")).endswith("sqlite3") else None


def protect_files(var: Path | None = None, database: Path | None = None) -> list[Path]:
    """Make what the desk keeps on disk private to its owner: ``var/`` 0700, a SQLite database 0600.

    Files written from now on by this process and the server it starts are private too (umask 077).
    Returns the paths whose mode was changed.
    """
    os.umask(0o077)
    changed = []
    var = var or Path(settings.BASE_DIR) / "var"
    if var.is_dir() and var.stat().st_mode & 0o077:
        var.chmod(0o700)
        changed.append(var)
    name = database or sqlite_file()
    if name is not None:
        for path in (name, name.with_name(name.name + "-wal"), name.with_name(name.name + "-shm")):
            if path.is_file() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
                changed.append(path)
    return changed


def cache_sharing_note(workers: int, backend: str) -> str:
    """What start-up must say when several workers would each keep a private cache."""
    if workers > 1 and backend.endswith("LocMemCache"):
        return (
            f"Note: WEB_CONCURRENCY={workers} with the local-memory cache: each worker keeps its own "
            "cache, so cached copies and single flight are per worker, not shared. "
            "Set CACHE_URL=redis://… to share them."
        )
    return ""


def dev_bind_refusal(host: str) -> str:
    """Why ``--dev`` (Django's development server, debug pages on) may not listen on ``host``; "" when it may.

    The debug page shows the settings and the environment to whoever causes an error: it stays on this
    machine (a loopback address).
    """
    name = host.strip("[]")
    if name == "localhost":
        return ""
    try:
        loopback = ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return ""
    return (
        f"make dev serves Django's debug pages, which show the settings: it listens on this machine only "
        f"(HOST=127.0.0.1), not on {host}. Use make run to serve others."
    )


class Command(BaseCommand):
    help = "Serve the dashboard (gunicorn), with the sandbox Pleo API when PLEO_API_BASE_URL is unset."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dev", action="store_true", help="Django's development server with DEBUG on")
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "0")))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dev"] and (refusal := dev_bind_refusal(options["host"])):
            raise CommandError(refusal)
        protect_files()
        env = os.environ.copy()
        sandbox = None
        url = f"http://{options['host']}:{options['port']}"
        env.setdefault("DESK_BASE_URL", url)  # the links in alerts point at this server unless told otherwise
        if settings.PLEO_API_BASE_URL:
            mode = f"Pleo at {settings.PLEO_API_BASE_URL}"
            self.deactivate_demo()
            sign_in = "Sign in with an account from `manage.py createsuperuser` or Django admin (/admin/)."
        else:
            from exportjobs.sandbox import SandboxServer, seed

            token = secrets.token_urlsafe(24)
            sandbox = SandboxServer(("127.0.0.1", options["sandbox_port"]), token=token).start()
            env.update(PLEO_API_BASE_URL=sandbox.url, PLEO_API_TOKEN=token, PLEO_API_KEY="", PLEO_SANDBOX="1")
            if not env.get("PLEO_COMPANY_LABELS"):  # the sandbox's companies by name
                env["PLEO_COMPANY_LABELS"] = seed.company_labels()
            password = self.reset_demo()
            self.sandbox_rule()
            mode = f"the sandbox Pleo API at {sandbox.url} (sample data; set PLEO_API_BASE_URL to use Pleo)"
            sign_in = f"Sign in as user '{DEMO_USER}' with password: {password}   (new at every start)"

        workers = int(env.get("WEB_CONCURRENCY", "1") or "1")
        self.stdout.write(f"\nExport Job Desk on {url}\n  Talking to {mode}\n  {sign_in}\n")
        note = cache_sharing_note(workers, settings.CACHES["default"]["BACKEND"])
        if note:
            self.stdout.write(self.style.WARNING(f"  {note}"))
        if options["dev"]:
            self.stdout.write(
                f"  Development server with DEBUG on, for this machine only ({options['host']}): a request for "
                "another host name gets a plain 400, never the debug page."
            )
        self.stdout.write("  Stop with Ctrl+C.\n\n")
        self.stdout.flush()

        # Every worker writes its metrics here, so one scrape of /metrics sees them all.
        metrics_dir = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or settings.BASE_DIR / "var" / "metrics")
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, mode=0o700)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

        if options["dev"]:
            env["DEBUG"] = "1"
            command = [sys.executable, "manage.py", "runserver", "--noreload", f"{options['host']}:{options['port']}"]
        else:
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "dashboard.wsgi",
                "--config",
                "python:dashboard.gunicorn_conf",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                env.get("GUNICORN_THREADS", "8"),
                "--timeout",
                "30",
                "--graceful-timeout",
                "10",
                "--no-control-socket",
                "--limit-request-line",
                "8190",  # links such as /bulk/?ids=… can be long
                "--access-logfile",
                "-",
            ]
        process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)  # noqa: S603 - a fixed argument list
        # One alerts worker beside the web server (Django's tasks on the database): it polls Pleo for alerts
        # and delivers them. More can run anywhere with `manage.py alerts worker` (on PostgreSQL).
        worker_command = [sys.executable, "manage.py", *WORKER]
        worker = subprocess.Popen(worker_command, env=env, cwd=settings.BASE_DIR)  # noqa: S603 - a fixed argument list

        def forward(signum: int, _frame: FrameType | None) -> None:
            process.send_signal(signum)
            worker.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        try:
            code = process.wait()
        finally:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
            if sandbox is not None:
                sandbox.stop()
        if code not in (0, -signal.SIGTERM, -signal.SIGINT):
            raise CommandError(f"the server stopped with exit code {code}")

    def reset_demo(self) -> str:
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER)
        user.set_password(password)
        user.is_active = True
        user.is_staff = False
        user.is_superuser = False
        user.save()
        finance, _ = Group.objects.get_or_create(name="Finance")
        user.groups.add(finance)
        # In the sandbox the demo user may also manage alerts, to see the sample rule at /alerts/.
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="exportjobs", codename="manage_alerts")
        )
        return password

    def sandbox_rule(self) -> None:
        """In the sandbox, a sample alert rule that delivers to the built-in outbox (/alerts/outbox/): every
        failed, partly exported or possibly stuck job is told there, and no message leaves the machine."""
        AlertRule.objects.get_or_create(
            name=SANDBOX_RULE,
            defaults={
                "channel": OUTBOX,
                "channel_masked": OUTBOX,
                "states": [state.value for state in DEFAULT_STATES],
                "language": settings.LANGUAGE_CODE,
            },
        )

    def deactivate_demo(self) -> None:
        demo = get_user_model().objects.filter(username=DEMO_USER).first()
        if demo is not None and (demo.is_active or demo.has_usable_password()):
            demo.is_active = False
            demo.set_unusable_password()
            demo.save()
            self.stdout.write(f"  The sandbox's '{DEMO_USER}' user was deactivated: this dashboard talks to Pleo.")
