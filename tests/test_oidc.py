"""Sign-in with the company's identity provider (OpenID Connect).

Two providers, both real HTTP servers on loopback:

- panva's ``oidc-provider`` (npm, ``tests/oidc/``; ``.ci/run`` installs it with ``npm ci``), the real
  thing: the whole code flow through Chromium and through a plain HTTP client (requests) against the
  desk under pytest-django's ``live_server``, group changes, the session's renewal, sign-out at the
  provider, a cancelled sign-in;
- a small provider of the tests' own (``FakeProvider``) whose token endpoint answers whatever ID token
  the test made: a wrong ``aud`` or ``iss``, an expired one, a replayed ``nonce``, ``alg: none``, a key
  the provider never published, and a discovery document or token endpoint that fails.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from playwright.sync_api import Browser, expect, sync_playwright

from exportjobs import oidc
from exportjobs.models import AuditEvent, OIDCIdentity
from exportjobs.sandbox import seed
from tests.helpers import free_port, job_payload, need, text_of, wait_for

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_DIR = ROOT / "tests" / "oidc"
CLIENT_ID = "export-job-desk"
CLIENT_SECRET = "client-secret-" + secrets.token_urlsafe(16)
JOB = seed.DOC_SAMPLE_ID  # a failed job: "The accounting system rejected the login"
JOB_WORDS = "The accounting system rejected the login"
PENDING = seed.job_uuid("pending")
NOT_ALLOWED = "Your account is not allowed to see exports"
BACKEND = "exportjobs.oidc.OIDCBackend"
PASSWORD = "a-long-test-password"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def configure(settings, issuer: str, **overrides: Any) -> None:
    """The desk with the provider at ``issuer`` (what OIDC_* in the environment give at start-up)."""
    settings.OIDC_ISSUER = issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Testprovider"
    settings.OIDC_EXTRA_SCOPES = ["groups"]
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.OIDC_FINANCE_GROUPS = ["finance"]
    settings.OIDC_ALERT_ADMIN_GROUPS = ["finance-tools-admins"]
    settings.OIDC_RENEW_SECONDS = 900
    settings.OIDC_ONLY = False
    settings.BREAK_GLASS_USERS = []
    if BACKEND not in settings.AUTHENTICATION_BACKENDS:
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)  # as settings.py adds the provider for sign-out
    policy["DIRECTIVES"]["form-action"] = ["'self'", issuer]
    settings.CONTENT_SECURITY_POLICY = policy
    for name, value in overrides.items():
        setattr(settings, name, value)
    oidc.forget()


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def signed_in_user(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


# --- a provider of the tests' own: its token endpoint answers the ID token a test made ----------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeProvider:
    """Discovery, keys, token and userinfo endpoints on a free loopback port, each answer set by the test.

    ``requests`` counts the calls per path, so a test can tell a cached key set from a fetched one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys = [self.new_key()]
        self.id_token = ""
        self.userinfo: dict[str, Any] = {}
        self.token_status = 200
        self.token_error: dict[str, Any] = {}
        self.discovery: dict[str, Any] | None = None  # None: the document as it should be
        self.discovery_status = 200
        self.requests: dict[str, int] = {}
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                provider.count(path)
                if path == "/.well-known/openid-configuration":
                    self.answer(provider.discovery_status, provider.document())
                elif path == "/jwks":
                    self.answer(200, {"keys": [public for _, public in provider.keys]})
                elif path == "/userinfo":
                    self.answer(200, provider.userinfo)
                else:
                    self.answer(404, {})

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                provider.count(path)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if path != "/token":
                    self.answer(404, {})
                elif provider.token_status != 200:
                    self.answer(provider.token_status, provider.token_error)
                else:
                    self.answer(200, {"access_token": "at-1", "token_type": "Bearer", "id_token": provider.id_token})

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def count(self, path: str) -> None:
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1

    def calls(self, path: str) -> int:
        with self.lock:
            return self.requests.get(path, 0)

    @staticmethod
    def new_key() -> tuple[rsa.RSAPrivateKey, dict[str, Any]]:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        public.update(kid=secrets.token_hex(8), use="sig", alg="RS256")
        return private, public

    def document(self) -> dict[str, Any]:
        if self.discovery is not None:
            return self.discovery
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "end_session_endpoint": f"{self.issuer}/logout",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def claims(self, token_nonce: str, /, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "person-1", "iat": now, "exp": now + 300}
        claims["nonce"] = token_nonce
        claims.update(changes)
        return {key: value for key, value in claims.items() if value is not None}

    def sign(self, claims: dict[str, Any], *, key: tuple[rsa.RSAPrivateKey, dict[str, Any]] | None = None) -> str:
        private, public = key or self.keys[0]
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": public["kid"]})

    def start(self) -> FakeProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake(settings, db) -> Iterator[FakeProvider]:
    provider = FakeProvider().start()
    configure(settings, provider.issuer)
    yield provider
    provider.stop()


def start_sign_in(client: Client, next_url: str = f"/jobs/{JOB}/") -> dict[str, str]:
    """The desk's redirect to the provider: its query (state, nonce, PKCE challenge, …)."""
    response = client.get("/oidc/authenticate/", {"next": next_url})
    assert response.status_code == 302, response.content[:500]
    return query_of(response["Location"])


def finish_sign_in(client: Client, fake: FakeProvider, state: str, **headers: str):
    return client.get("/oidc/callback/", {"code": "code-1", "state": state}, **headers)


def sign_in_with_fake(client: Client, fake: FakeProvider, *, groups=("finance",), **claims: Any):
    params = start_sign_in(client)
    token_claims = fake.claims(params["nonce"], **claims)
    fake.id_token = fake.sign(token_claims)
    fake.userinfo = {"sub": token_claims["sub"], "groups": list(groups)}
    return finish_sign_in(client, fake, params["state"])


# --- OIDC off ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_an_issuer_nothing_changes(client, settings, finance_user, sandbox):
    settings.OIDC_ISSUER = ""
    page = client.get(f"/accounts/login/?next=/jobs/{JOB}/").content.decode()
    assert "Sign in with" not in page
    assert 'name="password"' in page
    for path in ("/oidc/authenticate/", "/oidc/callback/?code=x&state=y"):
        assert client.get(path).status_code == 404
    assert client.post("/oidc/logout/").status_code == 404
    response = client.post("/accounts/login/", {"username": "fiona", "password": PASSWORD, "next": f"/jobs/{JOB}/"})
    assert response["Location"] == f"/jobs/{JOB}/"
    assert JOB_WORDS in client.get(f"/jobs/{JOB}/").content.decode()
    assert BACKEND not in settings.AUTHENTICATION_BACKENDS


# --- the sign-in page and the request to the provider ------------------------------------------------


def test_the_sign_in_page_offers_the_provider_and_keeps_the_ticket_link(client, fake):
    page = client.get(f"/accounts/login/?next=/jobs/{JOB}/").content.decode()
    assert "Sign in with Testprovider" in page
    assert f'href="/oidc/authenticate/?next=/jobs/{JOB}/"' in page
    assert 'name="password"' in page  # passwords still work while OIDC_ONLY is off


def test_the_request_to_the_provider_uses_the_code_flow_with_state_nonce_and_pkce(client, fake):
    params = start_sign_in(client)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == "http://testserver/oidc/callback/"
    assert params["scope"] == "openid email profile groups"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 32
    assert len(params["code_challenge"]) == 43
    assert fake.calls("/.well-known/openid-configuration") == 1
    states = client.session["oidc_states"]
    assert states[params["state"]]["nonce"] == params["nonce"]
    assert client.session["oidc_login_next"] == f"/jobs/{JOB}/"


def test_the_ticket_link_survives_the_flow_and_the_person_is_signed_in(client, fake, sandbox):
    response = sign_in_with_fake(client, fake, email="fiona@example.com", given_name="Fiona", family_name="Berg")
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{JOB}/"
    page = client.get(f"/jobs/{JOB}/")
    assert page.status_code == 200
    assert JOB_WORDS in page.content.decode()
    user = User.objects.get(pk=signed_in_user(client))
    assert (user.email, user.first_name, user.last_name) == ("fiona@example.com", "Fiona", "Berg")
    assert user.username == "fiona@example.com"
    assert not user.has_usable_password()
    assert OIDCIdentity.objects.get(user=user).sub == "person-1"
    assert client.session["_auth_user_backend"] == BACKEND
    event = AuditEvent.objects.get(action="sign_in")
    assert (event.username, event.outcome, event.signin_method) == (user.username, "signed_in", "oidc")


# --- what the library leaves open: each refused with a page, never a 500 -------------------------------

FORGED = {
    "wrong aud": lambda fake, nonce: fake.sign(fake.claims(nonce, aud="another-application")),
    "several audiences, no azp": lambda fake, nonce: fake.sign(fake.claims(nonce, aud=[CLIENT_ID, "other"])),
    "wrong iss": lambda fake, nonce: fake.sign(fake.claims(nonce, iss="https://evil.example")),
    "expired": lambda fake, nonce: fake.sign(fake.claims(nonce, exp=int(time.time()) - 3600)),
    "issued in the future": lambda fake, nonce: fake.sign(fake.claims(nonce, iat=int(time.time()) + 3600)),
    "no iat": lambda fake, nonce: fake.sign(fake.claims(nonce, iat=None)),
    "other nonce": lambda fake, nonce: fake.sign(fake.claims("n-" + secrets.token_hex(16))),
    "no nonce": lambda fake, nonce: fake.sign(fake.claims(nonce, nonce=None)),
    "unknown key": lambda fake, nonce: fake.sign(fake.claims(nonce), key=FakeProvider.new_key()),
    "known kid, other key": lambda fake, nonce: fake.sign(
        fake.claims(nonce), key=(FakeProvider.new_key()[0], fake.keys[0][1])
    ),
    "alg none": lambda fake, nonce: (
        f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(fake.claims(nonce)).encode())}."
    ),
    "alg HS256 with the client secret": lambda fake, nonce: jwt.encode(
        fake.claims(nonce), CLIENT_SECRET, algorithm="HS256", headers={"kid": fake.keys[0][1]["kid"]}
    ),
    "no kid": lambda fake, nonce: jwt.encode(fake.claims(nonce), fake.keys[0][0], algorithm="RS256"),
    "not a JWT": lambda fake, nonce: "not-a-token",
}


@pytest.mark.parametrize("case", list(FORGED))
def test_an_id_token_that_fails_a_check_is_refused_with_a_page(client, fake, sandbox, case):
    if case == "no kid":  # one key and no kid is a valid token: refused only once the provider has two keys
        fake.keys.append(FakeProvider.new_key())
    params = start_sign_in(client)
    fake.id_token = FORGED[case](fake, params["nonce"])
    fake.userinfo = {"sub": "person-1", "groups": ["finance"]}
    response = finish_sign_in(client, fake, params["state"], HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, case
    page = text_of(response.content.decode())
    assert "Export Job Desk could not trust this sign-in" in page
    assert "Sign in again" in page
    assert signed_in_user(client) is None
    assert not OIDCIdentity.objects.exists()
    assert AuditEvent.objects.filter(action="sign_in", outcome="refused", error_code="refused").count() == 1
    assert client.get(f"/jobs/{JOB}/").status_code == 302  # still signed out


def test_a_token_of_an_earlier_sign_in_is_not_accepted_in_a_later_one(client, fake, sandbox):
    """A replayed nonce: the token of sign-in 1, answered again to sign-in 2, is refused."""
    first = sign_in_with_fake(client, fake)
    assert first.status_code == 302
    earlier = fake.id_token
    client.post("/accounts/logout/")
    params = start_sign_in(client)
    fake.id_token = earlier
    response = finish_sign_in(client, fake, params["state"])
    assert response.status_code == 400
    assert signed_in_user(client) is None


def test_a_callback_answered_twice_or_with_a_state_the_desk_never_sent_is_an_expired_sign_in(client, fake):
    params = start_sign_in(client)
    fake.id_token = fake.sign(fake.claims(params["nonce"]))
    fake.userinfo = {"sub": "person-1", "groups": ["finance"]}
    wrong = client.get("/oidc/callback/", {"code": "code-1", "state": "made-up-" + secrets.token_hex(8)})
    assert wrong.status_code == 400
    assert "This sign-in has expired" in text_of(wrong.content.decode())
    assert fake.calls("/token") == 0  # the code was never exchanged
    assert finish_sign_in(client, fake, params["state"]).status_code == 302
    client.post("/accounts/logout/")
    again = finish_sign_in(client, fake, params["state"])  # the same answer again: its state is used up
    assert again.status_code == 400
    assert fake.calls("/token") == 1
    assert signed_in_user(client) is None


def test_an_answer_naming_another_issuer_is_refused(client, fake):
    params = start_sign_in(client)
    response = client.get("/oidc/callback/", {"code": "c", "state": params["state"], "iss": "https://evil.example"})
    assert response.status_code == 400
    assert fake.calls("/token") == 0


def test_userinfo_about_another_person_is_refused(client, fake):
    params = start_sign_in(client)
    fake.id_token = fake.sign(fake.claims(params["nonce"]))
    fake.userinfo = {"sub": "someone-else", "groups": ["finance"]}
    assert finish_sign_in(client, fake, params["state"]).status_code == 400
    assert signed_in_user(client) is None


# --- errors a person understands ---------------------------------------------------------------------


def test_a_cancelled_sign_in_says_so_in_the_readers_language(client, fake):
    params = start_sign_in(client)
    response = client.get(
        "/oidc/callback/", {"error": "access_denied", "state": params["state"]}, HTTP_ACCEPT_LANGUAGE="de"
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert '<html lang="de">' in page
    assert "Sign-in was cancelled" not in page
    assert f"/oidc/authenticate/?next=%2Fjobs%2F{JOB}%2F" in page  # try again, to the same ticket link
    english = client.get("/oidc/callback/", {"error": "access_denied", "state": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Sign-in was cancelled" in text_of(english.content.decode())


def test_a_provider_that_is_down_gives_a_page_not_a_500(client, settings, db):
    configure(settings, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    response = client.get("/oidc/authenticate/", {"next": f"/jobs/{JOB}/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert "Your company's sign-in cannot be reached" in text_of(response.content.decode())
    french = client.get("/oidc/authenticate/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr">' in french
    assert "Your company's sign-in cannot be reached" not in french


@pytest.mark.parametrize(
    "document",
    [
        {"issuer": "https://elsewhere.example", "authorization_endpoint": "https://x/a"},
        {"issuer": "ISSUER", "authorization_endpoint": "not a url", "token_endpoint": "https://x/t", "jwks_uri": "x"},
        {"issuer": "ISSUER", "id_token_signing_alg_values_supported": ["HS256", "none"]},
    ],
    ids=["another issuer", "no endpoints", "no accepted algorithm"],
)
def test_a_misconfigured_provider_gives_a_page_not_a_500(client, fake, document):
    good = fake.document()
    fake.discovery = {**good, **{k: (fake.issuer if v == "ISSUER" else v) for k, v in document.items()}}
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 503
    fake.discovery = None
    assert client.get("/oidc/authenticate/").status_code == 302  # a corrected document is read again


def test_discovery_failing_with_an_error_status_gives_a_page(client, fake):
    fake.discovery_status = 500
    assert client.get("/oidc/authenticate/").status_code == 503


@pytest.mark.parametrize(
    ("status", "error", "expected"), [(400, "invalid_grant", 400), (401, "invalid_client", 503), (500, "", 503)]
)
def test_the_token_endpoint_saying_no_gives_a_page(client, fake, status, error, expected):
    params = start_sign_in(client)
    fake.token_status, fake.token_error = status, {"error": error} if error else {}
    assert finish_sign_in(client, fake, params["state"]).status_code == expected
    assert signed_in_user(client) is None


# --- keys --------------------------------------------------------------------------------------------


def test_the_providers_keys_are_kept_and_fetched_again_when_a_token_names_a_new_one(client, fake):
    for _ in range(2):
        assert sign_in_with_fake(client, fake).status_code == 302
        client.post("/accounts/logout/")
    assert fake.calls("/jwks") == 1  # kept
    assert fake.calls("/.well-known/openid-configuration") == 1
    fake.keys = [FakeProvider.new_key()]  # the provider rotates its key
    assert sign_in_with_fake(client, fake).status_code == 302
    assert fake.calls("/jwks") == 2


# --- who the person is -------------------------------------------------------------------------------


def test_people_are_found_by_sub_not_by_e_mail(client, fake):
    sign_in_with_fake(client, fake, sub="sub-a", email="a@example.com", email_verified=True)
    first = User.objects.get(pk=signed_in_user(client))
    client.post("/accounts/logout/")
    # the same person with a new address and name: the same user, updated
    sign_in_with_fake(client, fake, sub="sub-a", email="new@example.com", name="Ann Other", email_verified=True)
    assert signed_in_user(client) == first.pk
    first.refresh_from_db()
    assert (first.email, first.first_name) == ("new@example.com", "Ann Other")
    client.post("/accounts/logout/")
    # another person who now has that address (verified): another user
    sign_in_with_fake(client, fake, sub="sub-b", email="new@example.com", email_verified=True)
    assert signed_in_user(client) != first.pk
    assert OIDCIdentity.objects.count() == 2


@pytest.mark.parametrize(("verified", "taken_over"), [(True, True), (False, False), (None, False)])
def test_a_password_account_is_taken_over_only_by_a_verified_e_mail(client, fake, verified, taken_over):
    existing = User.objects.create_user("fiona", email="fiona@example.com", password=PASSWORD)
    sign_in_with_fake(client, fake, email="FIONA@example.com", email_verified=verified, preferred_username="fiona")
    user = User.objects.get(pk=signed_in_user(client))
    assert (user.pk == existing.pk) is taken_over
    if not taken_over:
        assert user.username == "fiona-2"  # the provider's user name, made unique


def test_a_superuser_or_break_glass_account_is_never_taken_over_by_e_mail(client, fake, settings):
    settings.BREAK_GLASS_USERS = ["rescue"]
    root = User.objects.create_superuser("root", email="root@example.com", password=PASSWORD)
    rescue = User.objects.create_user("rescue", email="rescue@example.com", password=PASSWORD)
    for sub, account in (("s-root", root), ("s-rescue", rescue)):
        sign_in_with_fake(client, fake, sub=sub, email=account.email, email_verified=True)
        assert signed_in_user(client) not in (None, account.pk)
        client.post("/accounts/logout/")


def test_a_deactivated_account_gets_a_page(client, fake):
    sign_in_with_fake(client, fake)
    user = User.objects.get(pk=signed_in_user(client))
    client.post("/accounts/logout/")
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = sign_in_with_fake(client, fake)
    assert response.status_code == 403
    assert "Your account is turned off on Export Job Desk" in text_of(response.content.decode())
    assert signed_in_user(client) is None


# --- groups --------------------------------------------------------------------------------------------


def test_the_finance_group_follows_the_providers_groups_at_every_sign_in(client, fake, sandbox, settings):
    settings.DESK_CONTACT = "#finance-tools on Slack"
    sign_in_with_fake(client, fake, groups=["finance", "staff"])
    user = User.objects.get(pk=signed_in_user(client))
    assert user.groups.filter(name="Finance").exists()
    assert client.get(f"/jobs/{JOB}/").status_code == 200
    calls = sandbox.state.calls()
    client.post("/accounts/logout/")
    sign_in_with_fake(client, fake, groups=["staff"])
    assert not user.groups.filter(name="Finance").exists()
    response = client.get(f"/jobs/{JOB}/")
    assert response.status_code == 403
    page = text_of(response.content.decode())
    assert f"{NOT_ALLOWED}; ask #finance-tools on Slack." in page
    assert sandbox.state.calls() == calls  # the refused look did not reach Pleo


def test_finance_granted_in_admin_stays_when_the_provider_does_not_decide_it(client, fake, settings):
    settings.OIDC_FINANCE_GROUPS = []
    user = User.objects.create_user("fiona", email="fiona@example.com")
    user.groups.add(Group.objects.get(name="Finance"))
    OIDCIdentity.objects.create(user=user, issuer=fake.issuer, sub="person-1")
    sign_in_with_fake(client, fake, groups=[])
    assert signed_in_user(client) == user.pk
    assert user.groups.filter(name="Finance").exists()


def test_manage_alerts_is_granted_only_where_the_permission_exists(client, fake):
    Permission.objects.filter(codename="manage_alerts").delete()  # a release without alerts: no error
    sign_in_with_fake(client, fake, groups=["finance", "finance-tools-admins"])
    user = User.objects.get(pk=signed_in_user(client))
    assert not user.user_permissions.exists()
    client.post("/accounts/logout/")
    content_type = ContentType.objects.get(app_label="exportjobs", model="alertrule")
    Permission.objects.get_or_create(
        codename="manage_alerts", content_type=content_type, defaults={"name": "Can manage alerts"}
    )
    sign_in_with_fake(client, fake, groups=["finance", "finance-tools-admins"])
    assert User.objects.get(pk=user.pk).has_perm("exportjobs.manage_alerts")
    client.post("/accounts/logout/")
    sign_in_with_fake(client, fake, groups=["finance"])
    assert not User.objects.get(pk=user.pk).has_perm("exportjobs.manage_alerts")


# --- the session's renewal ------------------------------------------------------------------------------


def expire_renewal(session_key: str) -> None:
    """Move the session's renewal stamp into the past, as OIDC_RENEW_SECONDS passing would."""
    session = SessionStore(session_key=session_key)
    assert session["oidc_id_token_expiration"] > time.time()
    session["oidc_id_token_expiration"] = time.time() - 1
    session.save()


def test_a_due_renewal_sends_pages_forms_and_fetches_through_the_provider(client, fake, sandbox):
    sign_in_with_fake(client, fake)
    assert client.get(f"/jobs/{JOB}/").status_code == 200  # not due yet: no trip to the provider
    calls = sandbox.state.calls()
    expire_renewal(client.session.session_key)
    fetch = client.get(f"/jobs/{JOB}/", headers={"X-Requested-With": "fetch"})
    assert fetch.status_code == 403
    assert fetch["X-Desk-Sign-In"] == "renew"
    form = client.post("/bulk/", {"ids": JOB}, HTTP_REFERER="http://testserver/bulk/")
    assert form.status_code == 303
    assert form["Location"].startswith(f"{fake.issuer}/authorize?")
    assert client.session["oidc_login_next"] == "/bulk/"
    page = client.get(f"/jobs/{JOB}/")
    assert page.status_code == 302
    params = query_of(page["Location"])
    assert page["Location"].startswith(f"{fake.issuer}/authorize?")
    assert params["prompt"] == "none"
    assert params["code_challenge_method"] == "S256"
    assert sandbox.state.calls() == calls  # nothing reached Pleo while the renewal was due
    # the provider answers the silent check: the groups are read again and the page comes back
    fake.id_token = fake.sign(fake.claims(params["nonce"]))
    fake.userinfo = {"sub": "person-1", "groups": []}
    back = client.get("/oidc/callback/", {"code": "c2", "state": params["state"]})
    assert back["Location"] == f"/jobs/{JOB}/"
    assert client.get(f"/jobs/{JOB}/").status_code == 403  # removed from the group meanwhile


def test_a_renewal_the_provider_refuses_signs_the_person_in_again(client, fake):
    sign_in_with_fake(client, fake)
    expire_renewal(client.session.session_key)
    params = query_of(client.get(f"/jobs/{JOB}/")["Location"])
    response = client.get("/oidc/callback/", {"error": "login_required", "state": params["state"]})
    assert response.status_code == 302
    assert response["Location"] == f"/oidc/authenticate/?next=%2Fjobs%2F{JOB}%2F"
    assert signed_in_user(client) is None


def test_password_users_are_not_renewed(client, fake, finance_user, sandbox):
    client.post("/accounts/login/", {"username": "fiona", "password": PASSWORD})
    assert client.get(f"/jobs/{JOB}/").status_code == 200
    assert "oidc_id_token_expiration" not in client.session
    event = AuditEvent.objects.get(action="sign_in")
    assert event.signin_method == "password"


# --- sign-out -----------------------------------------------------------------------------------------


def test_sign_out_ends_the_desk_session_and_the_providers(client, fake, sandbox):
    sign_in_with_fake(client, fake)
    id_token = client.session["oidc_id_token"]
    home = client.get("/").content.decode()
    assert 'action="/oidc/logout/"' in home
    response = client.post("/oidc/logout/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{fake.issuer}/logout?")
    params = query_of(response["Location"])
    assert params == {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": "http://testserver/accounts/signed-out/",
        "client_id": CLIENT_ID,
    }
    assert signed_in_user(client) is None
    assert "You are signed out" in text_of(client.get("/accounts/signed-out/").content.decode())


def test_sign_out_without_an_end_session_endpoint_goes_to_the_signed_out_page(client, fake):
    fake.discovery = {k: v for k, v in fake.document().items() if k != "end_session_endpoint"}
    sign_in_with_fake(client, fake)
    response = client.post("/oidc/logout/")
    assert response["Location"] == "/accounts/signed-out/"
    assert signed_in_user(client) is None


# --- OIDC_ONLY, break-glass, lock-out, budgets ------------------------------------------------------------


def test_oidc_only_refuses_passwords_except_for_break_glass_users(client, fake, settings, finance_user):
    settings.OIDC_ONLY = True
    settings.BREAK_GLASS_USERS = ["rescue"]
    User.objects.create_superuser("rescue", password=PASSWORD)
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page
    assert "Sign in with Testprovider" in page
    assert 'name="password"' in client.get("/accounts/login/?password=1").content.decode()
    refused = client.post("/accounts/login/", {"username": "fiona", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Passwords are turned off on Export Job Desk" in text_of(refused.content.decode())
    assert signed_in_user(client) is None
    wrong = client.post("/accounts/login/", {"username": "rescue", "password": "wrong"})
    assert text_of(wrong.content.decode()).count("Passwords are turned off") == 1  # the same words for every name
    admin = client.post("/admin/login/", {"username": "fiona", "password": PASSWORD})
    assert signed_in_user(client) is None, admin.status_code
    accepted = client.post("/accounts/login/", {"username": "rescue", "password": PASSWORD})
    assert accepted.status_code == 302
    assert User.objects.get(pk=signed_in_user(client)).username == "rescue"
    assert AuditEvent.objects.get(action="sign_in", outcome="signed_in").signin_method == "password"


def test_a_user_name_locked_out_by_wrong_passwords_is_locked_for_the_provider_too(client, fake, finance_user):
    OIDCIdentity.objects.create(user=finance_user, issuer=fake.issuer, sub="person-1")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "fiona", "password": "wrong"}, REMOTE_ADDR="10.0.0.5")
    params = start_sign_in(client)
    fake.id_token = fake.sign(fake.claims(params["nonce"]))
    fake.userinfo = {"sub": "person-1", "groups": ["finance"]}
    locked = client.get("/oidc/callback/", {"code": "c", "state": params["state"]}, REMOTE_ADDR="10.0.0.5")
    assert locked.status_code == 429
    assert "Sign-in is paused for 15 minutes" in text_of(locked.content.decode())
    assert signed_in_user(client) is None
    other = sign_in_with_fake(Client(REMOTE_ADDR="10.0.0.6"), fake)  # from the person's own machine
    assert other.status_code == 302


def test_the_pleo_budget_counts_for_people_signed_in_with_the_provider(client, fake, sandbox, settings):
    settings.PLEO_USER_BUDGET = 8
    job = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
    sandbox.state.put_job(job_payload(job))
    sign_in_with_fake(client, fake)
    statuses = [client.post(f"/jobs/{job}/refresh/").status_code for _ in range(10)]
    assert statuses == [303] * 8 + [429] * 2
    assert sandbox.state.calls(job) == 8


# --- settings ---------------------------------------------------------------------------------------------


def start_desk(**env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "BREAK_GLASS"))}
    env.update(DJANGO_SETTINGS_MODULE="dashboard.settings", READ_DOT_ENV="0", SECRET_KEY="s-" + "abcdefghij" * 6)
    env.update(env_vars)
    probe = "import django; django.setup(); from django.conf import settings as s; print(s.AUTHENTICATION_BACKENDS)"
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OIDC_ISSUER": "https://login.example.com"}, "OIDC_CLIENT_ID"),
        ({"OIDC_ISSUER": "http://login.example.com", "OIDC_CLIENT_ID": "c", "OIDC_CLIENT_SECRET": "s"}, "OIDC_ISSUER"),
        ({"OIDC_ONLY": "1"}, "OIDC_ISSUER"),
        ({"OIDC_ONLY": "maybe"}, "OIDC_ONLY"),
        ({"OIDC_RENEW_SECONDS": "soon"}, "OIDC_RENEW_SECONDS"),
        ({"OIDC_EXTRA_SCOPES": "groups,two words"}, "OIDC_EXTRA_SCOPES"),
    ],
)
def test_malformed_oidc_settings_stop_start_up_naming_the_variable(env, named):
    result = start_desk(**env)
    assert result.returncode != 0
    assert named in result.stderr.strip().splitlines()[-1]


def test_an_issuer_adds_the_providers_backend():
    result = start_desk(OIDC_ISSUER="https://login.example.com/t/v2.0", OIDC_CLIENT_ID="c", OIDC_CLIENT_SECRET="s")
    assert result.returncode == 0, result.stderr[-2000:]
    assert BACKEND in result.stdout
    assert BACKEND not in start_desk().stdout


# --- the real provider: panva's oidc-provider, through a plain HTTP client and through Chromium ------------


class OpenIDProvider:
    """``tests/oidc/provider.mjs`` on a free loopback port; its people live in a JSON file the test rewrites."""

    def __init__(self, directory: Path, desk_url: str) -> None:
        node = shutil.which("node")
        installed = (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir()
        need(
            node is not None and installed,
            "the test OpenID Provider is not installed: npm ci --prefix tests/oidc (needs Node.js 20.19 or newer)",
        )
        self.node = str(node)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.accounts = directory / "accounts.json"
        self.config = directory / "provider.json"
        self.log = directory / "provider.log"
        self.desk_url = desk_url
        self.process: subprocess.Popen[bytes] | None = None

    def people(self, people: dict[str, dict[str, Any]]) -> None:
        """Who the provider knows: {sub: {"login", "password", "claims"}}; read at every sign-in and token."""
        partial = self.accounts.with_suffix(".tmp")
        partial.write_text(json.dumps(people))
        partial.replace(self.accounts)

    def start(self) -> OpenIDProvider:
        self.people({})
        client = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{self.desk_url}/oidc/callback/"],
            "post_logout_redirect_uris": [f"{self.desk_url}/accounts/signed-out/"],
        }
        config = {"issuer": self.issuer, "host": "127.0.0.1", "port": self.port, "accounts": str(self.accounts)}
        self.config.write_text(json.dumps({**config, "client": client}))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [self.node, "provider.mjs", str(self.config)], cwd=PROVIDER_DIR, stdout=log, stderr=log
            )
        wait_for(self.ready, what="the test OpenID Provider", seconds=30)
        return self

    def ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log.read_text()[-2000:]
        try:
            return requests.get(oidc.discovery_url(self.issuer), timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


def person(login: str, groups: list[str]) -> dict[str, Any]:
    return {
        "login": login,
        "password": PASSWORD,
        "claims": {
            "email": f"{login}@example.com",
            "email_verified": True,
            "given_name": login.capitalize(),
            "family_name": "Tester",
            "preferred_username": login,
            "groups": groups,
        },
    }


@pytest.fixture(scope="module")
def real_provider(live_server, tmp_path_factory) -> Iterator[OpenIDProvider]:
    provider = OpenIDProvider(tmp_path_factory.mktemp("oidc-provider"), live_server.url).start()
    yield provider
    provider.stop()


@pytest.fixture
def real(real_provider, settings, live_server, transactional_db, sandbox) -> OpenIDProvider:
    configure(settings, real_provider.issuer)
    real_provider.people({"sub-fiona": person("fiona", ["finance"]), "sub-otto": person("otto", ["sales"])})
    return real_provider


def form_of(page: str, base: str) -> tuple[str, dict[str, str]]:
    """The first form of a page: where it posts and its hidden fields."""
    action = re.search(r'<form[^>]*action="([^"]*)"', page)
    assert action, page[:1000]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return urljoin(base, action.group(1)), fields


def http_sign_in(session: requests.Session, desk: str, login: str, path: str) -> requests.Response:
    """A ticket link, the sign-in page's button, the provider's form: where the flow ends."""
    sign_in_page = session.get(desk + path, timeout=30)
    assert sign_in_page.url == f"{desk}/accounts/login/?next={path}"
    button = re.search(r'href="(/oidc/authenticate/[^"]*)"', sign_in_page.text)
    assert button, sign_in_page.text[:2000]
    at_provider = session.get(urljoin(desk, button.group(1).replace("&amp;", "&")), timeout=30)
    assert "Sign in to the test provider" in at_provider.text
    action = re.search(r'<form method="post" action="([^"]+)"', at_provider.text)
    assert action
    return session.post(
        urljoin(at_provider.url, action.group(1)), data={"login": login, "password": PASSWORD}, timeout=30
    )


def test_a_ticket_link_leads_through_the_real_provider_to_the_job_over_plain_http(real, live_server):
    session = requests.Session()
    answer = http_sign_in(session, live_server.url, "fiona", f"/jobs/{JOB}/")
    assert answer.status_code == 200
    assert answer.url == f"{live_server.url}/jobs/{JOB}/"
    assert JOB_WORDS in text_of(answer.text)
    hops = [urlsplit(r.headers["Location"]).path for r in answer.history if "Location" in r.headers]
    assert "/oidc/callback/" in [urlsplit(r.url).path for r in answer.history]
    assert hops[-1] == f"/jobs/{JOB}/"
    user = User.objects.get(username="fiona")
    assert user.groups.filter(name="Finance").exists()
    assert OIDCIdentity.objects.get(user=user).issuer == real.issuer


def test_a_person_outside_the_finance_group_gets_the_403_page(real, live_server):
    answer = http_sign_in(requests.Session(), live_server.url, "otto", f"/jobs/{JOB}/")
    assert answer.status_code == 403
    assert answer.url == f"{live_server.url}/jobs/{JOB}/"
    assert NOT_ALLOWED in text_of(answer.text)


def test_removal_from_the_group_takes_effect_at_the_next_renewal(real, live_server):
    session = requests.Session()
    job = f"{live_server.url}/jobs/{JOB}/"
    assert http_sign_in(session, live_server.url, "fiona", f"/jobs/{JOB}/").status_code == 200
    real.people({"sub-fiona": person("fiona", ["sales"])})
    assert session.get(job, timeout=30).status_code == 200  # within OIDC_RENEW_SECONDS: the desk's own answer
    expire_renewal(session.cookies["sessionid"])  # OIDC_RENEW_SECONDS have passed
    answer = session.get(job, timeout=30)  # silently through the provider (prompt=none) and back
    assert [urlsplit(r.url).path for r in answer.history][-1] == "/oidc/callback/"
    assert answer.url == job
    assert answer.status_code == 403
    assert NOT_ALLOWED in text_of(answer.text)


def test_a_person_gone_from_the_provider_is_sent_to_sign_in_again_at_the_renewal(real, live_server):
    session = requests.Session()
    http_sign_in(session, live_server.url, "fiona", f"/jobs/{JOB}/")
    real.people({"sub-otto": person("otto", ["sales"])})
    expire_renewal(session.cookies["sessionid"])
    answer = session.get(f"{live_server.url}/jobs/{JOB}/", timeout=30)
    assert "Sign in to the test provider" in answer.text
    assert JOB_WORDS not in answer.text


def test_sign_out_ends_the_session_at_the_real_provider_too(real, live_server):
    session = requests.Session()
    http_sign_in(session, live_server.url, "fiona", "/")
    home = session.get(live_server.url + "/", timeout=30)
    assert 'action="/oidc/logout/"' in home.text
    confirm = session.post(
        live_server.url + "/oidc/logout/",
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": live_server.url + "/"},
        timeout=30,
    )
    assert confirm.url.startswith(real.issuer + "/session/end")
    action, fields = form_of(confirm.text, confirm.url)
    done = session.post(action, data={**fields, "logout": "yes"}, timeout=30)
    assert done.url == f"{live_server.url}/accounts/signed-out/"
    assert "You are signed out" in text_of(done.text)
    again = session.get(f"{live_server.url}/oidc/authenticate/", timeout=30)
    assert "Sign in to the test provider" in again.text  # the provider asks again: its session ended


# --- Chromium -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    need(shutil.which(executable) is not None or os.path.exists(executable), f"Chromium not found at {executable}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def browser_sign_in(page, login: str) -> None:
    page.get_by_role("link", name="Sign in with Testprovider").click()
    page.get_by_label("User name").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.browser
def test_chromium_follows_a_ticket_link_through_the_provider_to_the_job(real, live_server, chromium):
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"/jobs/{JOB}/")
    expect(page.get_by_role("link", name="Sign in with Testprovider")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "oidc-sign-in.png"), full_page=True)
    browser_sign_in(page, "fiona")
    page.wait_for_url(f"{live_server.url}/jobs/{JOB}/")
    expect(page.get_by_text(JOB_WORDS).first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "oidc-signed-in-job.png"), full_page=True)
    context.close()


@pytest.mark.browser
def test_chromium_a_cancelled_sign_in_shows_a_page_to_try_again(real, live_server, chromium):
    context = chromium.new_context(base_url=live_server.url, locale="da-DK")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"/accounts/login/?next=/jobs/{JOB}/")
    page.locator("a.button.primary").click()
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(re.compile(r"/oidc/callback/"))
    assert page.locator("html").get_attribute("lang") == "da"
    assert "Sign-in was cancelled" not in page.content()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "oidc-cancelled-da.png"), full_page=True)
    context.close()


FAST_TIMERS = """
(() => {
  const setTimeoutOriginal = window.setTimeout;
  window.setTimeout = function (callback, delay, ...rest) {
    if (typeof delay === "number" && delay >= 5000) { delay = delay / 20; }
    return setTimeoutOriginal.call(window, callback, delay, ...rest);
  };
})();
"""


@pytest.mark.browser
def test_chromium_an_open_page_renews_through_the_provider_and_shows_a_removal(real, live_server, chromium):
    """A page left open refreshes itself; once the renewal is due, that refresh reloads the page, which
    goes through the provider and back, and the person removed from the group sees the 403 page."""
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(30_000)
    context.add_init_script(FAST_TIMERS)  # the page's 10 s auto-refresh every 0.5 s
    page = context.new_page()
    page.goto(f"/jobs/{PENDING}/")
    browser_sign_in(page, "fiona")
    page.wait_for_url(f"{live_server.url}/jobs/{PENDING}/")
    expect(page.locator("[data-auto-refresh='true']")).to_have_count(1)
    real.people({"sub-fiona": person("fiona", ["sales"])})
    session_key = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
    expire_renewal(session_key)
    expect(page.get_by_text(NOT_ALLOWED).first).to_be_visible()  # waits (30 s at most) for the reload
    assert page.url == f"{live_server.url}/jobs/{PENDING}/"
    context.close()
