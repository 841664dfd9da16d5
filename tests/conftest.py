"""Fixtures shared by the whole suite: the sandbox Pleo API, signed-in users, service checks."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from exportjobs.sandbox import SandboxServer
from exportjobs.sandbox import seed

IN_CI = bool(os.environ.get("CI"))
SANDBOX_TOKEN = "sandbox-" + secrets.token_urlsafe(16)
API_KEY = "apikey-" + secrets.token_urlsafe(16)  # for tests of Basic auth


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


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def sandbox():
    server = SandboxServer(token=SANDBOX_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_token_leaks(settings, caplog):
    """In every test: the Pleo token appears in no rendered page, header or log line."""
    from tests import leakcheck

    leakcheck.SECRETS[:] = [SANDBOX_TOKEN, API_KEY]
    leakcheck.LEAKS.clear()
    settings.MIDDLEWARE = ["tests.leakcheck.TokenLeakMiddleware", *settings.MIDDLEWARE]
    yield
    assert not leakcheck.LEAKS, f"the Pleo token was in these responses: {leakcheck.LEAKS}"
    assert SANDBOX_TOKEN not in caplog.text and API_KEY not in caplog.text, "the Pleo token was logged"


@pytest.fixture(autouse=True)
def _clean_state(request, settings):
    """Each test starts with the seeded sandbox, an empty cache and the sandbox as Pleo."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    if "sandbox" in request.fixturenames or "desk" in request.fixturenames:
        server = request.getfixturevalue("sandbox")
        server.state.reset()
        settings.PLEO_API_BASE_URL = server.url
        settings.PLEO_API_TOKEN = SANDBOX_TOKEN
        settings.PLEO_API_KEY = ""
        settings.PLEO_API_TIMEOUT = 1.0
    try:
        cache.clear()
    except Exception:  # noqa: BLE001 - a test may point the cache at a stopped server
        pass
    yield


@pytest.fixture
def finance_user(django_user_model):
    user = django_user_model.objects.create_user("fiona", password="a-long-test-password")
    user.groups.add(Group.objects.get(name="Finance"))
    return user


@pytest.fixture
def desk(client, finance_user, sandbox):
    """A browser-less client signed in as a finance user, with the sandbox as Pleo."""
    client.force_login(finance_user)
    return client


@pytest.fixture
def chromium_path():
    need(shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def redis_url():
    need(port_open(REDIS_URL, 6379), f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


def job_url(name_or_id: str) -> str:
    job_id = name_or_id if len(name_or_id) == 36 else seed.job_uuid(name_or_id)
    return f"/jobs/{job_id}/"


def job_payload(job_id: str = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c", **fields) -> dict:
    """A contract-shaped ``data`` object; keyword arguments override or add fields (camelCase)."""
    payload = {
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
