"""Fixtures shared by the whole suite: the sandbox Pleo API, signed-in users, service checks."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models.signals import post_migrate

from exportjobs import cache as desk_cache
from exportjobs import clock as desk_clock
from exportjobs import logs as desk_logs
from exportjobs.sandbox import SandboxServer
from tests.helpers import (
    API_KEY,
    CHROMIUM,
    REDIS_URL,
    SANDBOX_TOKEN,
    OwnRedis,
    Receiver,
    list_page_problems,
    need,
    port_open,
)


def _put_back_what_the_migrations_made(sender, **kwargs) -> None:
    """A ``live_server`` test ends by flushing the database, and the "Finance" group that a data migration
    made goes with it. Django sends ``post_migrate`` after that flush; the group is made again here, so a
    test never depends on whether a browser test ran before it in the same process (with pytest-xdist,
    files run in a different order on each worker)."""
    if sender.label == "exportjobs":
        importlib.import_module("exportjobs.migrations.0002_finance_group").create_group(django_apps, None)


post_migrate.connect(_put_back_what_the_migrations_made, dispatch_uid="tests-migration-data")


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
    assert SANDBOX_TOKEN not in caplog.text, "the Pleo token was logged"
    assert API_KEY not in caplog.text, "the Pleo API key was logged"


@pytest.fixture(autouse=True)
def _clean_state(request, settings):
    """Each test starts with the seeded sandbox, an empty cache and the sandbox as Pleo."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # whitenoise reads every file under STATIC_ROOT (500 once collected) when a middleware chain is built,
    # which each test's client does: 0.1 s a test. Looked up when asked for instead, as with DEBUG.
    settings.WHITENOISE_AUTOREFRESH = True
    if "sandbox" in request.fixturenames or "desk" in request.fixturenames:
        server = request.getfixturevalue("sandbox")
        server.state.reset()
        settings.PLEO_API_BASE_URL = server.url
        settings.PLEO_API_TOKEN = SANDBOX_TOKEN
        settings.PLEO_API_KEY = ""
        settings.PLEO_API_TIMEOUT = 5.0  # generous: a busy machine never turns a normal answer into a timeout
    desk_clock.reset()
    with contextlib.suppress(Exception):  # a test may point the cache at a stopped server
        cache.clear()
    desk_cache.reset()  # this process's own layer, breaker and warnings
    desk_logs.reset_repeats()  # no held-back count of an earlier test is written during this one
    yield
    desk_clock.reset()
    if "sandbox" in request.fixturenames or "desk" in request.fixturenames:
        request.getfixturevalue("sandbox").state.release()  # no call stays stuck behind a test's gate or hang


@pytest.fixture
def clock():
    """The desk's clock (``exportjobs.clock``): ``clock.shift(seconds)`` lets a lifetime run out at once."""
    return desk_clock


@pytest.fixture(autouse=True)
def _list_pages_keep_the_contract(request):
    """After every test that ran the sandbox: each list page it served validates against the contract."""
    yield
    if "sandbox" in request.fixturenames or "desk" in request.fixturenames:
        for page in request.getfixturevalue("sandbox").state.served_list_pages():
            assert list_page_problems(page) == [], page["pagination"]


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
    need(
        shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM),
        f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
    )
    return CHROMIUM


@pytest.fixture
def redis_url():
    need(port_open(REDIS_URL, 6379), f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of the test's own, so the test can stop or hang it mid-run."""
    server = OwnRedis(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def receiver():
    """An HTTP receiver on loopback (a webhook channel's other end), stopped after the test."""
    server = Receiver()
    yield server
    server.stop()
