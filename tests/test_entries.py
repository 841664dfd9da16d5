"""Failed entries of a job, recent lookups, and what changed since a link was shared."""

import html
import re
import time
import uuid

import pytest

from exportjobs.pleo import ItemFailureType
from exportjobs.sandbox import seed
from exportjobs.wording import ACTORS, ITEM_FAILURE
from tests.helpers import job_payload, text_of

LARGE = seed.job_uuid("large")
PARTIAL = seed.job_uuid("completed_with_errors")
JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"


def test_a_partly_exported_job_shows_counts_and_its_failed_entries(desk, sandbox):
    page = desk.get(f"/jobs/{PARTIAL}/").content.decode()
    words = text_of(page)
    assert "Entries in this export" in words
    assert "Exported 32" in words
    assert "Failed 4" in words
    assert "Waiting 0" in words
    assert page.count("<tr>") == 1 + 4  # header + 4 failed entries
    assert "Open in accounting system" not in page  # failed entries have no link
    assert "Who needs to act" in words


def test_failed_entries_use_the_item_wording_including_the_v3_only_types(desk, sandbox):
    page = desk.get(f"/jobs/{LARGE}/").content.decode()
    words = text_of(page)
    for kind in (ItemFailureType.TAG_UNKNOWN, ItemFailureType.RECEIPT_CONVERSION_FAILURE):
        wording = ITEM_FAILURE[kind]
        assert str(wording.label) in words
        assert str(wording.meaning) in words
        assert str(ACTORS[wording.actor]) in words


def test_every_item_failure_type_has_wording():
    assert set(ITEM_FAILURE) == set(ItemFailureType)
    assert {"vendor_unknown", "account_unknown", "tax_code_unknown", "tag_unknown"} <= {k.value for k in ITEM_FAILURE}


def test_the_10000_entry_job_shows_50_failed_entries_counts_from_total_and_pages(desk, sandbox):
    started = time.monotonic()
    response = desk.get(f"/jobs/{LARGE}/")
    elapsed = time.monotonic() - started
    page = response.content.decode()
    words = text_of(page)
    assert response.status_code == 200
    assert "Exported 9,750" in words
    assert "Failed 250" in words
    assert "Failed entries (50 of 250 shown)" in words
    assert page.count('<pre class="item-reason">') == 50
    assert sandbox.state.item_calls(LARGE) == 6  # five counts (limit 0) and one page of 50
    from urllib.parse import unquote

    next_link = unquote(re.search(r'href="\?entries=1&amp;after=([^"#]+)#entries"', page).group(1))
    assert not re.fullmatch(r"[A-Z2-7=~]+", next_link)  # Pleo's cursor travels signed by the desk
    second = desk.get(f"/jobs/{LARGE}/", {"entries": "1", "after": next_link}).content.decode()
    first_ids = set(re.findall(r"<td data-label=\"Accounting entry\"><code>([0-9a-f-]{36})</code>", page))
    second_ids = set(re.findall(r"<td data-label=\"Accounting entry\"><code>([0-9a-f-]{36})</code>", second))
    assert len(second_ids) == 50
    assert not first_ids & second_ids
    assert "First page" in second
    assert elapsed < 5  # generous: the figure measured is in docs/benchmarks.md


def test_entries_are_cached_by_the_jobs_rules(desk, sandbox):
    desk.get(f"/jobs/{PARTIAL}/")
    desk.get(f"/jobs/{PARTIAL}/")
    assert sandbox.state.item_calls(PARTIAL) == 6


def test_other_jobs_offer_entries_on_request(desk, sandbox):
    completed = seed.job_uuid("completed")
    page = desk.get(f"/jobs/{completed}/").content.decode()
    assert "Show how each of the 2,350 entries is doing" in page
    assert sandbox.state.item_calls(completed) == 0
    words = text_of(desk.get(f"/jobs/{completed}/", {"entries": "1"}).content.decode())
    assert "Exported 2,350" in words
    assert "No entry failed." in words


def test_if_the_entries_cannot_be_fetched_the_job_is_still_shown_with_a_notice(desk, sandbox, settings):
    from exportjobs import services

    sandbox.state.put_job(job_payload(JOB, status="completed_with_errors", numberOfItems=5))
    services.job_get(job_id=uuid.UUID(JOB))  # the job is cached; its entries are not
    sandbox.state.add_fault(JOB, "503")
    response = desk.get(f"/jobs/{JOB}/")
    assert response.status_code == 200
    words = text_of(response.content.decode())
    assert "The entries could not be loaded" in words
    assert "Partly exported" in words


def test_an_entry_link_to_the_accounting_system_is_only_http(desk, sandbox, monkeypatch):
    from exportjobs import presenters

    assert presenters.safe_url("javascript:alert(1)") == ""
    assert presenters.safe_url("https://accounting.example.com/x") == "https://accounting.example.com/x"


def test_a_bad_cursor_is_ignored_not_sent_to_pleo(desk, sandbox):
    response = desk.get(f"/jobs/{PARTIAL}/", {"entries": "1", "after": "../../etc"})
    assert response.status_code == 200


# --- recent lookups -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_home_page_lists_my_last_10_jobs_newest_first_with_their_status(desk, sandbox, django_user_model):
    samples = [s for s in seed.SAMPLES if not s.faults][:12]
    for sample in samples:
        desk.get(f"/jobs/{sample.id}/")
    desk.get(f"/jobs/{samples[0].id}/")  # seen again: now the newest
    page = desk.get("/").content.decode()
    recent = re.findall(
        r'<li><a href="/jobs/([0-9a-f-]{36})/"><code>', page.split("Your recent jobs")[1].split("</section>")[0]
    )
    assert len(recent) == 10
    assert recent[0] == samples[0].id
    assert recent[1] == samples[11].id
    assert "Waiting to start" in page
    # another user's views are not mine
    from django.test import Client

    other = django_user_model.objects.create_superuser("other", password="x-long-password-1")
    client = Client()
    client.force_login(other)
    assert "Your recent jobs" not in client.get("/").content.decode()


# --- what changed since the link was shared -------------------------------------------------


def test_a_shared_link_says_what_changed_since(desk, sandbox):
    words = text_of(
        desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/", {"seen": "in_progress", "at": "2026-03-03T14:02:00Z"}).content.decode()
    )
    assert "When this link was shared (3 Mar 2026, 14:02:00 UTC) the job was exporting; now it has failed." in words


def test_a_shared_link_says_when_nothing_changed(desk, sandbox):
    words = text_of(
        desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/", {"seen": "failed", "at": "2026-03-03T14:02:00Z"}).content.decode()
    )
    assert "the job was already failed; it has not changed since." in words


def test_a_tampered_seen_link_is_escaped_and_harmless(desk, sandbox):
    page = desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/", {"seen": "<b>x</b>", "at": "yesterday"}).content.decode()
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_ticket_text_and_copy_link_carry_status_and_time_seen(desk, sandbox):
    page = html.unescape(desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/").content.decode())
    link = re.search(r"Link: (\S+)", page).group(1)
    assert "?seen=failed&at=" in link
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(link).query)
    opened = text_of(desk.get(urlsplit(link).path, query).content.decode())
    assert "it has not changed since" in opened


def test_the_canonical_redirect_keeps_the_seen_parameters(desk):
    response = desk.get(f"/jobs/{seed.DOC_SAMPLE_ID.upper()}/", {"seen": "pending", "at": "2026-03-03T14:02:00Z"})
    assert response.status_code == 302
    assert response["Location"].startswith(f"/jobs/{seed.DOC_SAMPLE_ID}/?seen=pending&at=")
