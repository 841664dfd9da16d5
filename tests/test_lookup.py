"""The home page and /lookup/: finding the one job id in whatever was pasted."""

import pytest

from tests.helpers import job_url

JOB = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


@pytest.mark.parametrize(
    "pasted",
    [
        JOB,
        f"   {JOB}   ",
        JOB.upper(),
        "{" + JOB + "}",
        f"urn:uuid:{JOB}",
        JOB.replace("-", ""),
        JOB.replace("-", "").upper(),
        f"https://desk.example.com/jobs/{JOB}/",
        f"https://app.pleo.io/export?job={JOB}&tab=1",
        f"Hi team, export {JOB} failed this morning, please check.",
        f"export {JOB} failed\n\nsee also {JOB.upper()}",  # the same id twice is one id
    ],
)
def test_a_pasted_id_redirects_to_the_canonical_job_page(desk, sandbox, pasted):
    response = desk.get("/lookup/", {"job_id": pasted})
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{JOB}/"
    assert sandbox.state.calls() == 0  # the lookup itself never calls Pleo


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("", "Paste an export job ID"),
        ("   ", "Paste an export job ID"),
        ("no id in here", "No export job ID found"),
        ("3c90c3cc-0d44-4b50-8888", "No export job ID found"),
        ("a" * 40, "No export job ID found"),
        (f"{JOB} and f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e", "contains 2 different IDs"),
        (
            f"https://desk.example.com/jobs/{JOB}/ company f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e",
            "contains 2 different IDs",
        ),
    ],
)
def test_no_id_or_two_ids_show_the_form_again_with_a_clear_message(desk, sandbox, pasted, message):
    response = desk.get("/lookup/", {"job_id": pasted})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'name="job_id"' in response.content.decode()
    assert sandbox.state.calls() == 0


def test_two_ids_are_listed_as_links(desk):
    other = "f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e"
    body = desk.get("/lookup/", {"job_id": f"{JOB} {other}"}).content.decode()
    assert f'href="/jobs/{JOB}/"' in body
    assert f'href="/jobs/{other}/"' in body


def test_pasted_input_is_echoed_only_escaped(desk):
    body = desk.get("/lookup/", {"job_id": '<script>alert("x")</script>'}).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_the_home_page_has_an_autofocused_labelled_lookup_field(desk):
    body = desk.get("/").content.decode()
    assert '<label for="id_job_id"' in body
    assert 'name="job_id"' in body
    assert "autofocus" in body


def test_the_home_page_lists_the_sandbox_jobs_in_sandbox_mode(desk, settings):
    settings.PLEO_SANDBOX = True
    body = desk.get("/").content.decode()
    assert "Sample jobs in the sandbox" in body
    assert job_url(JOB) in body
    assert "Sandbox" in body


def test_the_home_page_lists_no_samples_against_real_pleo(desk, settings):
    settings.PLEO_SANDBOX = False
    body = desk.get("/").content.decode()
    assert "Sample jobs" not in body
    assert "sandbox-flag" not in body


def test_a_non_canonical_job_url_redirects_to_the_canonical_one(desk, sandbox):
    response = desk.get(f"/jobs/{JOB.upper()}/")
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{JOB}/"
    response = desk.get(f"/jobs/{JOB.replace('-', '')}/")
    assert response["Location"] == f"/jobs/{JOB}/"
    assert sandbox.state.calls() == 0


def test_a_job_url_without_a_uuid_is_a_404_with_the_form_and_no_call(desk, sandbox):
    response = desk.get("/jobs/not-a-job/")
    assert response.status_code == 404
    assert "does not contain a valid export job ID" in response.content.decode()
    assert sandbox.state.calls() == 0
