"""The audit trail: every lookup, view and refresh recorded, read-only in admin, CSV, pruning."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from exportjobs import cache as desk_cache
from exportjobs import services
from exportjobs.models import AuditEvent
from exportjobs.sandbox import seed
from tests.helpers import SANDBOX_TOKEN

JOB = seed.DOC_SAMPLE_ID
HERE = {"Sec-Fetch-Site": "same-origin"}  # a browser says: asked on the desk's own pages

pytestmark = pytest.mark.django_db


def events():
    return list(
        AuditEvent.objects.order_by("id").values(
            "username", "action", "job_id", "outcome", "source", "job_status", "error_code"
        )
    )


def test_a_view_is_recorded_with_user_outcome_source_and_status(desk):
    desk.get(f"/jobs/{JOB}/")
    desk.get(f"/jobs/{JOB}/")
    rows = events()
    assert [(r["action"], r["outcome"], r["source"], r["job_status"]) for r in rows] == [
        ("view", "found", "fresh", "failed"),
        ("view", "found", "cache", "failed"),
    ]
    assert rows[0]["username"] == "fiona"
    assert str(rows[0]["job_id"]) == JOB
    assert AuditEvent.objects.first().created_at is not None


def test_not_found_and_errors_are_recorded(desk, sandbox):
    desk.get(f"/jobs/{seed.NOT_FOUND_EXAMPLE}/")
    sandbox.state.add_fault(JOB, "401")
    desk.get(f"/jobs/{JOB}/")
    rows = events()
    assert (rows[0]["outcome"], str(rows[0]["job_id"])) == ("not_found", seed.NOT_FOUND_EXAMPLE)
    assert (rows[1]["outcome"], rows[1]["error_code"]) == ("error", "auth")


def test_a_stale_copy_is_recorded_as_stale(desk, sandbox):
    desk.get(f"/jobs/{JOB}/")
    import uuid

    desk_cache.forget(services.job_cache_keys(uuid.UUID(JOB)))
    sandbox.state.add_fault(JOB, "503")
    assert desk.get(f"/jobs/{JOB}/").status_code == 200
    assert events()[-1]["source"] == "stale"


def test_lookups_and_refreshes_are_recorded(desk):
    desk.get("/lookup/", {"job_id": f"export {JOB} failed"})
    desk.get("/lookup/", {"job_id": "nothing here"})
    desk.post(f"/jobs/{JOB}/refresh/")
    rows = events()
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("lookup", "found"),
        ("lookup", "invalid"),
        ("refresh", "found"),
    ]
    assert rows[2]["source"] == "fresh"


def test_no_audit_row_holds_the_token(desk, sandbox):
    sandbox.state.add_fault(JOB, "401")
    desk.get(f"/jobs/{JOB}/")
    for row in AuditEvent.objects.values_list():
        assert SANDBOX_TOKEN not in repr(row)


@pytest.fixture
def admin_client(django_user_model):
    from django.test import Client

    admin = django_user_model.objects.create_superuser("root", password="a-long-test-password")
    client = Client()  # its own session: the `desk` client is signed in as fiona
    client.force_login(admin)
    return client


def test_admin_shows_the_trail_read_only_with_filters_and_search(admin_client, desk):
    desk.get(f"/jobs/{JOB}/")
    page = admin_client.get("/admin/exportjobs/auditevent/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "fiona" in body
    assert JOB in body
    for name in ("action", "outcome", "source", "created at"):  # the filters, each with its own box
        assert f'<details data-filter-title="{name}" open>' in body, name
    assert 'href="?outcome__exact=not_found"' in body
    assert 'id="searchbar"' in body
    found = admin_client.get("/admin/exportjobs/auditevent/", {"q": "fiona"}).content.decode()
    missed = admin_client.get("/admin/exportjobs/auditevent/", {"q": "nobody-by-this-name"}).content.decode()
    assert JOB in found
    assert JOB not in missed
    assert admin_client.get("/admin/exportjobs/auditevent/add/").status_code == 403
    event = AuditEvent.objects.first()
    change = admin_client.get(f"/admin/exportjobs/auditevent/{event.pk}/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert admin_client.post(f"/admin/exportjobs/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_admin_exports_the_trail_as_csv(admin_client, desk):
    desk.get(f"/jobs/{JOB}/")
    desk.get("/lookup/", {"job_id": "no id here"})
    ids = list(AuditEvent.objects.values_list("pk", flat=True))
    response = admin_client.post(
        "/admin/exportjobs/auditevent/", {"action": "export_csv", "_selected_action": [str(i) for i in ids]}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[0]["username"] == "fiona"
    assert rows[0]["job_id"] == JOB
    assert rows[0]["outcome"] == "found"


def test_pruning_deletes_rows_older_than_the_retention(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = AuditEvent.objects.create(action="view", outcome="found")
    recent = AuditEvent.objects.create(action="view", outcome="found")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    AuditEvent.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=29))
    out = io.StringIO()
    call_command("prune_audit", stdout=out)
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert "Deleted 1 audit events older than 30 days" in out.getvalue()


def test_a_look_that_cannot_be_recorded_is_not_shown(desk, sandbox, monkeypatch):
    from django.db import DatabaseError

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEvent.objects, "create", broken)
    sandbox.state.update_job(JOB, failureReason="Secret reason only for the audited")
    response = desk.get(f"/jobs/{JOB}/")
    page = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "cannot record this look" in page
    assert "Secret reason only for the audited" not in page
    assert "failure-reason" not in page


def test_bulk_rows_that_cannot_be_recorded_are_not_shown(desk, sandbox, monkeypatch):
    from django.db import DatabaseError

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEvent.objects, "create", broken)
    response = desk.get("/bulk/", {"ids": f"{JOB} {seed.job_uuid('completed')}"}, headers=HERE)
    assert response.status_code == 503
    assert "cannot record this look" in response.content.decode()
    assert seed.job_uuid("completed") not in response.content.decode()


def test_an_error_page_still_goes_out_when_its_audit_row_cannot_be_written(desk, sandbox, monkeypatch):
    from django.db import DatabaseError

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEvent.objects, "create", broken)
    assert desk.get(f"/jobs/{seed.NOT_FOUND_EXAMPLE}/").status_code == 404


def test_the_pages_own_auto_refresh_is_not_recorded_as_a_view(desk):
    desk.get(f"/jobs/{JOB}/")
    desk.get(f"/jobs/{JOB}/", headers={"X-Requested-With": "fetch"})
    assert [r["action"] for r in events()] == ["view"]


def test_an_overlong_status_from_pleo_still_gets_its_audit_row(desk, sandbox):
    sandbox.state.update_job(JOB, status="s" * 200)
    desk.get(f"/jobs/{JOB}/")
    assert events()[-1]["job_status"] == "s" * 64


def test_the_admin_csv_writes_a_list_views_filters_as_json_and_never_a_formula(admin_client, db):
    event = AuditEvent.objects.create(
        username="=cmd|' /C calc'!A0",
        action=AuditEvent.Action.ATTENTION,
        outcome=AuditEvent.Outcome.FOUND,
        filters={"period": "7d", "statuses": ["failed"], "company": "", "format": "csv"},
        job_count=12,
    )
    response = admin_client.post(
        "/admin/exportjobs/auditevent/", {"action": "export_csv", "_selected_action": [str(event.pk)]}
    )
    [row] = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert row["username"] == "'=cmd|' /C calc'!A0"
    assert row["action"] == "attention"
    assert json.loads(row["filters"]) == {"period": "7d", "statuses": ["failed"], "company": "", "format": "csv"}
    assert row["job_count"] == "12"
