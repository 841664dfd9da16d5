"""Alerts in one process: rules, the poll against the sandbox Pleo, the outbox delivered to a real HTTP
receiver, /alerts/, the watch button, Pleo's signed webhook and where a channel's secret never appears.

The poll runs as the worker runs it (``alerts_poll``), one interval after another: the desk's clock moves on
by ``ALERT_POLL_SECONDS`` between two polls, which also lets the list's cached answer run out."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.utils.timezone import localtime

from exportjobs.alerts.poll import alerts_poll
from exportjobs.alerts.rules import rule_create
from exportjobs.models import AlertDelivery, AlertNotification, AlertPoll, AuditEvent, JobWatch
from exportjobs.sandbox import seed
from tests.helpers import (
    HANG_GUARD,
    counter,
    deliver_all,
    fail,
    fails_between_polls,
    job_payload,
    log_as_written,
    new_job,
    poll_now,
    sign_webhook,
    text_of,
)

SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtZGVzay13ZWJob29rLXRlc3Rz"


@pytest.fixture
def alerts(settings, sandbox):
    settings.ALERT_POLL_SECONDS = 60.0
    settings.ALERT_RETRY_SECONDS = 60.0
    settings.DESK_BASE_URL = "https://desk.example.com"
    return sandbox


@pytest.fixture
def manager(django_user_model, client):
    user = django_user_model.objects.create_user("alma", password="a-long-test-password", email="alma@example.com")
    user.groups.add(Group.objects.get(name="Finance"))
    user.user_permissions.add(Permission.objects.get(codename="manage_alerts"))
    client.force_login(user)
    return client


def test_a_failed_job_is_told_once_per_state_it_enters(db, alerts, clock, receiver):
    rule = rule_create(name="Finance chat", channel=receiver.url(), states=["failed"])
    poll_now(clock)  # the first poll: what is there already is remembered, not told
    job_id = new_job(alerts)
    poll_now(clock)
    assert not AlertNotification.objects.exists()
    fail(alerts, job_id)
    poll_now(clock)
    assert AlertNotification.objects.filter(rule=rule).count() == 1
    for _ in range(5):  # seen failed again and again: nothing more
        poll_now(clock)
    assert AlertNotification.objects.count() == 1
    deliver_all(clock)
    [request] = receiver.ok()
    notification = AlertNotification.objects.get()
    assert request["headers"]["webhook-id"] == str(notification.id)
    assert request["body"]["id"] == str(notification.id)
    assert "could not be reached" in request["body"]["message"] or "reach" in request["body"]["message"]
    assert f"https://desk.example.com/jobs/{job_id}/" in request["body"]["message"]
    assert notification.status == "delivered"
    # exported again, then failed again: a second message
    alerts.state.update_job(job_id, status="in_progress", failureReasonType=None, failureReason=None)
    poll_now(clock)
    fail(alerts, job_id)
    poll_now(clock)
    assert AlertNotification.objects.count() == 2


def test_twelve_jobs_failing_for_one_reason_are_one_message_naming_all_twelve(db, alerts, clock, receiver):
    rule_create(name="All", channel=receiver.url(), states=["failed", "partly_exported", "possibly_stuck"])
    poll_now(clock)
    jobs = [new_job(alerts, index) for index in range(12)]
    poll_now(clock)
    for job_id in jobs:
        fail(alerts, job_id)
    poll_now(clock)
    [notification] = AlertNotification.objects.all()
    assert len(notification.jobs) == 12
    deliver_all(clock)
    [request] = receiver.ok()
    message = request["body"]["message"]
    assert "12 exports failed" in request["body"]["title"]
    for job_id in jobs:
        assert f"/jobs/{job_id}/" in message


def test_more_than_twenty_jobs_end_with_a_link_to_the_list(db, alerts, clock, receiver):
    rule_create(name="All", channel=receiver.url(), states=["failed"])
    poll_now(clock)
    jobs = [new_job(alerts, index) for index in range(23)]
    poll_now(clock)
    for job_id in jobs:
        fail(alerts, job_id)
    poll_now(clock)
    deliver_all(clock)
    [request] = receiver.ok()
    message = request["body"]["message"]
    assert message.count("/jobs/") == 20
    assert "and 3 more: https://desk.example.com/attention/?period=30d&status=failed" in message


def test_a_rule_hears_only_its_states_and_companies(db, alerts, clock, receiver):
    rule_create(name="Sweden", channel=receiver.url(), states=["failed"], companies=[seed.COMPANY_SE])
    fails_between_polls(alerts, clock)
    assert not AlertNotification.objects.exists()


def test_when_pleo_is_down_nothing_is_decided_and_the_page_says_when_the_last_poll_worked(
    db, alerts, clock, receiver, manager
):
    rule_create(name="Chat", channel=receiver.url(), states=["failed", "possibly_stuck"])
    poll_now(clock)
    alerts.state.add_list_fault("503")
    with log_as_written() as written:
        poll = poll_now(clock)
    assert not poll.ok
    assert poll.error
    clock.shift(3600)  # long enough for every active job to look stuck, were the old list believed
    poll = poll_now(clock)
    assert not poll.ok
    assert not AlertNotification.objects.exists()
    assert any("got no answer from Pleo" in record.getMessage() for record in written)
    page = text_of(manager.get("/alerts/").content.decode())
    assert "Last successful poll" in page
    assert counter("desk_alert_polls_total", outcome="failed") >= 2


def test_a_poll_is_once_per_interval(db, alerts, clock):
    clock.shift(60)
    first = alerts_poll(deliver=lambda ids: None, worker="a")
    second = alerts_poll(deliver=lambda ids: None, worker="b")
    assert first is not None
    assert second is None
    assert AlertPoll.objects.count() == 1


def test_a_receiver_that_fails_three_times_gets_the_message_once_after_four_attempts(db, alerts, clock, receiver):
    rule = rule_create(name="Chat", channel=receiver.url(), states=["failed"])
    fails_between_polls(alerts, clock)
    receiver.fail(3)
    for _ in range(4):
        deliver_all(clock)
        clock.shift(3600)  # past the backoff
    notification = AlertNotification.objects.get(rule=rule)
    assert notification.status == "delivered"
    assert AlertDelivery.objects.filter(notification=notification).count() == 4
    assert AlertDelivery.objects.filter(notification=notification, ok=True).count() == 1
    assert len(receiver.ok()) == 1
    assert len({request["headers"]["webhook-id"] for request in receiver.requests}) == 1


def test_a_delivery_gives_up_after_its_attempts(db, alerts, clock, receiver, settings):
    settings.ALERT_DELIVERY_ATTEMPTS = 2
    rule = rule_create(name="Chat", channel=receiver.url(), states=["failed"])
    fails_between_polls(alerts, clock)
    receiver.fail(5)
    for _ in range(3):
        deliver_all(clock)
        clock.shift(3600)
    notification = AlertNotification.objects.get(rule=rule)
    assert notification.status == "failed"
    assert notification.deliveries.count() == 2


def test_a_watched_job_emails_its_watcher_when_it_finishes(db, alerts, clock, manager, mailoutbox, settings):
    settings.EMAIL_URL = "smtp://127.0.0.1:1"
    job_id = new_job(alerts)
    poll_now(clock)
    page = manager.get(f"/jobs/{job_id}/")
    assert "Tell me when it finishes" in page.content.decode()
    response = manager.post(f"/jobs/{job_id}/watch/")
    assert response.status_code == 302
    assert JobWatch.objects.filter(job_id=job_id).exists()
    alerts.state.update_job(job_id, status="completed", completedAt=seed.ts(datetime.now(timezone.utc)))
    poll_now(clock)
    deliver_all(clock)
    [mail] = mailoutbox
    assert mail.to == ["alma@example.com"]
    assert "Exported" in mail.subject
    assert f"/jobs/{job_id}/" in mail.body
    assert mail.alternatives
    assert "text/html" in mail.alternatives[0][1]


def test_unwatch(db, alerts, manager):
    job_id = new_job(alerts)
    manager.post(f"/jobs/{job_id}/watch/")
    manager.post(f"/jobs/{job_id}/watch/", {"unwatch": "1"})
    assert not JobWatch.objects.exists()


def test_alerts_need_the_permission(db, desk):
    assert desk.get("/alerts/").status_code == 403
    assert 'href="/alerts/"' not in desk.get("/").content.decode()  # and the header offers no link to them


def test_the_header_leads_those_who_manage_alerts_to_them(db, manager):
    assert 'href="/alerts/">Alerts</a>' in manager.get("/").content.decode()
    assert 'href="/alerts/" aria-current="page">Alerts</a>' in manager.get("/alerts/").content.decode()


def test_the_alerts_link_follows_a_permission_granted_after_the_answer_was_remembered(db, desk, django_user_model):
    assert 'href="/alerts/"' not in desk.get("/").content.decode()  # the answer "no" is remembered now
    user = django_user_model.objects.get(pk=desk.session["_auth_user_id"])
    user.user_permissions.add(Permission.objects.get(codename="manage_alerts"))
    assert 'href="/alerts/">Alerts</a>' in desk.get("/").content.decode()


def test_a_manager_adds_tests_and_removes_a_rule(db, alerts, manager):
    channel = "slack://TA1B2C3D4/BX9Y8Z7W6/abcdefSECRETtokenxyz"
    response = manager.post(
        "/alerts/add/", {"name": "Finance", "channel": channel, "states": ["failed"], "language": "da", "digest": ""}
    )
    assert response.status_code == 302
    page = manager.get("/alerts/").content.decode()
    assert "slack://T…/B…/****" in page
    assert "SECRETtoken" not in page
    rule_id = AlertNotification._meta.get_field("rule").related_model.objects.get().pk
    manager.post(f"/alerts/{rule_id}/test/")
    assert AlertNotification.objects.filter(kind="test").count() == 1
    manager.post(f"/alerts/{rule_id}/remove/")
    assert 'id="rule-' not in manager.get("/alerts/").content.decode()


def test_a_rule_that_cannot_work_is_refused_without_echoing_the_channel(db, alerts, manager):
    response = manager.post(
        "/alerts/add/", {"name": "Bad", "channel": "nonsense://what?token=hush-hush-1", "states": ["failed"],
                         "language": "en"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "hush-hush-1" not in response.content.decode()


def test_a_channel_secret_appears_in_no_page_log_audit_row_or_admin_screen(
    db, alerts, clock, receiver, admin_client, caplog
):
    secret = "s3cr3t-hook-password"
    channel = receiver.url(auth=f"alerts:{secret}")
    receiver.fail(1)
    with log_as_written() as written:
        call_command("alerts", "add-rule", "--name", "Hook", "--channel", channel, "--state", "failed")
        fails_between_polls(alerts, clock)
        deliver_all(clock)
    error = AlertDelivery.objects.get().error
    assert error
    assert secret not in error
    rule = AlertNotification.objects.get().rule
    for url in ("/alerts/", "/admin/exportjobs/alertrule/", f"/admin/exportjobs/alertrule/{rule.pk}/change/"):
        answer = admin_client.get(url)
        assert answer.status_code == 200, url
        assert secret not in answer.content.decode(), url
    assert secret not in caplog.text
    assert not any(secret in record.getMessage() for record in written)
    for event in AuditEvent.objects.all():
        assert secret not in json.dumps([event.filters, event.error_code, event.failure_type])


def test_the_command_adds_lists_and_removes_rules(db, capsys):
    call_command("alerts", "add-rule", "--name", "Ops", "--channel", "discord://1234567/tokenSECRETvalue")
    call_command("alerts", "list")
    out = capsys.readouterr().out
    assert "Ops" in out
    assert "tokenSECRETvalue" not in out
    assert "failed,partly_exported,possibly_stuck" in out
    call_command("alerts", "remove", "Ops")
    capsys.readouterr()
    call_command("alerts", "list")
    assert "Ops" not in capsys.readouterr().out


def test_metrics_count_polls_deliveries_and_the_outbox(db, alerts, clock, receiver, client):
    rule_create(name="Chat", channel=receiver.url(), states=["failed"])
    fails_between_polls(alerts, clock)
    page = client.get("/metrics").content.decode()
    assert "desk_alert_outbox_pending 1.0" in page
    assert "desk_alert_outbox_age_seconds" in page
    before = counter("desk_alert_deliveries_total", outcome="delivered")
    deliver_all(clock)
    assert counter("desk_alert_deliveries_total", outcome="delivered") == before + 1
    assert "desk_alert_outbox_pending 0.0" in client.get("/metrics").content.decode()


# --- Pleo's webhook ---------------------------------------------------------------------------------


def event(job_id: str) -> bytes:
    return json.dumps({"type": "v1.export-job.created", "data": {"id": job_id}}).encode()


def post_event(client, body: bytes, headers: dict[str, str]):
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return client.post("/webhooks/pleo/", body, content_type="application/json", **extra)


def test_the_webhook_is_off_without_a_secret(db, client, settings):
    settings.PLEO_WEBHOOK_SECRET = ""
    assert client.post("/webhooks/pleo/", b"{}", content_type="application/json").status_code == 404


def test_a_signed_webhook_is_accepted_and_its_job_watched(db, client, settings):
    settings.PLEO_WEBHOOK_SECRET = SECRET
    job_id = str(uuid.uuid4())
    body = event(job_id)
    response = post_event(client, body, sign_webhook(SECRET, body))
    assert response.status_code == 204
    assert JobWatch.objects.filter(job_id=job_id, source="webhook").exists()


@pytest.mark.parametrize("how", ["unsigned", "wrong", "replayed"])
def test_an_unverified_webhook_is_refused_and_nothing_recorded(db, client, settings, how, caplog):
    settings.PLEO_WEBHOOK_SECRET = SECRET
    body = event(str(uuid.uuid4()))
    if how == "unsigned":
        headers: dict[str, str] = {}
    elif how == "wrong":
        headers = sign_webhook("whsec_" + "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==", body)
    else:
        headers = sign_webhook(SECRET, body, at=datetime.now(timezone.utc) - timedelta(minutes=6))
    with log_as_written() as written:
        response = post_event(client, body, headers)
    assert 400 <= response.status_code < 500
    assert not JobWatch.objects.exists()
    assert len([record for record in written if "webhook refused" in record.getMessage()]) == 1


def test_the_poll_shares_the_lists_cache_with_attention(db, alerts, clock, desk):
    assert desk.get("/attention/").status_code == 200
    calls = alerts.state.list_calls()
    poll = alerts_poll(deliver=lambda ids: None, worker="test")  # the same interval as the page: its cache
    assert poll is not None
    assert poll.ok
    assert alerts.state.list_calls() == calls
    poll_now(clock)  # an interval later the cached answer has run out: one walk
    assert alerts.state.list_calls() > calls


def test_watched_jobs_cost_at_most_alert_watch_max_calls_per_poll(db, alerts, clock, settings):
    settings.ALERT_WATCH_MAX = 2
    hidden = [str(uuid.uuid4()) for _ in range(3)]  # completed long ago: not in the list
    for job_id in hidden:
        alerts.state.put_job(job_payload(job_id))
        JobWatch.objects.create(job_id=job_id, source="webhook")
    poll = poll_now(clock)
    assert poll.job_calls == 2
    assert sum(alerts.state.calls(job_id) for job_id in hidden) == 2
    poll = poll_now(clock)  # the one not asked comes first next time
    assert alerts.state.calls(hidden[2]) == 1


def test_a_digest_rule_gathers_its_jobs_for_its_time_of_day(db, alerts, clock, receiver):
    # Its time of day is half a day from now (in TIME_ZONE), so the polls below never reach it, whenever the suite runs.
    digest_at = (localtime() + timedelta(hours=12)).time().replace(second=0, microsecond=0)
    rule_create(name="Daily", channel=receiver.url(), states=["failed"], digest_at=digest_at)
    poll_now(clock)
    jobs = [new_job(alerts, index) for index in range(2)]
    poll_now(clock)
    fail(alerts, jobs[0])
    poll_now(clock)
    fail(alerts, jobs[1], kind="validation_failure")
    poll_now(clock)
    [digest] = AlertNotification.objects.all()
    assert digest.kind == "digest"
    assert len(digest.jobs) == 2
    deliver_all(clock)
    assert not receiver.ok()
    clock.shift(24 * 3600)
    deliver_all(clock)
    [request] = receiver.ok()
    assert "2 exports need attention" in request["body"]["title"]


def test_a_message_is_in_its_rules_language(db, alerts, clock, receiver):
    rule_create(name="Danish", channel=receiver.url(), states=["failed"], language="da")
    fails_between_polls(alerts, clock)
    deliver_all(clock)
    [request] = receiver.ok()
    assert "Mislykket" in request["body"]["message"]
    assert "Sendt af Export Job Desk" in request["body"]["message"]


def test_the_sandbox_puts_and_changes_many_jobs_over_http(sandbox):
    import requests

    jobs = [job_payload(str(uuid.UUID(int=index + 1)), status="in_progress", completedAt=None) for index in range(3)]
    answer = requests.post(sandbox.url + "/_sandbox/jobs", json={"jobs": jobs}, timeout=HANG_GUARD)
    assert answer.json() == {"jobs": 3}
    ids = [job["id"] for job in jobs[:2]]
    answer = requests.post(
        sandbox.url + "/_sandbox/jobs/update", json={"ids": ids, "fields": {"status": "failed"}}, timeout=HANG_GUARD
    )
    assert answer.json() == {"jobs": 2}
    assert [sandbox.state.job(job["id"])["status"] for job in jobs] == ["failed", "failed", "in_progress"]
    assert requests.post(sandbox.url + "/_sandbox/jobs/update", data=b"nonsense", timeout=HANG_GUARD).status_code == 400


def test_the_sandboxs_sample_rule_delivers_to_the_outbox_page(db, alerts, clock, desk, settings):
    settings.PLEO_SANDBOX = True
    rule_create(name="Sandbox outbox", channel="outbox:", states=["failed"])
    fails_between_polls(alerts, clock)
    deliver_all(clock)
    assert AlertNotification.objects.get().status == "delivered"
    page = text_of(desk.get("/alerts/outbox/").content.decode())
    assert "Failed: The accounting system could not be reached" in page
    settings.PLEO_SANDBOX = False
    assert desk.get("/alerts/outbox/").status_code == 404


def test_the_benchs_alerts_section_is_written_from_numbers():
    from bench import alerts as alerts_phase

    numbers = {"median": 0.5, "p95": 0.8, "count": 6}
    results = {
        "interval_s": 2.0,
        "changing": 100,
        "runs": [{"workers": count, "jobs_listed": 1046, "polls": numbers, "lag": numbers} for count in (1, 2)],
    }
    text = alerts_phase.render(results)
    assert "| 1 | 1,046 | 6 | 0.50 s | 0.80 s | 6 | 0.50 s | 0.80 s |" in text
    assert "| 2 |" in text
    assert alerts_phase.render(None) == ""


def test_make_runs_worker_command_is_one_manage_py_accepts():
    from django.core.management import load_command_class

    from exportjobs.management.commands.rundesk import WORKER

    command = load_command_class("exportjobs", WORKER[0])
    options = command.create_parser("manage.py", WORKER[0]).parse_args(list(WORKER[1:]))
    assert options.action == "worker"
    assert options.verbosity == 0


def test_the_sandboxs_demo_user_may_see_the_sample_rule(db, django_user_model):
    from exportjobs.management.commands.rundesk import DEMO_USER, Command

    command = Command()
    command.reset_demo()
    command.sandbox_rule()
    demo = django_user_model.objects.get(username=DEMO_USER)
    assert demo.has_perm("exportjobs.manage_alerts")
    assert not demo.is_superuser
    assert AlertNotification._meta.get_field("rule").related_model.objects.get().channel_masked == "outbox:"
