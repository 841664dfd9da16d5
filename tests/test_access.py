"""Who may look: sign-in, the view permission, single sign-on and the brute-force lock-out."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from exportjobs.sandbox import seed

ROOT = Path(__file__).resolve().parent.parent
JOB_PAGE = f"/jobs/{seed.DOC_SAMPLE_ID}/"
PASSWORD = "a-long-test-password"

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/lookup/?job_id=x", JOB_PAGE, "/admin/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, sandbox, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/" if path != "/admin/" else "/admin/login/")
    assert sandbox.state.calls() == 0


def test_anonymous_refresh_is_refused_without_calling_pleo(client, sandbox):
    response = client.post(f"{JOB_PAGE}refresh/")
    assert response.status_code in (302, 403)
    assert sandbox.state.calls() == 0


def test_a_ticket_link_leads_through_sign_in_to_the_same_job(client, finance_user, sandbox):
    response = client.get(JOB_PAGE)
    assert response["Location"] == f"/accounts/login/?next={JOB_PAGE}"
    login_page = client.get(response["Location"])
    assert login_page.status_code == 200
    assert b"Sign in" in login_page.content
    response = client.post("/accounts/login/", {"username": "fiona", "password": PASSWORD, "next": JOB_PAGE})
    assert response.status_code == 302
    assert response["Location"] == JOB_PAGE
    page = client.get(JOB_PAGE)
    assert page.status_code == 200
    assert b"The accounting system rejected the login" in page.content


@pytest.mark.parametrize(
    "target", ["https://evil.example.com/", "//evil.example.com/jobs/", "http://testserver.evil.com/"]
)
def test_sign_in_never_redirects_off_site(client, finance_user, target):
    response = client.post("/accounts/login/", {"username": "fiona", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_healthz_and_sign_in_pages_need_no_sign_in(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 200


def test_a_user_without_the_permission_gets_a_403_that_says_whom_to_ask_and_no_call(client, sandbox, django_user_model):
    user = django_user_model.objects.create_user("outsider", password=PASSWORD)
    client.force_login(user)
    for response in (client.get(JOB_PAGE), client.get("/"), client.post(f"{JOB_PAGE}refresh/")):
        assert response.status_code == 403
        assert b"Finance" in response.content
        assert b"administrator" in response.content
    assert sandbox.state.calls() == 0


def test_the_finance_group_grants_the_permission_and_superusers_pass(client, sandbox, django_user_model):
    assert Group.objects.get(name="Finance").permissions.filter(codename="view_export_jobs").exists()
    admin = django_user_model.objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    assert client.get(JOB_PAGE).status_code == 200


def test_the_finance_group_is_there_again_after_a_flush_as_a_live_server_test_ends_with(transactional_db):
    """Browser tests flush the database at their end; a test that runs after one still finds the group."""
    call_command("flush", interactive=False, verbosity=0)
    assert Group.objects.get(name="Finance").permissions.filter(codename="view_export_jobs").exists()


def test_users_and_groups_are_managed_in_admin(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/auth/group/").status_code == 200


# --- brute force -------------------------------------------------------------------


def test_five_failed_sign_ins_lock_the_user_name_out_with_a_clear_message(client, finance_user):
    for _ in range(4):
        response = client.post("/accounts/login/", {"username": "fiona", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "fiona", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429
    assert b"Sign-in is paused for 15 minutes" in response.content
    # Even the right password, from that address, is refused during the cool-off ...
    response = client.post("/accounts/login/", {"username": "fiona", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_an_attacker_cannot_lock_a_colleague_out_of_their_own_machine(client, finance_user, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password=PASSWORD)
    for name in ("fiona", "root"):
        for _ in range(6):
            client.post("/accounts/login/", {"username": name, "password": "wrong"}, REMOTE_ADDR="203.0.113.66")
    assert (
        client.post(
            "/accounts/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR="203.0.113.66"
        ).status_code
        == 429
    )
    for user in (finance_user, admin):
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
        )
        assert response.status_code == 302, user.username  # from their own machine: signed in
        client.post("/accounts/logout/")


def test_a_few_failures_from_one_address_lock_only_the_names_tried_but_spraying_locks_the_address(
    client, django_user_model, settings
):
    django_user_model.objects.create_user("other", password=PASSWORD)
    for name in ("a", "b", "c", "d", "e"):
        client.post("/accounts/login/", {"username": name, "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    response = client.post("/accounts/login/", {"username": "other", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302  # a shared office address is not locked by five typos
    client.post("/accounts/logout/")
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 12
    for index in range(12):
        client.post("/accounts/login/", {"username": f"spray{index}", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    response = client.post("/accounts/login/", {"username": "other", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429  # password spraying from one address


def test_the_lock_out_counts_the_client_address_a_trusted_proxy_reports(client, settings, django_user_model):
    from django.test import RequestFactory

    from exportjobs.addresses import client_ip

    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.2", REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == "198.51.100.2"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "203.0.113.7"
    mapped = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="198.51.100.2", REMOTE_ADDR="::ffff:10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(mapped) == "198.51.100.2"  # a socket bound to [::] names IPv4 proxies so
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"  # no hops to peel: the header is ignored


def test_x_forwarded_for_from_an_address_not_among_the_trusted_proxies_is_ignored(settings):
    from django.test import RequestFactory

    from exportjobs.addresses import client_ip

    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.TRUSTED_PROXY_COUNT = 1
    for remote in ("10.0.0.2", "203.0.113.66", "not an address"):
        request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="198.51.100.2", REMOTE_ADDR=remote)
        assert client_ip(request) == remote
    proxied = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="evil, 10.0.0.1, junk", REMOTE_ADDR="10.0.0.1")
    assert client_ip(proxied) == "10.0.0.1"  # what the proxy reports must be an address


@pytest.fixture
def behind_a_proxy(settings):
    """The desk behind one proxy at 10.0.0.1, as a team runs it; the desk is also reachable directly."""
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.TRUSTED_PROXY_COUNT = 1


def test_thirty_wrong_passwords_with_a_new_x_forwarded_for_each_lock_out_as_usual(client, finance_user, behind_a_proxy):
    statuses = []
    for attempt in range(30):
        response = client.post(
            "/accounts/login/",
            {"username": "fiona", "password": f"wrong-{attempt}"},
            REMOTE_ADDR="203.0.113.66",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt + 1}",
        )
        statuses.append(response.status_code)
    assert statuses[:4] == [200] * 4
    assert statuses[4:] == [429] * 26  # the connection's own address was counted, not the header
    right = client.post(
        "/accounts/login/",
        {"username": "fiona", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.66",
        HTTP_X_FORWARDED_FOR="198.51.100.200",
    )
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_through_the_trusted_proxy_each_client_address_is_counted_on_its_own(client, finance_user, behind_a_proxy):
    for _ in range(5):
        client.post(
            "/accounts/login/",
            {"username": "fiona", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.9",
        )
    locked = client.post(
        "/accounts/login/", {"username": "fiona", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )  # fmt: skip
    assert locked.status_code == 429
    own_machine = client.post(
        "/accounts/login/", {"username": "fiona", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.10",
    )  # fmt: skip
    assert own_machine.status_code == 302  # the colleague's own address, through the same proxy


def test_metrics_refuse_a_forged_x_forwarded_for_and_trust_the_proxys(client, behind_a_proxy):
    forged = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert forged.status_code == 404
    proxied = client.get("/metrics", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert proxied.status_code == 200
    assert b"desk_pleo_calls_total" in proxied.content or b"python_info" in proxied.content
    outsider = client.get("/metrics", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert outsider.status_code == 404  # the proxy's own address allows nothing


def test_x_forwarded_proto_is_believed_only_from_the_trusted_proxy(client, settings, behind_a_proxy):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    direct = client.get("/accounts/login/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_PROTO="https")
    assert direct.status_code == 301
    assert direct["Location"].startswith("https://")
    proxied = client.get("/accounts/login/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


# --- single sign-on --------------------------------------------------------------------


@pytest.fixture
def sso(settings):
    """Single sign-on through a proxy on this machine (the test client's own address, 127.0.0.1)."""
    settings.AUTH_REMOTE_USER_HEADER = "X-Forwarded-User"
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.TRUSTED_PROXY_COUNT = 1
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "exportjobs.middleware.ProxyRemoteUserMiddleware",
    )
    settings.MIDDLEWARE = middleware
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "exportjobs.signin.RemoteUserWithoutRights"]


def test_single_sign_on_is_wired_by_the_setting():
    env = {
        **os.environ,
        "AUTH_REMOTE_USER_HEADER": "X-Forwarded-User",
        "TRUSTED_PROXIES": "127.0.0.1",
        "READ_DOT_ENV": "0",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.MIDDLEWARE); print(s.AUTHENTICATION_BACKENDS)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "exportjobs.middleware.ProxyRemoteUserMiddleware" in out
    assert "exportjobs.signin.RemoteUserWithoutRights" in out
    env.pop("AUTH_REMOTE_USER_HEADER")
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "RemoteUser" not in out


def test_the_sso_header_signs_a_finance_user_in(sso, sandbox, finance_user):
    client = Client()
    response = client.get(JOB_PAGE, HTTP_X_FORWARDED_USER="fiona")
    assert response.status_code == 200
    assert b"fiona" in response.content


def test_a_new_sso_user_exists_but_has_no_permission_until_added_to_finance(sso, sandbox, django_user_model):
    client = Client()
    response = client.get(JOB_PAGE, HTTP_X_FORWARDED_USER="newcomer")
    assert response.status_code == 403
    assert django_user_model.objects.filter(username="newcomer").exists()
    assert sandbox.state.calls() == 0


def test_the_sso_header_from_an_address_not_among_the_trusted_proxies_is_refused_and_logged(
    sso, sandbox, finance_user, django_user_model, caplog
):
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    client = Client(REMOTE_ADDR="203.0.113.66")
    for path, name in ((JOB_PAGE, "fiona"), ("/admin/", "root"), ("/", "newcomer")):
        response = client.get(path, HTTP_X_FORWARDED_USER=name)
        assert response.status_code == 400, path
        assert "_auth_user_id" not in client.session
    assert not django_user_model.objects.filter(username="newcomer").exists()
    refusals = [r.getMessage() for r in caplog.records if "Refused a request with X-Forwarded-User" in r.getMessage()]
    assert len(refusals) == 3
    assert all("203.0.113.66" in line and "not one of TRUSTED_PROXIES" in line for line in refusals)
    assert sandbox.state.calls() == 0
    assert Client(REMOTE_ADDR="127.0.0.1").get(JOB_PAGE, HTTP_X_FORWARDED_USER="fiona").status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "fin,root",  # two header lines, joined by the server: never split into one of them
        "root, fin",
        "=HYPERLINK(1)",
        "fiona\x00",
        "fiona\t",
        " fiona",
        "fiona\u202e",
        "\xff\xfe",  # not UTF-8
        "x" * 151,
    ],
)
def test_an_sso_value_that_is_not_one_user_name_is_refused(sso, sandbox, finance_user, django_user_model, value):
    before = django_user_model.objects.count()
    response = Client().get(JOB_PAGE, HTTP_X_FORWARDED_USER=value)
    assert response.status_code == 400
    assert django_user_model.objects.count() == before
    assert sandbox.state.calls() == 0


def test_an_sso_name_in_utf8_is_read_as_utf8_and_its_new_user_has_no_rights(sso, sandbox, django_user_model):
    as_wsgi_hands_it = "élise".encode().decode("latin-1")  # "Ã©lise"
    client = Client()
    response = client.get(JOB_PAGE, HTTP_X_FORWARDED_USER=as_wsgi_hands_it)
    assert response.status_code == 403
    user = django_user_model.objects.get(username="élise")
    assert not django_user_model.objects.filter(username=as_wsgi_hands_it).exists()
    assert (user.is_staff, user.is_superuser, user.has_usable_password()) == (False, False, False)
    assert list(user.groups.all()) == []
    assert client.get("/admin/", HTTP_X_FORWARDED_USER=as_wsgi_hands_it).status_code == 302  # not staff: sign in
    assert sandbox.state.calls() == 0


def test_without_sso_configured_the_header_is_ignored(client, sandbox, finance_user):
    response = client.get(JOB_PAGE, HTTP_X_FORWARDED_USER="fiona")
    assert response.status_code == 302
    assert sandbox.state.calls() == 0


def test_taking_someone_out_of_finance_applies_at_once(client, sandbox, finance_user):
    client.force_login(finance_user)
    assert client.get(JOB_PAGE).status_code == 200
    finance_user.groups.remove(Group.objects.get(name="Finance"))
    assert client.get(JOB_PAGE).status_code == 403
    finance_user.groups.add(Group.objects.get(name="Finance"))
    assert client.get(JOB_PAGE).status_code == 200


def test_removing_the_permission_from_the_group_applies_at_once(client, sandbox, finance_user):
    from django.contrib.auth.models import Permission

    client.force_login(finance_user)
    assert client.get(JOB_PAGE).status_code == 200
    Group.objects.get(name="Finance").permissions.remove(Permission.objects.get(codename="view_export_jobs"))
    assert client.get(JOB_PAGE).status_code == 403


def test_a_deactivated_user_is_refused(client, sandbox, finance_user):
    client.force_login(finance_user)
    finance_user.is_active = False
    finance_user.save()
    assert client.get(JOB_PAGE).status_code in (302, 403)


def test_the_permission_answer_is_reused_between_requests(client, sandbox, finance_user, django_assert_max_num_queries):
    client.force_login(finance_user)
    client.get(JOB_PAGE)
    # session, user, audit row: no permission queries on the second look
    with django_assert_max_num_queries(3):
        assert client.get(JOB_PAGE).status_code == 200
