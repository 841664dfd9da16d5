"""Property tests: whatever is pasted or whatever Pleo sends, never a 500, never unescaped markup."""

import uuid

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from exportjobs import cache as desk_cache
from exportjobs.sandbox import seed
from tests.helpers import job_payload

JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
MARK = "<xss>"

FUZZ = hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ids = st.uuids().map(str)
pasted = st.one_of(
    st.text(max_size=300),
    st.builds(lambda a, i, b: a + i + b, st.text(max_size=60), ids, st.text(max_size=60)),
    st.builds(lambda a, i, b: a + i.upper().replace("-", "") + b, st.text(max_size=60), ids, st.text(max_size=60)),
    st.builds(lambda a, b: a + MARK + b, st.text(max_size=60), st.text(max_size=60)),
)


@FUZZ
@given(text=pasted)
def test_any_pasted_text_gives_a_redirect_or_the_form_never_a_500(desk, sandbox, text):
    response = desk.get("/lookup/", {"job_id": text})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        target = response["Location"]
        assert target.startswith("/jobs/")
        assert str(uuid.UUID(target.split("/")[2])) == target.split("/")[2]
    else:
        assert MARK not in response.content.decode()
    assert sandbox.state.calls() == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
hostile = st.builds(lambda a, b: a + MARK + b, st.text(max_size=30), st.text(max_size=30))
FIELDS = list(job_payload().keys())


def show(desk, sandbox, body):
    cache.clear()
    desk_cache.clear_local()
    sandbox.state.add_fault(JOB, "body", payload=body, times=1)
    response = desk.get(f"/jobs/{JOB}/")
    assert response.status_code in (200, 502), response.status_code
    assert MARK not in response.content.decode()
    return response


@FUZZ
@given(body=json_values)
def test_any_json_from_pleo_is_a_page_or_a_bad_response_never_a_500(desk, sandbox, body):
    show(desk, sandbox, body)


@FUZZ
@given(replacements=st.dictionaries(st.sampled_from(FIELDS), json_values | hostile, max_size=5))
def test_a_job_with_any_field_of_any_type_is_a_page_or_a_bad_response(desk, sandbox, replacements):
    show(desk, sandbox, {"data": job_payload(JOB, **replacements)})


@FUZZ
@given(
    status=st.sampled_from(["pending", "in_progress", "failed", "completed", "completed_with_errors"]) | hostile,
    failure_type=st.none() | st.sampled_from(["job_expired", "validation_failure"]) | hostile,
    reason=st.none() | hostile,
)
def test_hostile_strings_in_every_string_field_are_shown_escaped(desk, sandbox, status, failure_type, reason):
    response = show(
        desk, sandbox, {"data": job_payload(JOB, status=status, failureReasonType=failure_type, failureReason=reason)}
    )
    assert response.status_code == 200
    page = response.content.decode()
    for value in (status, failure_type, reason):
        if value and MARK in value:
            assert "&lt;xss&gt;" in page


@pytest.mark.parametrize("sample", [s for s in seed.SAMPLES if not s.faults][:3], ids=lambda s: s.title)
def test_seeded_jobs_contain_no_markup_to_begin_with(desk, sample):
    assert MARK not in desk.get(f"/jobs/{sample.id}/").content.decode()


@pytest.mark.parametrize(
    "fields",
    [
        {"expiresIn": 2**31},  # beyond int32: the contract's format
        {"expiresIn": 10**20},
        {"status": "pending", "lastUpdatedAt": "9999-12-31T23:59:59Z"},
        {"status": "pending", "createdAt": "0001-01-01T00:00:00Z", "lastUpdatedAt": None},
        {"createdAt": "2026-13-45T25:61:61Z"},
        {"numberOfItems": -5},
        {"createdAt": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
        {"status": "pending", "expiresIn": 10**400},
        {"numberOfItems": 10**400},
    ],
)
def test_extreme_values_never_crash_the_page(desk, sandbox, fields):
    show(desk, sandbox, {"data": job_payload(JOB, **fields)})


def test_a_deeply_nested_answer_is_a_bad_response_not_a_crash():
    from exportjobs.pleo import NotFound, PleoBadResponse
    from exportjobs.pleo.client import interpret_answer

    nested = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(PleoBadResponse):
        interpret_answer(200, {}, nested)
    with pytest.raises(NotFound):  # a 404 whose body cannot be read is still "not found"
        interpret_answer(404, {}, b'{"type": ' + b"[" * 200_000)


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "garbage", "2026-02-30T00:00:00Z"]
)
def test_a_tampered_seen_time_never_crashes_the_page(desk, sandbox, at):
    response = desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/", {"seen": "pending", "at": at})
    assert response.status_code == 200
    assert "When this link was shared" in response.content.decode()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30),
        ("Wed, 21 Oct 2015 07:28:00 -0000", 0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0),
        ("soon", None),
        ("99999999999", 86400),
    ],
)
def test_any_retry_after_header_becomes_bounded_seconds(header, seconds):
    from exportjobs.pleo.client import retry_after_seconds

    assert retry_after_seconds(header) == seconds
