"""Hardening: every look audited, no user can make the desk hammer Pleo, and the gaps an attacker tries first.
One test (or a few) per point of the review; each failed on the code before it."""

from __future__ import annotations

import csv
import gc
import gzip
import io
import logging
import os
import re
import secrets
import stat
import subprocess
import sys
import threading
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from exportjobs import budgets, lru, wording
from exportjobs import cache as desk_cache
from exportjobs.cache import Keys
from exportjobs.downloads import csv_safe as csv_cell
from exportjobs.models import AuditEvent
from exportjobs.pleo import PleoBadResponse, PleoClient
from exportjobs.sandbox import seed
from tests.helpers import HANG_GUARD, ROOT, SANDBOX_TOKEN, job_payload, text_of

JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
LARGE = seed.job_uuid("large")


def rows(**filters) -> list[tuple[str, str]]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", "outcome"))


# --- 1. no look without an audit row ------------------------------------------------------------


def test_a_poll_of_a_job_never_opened_is_recorded_as_a_view(desk, sandbox):
    sandbox.state.put_job(job_payload(JOB, status="failed", failureReason="The secret reason"))
    response = desk.get(f"/jobs/{JOB}/", {"entries": "1"}, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 200
    assert "The secret reason" in response.content.decode()
    assert rows(job_id=JOB) == [("view", "found")]


def test_an_open_pages_polls_are_recorded_once_every_ten_minutes(desk, sandbox, finance_user):
    sandbox.state.put_job(job_payload(JOB, status="in_progress", completedAt=None))
    desk.get(f"/jobs/{JOB}/")
    for _ in range(5):
        desk.get(f"/jobs/{JOB}/", headers={"X-Requested-With": "fetch"})
    assert rows(job_id=JOB) == [("view", "found")]  # covered by the view a moment ago
    AuditEvent.objects.filter(job_id=JOB).update(created_at=datetime.now(timezone.utc) - timedelta(minutes=11))
    for _ in range(3):
        desk.get(f"/jobs/{JOB}/", headers={"X-Requested-With": "fetch"})
    assert rows(job_id=JOB) == [("view", "found"), ("poll", "found")]
    AuditEvent.objects.filter(job_id=JOB).update(created_at=datetime.now(timezone.utc) - timedelta(hours=2))
    desk.get(f"/jobs/{JOB}/", headers={"X-Requested-With": "fetch"})
    assert rows(job_id=JOB)[-1] == ("view", "found")  # a tab that slept for hours: a new look


# --- 2. budgets ----------------------------------------------------------------------------------


@pytest.fixture
def small_budget(settings):
    settings.PLEO_USER_BUDGET = 8
    settings.PLEO_USER_BUDGET_WINDOW = 600


def test_refreshes_beyond_the_budget_stop_reaching_pleo_and_get_the_429_page(desk, sandbox, small_budget):
    sandbox.state.put_job(job_payload(JOB))
    statuses = [desk.post(f"/jobs/{JOB}/refresh/").status_code for _ in range(12)]
    assert sandbox.state.calls(JOB) == 8
    assert statuses[:8] == [303] * 8
    assert statuses[8:] == [429] * 4
    page = desk.post(f"/jobs/{JOB}/refresh/")
    text = page.content.decode()
    assert page.status_code == 429
    assert "You have asked Pleo for a lot in a short time" in text
    assert "You can ask again from" in text
    assert 0 < int(page["Retry-After"]) <= 600 + 30 + 1  # a call counts for the window and at most one slot more
    assert "Export Job Desk's administrator" in text_of(text)


def test_bulk_lookups_of_new_ids_stop_at_the_budget(desk, sandbox, small_budget):
    ids = " ".join(str(uuid.uuid4()) for _ in range(20))
    response = desk.post("/bulk/", {"ids": ids})
    assert response.status_code == 429
    assert sandbox.state.calls() == 8
    assert "asked Pleo for a lot in a short time" in response.content.decode()


def test_made_up_entry_cursors_and_pages_never_reach_pleo(desk, sandbox):
    """The address pages failed entries by number over the cached walk; no cursor travels through it."""
    page = desk.get(f"/jobs/{LARGE}/").content.decode()
    assert "after=" not in page
    before = sandbox.state.item_calls(LARGE)
    for cursor in ("MTAw", "GEZDGNBVGY3TQOJQ", "x" * 50, "GEZDG\n"):
        assert desk.get(f"/jobs/{LARGE}/", {"entries": "1", "after": cursor}).status_code == 200
    for number in ("x", "1e9", "-1", "0", "9" * 40, "\uff12", "1\n"):
        assert desk.get(f"/jobs/{LARGE}/", {"entries": "1", "page": number}).status_code == 200
    assert sandbox.state.item_calls(LARGE) == before  # every page, from the cache


def test_one_users_spent_budget_leaves_another_user_unaffected(desk, sandbox, small_budget, django_user_model):
    sandbox.state.put_job(job_payload(JOB))
    for _ in range(10):
        desk.post(f"/jobs/{JOB}/refresh/")
    assert desk.post(f"/jobs/{JOB}/refresh/").status_code == 429
    other = django_user_model.objects.create_user("oskar", password="another-long-password")
    other.groups.add(Group.objects.get(name="Finance"))
    colleague = Client()
    colleague.force_login(other)
    assert colleague.post(f"/jobs/{JOB}/refresh/").status_code == 303
    assert colleague.get(f"/jobs/{uuid.uuid4()!s}/").status_code == 404  # still reaches Pleo


def test_an_over_budget_leader_does_not_pass_its_refusal_to_others_waiting(sandbox, settings, small_budget):
    from exportjobs import budgets, services
    from exportjobs.budgets import OverBudget

    sandbox.state.put_job(job_payload(JOB))
    with budgets.spending_for("user:spent"):
        for _ in range(8):
            budgets.charge("job")
        with pytest.raises(OverBudget):
            services.job_get(job_id=uuid.UUID(JOB))
    with budgets.spending_for("user:fresh"):
        assert services.job_get(job_id=uuid.UUID(JOB)).source == "fresh"


# --- 3. password reset -----------------------------------------------------------------------------


def test_without_mail_settings_the_reset_pages_do_not_exist(client, settings, db):
    settings.PASSWORD_RESET_ENABLED = False
    for path in ("/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/done/"):
        assert client.get(path).status_code == 404
    assert client.post("/accounts/password_reset/", {"email": "a@example.com"}).status_code == 404
    assert "Forgot your password" not in client.get("/accounts/login/").content.decode()


@pytest.fixture
def mail_settings(settings):
    settings.PASSWORD_RESET_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def mail_sent() -> None:
    """Until every reset mail asked for so far has been sent: the threads that send them have finished."""
    for thread in threading.enumerate():
        if thread.name == "password-reset-mail":
            thread.join(HANG_GUARD)
            assert not thread.is_alive(), "a reset mail is still being sent"


def test_with_mail_a_reset_works_and_says_the_same_for_unknown_addresses(client, mail_settings, finance_user):
    finance_user.email = "fiona@example.com"
    finance_user.save()
    known = client.post("/accounts/password_reset/", {"email": "fiona@example.com"})
    unknown = client.post("/accounts/password_reset/", {"email": "nobody@example.com"}, REMOTE_ADDR="10.9.9.9")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password_reset/done/"
    mail_sent()
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a-new-long-password-1", "new_password2": "a-new-long-password-1"}
    )
    assert done.status_code == 302
    finance_user.refresh_from_db()
    assert finance_user.check_password("a-new-long-password-1")


def test_reset_requests_are_rate_limited_without_saying_so(client, mail_settings, finance_user):
    finance_user.email = "fiona@example.com"
    finance_user.save()
    answers = [client.post("/accounts/password_reset/", {"email": "fiona@example.com"}) for _ in range(6)]
    assert {a["Location"] for a in answers} == {"/accounts/password_reset/done/"}
    mail_sent()
    assert len(mail.outbox) == 3  # three per e-mail address an hour


def test_a_failing_mail_server_logs_no_address(client, settings, mail_settings, finance_user, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: the send fails
    finance_user.email = "fiona.secret@example.com"
    finance_user.save()
    client.post("/accounts/password_reset/", {"email": "fiona.secret@example.com"})
    mail_sent()
    assert any("Could not send a password reset mail" in r.getMessage() for r in caplog.records)
    assert "fiona.secret" not in caplog.text


# --- 4. lock-out (tests/test_access.py: the colleague's own machine, spraying) -----------------------


# --- 5. secrets on disk ---------------------------------------------------------------------------


def test_the_env_file_is_private_and_an_existing_one_is_made_private(tmp_path, monkeypatch):
    from exportjobs.envfile import ensure_secret

    monkeypatch.delenv("SECRET_KEY", raising=False)

    fresh = tmp_path / ".env"
    assert ensure_secret(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    key = re.search(r"^SECRET_KEY=(\S+)$", fresh.read_text(), re.M).group(1)
    assert len(key) >= 50

    old = tmp_path / "old.env"
    old.write_text("PLEO_API_TOKEN=abc\nSECRET_KEY=kept-" + "k" * 60 + "\n")
    old.chmod(0o644)
    assert not ensure_secret(old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert "kept-" in old.read_text()
    assert "PLEO_API_TOKEN=abc" in old.read_text()


def test_make_run_keeps_var_and_the_database_private(tmp_path, settings):
    from exportjobs.management.commands.rundesk import protect_files

    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    database = var / "db.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        changed = protect_files(var, database)
        created = var / "new-file"
        created.write_text("x")
    finally:
        os.umask(old_umask)
    assert set(changed) == {var, database}
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(created.stat().st_mode) == 0o600  # umask 077 for what the server writes
    makefile = (ROOT / "Makefile").read_text()
    assert "umask 077 && $(PY) manage.py migrate" in makefile
    assert "umask 077 && $(PY) manage.py rundesk" in makefile


@pytest.mark.parametrize(
    "key",
    ["short-key", "x" * 60, "abab" * 20, "django-insecure-" + secrets.token_urlsafe(50)],
    ids=["short", "one-character", "two-characters", "django-insecure"],  # the same names in every test process
)
def test_a_weak_secret_key_stops_start_up_with_debug_off(key):
    env = {
        **os.environ,
        "SECRET_KEY": key,
        "DEBUG": "0",
        "READ_DOT_ENV": "0",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


# --- 6. dates at the calendar's edge ------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/Copenhagen", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
@pytest.mark.parametrize("edge", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_a_date_at_the_calendars_edge_renders_in_every_zone(desk, sandbox, settings, zone, edge):
    settings.TIME_ZONE = zone
    sandbox.state.put_job(
        job_payload(JOB, status="pending", createdAt=edge, lastUpdatedAt=edge, startedAt=None, completedAt=None)
    )
    assert desk.get(f"/jobs/{JOB}/").status_code == 200


def instants() -> st.SearchStrategy[str]:
    return st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda m: f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"
    )


valid_jobs = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["pending", "in_progress", "failed", "completed", "completed_with_errors"]),
        "createdAt": instants(),
        "startedAt": st.none() | instants(),
        "lastUpdatedAt": st.none() | instants(),
        "completedAt": st.none() | instants(),
        "expiredAt": st.none() | instants(),
        "expiresIn": st.integers(min_value=-(2**31), max_value=2**31 - 1),
        "numberOfItems": st.integers(min_value=0, max_value=10**9),
        "isInteractive": st.booleans(),
        "vendorBasedBookkeeping": st.booleans(),
        "createdBy": st.none() | st.uuids().map(str),
        "failureReason": st.none() | st.text(max_size=200),
        "failureReasonType": st.none() | st.sampled_from(["job_expired", "validation_failure", "canceled_by_user"]),
    }
)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fields=valid_jobs,
    zone=st.sampled_from(["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Tokyo", "America/Los_Angeles"]),
)
def test_any_valid_job_renders_under_far_east_and_far_west_zones(desk, sandbox, fields, zone):
    from django.core.cache import cache

    cache.clear()
    desk_cache.clear_local()
    sandbox.state.put_job(job_payload(JOB, **fields))
    with override_settings(TIME_ZONE=zone):
        response = desk.get(f"/jobs/{JOB}/")
    assert response.status_code == 200


# --- 7. Pleo's text cannot forge log lines ---------------------------------------------------------


def test_pleos_text_reaches_the_log_quoted_on_one_line(desk, sandbox, caplog):
    forged = "EXPORT_GONE\n2026-11-29 12:00:00,000 ERROR exportjobs.views Admin password is hunter2"
    sandbox.state.add_fault(JOB, "body", status=404, payload={"type": forged, "message": "x"})
    with caplog.at_level(logging.WARNING):
        assert desk.get(f"/jobs/{JOB}/").status_code == 502
    lines = [r.getMessage() for r in caplog.records if "EXPORT_GONE" in r.getMessage()]
    assert lines
    assert all("\n" not in line for line in lines)
    assert any("EXPORT_GONE\\n2026" in line for line in lines)


def test_a_very_long_upstream_value_is_cut_in_messages(sandbox):
    sandbox.state.add_fault(JOB, "body", status=404, payload={"type": "T" * 5000})
    client = PleoClient(sandbox.url, token=SANDBOX_TOKEN, timeout=1)
    with pytest.raises(PleoBadResponse) as caught:
        client.get_export_job(uuid.UUID(JOB))
    assert len(caught.value.message) < 300


# --- 8. Cache-Control on every page ------------------------------------------------------------------


def test_every_page_is_private_and_not_stored(desk, sandbox, client, django_user_model, settings):
    pages = [
        desk.get("/"),
        desk.get("/lookup/", {"job_id": f"{JOB} and {LARGE}"}),  # 400: the ids found
        desk.get("/no-such-page/"),  # 404
        desk.get(f"/jobs/{seed.NOT_FOUND_EXAMPLE}/"),
    ]
    stranger = django_user_model.objects.create_user("stranger", password="a-long-test-password")
    outsider = Client()
    outsider.force_login(stranger)
    pages.append(outsider.get("/"))  # 403
    settings.PLEO_USER_BUDGET = 1
    desk.post(f"/jobs/{JOB}/refresh/")
    pages.append(desk.post(f"/jobs/{JOB}/refresh/"))  # 429
    statuses = [page.status_code for page in pages]
    assert statuses == [200, 400, 404, 404, 403, 429]
    for page in pages:
        assert "private" in page["Cache-Control"], page
        assert "no-store" in page["Cache-Control"], page


def test_the_500_page_is_private_and_not_stored(desk, sandbox, monkeypatch):
    from exportjobs.views import jobs

    monkeypatch.setattr(jobs, "job_get", lambda **kwargs: 1 / 0)
    desk.raise_request_exception = False
    response = desk.get(f"/jobs/{JOB}/")
    assert response.status_code == 500
    assert response["Cache-Control"] == "private, no-store"


# --- 9. CSV cells ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", " =HYPERLINK(\"x\")", "\n=1", "\u3000=1",
     "\uff1dSUM(A1)", "\uff0b1", "\uff0d1", "\uff20x"],
)  # fmt: skip
def test_every_formula_prefix_is_guarded(value):
    assert csv_cell(value).startswith("'")


def test_plain_cells_are_left_as_they_are():
    assert csv_cell("fiona") == "fiona"
    assert csv_cell(uuid.UUID(JOB)) == JOB
    assert csv_cell(None) == ""


def test_the_audit_export_guards_hostile_user_names(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="a-long-test-password")
    AuditEvent.objects.create(username=" =cmd|' /C calc'!A0", action="view", outcome="found")
    client.force_login(admin)
    response = client.post(
        "/admin/exportjobs/auditevent/",
        {"action": "export_csv", "_selected_action": list(AuditEvent.objects.values_list("pk", flat=True))},
    )
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    cells = [row[1] for row in csv.reader(io.StringIO(content))][1:]
    assert cells == ["' =cmd|' /C calc'!A0"]


# --- 10. cursors with a trailing newline, redirects ----------------------------------------------------


def test_a_cursor_with_a_trailing_newline_is_refused():
    from exportjobs.pleo.models import CURSOR

    assert CURSOR.match("GEZDG")
    assert not CURSOR.match("GEZDG\n")


def test_the_client_does_not_follow_a_redirect(sandbox):
    sandbox.state.add_fault(JOB, "redirect", location="http://169.254.169.254/latest/meta-data/")
    client = PleoClient(sandbox.url, token=SANDBOX_TOKEN, timeout=1)
    with pytest.raises(PleoBadResponse, match="redirect"):
        client.get_export_job(uuid.UUID(JOB))
    assert sandbox.state.calls(JOB) == 1


# --- check --deploy (tests/test_headers.py runs it with HTTPS=1) ------------------------------------


def test_readme_documents_audits_budgets_lockouts_and_redis_for_a_team():
    readme = (ROOT / "README.md").read_text()
    for words in ("poll", "PLEO_USER_BUDGET", "SIGNIN_ADDRESS_FAILURE_LIMIT", "rediss://", "redis://:password@"):
        assert words in readme, words


@pytest.mark.slow
@pytest.mark.redis
def test_the_budget_holds_across_two_workers_sharing_redis(tmp_path, own_redis):
    from exportjobs.sandbox import SandboxServer, SandboxState
    from tests.helpers import DeskServer

    sandbox = SandboxServer(token=SANDBOX_TOKEN, state=SandboxState()).start()
    desk = DeskServer(
        tmp_path,
        {
            "CACHE_URL": own_redis.url,
            "PLEO_API_BASE_URL": sandbox.url,
            "PLEO_API_TOKEN": SANDBOX_TOKEN,
            "PLEO_API_TIMEOUT": "2",
            "PLEO_USER_BUDGET": "12",
        },
        workers=2,
    )
    try:
        desk.add_user("fiona", "a-long-test-password")
        desk.add_user("oskar", "another-long-password")
        desk.start()
        fiona = desk.sign_in("fiona", "a-long-test-password")
        oskar = desk.sign_in("oskar", "another-long-password")
        answers = []
        for _ in range(10):  # new connections: the requests land on both workers
            ids = " ".join(str(uuid.uuid4()) for _ in range(3))
            answers.append(
                requests.get(desk.url + "/bulk/", params={"ids": ids}, cookies=fiona, timeout=HANG_GUARD,
                             headers={"Connection": "close", "Sec-Fetch-Site": "same-origin"}).status_code
            )  # fmt: skip
        assert sandbox.state.calls() == 12  # 30 made-up ids asked for, the budget's 12 called
        assert 429 in answers
        other = requests.get(desk.url + f"/jobs/{uuid.uuid4()}/", cookies=oskar, timeout=HANG_GUARD)
        assert other.status_code == 404  # a colleague still reaches Pleo
        assert sandbox.state.calls() == 13
    finally:
        desk.stop()
        sandbox.stop()


# --- third round ---------------------------------------------------------------------------------------
# (proxies trusted by address: tests/test_access.py; the log throttle: tests/test_logs.py; /healthz:
# tests/test_health.py; ``seen`` only the desk's own status words: tests/test_entries.py; an answer about
# another job: tests/test_verdict.py)

# --- 1. every call to Pleo made for a user is charged before it is made ------------------------------------

PARTLY = seed.job_uuid("completed_with_errors")  # four failed entries, with details and a company name
PARTLY_FAILED = [seed.entry_uuid(PARTLY, index) for index in (8, 17, 26, 35)]


def pleo_calls(sandbox) -> int:
    state = sandbox.state
    return state.calls() + state.item_calls() + state.entry_calls() + state.company_calls() + state.list_calls()


def forget(*keys: Keys) -> None:
    for each in keys:
        desk_cache.forget(each)
    desk_cache.clear_local()
    lru.clear_all()  # no page rendered for someone else is reused


# What each surface asks Pleo for, the cache it starts from (everything a colleague's view of the partly
# exported job left, less ``cold``), and the status the over-budget user gets.
SURFACES = {
    "job": ("get", f"/jobs/{JOB}/", {}, [Keys.of("job", JOB)], 429),
    "refresh": ("post", f"/jobs/{PARTLY}/refresh/", {}, [], 429),
    "entries": ("get", f"/jobs/{PARTLY}/", {}, [Keys.of("items", f"{PARTLY}:completed_with_errors")], 200),
    "entry details": ("get", f"/jobs/{PARTLY}/", {}, [Keys.of("entry", entry) for entry in PARTLY_FAILED], 200),
    "company": ("get", f"/jobs/{PARTLY}/", {}, [Keys.of("company", seed.COMPANY_ID)], 200),
    "bulk": ("post", "/bulk/", {"ids": f"{JOB} {uuid.UUID(int=7)}"}, [], 429),
    "attention": ("get", "/attention/", {}, [], 429),
    "attention of one company": ("get", "/attention/", {"company": str(uuid.UUID(int=9))}, [], 429),
    "attention as CSV": ("get", "/attention/", {"format": "csv", "period": "30d"}, [], 429),
}


@pytest.mark.parametrize("surface", list(SURFACES))
def test_an_over_budget_user_makes_no_call_to_pleo_on_any_surface(
    desk, sandbox, settings, finance_user, django_user_model, surface
):
    method, path, data, cold, status = SURFACES[surface]
    sandbox.state.put_job(job_payload(JOB))
    other = django_user_model.objects.create_user("oskar", password="another-long-password")
    other.groups.add(Group.objects.get(name="Finance"))
    colleague = Client()
    colleague.force_login(other)
    assert colleague.get(f"/jobs/{PARTLY}/").status_code == 200  # the job, its entries, their details, the company
    forget(*cold)
    settings.PLEO_USER_BUDGET = 5
    settings.PLEO_USER_BUDGET_WINDOW = 600
    with budgets.spending_for(f"user:{finance_user.pk}"):
        budgets.charge("job", calls=5)  # this user's whole budget, spent
    before = pleo_calls(sandbox)
    response = getattr(desk, method)(path, data)
    assert pleo_calls(sandbox) == before
    assert response.status_code == status


def test_an_over_budget_users_attention_list_starts_no_walk_that_outlives_the_page(desk, sandbox, settings):
    settings.PLEO_USER_BUDGET = 3
    settings.PLEO_USER_BUDGET_WINDOW = 600
    statuses = [desk.get("/attention/", {"company": str(uuid.uuid4())}).status_code for _ in range(12)]
    calls = sandbox.state.list_calls()
    assert calls <= 3  # both walks, charged to the user in the threads that make their calls
    assert 429 in statuses
    assert [desk.get("/attention/", {"company": str(uuid.uuid4())}).status_code for _ in range(10)] == [429] * 10
    assert sandbox.state.list_calls() == calls
    assert sandbox.state.in_flight == 0  # nothing left running behind the refused pages


# --- 2. every look recorded: the poll rule never hides another view, a CSV, or anything on the header alone --


def test_a_csv_download_with_the_poll_header_is_recorded(desk, sandbox):
    assert desk.get("/attention/").status_code == 200
    for _ in range(3):
        response = desk.get("/attention/", {"format": "csv"}, headers={"X-Requested-With": "fetch"})
        assert response.status_code == 200
    assert rows(action="attention") == [("attention", "found")] * 4
    formats = [event.filters.get("format") for event in AuditEvent.objects.filter(action="attention").order_by("id")]
    assert formats == ["html", "csv", "csv", "csv"]


def test_a_poll_of_the_list_with_other_filters_is_recorded(desk, sandbox):
    assert desk.get("/attention/").status_code == 200
    poll = {"X-Requested-With": "fetch"}
    assert desk.get("/attention/", headers=poll).status_code == 200  # the page's own auto-refresh: no new row
    assert desk.get("/attention/", {"period": "30d"}, headers=poll).status_code == 200  # another list: a look
    assert desk.get("/attention/", {"company": seed.COMPANY_ID}, headers=poll).status_code == 200
    recorded = [event.filters for event in AuditEvent.objects.filter(action="attention").order_by("id")]
    assert [(row["period"], row["company"], row["format"]) for row in recorded] == [
        ("7d", "", "html"),
        ("30d", "", "html"),
        ("7d", seed.COMPANY_ID, "html"),
    ]


# --- 6. no spending by link ----------------------------------------------------------------------------------


@pytest.mark.parametrize("came_from", ["cross-site", "same-site", None])
def test_a_bulk_link_from_another_site_fills_in_the_form_and_asks_nobody(desk, sandbox, came_from):
    ids = [str(uuid.uuid4()) for _ in range(50)]
    headers = {"Sec-Fetch-Site": came_from} if came_from else {}
    response = desk.get("/bulk/", {"ids": " ".join(ids)}, headers=headers)
    page = response.content.decode()
    assert response.status_code == 200
    assert pleo_calls(sandbox) == 0
    assert AuditEvent.objects.count() == 0  # nobody looked at anything
    assert "A link filled in 50 job IDs. Press “Look up jobs” to look them up." in text_of(page)
    assert all(job_id in page for job_id in ids)  # in the form, ready to send
    assert 'method="post"' in page
    assert "csrfmiddlewaretoken" in page
    assert "bulk-table" not in page


@pytest.mark.parametrize("came_from", ["same-origin", "none"])
def test_a_bulk_link_followed_on_the_desk_or_typed_looks_the_jobs_up(desk, sandbox, came_from):
    response = desk.get("/bulk/", {"ids": f"{PARTLY} {seed.DOC_SAMPLE_ID}"}, headers={"Sec-Fetch-Site": came_from})
    assert response.status_code == 200
    assert "bulk-table" in response.content.decode()
    assert sandbox.state.calls() == 2


def test_a_job_link_from_another_site_asks_pleo_for_the_job_only_and_offers_the_rest(desk, sandbox):
    response = desk.get(f"/jobs/{PARTLY}/", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200
    assert pleo_calls(sandbox) == sandbox.state.calls(PARTLY) == 1
    words = text_of(response.content.decode())
    assert "Partly exported" in words  # the job itself, as always
    assert "You opened this page from a link on another site." in words
    assert "Show the entries" in words
    assert rows(job_id=PARTLY) == [("view", "found")]
    again = desk.get(f"/jobs/{PARTLY}/", headers={"Sec-Fetch-Site": "same-origin"})  # "Show the whole page"
    words = text_of(again.content.decode())
    assert "You opened this page from a link on another site." not in words
    assert "Card purchase (online)" in words  # the entries, their details
    assert sandbox.state.item_calls(PARTLY) > 0
    assert sandbox.state.entry_calls() > 0


def test_a_job_link_from_another_site_shows_what_the_cache_holds_without_asking(desk, sandbox, django_user_model):
    assert desk.get(f"/jobs/{PARTLY}/", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    lru.clear_all()
    before = pleo_calls(sandbox)
    words = text_of(desk.get(f"/jobs/{PARTLY}/", headers={"Sec-Fetch-Site": "cross-site"}).content.decode())
    assert pleo_calls(sandbox) == before
    assert "Card purchase (online)" in words
    assert "You opened this page from a link on another site." not in words  # nothing was left unasked


# --- 8. the rendered-page cache is bounded by bytes ------------------------------------------------------------


def test_a_huge_job_seen_at_a_hundred_moments_leaves_memory_where_it_was(desk, sandbox):
    # 1 MiB of reason in each of 100 renderings: over 100 MiB kept if the rendered-page cache were bounded by
    # count alone (each page holds the reason at least once; about 6 MiB measured), at most its 32 MiB bound
    # by bytes.
    sandbox.state.put_job(job_payload(JOB, status="failed", failureReason="x" * (1024 * 1024)))
    assert desk.get(f"/jobs/{JOB}/").status_code == 200
    tracemalloc.start()
    try:
        start, _peak = tracemalloc.get_traced_memory()
        for second in range(100):
            at = f"2026-11-03T14:{second // 60:02d}:{second % 60:02d}Z"
            assert desk.get(f"/jobs/{JOB}/", {"seen": "failed", "at": at}).status_code == 200
        gc.collect()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held - start < 64 * 1024 * 1024


# --- 11. bad answers are bad answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        (b'{"data": {"id": "' + JOB.encode() + b'", "x": "' + b"x" * (6 * 1024 * 1024) + b'"}}', {}),
        (gzip.compress(b" " * (64 * 1024 * 1024)), {"Content-Encoding": "gzip"}),  # 64 KiB that opens to 64 MiB
    ],
    ids=["over 5 MiB", "compression bomb"],
)
def test_an_oversized_or_bomb_answer_is_an_unreadable_answer(desk, sandbox, data, headers):
    sandbox.state.add_fault(JOB, "raw", data=data, headers=headers)
    response = desk.get(f"/jobs/{JOB}/")
    assert response.status_code == 502
    assert str(wording.ERRORS["bad_response"].title) in text_of(response.content.decode())


@pytest.mark.parametrize("path", ["/", f"/jobs/{seed.DOC_SAMPLE_ID}/", "/attention/", "/bulk/", "/healthz"])
def test_head_works_where_get_does(desk, sandbox, path):
    got, head = desk.get(path), desk.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head["Content-Type"] == got["Content-Type"]


# --- 5. formulas after a separator inside a cell ---------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cells_split_on(content: str, separator: str) -> list[str]:
    """The cells a spreadsheet that splits every line on ``separator`` would see, quotes and blanks before
    a cell's text ignored (as Excel does when it runs ``"=1+1"`` or `` =1+1``)."""
    return [cell.lstrip(' "') for line in content.splitlines() for cell in line.split(separator)]


@pytest.mark.parametrize("separator", [";", ","])
def test_a_formula_after_a_separator_inside_a_cell_is_no_formula_in_the_audit_export(
    client, django_user_model, separator
):
    admin = django_user_model.objects.create_superuser("root", password="a-long-test-password")
    AuditEvent.objects.create(
        username="fiona",
        action="attention",
        outcome="found",
        filters={"company": "x;=1+1;", "period": ";=2+2;", "status": "a,@SUM(A1),-3,+4", "x": "y; \t=cmd"},
        job_count=3,
    )
    client.force_login(admin)
    response = client.post(
        "/admin/exportjobs/auditevent/",
        {"action": "export_csv", "_selected_action": list(AuditEvent.objects.values_list("pk", flat=True))},
    )
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    formulas = [cell for cell in cells_split_on(content, separator) if cell.startswith(FORMULA_STARTS)]
    assert formulas == []
    lines = content.splitlines()
    assert all(line.startswith('"') and line.endswith('"') for line in lines)  # every cell quoted
    filters = next(csv.DictReader(io.StringIO(content)))["filters"]
    assert '"company": "x;\'=1+1;"' in filters  # still readable: the value, guarded
    assert '"period": ";\'=2+2;"' in filters


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("x;=1+1;", "x;'=1+1;"),
        (";=2+2;", ";'=2+2;"),
        ("a,@SUM(A1)", "a,'@SUM(A1)"),
        ("a, -3", "a,' -3"),
        ('a;"=1', "a;'\"=1"),
        ("a\n=1", "a\n'=1"),
        ("\t=1", "'\t'=1"),
        ("2026-11-03T14:02:00Z", "2026-11-03T14:02:00Z"),
        ("Acme ApS; Acme AB", "Acme ApS; Acme AB"),
    ],
)
def test_every_part_of_a_cell_after_a_separator_is_guarded(value, safe):
    assert csv_cell(value) == safe


# --- 9. make dev: no debug page for a stranger, no password on any debug page ----------------------------


def test_a_disallowed_host_never_gets_the_debug_page(client, settings, caplog):
    settings.DEBUG = True
    settings.EMAIL_URL = "smtp+tls://desk:mail-password-123@mail.example.com:587"
    response = client.get("/", HTTP_HOST="desk.attacker.example")
    body = response.content.decode()
    assert response.status_code == 400
    assert "DisallowedHost" not in body
    assert "mail-password-123" not in body
    assert "SECRET_KEY" not in body
    assert any("desk.attacker.example" in r.getMessage() for r in caplog.records)
    assert client.get("/accounts/login/", HTTP_HOST="localhost").status_code == 200  # this machine: served


def debug_page(request, broker: str) -> str:
    """Django's debug page for a failure in this function, whose local variable ``broker`` holds a URL."""
    from django.views.debug import technical_500_response

    try:
        raise RuntimeError(f"could not reach the broker ({len(broker)})")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_the_debug_page_masks_every_password_written_in_a_url(rf, settings):
    # Made here, so that the page's excerpts of this test's own source cannot show them.
    mail, nested, cache, database, frame = (secrets.token_hex(8) for _ in range(5))
    settings.DEBUG = True
    settings.EMAIL_URL = f"smtp+tls://desk:{mail}@mail.example.com:587"
    settings.DESK_SERVICES = {"default": {"LOCATION": f"redis://:{nested}@redis.internal:6379/0"}}
    # the development server hands the whole environment on as request.META
    request = rf.get("/", CACHE_URL=f"redis://:{cache}@redis.internal:6379/0",
                     DATABASE_URL=f"postgres://desk:{database}@db.internal:5432/desk")  # fmt: skip
    page = debug_page(request, broker=f"amqp://desk:{frame}@mq.internal:5672/")
    for secret in (mail, nested, cache, database, frame):
        assert secret not in page
    assert "smtp+tls://desk:********************@mail.example.com:587" in page
    assert "postgres://desk:********************@db.internal:5432/desk" in page
    assert "amqp://desk:********************@mq.internal:5672/" in page


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "desk.example.com"])
def test_make_dev_listens_on_this_machine_only(host, monkeypatch):
    from django.core.management import CommandError, call_command

    from exportjobs.management.commands import rundesk

    def no_server(*args, **kwargs):
        raise AssertionError("make dev started a server on " + host)

    monkeypatch.setattr(rundesk.subprocess, "Popen", no_server)
    with pytest.raises(CommandError, match="this machine only"):
        call_command("rundesk", "--dev", "--host", host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_make_dev_may_listen_on_a_loopback_address(host):
    from exportjobs.management.commands.rundesk import dev_bind_refusal

    assert dev_bind_refusal(host) == ""


# --- 10. a moving budget window --------------------------------------------------------------------------


def test_a_burst_across_a_window_edge_stays_within_the_budget(desk, sandbox, settings, clock):
    settings.PLEO_USER_BUDGET = 5
    settings.PLEO_USER_BUDGET_WINDOW = 20
    sandbox.state.put_job(job_payload(JOB))
    clock.shift((20 - clock.time() % 20 - 2) % 20)  # two seconds before a fixed window would start anew
    before = [desk.post(f"/jobs/{JOB}/refresh/").status_code for _ in range(6)]
    clock.shift(2.5)  # just past that edge
    after = [desk.post(f"/jobs/{JOB}/refresh/") for _ in range(6)]
    assert before == [303] * 5 + [429]
    assert [answer.status_code for answer in after] == [429] * 6
    assert sandbox.state.calls(JOB) == 5
    assert all(0 < int(answer["Retry-After"]) <= 21 for answer in after)
    clock.shift(22)  # the burst has left the window: the whole budget again (the refusals cost nothing)
    assert [desk.post(f"/jobs/{JOB}/refresh/").status_code for _ in range(6)] == [303] * 5 + [429]
    assert sandbox.state.calls(JOB) == 10


@pytest.mark.parametrize("shared", ["local memory", "redis"])
def test_the_budget_is_a_moving_window_on_local_memory_and_on_redis(settings, clock, shared, request):
    from exportjobs import budgets
    from exportjobs.budgets import OverBudget

    if shared == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": request.getfixturevalue("redis_url"),
                "KEY_PREFIX": "ejd-budget-" + uuid.uuid4().hex[:6],
                "OPTIONS": {"serializer": "exportjobs.cache.JSONSerializer"},
            }
        }
    settings.PLEO_USER_BUDGET = 10
    settings.PLEO_USER_BUDGET_WINDOW = 60
    clock.shift((60 - clock.time() % 60 - 5) % 60)
    with budgets.spending_for(f"user:{shared.replace(' ', '-')}"):
        budgets.charge("job", calls=4)
        clock.shift(10)  # past a fixed window's edge
        budgets.charge("entries", calls=6)
        with pytest.raises(OverBudget) as refused:
            budgets.charge("job")
        assert 0 < refused.value.retry_after <= 60
        clock.shift(refused.value.retry_after)  # the first four have left the window, the six have not
        budgets.charge("job", calls=4)
        with pytest.raises(OverBudget):
            budgets.charge("job")
