"""The sandbox Pleo API keeps to the contract: every payload it serves validates against
JSON Schemas written from Pleo's OpenAPI, so the sandbox cannot drift from real Pleo."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from exportjobs.pleo import FailureType, ItemFailureType, ItemStatus, JobStatus
from exportjobs.sandbox import seed
from tests.helpers import (
    COMPANY_SCHEMA,
    ENTRY_SCHEMA,
    HANG_GUARD,
    ITEM_SCHEMA,
    JOB_PAGE_SCHEMA,
    JOB_SCHEMA,
    PAGE_SCHEMA,
    SANDBOX_TOKEN,
    entry_payload,
    list_page_problems,
    problems,
)

JSON_TYPE = "application/json;charset=UTF-8"
CURSOR = re.compile(r"^[A-Z2-7=~]+$")
NULLABLE = ("createdBy", "startedAt", "lastUpdatedAt", "completedAt", "expiredAt", "failureReason", "failureReasonType")
ITEM_STATUSES = ("pending", "in_progress", "failed", "successful", "abandoned")
SAMPLES = [sample for sample in seed.SAMPLES if not sample.faults]


def get(sandbox, path: str, *, auth: str | None = f"Bearer {SANDBOX_TOKEN}", **params) -> requests.Response:
    headers = {"Accept": "application/json"}
    if auth:
        headers["Authorization"] = auth
    return requests.get(sandbox.url + path, headers=headers, params=params, timeout=HANG_GUARD)


def fetch_job(sandbox, job_id: str) -> dict:
    response = get(sandbox, f"/v2/export-jobs/{job_id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    body = response.json()
    assert list(body) == ["data"]
    return body["data"]


def fetch_items(sandbox, job_id: str, **params) -> dict:
    response = get(sandbox, f"/v2/export-jobs/{job_id}/items", **params)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    page = response.json()
    assert problems(PAGE_SCHEMA, page) == []
    for item in page["data"]:
        assert problems(ITEM_SCHEMA, item) == [], item
    return page


@pytest.fixture
def served(sandbox) -> dict[str, dict]:
    """Every seeded job without faults, as fetched over HTTP."""
    return {sample.id: fetch_job(sandbox, sample.id) for sample in SAMPLES}


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


# --- the schemas say what the contract says ---------------------------------------


def test_the_job_schema_has_the_contracts_fields_required_list_and_enums():
    schema = JOB_SCHEMA.schema
    assert sorted(schema["required"]) == [
        "companyId",
        "createdAt",
        "expiresIn",
        "id",
        "isInteractive",
        "numberOfItems",
        "status",
        "vendorBasedBookkeeping",
    ]
    assert len(schema["properties"]) == 15
    assert schema["additionalProperties"] is False
    assert schema["properties"]["status"]["enum"] == [status.value for status in JobStatus]
    assert schema["properties"]["failureReasonType"]["enum"] == [kind.value for kind in FailureType] + [None]


def test_the_item_schema_has_the_v3_status_and_failure_type_lists():
    schema = ITEM_SCHEMA.schema
    assert schema["properties"]["status"]["enum"] == [status.value for status in ItemStatus]
    assert sorted(schema["properties"]["failureReasonType"]["enum"][:-1]) == sorted(
        kind.value for kind in ItemFailureType
    )
    assert len(schema["properties"]["failureReasonType"]["enum"]) == 18 + 1


def _valid_job() -> dict:
    return seed.SAMPLES_BY_ID[seed.job_uuid("completed_with_errors")].build(
        datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    )


@pytest.mark.parametrize(
    "change",
    [
        {"invented": 1},
        {"status": "archived"},
        {"failureReasonType": "quantum_flux"},
        {"createdAt": "2026-03-01T12:00:00.000Z"},
        {"createdAt": "2026-03-01T12:00:00+00:00"},
        {"startedAt": "2026-13-01T12:00:00Z"},
        {"createdAt": None},
        {"id": "not-a-uuid"},
        {"createdBy": "f0a5c6d2"},
        {"expiresIn": "3600"},
        {"expiresIn": 2**31},
        {"numberOfItems": 1.5},
        {"isInteractive": "true"},
        {"vendorBasedBookkeeping": None},
    ],
    ids=repr,
)
def test_the_job_schema_rejects_what_the_contract_does_not_allow(change):
    assert problems(JOB_SCHEMA, _valid_job()) == []
    assert problems(JOB_SCHEMA, {**_valid_job(), **change}) != []


@pytest.mark.parametrize("field", sorted(JOB_SCHEMA.schema["required"]))
def test_the_job_schema_rejects_a_job_without_a_required_field(field):
    job = _valid_job()
    del job[field]
    assert problems(JOB_SCHEMA, job) != []


def test_the_job_schema_accepts_nullable_fields_null_or_absent():
    job = _valid_job()
    assert problems(JOB_SCHEMA, {**job, **dict.fromkeys(NULLABLE)}) == []
    assert problems(JOB_SCHEMA, {key: value for key, value in job.items() if key not in NULLABLE}) == []


# --- every sample keeps to the contract -----------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.title for sample in SAMPLES])
def test_every_sample_validates_against_the_contract(sandbox, sample):
    job = fetch_job(sandbox, sample.id)

    assert problems(JOB_SCHEMA, job) == []
    assert job["id"] == sample.id


def test_the_live_sample_validates_at_every_stage_of_its_timeline(sandbox):
    live = seed.job_uuid("live")
    seen = []
    for age in (0, 25, 50):  # pending, then in_progress after 20 s, completed after 45 s
        sandbox.state.first_seen[live] = time.time() - age
        job = fetch_job(sandbox, live)
        assert problems(JOB_SCHEMA, job) == []
        seen.append(job["status"])

    assert seen == ["pending", "in_progress", "completed"]


def test_the_documentation_sample_job_is_served(served):
    assert seed.DOC_SAMPLE_ID in served


def test_there_are_at_least_20_samples(served):
    assert len(served) >= 20


def test_every_status_is_present(served):
    assert {job["status"] for job in served.values()} == {status.value for status in JobStatus}


def test_each_of_the_15_failure_types_is_present(served):
    present = {job["failureReasonType"] for job in served.values()} - {None}
    assert present == {kind.value for kind in FailureType}
    assert len(present) == 15


def test_every_failed_sample_says_why(served):
    for job in served.values():
        if job["status"] == "failed":
            assert job["failureReasonType"], job["id"]
            assert job["failureReason"], job["id"]


def test_one_sample_has_every_nullable_field_null(served):
    assert any(all(job.get(name) is None for name in NULLABLE) for job in served.values())


def test_an_active_job_is_close_to_expiry(sandbox, served):
    now = sandbox.state.now

    def left(job: dict) -> timedelta:
        return utc(job["lastUpdatedAt"] or job["createdAt"]) + timedelta(seconds=job["expiresIn"]) - now

    assert any(
        job["status"] in ("pending", "in_progress") and timedelta(0) < left(job) <= timedelta(minutes=10)
        for job in served.values()
    )


def test_an_expired_job_expired_expires_in_seconds_after_its_last_update(served):
    expired = [job for job in served.values() if job["expiredAt"] is not None]

    assert expired
    for job in expired:
        assert job["status"] == "failed"
        assert job["failureReasonType"] == "job_expired"
        assert utc(job["expiredAt"]) == utc(job["lastUpdatedAt"]) + timedelta(seconds=job["expiresIn"])


def test_timestamps_of_every_sample_are_in_order(served):
    for job in served.values():
        created = utc(job["createdAt"])
        for later in ("startedAt", "lastUpdatedAt", "completedAt", "expiredAt"):
            if job[later] is not None:
                assert utc(job[later]) >= created, (job["id"], later)


def test_a_completed_with_errors_job_has_failed_items(sandbox, served):
    with_errors = [job for job in served.values() if job["status"] == "completed_with_errors"]
    assert with_errors

    for job in with_errors:
        page = fetch_items(sandbox, job["id"], status="failed", limit=1000)
        assert page["pagination"]["total"] > 0
        assert all(item["failureReasonType"] and item["failureReason"] for item in page["data"])


# --- errors ---------------------------------------------------------------------------


def test_an_unknown_job_gets_exactly_the_contracts_404(sandbox):
    response = get(sandbox, f"/v2/export-jobs/{seed.NOT_FOUND_EXAMPLE}")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json() == {"type": "EXPORT_NOT_FOUND", "message": "Export job not found."}


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "Bearer wrong-token",
        f"Bearer {SANDBOX_TOKEN}x",
        SANDBOX_TOKEN,
        "Basic " + base64.b64encode(f"{SANDBOX_TOKEN}:".encode()).decode(),
    ],
    ids=["none", "wrong-token", "longer-token", "no-scheme", "token-as-basic"],
)
def test_a_request_without_the_right_credentials_gets_401(sandbox, auth):
    job_id = seed.job_uuid("completed")

    for path in (f"/v2/export-jobs/{job_id}", f"/v2/export-jobs/{job_id}/items"):
        response = get(sandbox, path, auth=auth)
        assert response.status_code == 401, path
        assert response.headers["Content-Type"] == JSON_TYPE
        assert isinstance(response.json()["type"], str)
    assert sandbox.state.calls(job_id) == 0


# --- items ------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.title for sample in SAMPLES])
def test_the_items_of_every_sample_validate(sandbox, sample):
    job = fetch_job(sandbox, sample.id)
    totals = {}
    for status in ITEM_STATUSES:
        page = fetch_items(sandbox, sample.id, status=status, limit=50)
        assert all(item["status"] == status and item["exportJobId"] == sample.id for item in page["data"])
        totals[status] = page["pagination"]["total"]

    assert sum(totals.values()) == job["numberOfItems"]


def test_items_carry_the_details_their_status_calls_for(sandbox):
    for name in ("completed_with_errors", "in_progress", "failed:validation_failure"):
        job_id = seed.job_uuid(name)
        for item in fetch_items(sandbox, job_id, limit=1000)["data"]:
            if item["status"] == "successful":
                assert item["exportedAt"]
                assert item["externalId"]
                assert item["externalUrl"]
            else:
                assert item["exportedAt"] is None
                assert item["externalId"] is None
            failed = item["status"] == "failed"
            assert bool(item["failureReasonType"]) == failed
            assert bool(item["failureReason"]) == failed


def test_the_items_endpoint_filters_by_status_and_pages_with_a_cursor(sandbox):
    large = seed.job_uuid("large")
    pages = []
    after = None
    while True:
        params = {"status": "failed", "limit": 100, **({"after": after} if after else {})}
        page = fetch_items(sandbox, large, **params)
        pages.append(page)
        pagination = page["pagination"]
        assert pagination["total"] == 250
        assert pagination["currentRequestPagination"]["limit"] == 100
        assert pagination["currentRequestPagination"].get("after") == after
        assert pagination["hasPreviousPage"] is (after is not None)
        assert CURSOR.match(pagination["startCursor"])
        assert CURSOR.match(pagination["endCursor"])
        assert all(item["status"] == "failed" for item in page["data"])
        if not pagination["hasNextPage"]:
            break
        after = pagination["endCursor"]

    assert [len(page["data"]) for page in pages] == [100, 100, 50]
    ids = [item["accountingEntryId"] for page in pages for item in page["data"]]
    assert len(set(ids)) == 250
    assert sandbox.state.item_calls(large) == 3


def test_the_items_endpoint_without_a_filter_counts_every_item(sandbox):
    large = seed.job_uuid("large")

    page = fetch_items(sandbox, large, limit=1000)

    assert page["pagination"]["total"] == 10_000
    assert len(page["data"]) == 1000
    assert page["pagination"]["hasNextPage"] is True
    assert sum(item["status"] == "failed" for item in page["data"]) == 25


def test_a_cursor_past_the_last_page_gives_an_empty_last_page(sandbox):
    job_id = seed.job_uuid("completed_with_errors")
    first = fetch_items(sandbox, job_id, limit=36)

    last = fetch_items(sandbox, job_id, limit=36, after=first["pagination"]["endCursor"])

    assert first["pagination"]["hasNextPage"] is False
    assert last["data"] == []
    assert last["pagination"]["hasNextPage"] is False
    assert "endCursor" not in last["pagination"]


def test_the_items_endpoint_refuses_an_unknown_status_filter(sandbox):
    response = get(sandbox, f"/v2/export-jobs/{seed.job_uuid('completed')}/items", status="done")

    assert response.status_code == 400
    assert response.headers["Content-Type"] == JSON_TYPE


def test_the_items_of_an_unknown_job_get_the_contracts_404(sandbox):
    response = get(sandbox, f"/v2/export-jobs/{seed.NOT_FOUND_EXAMPLE}/items")

    assert response.status_code == 404
    assert response.json() == {"type": "EXPORT_NOT_FOUND", "message": "Export job not found."}


# --- the list of jobs ----------------------------------------------------------------------


def fetch_list(sandbox, **params) -> dict:
    response = get(sandbox, "/v2/export-jobs", **params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == JSON_TYPE
    page = response.json()
    assert list_page_problems(page) == []
    return page


def walk(sandbox, **params) -> list[dict]:
    """Every job of a listing, following ``endCursor``; each page checked against the contract."""
    jobs: list[dict] = []
    after = None
    while True:
        page = fetch_list(sandbox, **params, **({"after": after} if after else {}))
        jobs += page["data"]
        if not page["pagination"]["hasNextPage"]:
            return jobs
        after = page["pagination"]["endCursor"]
        assert CURSOR.match(after)


@pytest.fixture
def listed(sandbox) -> list[dict]:
    """Every job the list endpoint serves."""
    return walk(sandbox, limit=1000)


def test_the_list_schema_is_the_contracts_envelope():
    schema = JOB_PAGE_SCHEMA.schema
    assert schema["required"] == ["data", "pagination"]
    pagination = schema["properties"]["pagination"]
    assert pagination["required"] == ["currentRequestPagination", "hasNextPage", "hasPreviousPage"]
    assert set(pagination["properties"]) == {
        "currentRequestPagination",
        "hasNextPage",
        "hasPreviousPage",
        "startCursor",
        "endCursor",
        "total",
    }
    assert list_page_problems({"data": [{"id": "x"}], "pagination": {"hasNextPage": False}}) != []


def test_at_least_150_more_jobs_over_30_days_across_3_companies(sandbox, listed):
    now = sandbox.state.now
    sample_ids = {sample.id for sample in seed.SAMPLES}
    more = [job for job in listed if job["id"] not in sample_ids]

    assert len(more) >= 150
    assert {job["companyId"] for job in listed} == {company for company, _name in seed.COMPANIES}
    ages = [now - utc(job["createdAt"]) for job in more]
    assert max(ages) <= timedelta(days=30)
    assert min(ages) < timedelta(days=1)
    assert len({age.days for age in ages}) >= 28  # spread over the month, not bunched
    assert {job["status"] for job in more} == {status.value for status in JobStatus}
    assert {job["failureReasonType"] for job in more} - {None} == {kind.value for kind in FailureType}


def test_every_listed_job_keeps_to_the_contract_and_is_served_by_the_job_endpoint_too(sandbox, listed):
    for job in listed:
        assert problems(JOB_SCHEMA, job) == [], job["id"]
    for job in listed[::25]:
        assert fetch_job(sandbox, job["id"]) == job


def test_the_samples_are_unchanged_and_belong_to_the_first_company(served):
    assert seed.COMPANIES[0][0] == seed.COMPANY_ID
    assert all(job["companyId"] == seed.COMPANY_ID for job in served.values())
    assert seed.DOC_SAMPLE_ID in served
    first = [seed.job_uuid(name) for name in ("pending", "in_progress", "near_expiry")]
    assert [sample.id for sample in seed.SAMPLES[:3]] == first
    assert {sample.group for sample in seed.SAMPLES} == {"Active", "Finished", "Failed", "Faults (sandbox only)"}


def test_the_list_filters_by_status_repeated_and_by_company(sandbox, listed):
    page = walk(sandbox, statuses=["failed", "completed_with_errors"], limit=20)
    assert {job["status"] for job in page} == {"failed", "completed_with_errors"}
    assert len(page) == sum(job["status"] in ("failed", "completed_with_errors") for job in listed)

    se = walk(sandbox, company_id=seed.COMPANY_SE.upper(), limit=50)
    assert se
    assert {job["companyId"] for job in se} == {seed.COMPANY_SE}

    deprecated = fetch_list(sandbox, status="pending", limit=1000)["data"]
    assert deprecated
    assert {job["status"] for job in deprecated} == {"pending"}


def test_the_list_pages_with_cursors_limit_and_total(sandbox, listed):
    first = fetch_list(sandbox, limit=40)
    second = fetch_list(sandbox, limit=40, after=first["pagination"]["endCursor"])
    back = fetch_list(sandbox, limit=40, before=second["pagination"]["startCursor"])

    assert len(first["data"]) == len(second["data"]) == 40
    assert first["pagination"]["total"] == second["pagination"]["total"] == len(listed)
    assert first["pagination"]["hasPreviousPage"] is False
    assert second["pagination"]["hasPreviousPage"] is True
    assert second["pagination"]["currentRequestPagination"]["after"] == first["pagination"]["endCursor"]
    assert second["pagination"]["currentRequestPagination"]["limit"] == 40
    assert back["data"] == first["data"]
    assert not {job["id"] for job in first["data"]} & {job["id"] for job in second["data"]}
    assert fetch_list(sandbox, limit=0)["data"] == []
    assert fetch_list(sandbox, limit=0)["pagination"]["total"] == len(listed)


@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_the_list_sorts_on_created_at_both_ways(sandbox, order):
    jobs = walk(sandbox, sorting_keys="createdAt", sorting_order=order, limit=30)
    created = [job["createdAt"] for job in jobs]
    assert created == sorted(created, reverse=order == "DESC")
    echo = fetch_list(sandbox, sorting_keys="createdAt", sorting_order=order, limit=1)["pagination"]
    assert echo["currentRequestPagination"]["sortingKeys"] == ["createdAt"]
    assert echo["currentRequestPagination"]["sortingOrder"] == [order]


def test_without_a_sort_the_list_is_in_id_order(sandbox, listed):
    assert [job["id"] for job in listed] == sorted(job["id"] for job in listed)


@pytest.mark.parametrize(
    "params",
    [
        {"statuses": "done"},
        {"company_id": "acme"},
        {"sorting_keys": "numberOfItems"},
        {"sorting_keys": "createdAt", "sorting_order": "SIDEWAYS"},
        {"offset": 10, "after": "GE======"},
        {"after": "not a cursor!"},
        {"limit": "many"},
    ],
    ids=repr,
)
def test_the_list_refuses_what_the_contract_does_not_allow_with_400(sandbox, params):
    response = get(sandbox, "/v2/export-jobs", **params)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json()["type"] == "BAD_REQUEST"


def test_the_list_needs_the_credentials_too(sandbox):
    assert get(sandbox, "/v2/export-jobs", auth=None).status_code == 401
    assert get(sandbox, "/v2/export-jobs", auth="Bearer wrong").status_code == 401


def test_list_calls_are_counted_and_in_the_stats(sandbox):
    fetch_list(sandbox, limit=1)
    fetch_list(sandbox, limit=1)
    assert sandbox.state.list_calls() == 2
    stats = requests.get(sandbox.url + "/_sandbox/stats", timeout=HANG_GUARD).json()
    assert stats["listCalls"] == 2
    assert stats["calls"] == 0


@pytest.mark.parametrize(
    ("kind", "options", "status"),
    [
        ("503", {}, 503),
        ("429", {"retry_after": 7}, 429),
        ("malformed_json", {}, 200),
        ("bad_page", {}, 200),
        ("401", {}, 401),
    ],
)
def test_list_faults_are_switched_on_like_job_faults(sandbox, kind, options, status):
    sandbox.state.add_list_fault(kind, times=1, **options)

    faulty = get(sandbox, "/v2/export-jobs", limit=5)
    normal = get(sandbox, "/v2/export-jobs", limit=5)

    assert faulty.status_code == status
    if kind == "429":
        assert faulty.headers["Retry-After"] == "7"
    if status == 200:  # an answer that breaks the contract
        try:
            page = json.loads(faulty.text)
        except ValueError:
            page = None
        assert page is None or list_page_problems(page) != []
    assert normal.status_code == 200
    assert list_page_problems(normal.json()) == []


def test_a_list_fault_can_aim_at_one_page(sandbox):
    sandbox.state.add_list_fault("bad_job", page=2, count=2)
    first = fetch_list(sandbox, limit=10)
    second = get(sandbox, "/v2/export-jobs", limit=10, after=first["pagination"]["endCursor"]).json()
    broken = [job for job in second["data"] if problems(JOB_SCHEMA, job)]
    assert len(broken) == 2


def test_held_list_answers_and_sort_faults(sandbox):
    sandbox.state.add_list_fault("gate", times=1)
    gate = sandbox.state.gate()
    answers: list[dict] = []
    caller = threading.Thread(target=lambda: answers.append(fetch_list(sandbox, limit=1)))
    caller.start()
    gate.wait_for_arrivals(1)
    assert answers == []  # held at the gate until the test opens it
    assert sandbox.state.in_flight == 1
    gate.open()
    caller.join(HANG_GUARD)
    assert len(answers[0]["data"]) == 1

    sandbox.state.add_list_fault("refuse_sort", times=1)
    assert get(sandbox, "/v2/export-jobs", sorting_keys="createdAt", sorting_order="DESC").status_code == 400

    sandbox.state.add_list_fault("ignore_sort", times=1)
    ignored = fetch_list(sandbox, sorting_keys="createdAt", sorting_order="DESC", limit=1000)["data"]
    assert [job["id"] for job in ignored] == sorted(job["id"] for job in ignored)


# --- accounting entries and companies keep to their contracts -------------------------------------------


def failed_entry_ids(sandbox, job_id: str) -> list[str]:
    page = fetch_items(sandbox, job_id, status="failed", limit=1000)
    return [item["accountingEntryId"] for item in page["data"]]


@pytest.mark.parametrize("name", ["completed_with_errors", "large"])
def test_every_failed_entry_of_a_sample_validates_against_the_contract(sandbox, name):
    ids = failed_entry_ids(sandbox, seed.job_uuid(name))
    assert ids
    for entry_id in ids:
        response = get(sandbox, f"/v1/accounting-entries/{entry_id}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == JSON_TYPE
        body = response.json()
        assert list(body) == ["data"]
        assert problems(ENTRY_SCHEMA, body["data"]) == [], body["data"]
        assert body["data"]["id"] == entry_id


def test_the_sample_entries_cover_families_currencies_notes_and_missing_receipts(sandbox):
    entries = [
        get(sandbox, f"/v1/accounting-entries/{entry_id}").json()["data"]
        for entry_id in failed_entry_ids(sandbox, seed.job_uuid("large"))
    ]
    assert {entry["family"] for entry in entries} == {family for family, _sub in seed.ENTRY_KINDS}
    currencies = {entry["transactionValue"]["currency"] for entry in entries}
    assert {"DKK", "SEK", "EUR", "GBP", "ISK", "JPY", "KWD"} <= currencies
    notes = [entry.get("note") for entry in entries]
    assert not any(note and "<" in note for note in notes)  # markup only in the sample named for it
    assert any(note and len(note) > 200 for note in notes)
    assert None in notes
    assert any(entry["receiptIds"] == [] for entry in entries)


def test_markup_scripts_and_formulas_in_notes_are_only_in_the_sample_named_for_them(sandbox):
    hostile = seed.job_uuid(seed.HOSTILE_SAMPLE)
    assert "Hostile data" in seed.SAMPLES_BY_ID[hostile].title
    notes = {
        name: [
            get(sandbox, f"/v1/accounting-entries/{entry_id}").json()["data"].get("note") or ""
            for entry_id in failed_entry_ids(sandbox, job_id)
        ]
        for name, job_id in (("hostile", hostile), ("partly", seed.job_uuid("completed_with_errors")))
    }
    assert any("<script>" in note for note in notes["hostile"])
    assert any(note.startswith("=") for note in notes["hostile"])
    assert not any(mark in note for note in notes["partly"] for mark in ("<", "=", "onerror"))


def test_each_sample_entry_is_an_expense_its_failure_belongs_with(sandbox):
    """Plausible data: a receipt failure has a receipt, mileage and per diem have none, a supplier failure is a
    supplier's invoice; the amount's currency is one the country of the note would use."""
    for profile in seed.ENTRY_PROFILES:
        if profile.failure.startswith("receipt_"):
            assert profile.receipts >= 1, profile
        if profile.family in ("MILEAGE", "PER_DIEM"):
            assert profile.receipts == 0, profile
        if profile.failure == "vendor_unknown":
            assert profile.family in ("BILL_INVOICE", "BILL_INVOICE_PAYMENT"), profile
    assert len({profile.failure for profile in seed.ENTRY_PROFILES}) == len(seed.ENTRY_PROFILES)


def test_the_sandbox_entries_are_served_after_a_restart_without_the_items_first(sandbox):
    entry_id = seed.entry_uuid(seed.job_uuid("completed_with_errors"), 8)
    response = get(sandbox, f"/v1/accounting-entries/{entry_id}")
    assert response.status_code == 200


def test_an_unknown_entry_or_company_is_404_and_needs_credentials(sandbox):
    unknown = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
    assert get(sandbox, f"/v1/accounting-entries/{unknown}").status_code == 404
    assert get(sandbox, f"/v1/companies/{unknown}").status_code == 404
    assert get(sandbox, f"/v1/companies/{seed.COMPANY_ID}", auth=None).status_code == 401


@pytest.mark.parametrize(("company_id", "name"), seed.COMPANIES)
def test_every_company_validates_against_the_contract(sandbox, company_id, name):
    response = get(sandbox, f"/v1/companies/{company_id}")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data"]
    assert problems(COMPANY_SCHEMA, body["data"]) == []
    assert body["data"]["name"] == name


def test_the_helpers_entry_payload_keeps_to_the_contract():
    assert problems(ENTRY_SCHEMA, entry_payload("0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")) == []


def test_the_sandbox_runs_without_django_settings():
    """``make bench`` starts it on its own (``python -m exportjobs.sandbox``): no settings, no Django set-up."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    root = Path(__file__).resolve().parent.parent
    answer = subprocess.run(
        [sys.executable, "-c", "from exportjobs.sandbox import seed, server; print(len(seed.SAMPLES))"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert int(answer.stdout) == len(seed.SAMPLES)
