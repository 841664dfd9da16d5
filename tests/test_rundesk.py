"""`make run`'s server: sandbox mode with a fresh demo password, real mode without a demo user."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from exportjobs.management.commands.rundesk import DEMO_USER, Command
from exportjobs.sandbox import seed
from tests.helpers import HANG_GUARD, collect_static, wait_for

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_sandbox_mode_gives_the_demo_user_a_new_random_password_each_time(django_user_model):
    command = Command()
    first = command.reset_demo()
    second = command.reset_demo()
    assert first != second
    assert len(second) >= 16
    demo = django_user_model.objects.get(username=DEMO_USER)
    assert demo.is_active
    assert not demo.is_staff
    assert not demo.is_superuser
    assert demo.check_password(second)
    assert not demo.check_password(first)
    assert demo.has_perm("exportjobs.view_export_jobs")


@pytest.mark.django_db
def test_real_mode_deactivates_an_existing_demo_user(django_user_model):
    Command().reset_demo()
    Command().deactivate_demo()
    demo = django_user_model.objects.get(username=DEMO_USER)
    assert not demo.is_active
    assert not demo.has_usable_password()


def test_no_fixed_password_or_secret_exists_in_the_code():
    for path in [*ROOT.glob("exportjobs/**/*.py"), *ROOT.glob("dashboard/*.py"), ROOT / "Makefile"]:
        text = path.read_text()
        assert not re.search(r"SECRET_KEY\s*=\s*['\"][^'\"\s+]{8,}['\"]", text), path
        assert not re.search(r"set_password\(\s*['\"]", text), path


@pytest.mark.slow
def test_the_served_dashboard_answers_health_and_shows_the_samples_and_the_list_after_sign_in(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "DATABASE_URL", "CACHE_URL"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PORT": str(port),
        "READ_DOT_ENV": "0",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    collect_static()
    server = subprocess.Popen(
        [*manage, "rundesk"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(server.stdout.readline, "")), daemon=True)
    reader.start()
    try:

        def demo_password() -> str | None:
            match = next(
                (m for line in list(lines) if (m := re.search(r"user 'demo' with password: (\S+)", line))), None
            )
            return match.group(1) if match else None

        wait_for(demo_password, what="the demo sign-in on the console")
        password = demo_password()
        assert any(base in line for line in lines)
        assert any("sandbox" in line for line in lines)

        wait_for(lambda: requests.get(f"{base}/healthz", timeout=10).status_code == 200, what="the desk's /healthz")

        browser = requests.Session()
        assert browser.get(f"{base}/", timeout=HANG_GUARD).url.startswith(f"{base}/accounts/login/")
        login = browser.get(f"{base}/accounts/login/", timeout=HANG_GUARD)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        home = browser.post(
            f"{base}/accounts/login/",
            data={"username": "demo", "password": password, "csrfmiddlewaretoken": token, "next": "/"},
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=HANG_GUARD,
        )
        assert home.status_code == 200
        assert "Sample jobs in the sandbox" in home.text
        assert "Sandbox" in home.text
        job = browser.get(f"{base}/jobs/{seed.DOC_SAMPLE_ID}/", timeout=HANG_GUARD)
        assert job.status_code == 200
        assert "The accounting system rejected the login" in job.text
        assert "Nordlys ApS" in job.text  # the sandbox's companies are named
        listed = browser.get(f"{base}/attention/?period=30d", timeout=HANG_GUARD)
        assert listed.status_code == 200
        assert "Nordlys AB" in listed.text
        css = browser.get(f"{base}/static/exportjobs/desk.css", timeout=HANG_GUARD)
        assert css.status_code == 200  # whitenoise serves static files under gunicorn
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def test_start_up_says_when_several_workers_would_not_share_the_cache():
    from exportjobs.management.commands.rundesk import cache_sharing_note

    note = cache_sharing_note(3, "django.core.cache.backends.locmem.LocMemCache")
    assert "WEB_CONCURRENCY=3" in note
    assert "single flight" in note
    assert "CACHE_URL=redis" in note
    assert cache_sharing_note(1, "django.core.cache.backends.locmem.LocMemCache") == ""
    assert cache_sharing_note(3, "django.core.cache.backends.redis.RedisCache") == ""
