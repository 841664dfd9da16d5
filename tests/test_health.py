"""`/healthz`: answered before the session, the user and the language are read; the database and the cache
reported apart; GET and HEAD."""

from __future__ import annotations

import secrets
import socket
import string

import pytest
from django.db import OperationalError, connections
from django.test import Client

pytestmark = pytest.mark.django_db


def a_session_key() -> str:
    """As long as Django's own (32 characters): a shorter one is dropped without asking the database."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(32))


@pytest.fixture
def database_down(monkeypatch):
    """Every query fails as with a stopped database server (refused connection)."""

    def refused(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refused)


def test_healthz_reports_the_database_and_the_cache_apart(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "cache")} == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
    }
    assert "no-store" in response["Cache-Control"]


def test_healthz_with_a_session_cookie_during_a_database_outage_is_a_503_in_json(database_down):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = a_session_key()
    client.cookies["desk_language"] = "da"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "error"
    assert response.json()["database"] == "unavailable"
    assert response.json()["cache"] == "ok"


def test_healthz_reads_no_session_and_no_user(client, finance_user, django_assert_num_queries):
    client.force_login(finance_user)
    with django_assert_num_queries(1):  # its own SELECT 1, nothing of the session or the user
        assert client.get("/healthz").status_code == 200


def test_a_cache_outage_alone_is_reported_and_healthz_still_answers_200(client, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    for _ in range(2):  # the second answer from the open breaker, without asking Redis again
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.json()["cache"] == "unavailable"


def test_head_on_healthz_answers_like_get_without_a_body(client, database_down):
    assert client.get("/healthz").status_code == 503
    response = client.head("/healthz")
    assert response.status_code == 503
    assert response.content == b""
    assert response["Content-Type"] == "application/json"


def test_head_on_a_healthy_healthz_is_200_and_other_methods_are_refused(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.options("/healthz")["Allow"] == "GET, HEAD"
