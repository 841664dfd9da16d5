"""Security headers on every page type, private caching of job pages, and `check --deploy`."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from exportjobs.sandbox import seed

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db

PAGES = {
    "home": ("/", 200),
    "lookup error": ("/lookup/?job_id=nothing", 400),
    "job": (f"/jobs/{seed.DOC_SAMPLE_ID}/", 200),
    "not found": (f"/jobs/{seed.NOT_FOUND_EXAMPLE}/", 404),
    "Pleo down": (f"/jobs/{seed.job_uuid('fault:503')}/", 503),
    "unknown page": ("/no/such/page/", 404),
    "needs attention": ("/attention/", 200),
    "needs attention, bad filter": ("/attention/?period=1y", 400),
    "healthz": ("/healthz", 200),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_type_sends_the_security_headers(desk, name):
    path, status = PAGES[name]
    response = desk.get(path)
    assert response.status_code == status
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_sign_in_and_403_pages_send_them_too(client, django_user_model):
    assert "script-src 'self'" in client.get("/accounts/login/")["Content-Security-Policy"]
    client.force_login(django_user_model.objects.create_user("nobody"))
    response = client.get("/")
    assert response.status_code == 403
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", [f"/jobs/{seed.DOC_SAMPLE_ID}/", f"/jobs/{seed.NOT_FOUND_EXAMPLE}/"])
def test_job_pages_are_never_stored_by_browsers_or_proxies(desk, path):
    cache_control = desk.get(path)["Cache-Control"]
    assert "private" in cache_control
    assert "no-store" in cache_control


def test_no_template_has_inline_script_or_style():
    for template in ROOT.glob("templates/**/*.html"):
        text = template.read_text()
        assert "<script>" not in text, template
        assert "<script " not in text.replace('<script src="', ""), template
        assert " style=" not in text, template
        assert " on" + "click=" not in text, template


def test_the_session_cookie_is_httponly_lax_and_lasts_eight_hours(client, finance_user, settings):
    response = client.post("/accounts/login/", {"username": "fiona", "password": "a-long-test-password"})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 8 * 3600 == settings.SESSION_COOKIE_AGE
    assert not cookie["secure"]  # HTTPS is off by default


def test_https_makes_cookies_secure_and_adds_hsts_and_redirects(client, finance_user, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the TLS proxy: the test client's address
    assert client.get("/accounts/login/")["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200  # load balancers probe over plain HTTP
    response = client.post(
        "/accounts/login/", {"username": "fiona", "password": "a-long-test-password"}, HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.cookies["sessionid"]["secure"] is True
    assert (
        "max-age=31536000"
        in client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")["Strict-Transport-Security"]
    )


def test_check_deploy_is_clean_with_https_on():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},  # set only for browser tests
        "DEBUG": "0",
        "HTTPS": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "READ_DOT_ENV": "0",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
