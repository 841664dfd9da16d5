"""The job page: status in words, times, timeline, expiry, failure panel, freshness, support tools."""

import html
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from django.core.cache import cache

from exportjobs import cache as desk_cache
from exportjobs.pleo import FailureType, JobStatus
from exportjobs.sandbox import seed
from exportjobs.verdict import JOB_FAILURE_PARTY
from exportjobs.wording import ACTORS, FAILURE, STATUS, failure_wording
from tests.helpers import job_payload, text_of

JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
URL = f"/jobs/{JOB}/"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def show(desk, sandbox, **fields) -> str:
    sandbox.state.put_job(job_payload(JOB, **fields))
    response = desk.get(URL)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.mark.parametrize("status", list(JobStatus))
def test_every_status_has_a_badge_with_words_icon_and_meaning(desk, sandbox, status):
    page = show(desk, sandbox, status=status.value)
    wording = STATUS[status]
    assert f'class="badge badge-{wording.tone}"' in page
    assert str(wording.label) in page
    assert wording.icon in page
    assert html.escape(str(wording.meaning)) in page
    assert f"<title>{html.escape(str(wording.label))} — export job {JOB[:8]}" in page


def test_an_unknown_status_is_shown_raw_with_a_neutral_badge(desk, sandbox):
    page = show(desk, sandbox, status="paused_by_robot")
    assert "badge badge-neutral" in page
    assert "paused_by_robot" in text_of(page)
    assert "does not know yet" in text_of(page)


@pytest.mark.parametrize("kind", list(FailureType))
def test_each_failure_type_says_what_happened_who_acts_and_what_next(desk, sandbox, kind):
    page = show(
        desk,
        sandbox,
        status="failed",
        completedAt=None,
        failureReasonType=kind.value,
        failureReason="Details from the integration.",
    )
    wording = failure_wording(kind)
    words = text_of(page)
    assert str(wording.label) in words
    assert str(wording.meaning) in words
    assert "Who needs to act" in words
    assert str(ACTORS[wording.actor]) in words
    assert str(wording.next_step) in words
    assert "Details from the integration." in words
    assert kind.value in words  # the raw type for support engineers


def test_every_failure_type_has_wording_and_a_known_actor():
    assert set(FAILURE) == set(FailureType) == set(JOB_FAILURE_PARTY)
    assert set(JOB_FAILURE_PARTY.values()) <= set(ACTORS)
    assert len({str(w.label) for w in FAILURE.values()}) == len(FAILURE)


def test_an_unknown_failure_type_is_shown_raw_with_general_guidance(desk, sandbox):
    words = text_of(show(desk, sandbox, status="failed", failureReasonType="quantum_flux", failureReason="Odd."))
    assert "quantum_flux" in words
    assert "does not know yet" in words
    assert str(ACTORS["pleo_support"]) in words


def test_a_failure_reason_without_a_type_still_gets_a_panel(desk, sandbox):
    words = text_of(show(desk, sandbox, status="failed", failureReason="Something broke."))
    assert "Failure reported without a type" in words
    assert "Something broke." in words


def test_no_failure_panel_when_there_is_no_failure(desk, sandbox):
    page = show(desk, sandbox, status="completed")
    assert 'class="card failure' not in page
    assert "Who needs to act Nobody: nothing to do" in text_of(page)


def test_the_failure_reason_is_kept_verbatim_with_its_whitespace(desk, sandbox):
    reason = "Line one\n    indented line two\ttab"
    page = show(desk, sandbox, status="failed", failureReasonType="validation_failure", failureReason=reason)
    assert f'<pre class="failure-reason">{reason}</pre>' in page


def test_every_timestamp_is_a_time_element_with_the_utc_instant(desk, sandbox):
    page = show(desk, sandbox, expiredAt="2026-11-03T15:20:00Z")
    for value in ("2026-11-03T14:02:00Z", "2026-11-03T14:05:30Z", "2026-11-03T14:20:00Z", "2026-11-03T15:20:00Z"):
        assert f'<time datetime="{value}"' in page
    assert "3 Nov 2026, 14:02 UTC" in page  # to the minute
    assert 'title="3 Nov 2026, 14:02:00 UTC"' in page  # the exact moment in UTC, in the tooltip
    assert "ago)" in page  # relative time


def test_times_are_displayed_in_the_configured_time_zone(desk, sandbox, settings):
    settings.TIME_ZONE = "Europe/Copenhagen"
    page = show(desk, sandbox)
    assert '<time datetime="2026-11-03T14:02:00Z"' in page  # the instant stays UTC
    assert "3 Nov 2026, 15:02 CET" in page


def test_timestamps_with_offsets_are_normalised_to_utc(desk, sandbox):
    page = show(desk, sandbox, createdAt="2026-11-03T16:02:00+02:00")
    assert '<time datetime="2026-11-03T14:02:00Z"' in page


@pytest.mark.parametrize("absent", [False, True])
def test_all_optional_fields_null_or_absent_show_dashes_with_reasons(desk, sandbox, absent):
    optional = (
        "createdBy",
        "startedAt",
        "lastUpdatedAt",
        "completedAt",
        "expiredAt",
        "failureReason",
        "failureReasonType",
    )
    payload = job_payload(JOB, status="pending", isInteractive=False)
    for name in optional:
        if absent:
            payload.pop(name)
        else:
            payload[name] = None
    sandbox.state.put_job(payload)
    response = desk.get(URL)
    assert response.status_code == 200
    words = text_of(response.content.decode())
    assert "Not started yet —" in words  # never called "started"
    assert "Finished — still running" in words
    assert "— no update since it was created" in words
    assert "Started by Pleo's system, automatically" in words
    assert "Pleo user ID" not in words  # no createdBy: nothing else to show
    assert "Who needs to act The Pleo admin who owns the accounting integration" in words  # a month overdue


def test_a_finished_job_shows_a_timeline_with_waited_ran_and_total(desk, sandbox):
    words = text_of(show(desk, sandbox))
    assert "Created" in words
    assert "Started" in words
    assert "Exported 3 Nov 2026, 14:20 UTC" in words  # the end, named by the job's state
    assert "Finished" not in words
    assert "Waited before starting 3 min" in words
    assert "Ran for 14 min" in words
    assert "Total 18 min" in words


def test_an_expired_job_ends_its_timeline_named_by_its_state_at_its_expiry(desk, sandbox):
    words = text_of(
        show(
            desk,
            sandbox,
            status="failed",
            completedAt=None,
            expiredAt="2026-11-03T15:20:00Z",
            failureReasonType="job_expired",
            failureReason="Expired.",
        )
    )
    timeline = words.split("Timeline")[1].split("Entries in this export")[0]
    assert "Failed 3 Nov 2026, 15:20 UTC" in timeline
    assert "Expired When Pleo gave up waiting for the job 3 Nov 2026, 15:20 UTC" in words


def test_an_active_job_shows_when_it_expires_marked_approximate(desk, sandbox):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    updated = now - timedelta(minutes=10)
    page = show(
        desk,
        sandbox,
        status="in_progress",
        createdAt=iso(now - timedelta(minutes=12)),
        startedAt=iso(now - timedelta(minutes=11)),
        lastUpdatedAt=iso(updated),
        completedAt=None,
        expiresIn=3600,
    )
    assert f'<time datetime="{iso(updated + timedelta(seconds=3600))}"' in page
    words = text_of(page)
    assert re.search(r"Expiry \(approx\.\): \d+ \w+ \d{4}, [\d:]+ UTC ?, expires in about (49|50) min\.", words)
    assert "Possibly stuck" not in words


def test_expiry_counts_from_creation_when_there_was_no_update(desk, sandbox):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    created = now - timedelta(minutes=70)
    page = show(
        desk, sandbox, status="pending", createdAt=iso(created), startedAt=None, lastUpdatedAt=None, completedAt=None
    )
    assert f'<time datetime="{iso(created + timedelta(hours=1))}"' in page
    words = text_of(page)
    assert "overdue by about 10 min" in words
    assert "Possibly stuck" in words


def test_a_quiet_active_job_is_flagged_as_possibly_stuck(desk, sandbox):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    words = text_of(
        show(
            desk,
            sandbox,
            status="in_progress",
            createdAt=iso(now - timedelta(minutes=50)),
            startedAt=iso(now - timedelta(minutes=49)),
            lastUpdatedAt=iso(now - timedelta(minutes=40)),
            completedAt=None,
        )
    )
    assert "Possibly stuck" in words
    assert "for 40 min" in words


def test_final_jobs_show_no_expiry_countdown_and_no_auto_refresh(desk, sandbox):
    page = show(desk, sandbox, status="completed")
    assert "Expiry (approx.)" not in page
    assert 'data-auto-refresh="false"' in page


def test_active_jobs_ask_for_auto_refresh(desk, sandbox):
    assert 'data-auto-refresh="true"' in show(desk, sandbox, status="pending", completedAt=None)


def test_the_details_use_words_a_finance_person_knows(desk, sandbox):
    words = text_of(show(desk, sandbox, numberOfItems=1234567, vendorBasedBookkeeping=True))
    assert "Entries in this export 1,234,567" in words
    assert f"Started by A person in Pleo, by pressing Export Pleo user ID {seed.USER_MARIA}" in words
    assert "Supplier (vendor) bookkeeping On" in words
    assert f"Company and its Pleo ID, for Pleo support Nordlys ApS {seed.COMPANY_ID}" in words


def test_freshness_says_when_the_data_was_fetched_and_where_from(desk, sandbox):
    sandbox.state.put_job(job_payload(JOB))
    first = text_of(desk.get(URL).content.decode())
    assert "Fetched from Pleo just now" in first
    second = text_of(desk.get(URL).content.decode())
    assert "Fetched from Pleo at" in second
    assert sandbox.state.calls(JOB) == 1


def test_refresh_is_a_csrf_protected_post_that_comes_back_with_303(client, finance_user, sandbox):
    client.force_login(finance_user)
    sandbox.state.put_job(job_payload(JOB, status="in_progress", completedAt=None))
    client.get(URL)
    sandbox.state.update_job(JOB, status="completed", completedAt="2026-11-03T14:30:00Z")

    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(finance_user)
    assert strict.post(f"{URL}refresh/").status_code == 403  # no CSRF token
    back = client.get(f"{URL}refresh/")  # GET never refreshes: e.g. after signing in again it goes back
    assert back.status_code == 302
    assert back["Location"] == URL
    assert sandbox.state.calls(JOB) == 1

    response = client.post(f"{URL}refresh/")
    assert response.status_code == 303
    assert response["Location"] == URL
    assert sandbox.state.calls(JOB) == 2
    assert "Exported" in text_of(client.get(URL).content.decode())


def test_refresh_that_fails_says_so_on_the_page(desk, sandbox):
    sandbox.state.put_job(job_payload(JOB))
    desk.get(URL)
    sandbox.state.add_fault(JOB, "503")
    response = desk.post(f"{URL}refresh/", follow=True)
    words = text_of(response.content.decode())
    assert "Refresh failed" in words


def test_support_tools_copy_buttons_raw_json_and_ticket_text(desk, sandbox):
    page = show(
        desk,
        sandbox,
        status="failed",
        failureReasonType="accounting_system_authentication_failure",
        failureReason="Token expired.",
        completedAt="2026-11-03T14:20:00Z",
    )
    assert f'data-copy="{JOB}"' in page
    assert f'data-copy="http://testserver{URL}?seen=failed&amp;at=' in page  # the link carries what was seen
    assert 'data-copy-from="ticket-text"' in page
    raw = re.search(r'<pre class="raw-json">(.*?)</pre>', page, re.S).group(1)
    assert json.loads(html.unescape(raw))["id"] == JOB
    ticket = html.unescape(re.search(r'<pre id="ticket-text" class="ticket-text">(.*?)</pre>', page, re.S).group(1))
    assert f"Pleo export job {JOB}" in ticket
    assert "Status: Failed (failed)" in ticket
    assert "Created: 3 Nov 2026, 14:02 UTC" in ticket
    assert "Entries: 1,234" in ticket
    assert "The accounting system rejected the login" in ticket
    assert f"Who must act: {ACTORS['integration_owner']}" in ticket
    assert "Pleo's message: Token expired." in ticket
    assert f"Link: http://testserver{URL}?seen=failed&at=" in ticket
    assert "Data as of" in ticket


def test_the_ticket_text_gives_times_in_utc_and_the_configured_zone(desk, sandbox, settings):
    settings.TIME_ZONE = "Europe/Copenhagen"
    page = html.unescape(show(desk, sandbox))
    assert "Created: 3 Nov 2026, 15:02 CET (3 Nov 2026, 14:02 UTC)" in page  # the company's zone first


HOSTILE = "<img src=x onerror=alert(1)>\"'&"


def test_hostile_html_in_every_upstream_string_is_escaped(desk, sandbox):
    page = show(
        desk,
        sandbox,
        status=HOSTILE,
        failureReasonType=HOSTILE,
        failureReason=HOSTILE,
    )
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize(
    ("fault", "status", "title"),
    [
        ({"kind": "401"}, 502, "Pleo refused Export Job Desk's access"),
        ({"kind": "403"}, 502, "Pleo refused Export Job Desk's access"),
        ({"kind": "429", "retry_after": 42}, 503, "Pleo asked Export Job Desk to wait"),
        ({"kind": "503"}, 503, "Pleo could not be reached"),
        ({"kind": "500"}, 503, "Pleo could not be reached"),
        ({"kind": "drop"}, 503, "Pleo could not be reached"),
        ({"kind": "hang", "seconds": 5}, 504, "Pleo took too long to answer"),
        ({"kind": "malformed_json"}, 502, "Pleo sent an answer that could not be read"),
        ({"kind": "html"}, 502, "Pleo sent an answer that could not be read"),
        ({"kind": "missing_fields", "fields": ["status"]}, 502, "Pleo sent an answer that could not be read"),
    ],
)
def test_every_error_has_its_own_page_status_and_the_lookup_form(desk, sandbox, settings, fault, status, title):
    kind = fault.pop("kind")
    # Only the hang is meant to run out of time; every other fault gets all the time it needs, however busy
    # the machine, so that its retries end in its own answer.
    settings.PLEO_API_TIMEOUT = 0.3 if kind == "hang" else 30
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, kind, **fault)
    response = desk.get(URL)
    page = response.content.decode()
    assert response.status_code == status
    assert html.escape(title) in page
    assert "What to do next" in page
    assert 'name="job_id"' in page
    assert seed.COMPANY_ID not in page  # nothing of the job leaks into an error page
    if kind == "429":
        assert response["Retry-After"] == "42"


def test_not_found_is_a_404_that_suggests_typos_and_other_environments(desk, sandbox):
    response = desk.get(f"/jobs/{seed.NOT_FOUND_EXAMPLE}/")
    assert response.status_code == 404
    words = text_of(response.content.decode())
    assert "No export job with this ID" in words
    assert "typos" in words
    assert "environment" in words
    assert 'name="job_id"' in response.content.decode()


def test_an_error_page_never_shows_the_token(desk, sandbox):
    from tests.helpers import SANDBOX_TOKEN

    sandbox.state.add_fault(seed.DOC_SAMPLE_ID, "401")
    response = desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/")
    assert SANDBOX_TOKEN not in response.content.decode()


def test_an_unexpected_error_gets_our_500_page_with_a_reference_in_the_log(desk, sandbox, monkeypatch, caplog):
    from exportjobs.views import jobs

    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(jobs, "job_get", broken)
    desk.raise_request_exception = False
    response = desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/")
    assert response.status_code == 500
    reference = re.search(r"<code>([0-9a-f]{16})</code>", response.content.decode()).group(1)
    assert response["X-Request-ID"] == reference
    assert any(reference in record.getMessage() for record in caplog.records)
    assert "Something went wrong on our side" in response.content.decode()


def test_every_sample_job_renders(desk, sandbox, settings):
    settings.PLEO_USER_BUDGET = 10_000  # one person opening every sample with its entries' details in a row
    for sample in seed.SAMPLES:
        if sample.faults:
            continue
        response = desk.get(f"/jobs/{sample.id}/")
        assert response.status_code == 200, sample.title


def test_healthz_answers_without_sign_in_and_never_calls_pleo(client, sandbox, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert sandbox.state.calls() == 0


def test_a_named_company_shows_its_name_beside_its_id(desk, sandbox, settings):
    unknown = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"  # a company Pleo has no name for (404)
    words = text_of(show(desk, sandbox, companyId=unknown))
    assert f"Pleo company ID for Pleo support {unknown}" in words
    assert "Company and its Pleo ID" not in words
    cache.clear()
    desk_cache.reset()

    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_ID: "Nordlys ApS <Denmark>"}
    page = show(desk, sandbox)

    assert f"Company and its Pleo ID, for Pleo support Nordlys ApS <Denmark> {seed.COMPANY_ID}" in text_of(page)
    assert "Nordlys ApS &lt;Denmark&gt;" in page


# --- one line per time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "language", "shown", "title"),
    [
        ("Europe/Copenhagen", "en", "3 Nov 2026, 15:02 CET", "3 Nov 2026, 14:02:00 UTC"),
        ("Europe/Copenhagen", "da", "3. nov. 2026 15.02 CET", "3. nov. 2026 14.02.00 UTC"),
        ("Europe/Copenhagen", "fr", "3 nov. 2026, 15:02 CET", "3 nov. 2026, 14:02:00 UTC"),
        ("UTC", "en", "3 Nov 2026, 14:02 UTC", "3 Nov 2026, 14:02:00 UTC"),
        ("UTC", "da", "3. nov. 2026 14.02 UTC", "3. nov. 2026 14.02.00 UTC"),
        ("UTC", "fr", "3 nov. 2026, 14:02 UTC", "3 nov. 2026, 14:02:00 UTC"),
    ],
)
def test_each_time_is_one_line_in_the_companys_zone_to_the_minute_with_utc_in_its_title(
    client, finance_user, sandbox, settings, zone, language, shown, title
):
    settings.TIME_ZONE = zone
    client.force_login(finance_user)
    sandbox.state.put_job(job_payload(JOB, createdAt="2026-11-03T14:02:00Z"))
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE=language).content.decode().replace("\u202f", " ")
    stamps = re.findall(r'<time datetime="2026-11-03T14:02:00Z" title="([^"]*)" data-local>([^<]*)</time>', page)
    assert stamps, "the creation time is a <time> with the exact moment in UTC in its title"
    assert {(html.unescape(t), text) for t, text in stamps} == {(title, shown)}
    assert "Your time" not in page
    assert "local-zone" not in page  # the browser adds the viewer's zone, if any


def test_a_jobs_expiry_limit_is_said_in_words(desk, sandbox):
    now = datetime.now(timezone.utc)
    page = show(
        desk, sandbox, status="in_progress", createdAt=iso(now - timedelta(minutes=5)), startedAt=iso(now),
        lastUpdatedAt=iso(now), completedAt=None, expiresIn=3600,
    )  # fmt: skip
    assert "Pleo stops a job that has not been updated for one hour." in text_of(page)
    assert "3,600" not in text_of(page)


def test_the_title_joins_the_day_and_the_time_the_readers_way(client, finance_user, sandbox, settings):
    settings.TIME_ZONE = "UTC"
    client.force_login(finance_user)
    sandbox.state.put_job(job_payload(JOB, createdAt="2025-11-05T21:26:00Z"))
    words = {lang: text_of(client.get(URL, HTTP_ACCEPT_LANGUAGE=lang).content.decode()) for lang in ("fr", "de")}
    assert "le 5 nov. 2025 à 21:26" in words["fr"].replace("\u202f", " ")
    assert "erstellt am 5. Nov. 2025 um 21:26 von einer Person in Pleo" in words["de"]  # one "von", not two
