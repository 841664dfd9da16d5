"""Needs attention: the list across jobs, its sections, filters, bounds, faults, cache, CSV and audit trail."""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from exportjobs import cache as desk_cache
from exportjobs.models import AuditEvent
from exportjobs.pleo import FailureType
from exportjobs.sandbox import seed
from exportjobs.services import attention
from exportjobs.services.attention import PERIODS, STATUSES, WAITING_FOR_ACTIVE, Filters, attention_get, attention_keys
from exportjobs.wording import ACTORS, failure_wording
from tests.helpers import HANG_GUARD, at_once, job_payload, lifetime, text_of, wait_for

pytestmark = pytest.mark.django_db

URL = "/attention/"
FINAL = ["failed", "completed_with_errors"]
ACTIVE = ["pending", "in_progress"]
NOBODY = "0d6e3b2a-9c1f-4e8d-b7a5-123456789abc"  # a company without jobs
STUCK = [seed.job_uuid(name) for name in ("near_expiry", "overdue", "list:active:overdue", "list:active:quiet")]
HEALTHY = [seed.job_uuid(name) for name in ("pending", "in_progress", "all_null", "live", "live_fails")]
PERIOD_WORDS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def expected(sandbox, statuses, *, period: str | None = "7d", company: str | None = None) -> list[str]:
    """Ids of the sandbox's jobs the page should list for these filters, newest first."""
    since = sandbox.state.now - PERIODS[period] if period else None
    pleo_statuses = list(dict.fromkeys("failed" if status == "cancelled" else status for status in statuses))
    jobs = sandbox.state.listing(statuses=pleo_statuses, company=company, sort="DESC")

    def wanted(job: dict) -> bool:  # a cancelled job is Pleo's "failed" with canceled_by_user: its own section
        cancelled = job["status"] == "failed" and job.get("failureReasonType") == "canceled_by_user"
        return ("cancelled" in statuses) if cancelled else job["status"] in statuses

    return [job["id"] for job in jobs if wanted(job) and (since is None or utc(job["createdAt"]) >= since)]


def show(desk, query: str = "", status: int = 200) -> str:
    response = desk.get(URL + query)
    assert response.status_code == status, response.content[:800]
    return response.content.decode()


def section(page: str, key: str) -> str | None:
    """The HTML of one section of the page, or None when it is not shown."""
    match = re.search(rf'<section class="card attention-section[^"]*" id="{key}".*?</section>', page, re.S)
    return match.group(0) if match else None


def ids_in(html: str | None) -> list[str]:
    return re.findall(r'href="/jobs/([0-9a-f-]{36})/"', html or "")


def heading_count(page: str, key: str) -> int:
    match = re.search(rf'id="{key}-title">[^<]*<span class="count">(\d+)</span>', page)
    assert match, key
    return int(match.group(1))


def csv_rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def list_params(sandbox) -> list[dict[str, list[str]]]:
    return [page["pagination"]["currentRequestPagination"]["parameters"] for page in sandbox.state.served_list_pages()]


def events() -> list[dict]:
    return list(
        AuditEvent.objects.order_by("id").values(
            "username", "action", "outcome", "source", "error_code", "filters", "job_count"
        )
    )


# --- the sections ----------------------------------------------------------------------------


def test_four_sections_each_with_its_count_and_the_jobs_pleo_lists(desk, sandbox):
    page = show(desk)

    failed = expected(sandbox, ["failed"])
    cancelled = expected(sandbox, ["cancelled"])
    partly = expected(sandbox, ["completed_with_errors"])
    active = expected(sandbox, ACTIVE, period=None)
    assert ids_in(section(page, "failed")) == failed
    assert ids_in(section(page, "cancelled")) == cancelled
    assert ids_in(section(page, "partly")) == partly
    assert sorted(ids_in(section(page, "active"))) == sorted(active)
    counts = [heading_count(page, key) for key in ("failed", "cancelled", "partly", "active")]
    assert counts == [len(failed), len(cancelled), len(partly), len(active)]
    assert len(failed) > 10
    assert len(cancelled) >= 1  # a cancelled job is never counted as failed
    assert not set(cancelled) & set(failed)
    assert len(partly) > 3
    assert len(active) == 9
    assert f"<title>({sum(counts)}) Needs attention" in page


def test_a_failed_row_says_what_happened_who_acts_when_how_many_entries_which_company_and_links_the_job(desk, sandbox):
    job = sandbox.state.job(seed.DOC_SAMPLE_ID)
    html = section(show(desk), "failed")
    row = re.search(rf"<tr[ >](?:(?!</tr>).)*{seed.DOC_SAMPLE_ID}(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    words = text_of(row)
    wording = failure_wording(FailureType.ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE)

    assert 'class="badge badge-danger"' in row
    assert "Failed" in words
    assert str(wording.label) in words
    assert f"Who acts: {ACTORS[wording.actor]}" in words
    assert f'<time datetime="{job["createdAt"]}"' in row
    assert re.search(r"\d+ \w{3} \d{4}, \d\d:\d\d UTC \d+ h ago", words)
    assert f">{job['numberOfItems']}<" in row
    assert "Nordlys ApS" in words  # Pleo's name for the company; its id stays as the detail
    assert f'title="{seed.COMPANY_ID}"' in row
    assert f'href="/jobs/{seed.DOC_SAMPLE_ID}/"' in row


def test_partly_exported_jobs_without_a_reason_send_you_to_the_job(desk, sandbox):
    words = text_of(section(show(desk, "?period=30d"), "partly"))
    assert "Some entries were not exported Who acts: Open the job to see who fixes which entry" in words
    assert "Entries did not pass validation" in words


def test_active_jobs_that_may_be_stuck_come_first_saying_why(desk, sandbox):
    html = section(show(desk), "active")
    ids = ids_in(html)

    assert sorted(ids[: len(STUCK)]) == sorted(STUCK)
    assert sorted(ids[len(STUCK) :]) == sorted(HEALTHY)
    words = text_of(html)
    assert "May be stuck: nothing has happened for 40 min." in words
    assert "May be stuck: past its expiry time by about" in words
    assert f"Who acts: {ACTORS['integration_owner']}" in words
    assert "Last activity" in words
    assert html.count('<tr class="stuck"') == len(STUCK)


def test_every_string_in_a_row_is_escaped(desk, sandbox, settings):
    hostile = "7c3e8a1f-2b4d-4e6f-8a0b-1c2d3e4f5a6b"
    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_SE: '<b onmouseover="x">Nordlys</b>'}
    sandbox.state.put_job(
        job_payload(
            hostile,
            companyId=seed.COMPANY_SE,
            status="failed",
            createdAt=seed.ts(sandbox.state.now - timedelta(minutes=3)),
            failureReasonType='<img src=x onerror="alert(1)">',
        )
    )

    page = show(desk, "?status=failed")

    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert '<b onmouseover="x">' not in page
    assert "&lt;b onmouseover=&quot;x&quot;&gt;Nordlys&lt;/b&gt;" in page
    assert hostile in ids_in(section(page, "failed"))


def test_empty_sections_say_so_in_words(desk, sandbox):
    words = text_of(show(desk, f"?period=24h&company={NOBODY}"))

    assert "Nothing failed in the last 24 hours." in words
    assert "Nothing was partly exported in the last 24 hours." in words
    assert "No export is waiting or running right now." in words
    assert "<table" not in show(desk, f"?company={NOBODY}")


# --- filters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["24h", "7d", "30d"])
def test_the_period_decides_which_failed_and_partly_exported_jobs_are_listed(desk, sandbox, period):
    page = show(desk, f"?period={period}")

    assert ids_in(section(page, "failed")) == expected(sandbox, ["failed"], period=period)
    assert ids_in(section(page, "partly")) == expected(sandbox, ["completed_with_errors"], period=period)
    assert sorted(ids_in(section(page, "active"))) == sorted(expected(sandbox, ACTIVE, period=None))
    assert f"Created in the last {PERIOD_WORDS[period]}, newest first." in text_of(page)


def test_the_default_period_is_seven_days_and_a_longer_one_lists_more(desk, sandbox):
    default, week, month = show(desk), show(desk, "?period=7d"), show(desk, "?period=30d")
    assert ids_in(section(default, "failed")) == ids_in(section(week, "failed"))
    assert len(ids_in(section(month, "failed"))) > len(ids_in(section(week, "failed")))


def test_a_status_filter_shows_only_its_sections(desk, sandbox):
    page = show(desk, "?status=failed")
    assert section(page, "partly") is None
    assert section(page, "active") is None
    assert ids_in(section(page, "failed")) == expected(sandbox, ["failed"])
    assert list_params(sandbox)[-1]["statuses"] == ["failed"]


def test_statuses_repeat_in_the_link_and_in_the_call_to_pleo(desk, sandbox):
    page = show(desk, "?status=failed&status=in_progress")

    assert ids_in(section(page, "failed")) == expected(sandbox, ["failed"])
    assert sorted(ids_in(section(page, "active"))) == sorted(expected(sandbox, ["in_progress"], period=None))
    assert section(page, "partly") is None
    assert sorted(params["statuses"][0] for params in list_params(sandbox)) == ["failed", "in_progress"]
    assert 'name="status" value="failed" checked' in page
    assert 'name="status" value="pending" checked' not in page
    assert "status=failed&amp;status=in_progress&amp;format=csv" in page


def test_a_company_filter_lists_only_that_companys_jobs_and_asks_pleo_for_them(desk, sandbox):
    page = show(desk, f"?period=30d&company={seed.COMPANY_SE.upper()}")

    failed = ids_in(section(page, "failed"))
    assert failed == expected(sandbox, ["failed"], period="30d", company=seed.COMPANY_SE)
    assert failed
    assert ids_in(section(page, "active")) == [seed.job_uuid("list:active:overdue")]
    assert all(params["company_id"] == [seed.COMPANY_SE] for params in list_params(sandbox))
    assert f'<option value="{seed.COMPANY_SE}" translate="no" selected>' in page


def test_the_company_choices_are_the_companies_seen_and_those_with_a_label(desk, sandbox, settings):
    labelled = "4a4a4a4a-1b1b-4c2c-8d3d-5e5e5e5e5e5e"
    settings.PLEO_COMPANY_LABELS = {labelled: "Acme ApS"}
    page = show(desk)
    options = re.findall(r'<option value="([0-9a-f-]{36})"', page)
    assert sorted(options) == sorted([labelled, seed.COMPANY_ID, seed.COMPANY_SE, seed.COMPANY_NO])
    assert f'<option value="{labelled}" translate="no">Acme ApS</option>' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=2d", "“2d” is not a period this page offers"),
        ("period=", None),
        ("status=completed", "“completed” is not a status this page shows"),
        ("status=failed&status=done", "“done” is not a status this page shows"),
        ("company=acme", "“acme” is not a Pleo company ID"),
        ("format=xlsx", "“xlsx” is not a download this page offers"),
    ],
)
def test_a_filter_value_the_page_does_not_know_is_a_400_with_the_form_and_no_call_to_pleo(
    desk, sandbox, query, message
):
    response = desk.get(f"{URL}?{query}")
    if message is None:  # an empty value means the default
        assert response.status_code == 200
        return
    assert response.status_code == 400
    words = text_of(response.content.decode())
    assert message in words
    assert "These filters could not be used, so nothing was asked from Pleo" in words
    assert 'name="period"' in response.content.decode()
    assert sandbox.state.list_calls() == 0


def test_company_labels_replace_bare_ids_in_the_list_and_on_the_job_page(desk, sandbox, settings):
    settings.PLEO_COMPANY_LABELS = {company: name for company, name in seed.COMPANIES}
    page = show(desk, "?period=30d")
    words = text_of(page)
    for _company, name in seed.COMPANIES:
        assert name in words
    assert f'<code title="{seed.COMPANY_ID}">' not in page
    assert f'<option value="{seed.COMPANY_SE}" translate="no">Nordlys AB</option>' in page

    job_page = text_of(desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/").content.decode())
    assert f"Company and its Pleo ID, for Pleo support Nordlys ApS {seed.COMPANY_ID}" in job_page


# --- bounded and honest ------------------------------------------------------------------------------


def test_at_most_attention_max_jobs_are_shown_the_most_recent_saying_how_to_narrow(desk, sandbox, settings):
    settings.ATTENTION_MAX_JOBS = 12
    page = show(desk, "?period=30d")
    shown = ids_in(page)
    everything = expected(sandbox, FINAL, period="30d") + expected(sandbox, ACTIVE, period=None)
    newest = sorted(everything, key=lambda i: sandbox.state.job(i)["createdAt"], reverse=True)[:12]

    assert sorted(shown) == sorted(newest)
    words = text_of(page)
    assert "Showing the 12 most recent jobs: more match these filters." in words
    assert "narrow the list: one company, fewer statuses or a shorter period" in words


def test_no_notice_when_everything_fits(desk, sandbox):
    assert "more match these filters" not in text_of(show(desk))


def test_the_walk_follows_the_cursor_and_stops_at_the_periods_edge(desk, sandbox, monkeypatch):
    monkeypatch.setattr(attention, "PAGE_SIZE", 5)
    page = show(desk, "?period=7d&status=failed&status=completed_with_errors")

    listed = expected(sandbox, FINAL)
    everything = expected(sandbox, FINAL, period=None)
    assert sorted(ids_in(page)) == sorted(listed)
    pages_to_edge = len(listed) // 5 + 1  # the page holding the first job older than 7 days is the last
    assert sandbox.state.list_calls() == pages_to_edge
    assert pages_to_edge < len(everything) / 5
    cursors = [params.get("after", [None])[0] for params in list_params(sandbox)]
    assert cursors[0] is None
    assert all(re.fullmatch(r"[A-Z2-7=]+", cursor) for cursor in cursors[1:])
    assert all(params["sorting_keys"] == ["createdAt"] for params in list_params(sandbox))
    assert all(params["sorting_order"] == ["DESC"] for params in list_params(sandbox))


def test_when_pleo_refuses_the_sort_the_desk_asks_without_it_and_sorts_itself(desk, sandbox, monkeypatch):
    monkeypatch.setattr(attention, "PAGE_SIZE", 10)
    sandbox.state.add_list_fault("refuse_sort")

    page = show(desk, "?period=7d&status=failed")

    assert ids_in(section(page, "failed")) == expected(sandbox, ["failed"])  # newest first all the same
    assert all("sorting_keys" not in params for params in list_params(sandbox))
    total = len(expected(sandbox, ["failed"], period=None))
    assert sandbox.state.list_calls() == 1 + -(-total // 10)  # the refused call, then every page
    assert "more match" not in text_of(page)


def test_when_pleo_ignores_the_sort_the_desk_sorts_and_walks_to_the_end(desk, sandbox, monkeypatch):
    monkeypatch.setattr(attention, "PAGE_SIZE", 10)
    sandbox.state.add_list_fault("ignore_sort")

    page = show(desk, "?period=24h&status=failed&status=completed_with_errors")

    # each section newest first: the failed jobs, then the partly exported ones
    assert ids_in(page) == [job for status in FINAL for job in expected(sandbox, [status], period="24h")]
    total = len(expected(sandbox, FINAL, period=None))
    assert sandbox.state.list_calls() == -(-total // 10)


def test_an_unsorted_answer_over_the_cap_says_newer_jobs_may_be_missing(desk, sandbox, settings):
    settings.ATTENTION_MAX_JOBS = 5
    sandbox.state.add_list_fault("ignore_sort")
    words = text_of(show(desk, "?period=30d&status=failed"))
    assert "Pleo did not sort its answer by time, so newer ones may be among those not shown" in words


def test_a_job_that_does_not_parse_is_left_out_and_counted_never_a_500(desk, sandbox):
    sandbox.state.add_list_fault("bad_job", count=2, page=1)

    page = show(desk, "?status=failed")

    words = text_of(page)
    assert "2 jobs in Pleo's answer could not be read and are not shown." in words
    assert len(ids_in(page)) == len(expected(sandbox, ["failed"])) - 2


def test_a_page_that_does_not_parse_after_the_first_shows_the_jobs_before_it(desk, sandbox, monkeypatch):
    monkeypatch.setattr(attention, "PAGE_SIZE", 5)
    sandbox.state.add_list_fault("bad_page", page=2)

    page = show(desk, "?status=failed")

    assert ids_in(page) == expected(sandbox, ["failed"])[:5]
    assert "Pleo sent a page of the list that could not be read: showing the jobs of the page before it." in text_of(
        page
    )


@pytest.mark.parametrize("kind", ["malformed_json", "bad_page", "html"])
def test_a_first_page_that_does_not_parse_is_the_unreadable_answer_page(desk, sandbox, kind):
    sandbox.state.add_list_fault(kind)
    response = desk.get(URL)
    assert response.status_code == 502
    assert "Pleo sent an answer that could not be read" in text_of(response.content.decode())


# --- faults, with and without a stale copy ------------------------------------------------------


FAULTS = {
    "503": ({"kind": "503"}, 503, "Pleo could not be reached"),
    "429": ({"kind": "429", "retry_after": 20}, 503, "Pleo asked Export Job Desk to wait"),
    "timeout": ({"kind": "hang", "seconds": 3}, 504, "Pleo took too long to answer"),
    "refused connection": ({"kind": "drop"}, 503, "Pleo could not be reached"),
}


def expire(filters: Filters) -> None:
    """The cached answer has expired; its stale copy is still there."""
    desk_cache.forget(attention_keys(filters))


@pytest.mark.parametrize("fault", list(FAULTS))
def test_pleo_down_slow_or_limiting_without_a_stale_copy_gives_the_job_pages_error_page(desk, sandbox, settings, fault):
    options, status, title = FAULTS[fault]
    # Only the hang is meant to run out of time; every other fault has all the time its retries need.
    settings.PLEO_API_TIMEOUT = 0.3 if options["kind"] == "hang" else 30
    sandbox.state.add_list_fault(**options)

    response = desk.get(URL)

    assert response.status_code == status
    assert title in text_of(response.content.decode())
    assert "Retry-After" in response
    if fault == "429":
        assert response["Retry-After"] == "20"


@pytest.mark.parametrize("fault", list(FAULTS))
def test_pleo_down_slow_or_limiting_with_a_stale_copy_shows_it_with_the_banner(desk, sandbox, settings, fault):
    first = show(desk)
    expire(Filters())
    options, _status, _title = FAULTS[fault]
    settings.PLEO_API_TIMEOUT = 0.3 if options["kind"] == "hang" else 30
    sandbox.state.add_list_fault(**options)

    page = show(desk)

    words = text_of(page)
    banner = {
        "429": "Pleo is limiting how often Export Job Desk may ask right now",
        "timeout": "Pleo is slow to answer right now",
    }
    assert f"{banner.get(fault, 'Pleo could not be reached')}; showing what it said at" in words  # the real reason
    assert "The list may have changed since. Try Refresh in a few minutes." in words
    assert "An older copy, fetched from Pleo at" in words
    assert ids_in(page) == ids_in(first)


def test_a_slow_pleo_within_the_time_limit_is_only_slow(desk, sandbox, settings):
    settings.PLEO_API_TIMEOUT = 30
    sandbox.state.add_list_fault("gate")
    gate = sandbox.state.gate()
    opener = threading.Thread(target=lambda: (gate.wait_for_arrivals(1), gate.open()))
    opener.start()
    page = show(desk, "?status=failed")  # answered once Pleo, slow, has answered
    opener.join(HANG_GUARD)
    assert gate.arrived >= 1
    assert ids_in(page) == expected(sandbox, ["failed"])
    assert "Pleo took too long" not in text_of(page)


def test_a_failed_list_leaves_no_call_to_pleo_behind(desk, sandbox, settings, caplog):
    settings.PLEO_API_TIMEOUT = 30  # every retry fits the deadline: the failing walk makes its three tries
    caplog.set_level(logging.DEBUG, logger="exportjobs.services.attention")
    final = ["failed", "completed_with_errors", "cancelled"]
    sandbox.state.add_list_fault("503", statuses=final)  # the walk of ended jobs fails, after its retries
    sandbox.state.add_list_fault("gate", statuses=["pending", "in_progress"], times=1)  # the active one waits
    gate = sandbox.state.gate()
    answered = threading.Event()

    def waiting() -> bool:
        return any(record.getMessage() == WAITING_FOR_ACTIVE for record in list(caplog.records))

    def open_once_the_page_waits() -> None:
        # The gate opens once the page says it waits for the active walk (or, were it not to wait, once it
        # has answered without it).
        wait_for(lambda: waiting() or answered.is_set(), what="the page waiting for its active walk")
        gate.open()

    opener = threading.Thread(target=open_once_the_page_waits)
    opener.start()
    response = desk.get(URL)
    still_at_pleo = sandbox.state.in_flight  # read before the opener may open the gate for a page that did not wait
    answered.set()
    opener.join(HANG_GUARD)
    assert response.status_code == 503
    assert still_at_pleo == 0  # the page answered only once the active walk had its answer
    assert sandbox.state.list_calls() == 3 + 1  # the ended jobs' walk tried three times, the active one once


def test_refused_credentials_are_never_hidden_behind_a_stale_copy(desk, sandbox):
    show(desk)
    expire(Filters())
    sandbox.state.add_list_fault("401")
    response = desk.get(URL)
    assert response.status_code == 502
    assert "Pleo refused Export Job Desk's access" in text_of(response.content.decode())


def test_pleo_stopping_part_way_shows_the_pages_so_far(desk, sandbox, monkeypatch):
    monkeypatch.setattr(attention, "PAGE_SIZE", 5)
    sandbox.state.add_list_fault("503", page=3)
    page = show(desk, "?status=failed")
    assert ids_in(page) == expected(sandbox, ["failed"])[:10]
    assert "Pleo stopped answering part-way through the list: showing the jobs of its first 2 pages." in text_of(page)


def test_a_walk_ends_within_the_pages_time_budget(desk, sandbox, settings, monkeypatch):
    settings.PLEO_API_TIMEOUT = 0.5  # the walk has 1 s
    monkeypatch.setattr(attention, "PAGE_SIZE", 5)
    sandbox.state.add_list_fault("delay", seconds=0.3)

    page = show(desk, "?period=30d&status=failed")

    shown = ids_in(page)
    assert 0 < len(shown) < len(expected(sandbox, ["failed"], period="30d"))
    assert "Pleo took too long to send the whole list" in text_of(page)


# --- cached like the job ------------------------------------------------------------------------


def test_the_answer_is_cached_per_filter_set(desk, sandbox):
    show(desk)
    calls = sandbox.state.list_calls()
    again = show(desk)
    assert sandbox.state.list_calls() == calls
    assert "Fetched from Pleo at" in text_of(again)
    show(desk, "?period=30d")
    assert sandbox.state.list_calls() == 2 * calls


def test_the_cached_answer_lasts_attention_cache_ttl(desk, sandbox, settings, clock):
    settings.ATTENTION_CACHE_TTL = 60
    show(desk)
    calls = sandbox.state.list_calls()
    clock.shift(30)
    assert "Fetched from Pleo at" in text_of(show(desk))
    assert sandbox.state.list_calls() == calls
    clock.shift(31)
    assert "Fetched from Pleo just now" in text_of(show(desk))
    assert sandbox.state.list_calls() == 2 * calls


def test_every_job_in_the_list_fills_the_per_job_cache_so_opening_a_row_costs_no_call(desk, sandbox, settings):
    page = show(desk, "?period=30d")
    rows = ids_in(page)

    for job_id in rows[:3] + rows[-3:]:
        response = desk.get(f"/jobs/{job_id}/")
        assert response.status_code == 200
        assert "Fetched from Pleo at" in text_of(response.content.decode())
        assert sandbox.state.calls(job_id) == 0
    from exportjobs import services

    failed, active = uuid.UUID(seed.DOC_SAMPLE_ID), uuid.UUID(seed.job_uuid("in_progress"))
    stored = cache.get(services.job_cache_keys(failed).value)
    assert set(stored) == {"schema", "fetched_at", "data"}
    assert stored["data"] == sandbox.state.job(seed.DOC_SAMPLE_ID)
    assert cache.get(services.job_cache_keys(failed).stale) == stored
    assert remaining(services.job_cache_keys(failed).value) == pytest.approx(settings.JOB_CACHE_TTL_FINAL, abs=3)
    assert remaining(services.job_cache_keys(active).value) == pytest.approx(settings.JOB_CACHE_TTL_ACTIVE, abs=3)


def remaining(key: str) -> float:
    return lifetime(key)


def test_fifty_simultaneous_cold_requests_for_one_filter_set_make_one_walk(sandbox, settings):
    settings.PLEO_API_TIMEOUT = 2.0
    sandbox.state.add_list_fault("delay", seconds=0.3)
    filters = Filters(period="30d")

    results, errors = at_once(50, lambda: attention_get(filters=filters))

    assert errors == []
    assert len(results) == 50
    assert sandbox.state.list_calls() == 2  # one page of failed and partly exported jobs, one of active ones
    assert len({tuple(str(job.id) for job in result.value.jobs) for result in results}) == 1
    assert sorted(result.source for result in results).count("fresh") == 1


def test_refresh_asks_pleo_again_and_comes_back_to_the_same_filters_with_303(desk, sandbox):
    show(desk, "?period=24h&status=failed")
    calls = sandbox.state.list_calls()

    response = desk.post(f"{URL}refresh/", {"period": "24h", "status": ["failed"], "company": ""})

    assert response.status_code == 303
    assert response["Location"] == "/attention/?period=24h&status=failed"
    assert sandbox.state.list_calls() == 2 * calls
    assert "Fetched from Pleo" in text_of(desk.get(response["Location"]).content.decode())
    assert desk.get(f"{URL}refresh/").status_code == 302


def test_refresh_is_a_csrf_protected_post(finance_user, sandbox):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(finance_user)
    assert browser.post(f"{URL}refresh/", {"period": "7d"}).status_code == 403
    page = browser.get(URL).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post(f"{URL}refresh/", {"period": "7d", "csrfmiddlewaretoken": token}).status_code == 303


def test_a_refresh_that_fails_says_so_and_keeps_the_list(desk, sandbox):
    show(desk)
    sandbox.state.add_list_fault("503")
    response = desk.post(f"{URL}refresh/", {"period": "7d"}, follow=True)
    words = text_of(response.content.decode())
    assert "Refresh failed: Pleo could not be reached, so the page still shows an older copy." in words
    assert ids_in(response.content.decode())


def test_a_refreshed_answer_shows_its_new_jobs_at_once(desk, sandbox):
    show(desk, "?status=failed")
    new = "7c3e8a1f-2b4d-4e6f-8a0b-1c2d3e4f5a6b"
    sandbox.state.put_job(job_payload(new, status="failed", createdAt=seed.ts(sandbox.state.now)))
    assert new not in ids_in(show(desk, "?status=failed"))  # still the cached answer

    desk.post(f"{URL}refresh/", {"period": "7d", "status": ["failed"]})

    assert ids_in(show(desk, "?status=failed"))[0] == new


def test_a_cached_answer_is_parsed_once_and_new_company_names_show_on_it(desk, sandbox, settings, monkeypatch):
    from exportjobs.pleo import ExportJob

    show(desk)
    parsed = []
    original = ExportJob.from_payload.__func__

    def counted(cls, data):
        parsed.append(1)
        return original(cls, data)

    monkeypatch.setattr(ExportJob, "from_payload", classmethod(counted))
    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_SE: "Nordlys AB"}

    page = show(desk)

    assert "Fetched from Pleo at" in text_of(page)
    assert parsed == []
    assert "Nordlys AB" in text_of(section(page, "failed"))
    assert sandbox.state.list_calls() == 2


@pytest.mark.parametrize(
    "change",
    [{"walk": ""}, {"jobs": "not json"}, {"jobs": "[" * 100_000}, {"jobs": '[{"id": 1}]'}, {"jobs": []}],
    ids=["no walk id", "jobs not json", "jobs nested too deep", "a job that does not parse", "jobs as a list"],
)
def test_a_cached_list_another_release_wrote_is_fetched_again(desk, sandbox, change):
    show(desk)
    entry = cache.get(attention_keys(Filters()).value)
    walk = {"walk": uuid.uuid4().hex}  # a walk this worker has not parsed
    cache.set(attention_keys(Filters()).value, {**entry, "data": {**entry["data"], **walk, **change}}, 60)
    desk_cache.clear_local()  # a worker that has only the shared cache to read

    assert "Fetched from Pleo just now" in text_of(show(desk))
    assert sandbox.state.list_calls() == 4


def test_the_page_asks_to_be_refreshed_every_minute(desk, sandbox):
    page = show(desk)
    assert 'id="attention" class="attention" data-auto-refresh="true" data-refresh-seconds="60"' in page
    assert "Updates itself every minute while this tab is open." in text_of(page)


# --- CSV ------------------------------------------------------------------------------------------


def test_the_csv_has_one_row_per_job_the_page_shows_in_its_order_with_utc_times(desk, sandbox):
    query = f"?period=30d&company={seed.COMPANY_NO}"
    page = show(desk, query)
    response = desk.get(f"{URL}{query}&format=csv")

    rows = csv_rows(response)
    assert [row["Export job ID"] for row in rows] == ids_in(page)
    assert 'attachment; filename="needs-attention-30d-3d5f7a9c-' in response["Content-Disposition"]
    for row in rows:
        job = sandbox.state.job(row["Export job ID"])
        assert row["Created (UTC)"] == job["createdAt"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["Created (UTC)"])
        assert row["Created, local time (UTC)"] == f"{job['createdAt'][:10]} {job['createdAt'][11:16]}"
        assert row["Status (Pleo's value)"] == job["status"]
        assert row["Company ID"] == seed.COMPANY_NO
        assert row["Entries"] == str(job["numberOfItems"])
        assert row["Link"] == f"http://testserver/jobs/{job['id']}/"
    sections = [row["Section"] for row in rows]
    assert sections == sorted(sections, key=["Failed", "Partly exported", "Active and possibly stuck"].index)
    assert {"yes", "no"} == {row["May be stuck"] for row in rows}


def test_csv_cells_never_run_as_formulas(desk, sandbox, settings):
    hostile = "7c3e8a1f-2b4d-4e6f-8a0b-1c2d3e4f5a6b"
    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_ID: '=HYPERLINK("http://evil","x")'}
    now = sandbox.state.now
    sandbox.state.put_job(
        job_payload(
            hostile,
            status="failed",
            createdAt=seed.ts(now - timedelta(minutes=5)),
            failureReasonType="@SUM(A1:A9)",
            failureReason="-2+3",
        )
    )

    rows = csv_rows(desk.get(f"{URL}?status=failed&format=csv"))

    row = next(row for row in rows if row["Export job ID"] == hostile)
    assert row["Failure type (Pleo's value)"] == "'@SUM(A1:A9)"
    assert row["Company"] == '\'=HYPERLINK("http://evil","x")'
    assert row["What happened"].startswith("Unrecognised failure type")
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value


def test_the_csv_is_audited_like_the_page(desk, sandbox):
    desk.get(f"{URL}?status=failed&format=csv")
    row = events()[-1]
    assert (row["action"], row["outcome"]) == ("attention", "found")
    assert row["filters"]["format"] == "csv"
    assert row["job_count"] == len(expected(sandbox, ["failed"]))


# --- the home page --------------------------------------------------------------------------------


def test_the_home_page_has_one_line_about_the_cached_list_and_never_calls_pleo(desk, sandbox):
    before = text_of(desk.get("/").content.decode())
    assert "may be stuck" not in before
    assert sandbox.state.list_calls() == 0
    assert sandbox.state.calls() == 0

    show(desk)
    calls = sandbox.state.list_calls()
    home = desk.get("/").content.decode()

    failed, partly = len(expected(sandbox, ["failed"])), len(expected(sandbox, ["completed_with_errors"]))
    cancelled = len(expected(sandbox, ["cancelled"]))
    was = "1 job was cancelled" if cancelled == 1 else f"{cancelled} jobs were cancelled"
    line = f"{failed} jobs failed, {was}, {partly} jobs were partly exported and {len(STUCK)} jobs may be stuck"
    assert f"{line} in the last 7 days →" in text_of(home)
    assert 'href="/attention/"' in home
    assert sandbox.state.list_calls() == calls
    assert sandbox.state.calls() == 0


def test_the_home_line_is_only_about_the_default_view(desk, sandbox):
    show(desk, "?period=30d")
    assert "may be stuck" not in text_of(desk.get("/").content.decode())


def test_the_home_line_goes_when_the_cached_answer_does(desk, sandbox, settings, clock):
    settings.ATTENTION_CACHE_TTL = 30
    show(desk)
    assert "may be stuck" in text_of(desk.get("/").content.decode())
    clock.shift(31)
    assert "may be stuck" not in text_of(desk.get("/").content.decode())


# --- audit, permission, links ---------------------------------------------------------------------


def test_each_view_is_recorded_with_its_filters_outcome_source_and_number_of_jobs(desk, sandbox):
    page = show(desk, f"?period=24h&status=failed&company={seed.COMPANY_ID}")
    show(desk, f"?period=24h&status=failed&company={seed.COMPANY_ID}")
    # The page's own auto-refresh of the same list is not a new look; with other filters it is one.
    desk.get(f"{URL}?period=24h&status=failed&company={seed.COMPANY_ID}", headers={"X-Requested-With": "fetch"})
    desk.get(f"{URL}?period=24h", headers={"X-Requested-With": "fetch"})
    desk.get(f"{URL}?period=1y")

    rows = events()
    filters = {"period": "24h", "statuses": ["failed"], "company": seed.COMPANY_ID, "format": "html"}
    assert rows[0] == {
        "username": "fiona",
        "action": "attention",
        "outcome": "found",
        "source": "fresh",
        "error_code": "",
        "filters": filters,
        "job_count": len(ids_in(page)),
    }
    assert (rows[1]["source"], rows[1]["job_count"]) == ("cache", len(ids_in(page)))
    assert len(rows) == 4
    assert rows[2]["filters"] == {"period": "24h", "statuses": list(STATUSES), "company": "", "format": "html"}
    assert (rows[3]["outcome"], rows[3]["filters"]) == (
        "invalid",
        {"invalid": {"period": ["invalid_choice"]}},
    )


def test_a_bad_filter_is_recorded_by_name_and_never_by_its_value(desk, sandbox):
    asked = {"period": "\x00;=2+2;" + "x" * 500, "company": ["x;=1+1;", "b"], "status": "failed"}
    assert desk.get(URL, asked).status_code == 400
    [row] = events()
    assert row["outcome"] == "invalid"
    assert row["filters"] == {"invalid": {"company": ["invalid"], "period": ["invalid_choice"]}}
    assert "=1+1" not in str(row)
    assert "=2+2" not in str(row)


def test_errors_and_refreshes_are_recorded(desk, sandbox):
    sandbox.state.add_list_fault("503", times=10)
    desk.get(URL)
    sandbox.state.clear_list_faults()
    desk.post(f"{URL}refresh/", {"period": "30d"})
    rows = events()
    assert [(r["action"], r["outcome"], r["error_code"]) for r in rows] == [
        ("attention", "error", "unavailable"),
        ("refresh_list", "found", ""),
    ]
    assert rows[1]["filters"]["period"] == "30d"


def test_a_user_without_the_permission_gets_a_403_and_pleo_is_not_asked(client, sandbox, django_user_model):
    client.force_login(django_user_model.objects.create_user("outsider"))
    assert client.get(URL).status_code == 403
    assert client.post(f"{URL}refresh/", {"period": "7d"}).status_code == 403
    assert client.get(f"{URL}?format=csv").status_code == 403
    assert sandbox.state.list_calls() == 0


def test_anonymous_visitors_are_sent_to_sign_in(client, sandbox):
    response = client.get(f"{URL}?period=24h")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/attention/%3Fperiod%3D24h"


@pytest.mark.parametrize("path", ["/", f"/jobs/{seed.DOC_SAMPLE_ID}/", "/bulk/", URL, "/lookup/?job_id=x"])
def test_every_page_links_the_list_from_its_header(desk, sandbox, path):
    page = desk.get(path).content.decode()
    header = page[page.index('<header class="site-header">') : page.index("</header>")]
    assert '<a href="/attention/"' in header
    assert "Needs attention" in header


def test_the_list_page_is_never_stored_by_browsers(desk, sandbox):
    cache_control = desk.get(URL)["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control


# --- with Redis, shared by every worker ------------------------------------------------------------


@pytest.fixture
def redis_cache(settings, redis_url):
    """Django's cache on the real Redis, configured as settings.py does for CACHE_URL=redis://…."""
    import redis

    prefix = "ejd-attention-" + uuid.uuid4().hex[:8]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "serializer": "exportjobs.cache.JSONSerializer",
            },
        }
    }
    client = redis.Redis.from_url(redis_url)
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.mark.redis
def test_with_redis_one_walk_serves_fifty_callers_and_everything_stored_is_json(desk, sandbox, settings, redis_cache):
    import json

    client, prefix = redis_cache
    settings.PLEO_API_TIMEOUT = 2.0
    sandbox.state.add_list_fault("delay", seconds=0.3)

    results, errors = at_once(50, lambda: attention_get(filters=Filters()))

    assert errors == []
    assert sandbox.state.list_calls() == 2
    assert "may be stuck" in text_of(desk.get("/").content.decode())
    job_id = str(results[0].value.jobs[0].id)
    assert "Fetched from Pleo at" in text_of(desk.get(f"/jobs/{job_id}/").content.decode())
    assert sandbox.state.calls(job_id) == 0
    keys = list(client.scan_iter(f"{prefix}:*"))
    kinds = {key.decode().split(":")[3] for key in keys}
    assert {"attention", "attention-stale", "attention-summary", "job", "job-stale"} <= kinds, kinds
    for key in keys:
        json.loads(client.get(key))  # JSON, never a pickle


# --- a file Excel opens in the reader's language --------------------------------------------------------


def raw_csv(desk, query: str = "", **headers) -> bytes:
    response = desk.get(f"{URL}?period=30d&format=csv{query}", **headers)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("language", "query", "separator"),
    [
        ("en", "", ","),
        ("da", "", ";"),
        ("sv", "", ";"),
        ("de", "", ";"),
        ("es", "", ";"),
        ("fr", "", ";"),
        ("de", "&sep=,", ","),
        ("en", "&sep=;", ";"),
    ],
)
def test_the_csv_has_a_byte_order_mark_and_the_readers_separator(desk, sandbox, language, query, separator):
    data = raw_csv(desk, query, HTTP_ACCEPT_LANGUAGE=language)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8's byte-order mark: Excel reads the names right
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith('"')
    assert header.count(f'"{separator}"') == 19  # twenty quoted columns


def test_names_with_letters_beyond_ascii_survive_the_csv(desk, sandbox, settings):
    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_ID: "Kaffe & Co ÆØÅ"}
    data = raw_csv(desk, HTTP_ACCEPT_LANGUAGE="da")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8")[1:]), delimiter=";"))
    assert "Kaffe & Co ÆØÅ" in {row["Virksomhed"] for row in rows}


def test_the_csv_gives_moments_failed_counts_and_pleos_message_never_relative_times(desk, sandbox, settings):
    settings.TIME_ZONE = "Europe/Copenhagen"
    partly = seed.job_uuid("completed_with_errors")
    desk.get(f"/jobs/{partly}/")  # the desk now holds its failed entries and their details
    from exportjobs.views import attention as attention_view

    attention_view._LAID_OUT.clear()
    rows = {row["Export job ID"]: row for row in csv_rows(desk.get(f"{URL}?period=30d&format=csv"))}
    job = sandbox.state.job(partly)
    row = rows[partly]
    assert row["Created (UTC)"] == job["createdAt"]
    local = utc(job["createdAt"]).astimezone(ZoneInfo("Europe/Copenhagen"))
    assert row["Created, local time (Europe/Copenhagen)"] == local.strftime("%Y-%m-%d %H:%M")
    assert row["Failed entries"] == "4"
    assert row["Not booked"].replace("\u00a0", " ") == "DKK 12,880.50, EUR 84.50 and SEK 1,299.00 (4 entries)"
    assert row["Pleo's message"] == "4 of 36 entries were rejected by the accounting system."
    assert not any(re.search(r"\bago\b|\bin about\b", cell) for row in rows.values() for cell in row.values())
