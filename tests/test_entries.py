"""Failed entries of a job, recent lookups, and what changed since a link was shared."""

import html
import re
import uuid
from datetime import datetime, timezone

import pytest
from django.utils.html import escape

from exportjobs.pleo import FailureType, ItemFailureType
from exportjobs.sandbox import seed
from exportjobs.wording import ACTORS, FAILURE, ITEM_FAILURE, item_failure_wording
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
    assert len(entry_ids(page)) == 4
    assert "Open in accounting system" not in page  # failed entries have no link
    assert "Who needs to act" in words


def test_failed_entries_use_the_item_wording_including_the_v3_only_types(desk, sandbox):
    page = desk.get(f"/jobs/{LARGE}/").content.decode()
    words = text_of(page)
    for kind in (ItemFailureType.TAG_UNKNOWN, ItemFailureType.RECEIPT_CONVERSION_FAILURE):
        wording = item_failure_wording(kind)
        assert str(wording.label) in words
        assert str(wording.meaning) in words
        assert str(ACTORS[wording.actor]) in words


def test_every_item_failure_type_has_wording():
    assert set(ITEM_FAILURE) == set(ItemFailureType)
    assert {"vendor_unknown", "account_unknown", "tax_code_unknown", "tag_unknown"} <= {k.value for k in ITEM_FAILURE}


def entry_ids(page: str) -> list[str]:
    """The accounting entry ids of the failed-entries table, in order."""
    return re.findall(
        r'<td data-label="Accounting entry" class="entry-cell"><div class="entry" data-entry-id="([^"]+)"', page
    )


def failure_groups(page: str) -> list[tuple[str, int]]:
    """The rows of the failed-entries-by-type table: (Pleo's failure type, count)."""
    table = page.split('<table class="failure-groups"')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1].split("</tr>")[:-1]
    found = []
    for row in rows:
        kind = re.search(r'<code class="code muted">([a-z_]+)</code>', row).group(1)
        count = int(re.search(r'<td data-label="Entries" class="num">([\d,]+)</td>', row).group(1).replace(",", ""))
        found.append((kind, count))
    return found


def test_the_10000_entry_job_shows_50_failed_entries_counts_from_total_and_pages(desk, sandbox):
    response = desk.get(f"/jobs/{LARGE}/")
    page = response.content.decode()
    words = text_of(page)
    assert response.status_code == 200
    assert "Exported 9,750" in words
    assert "Failed 250" in words
    assert "Failed entries (1–50 of 250)" in words
    assert page.count('<pre class="item-reason">') == 50
    # five counts (limit 0) and the failed entries, 200 at a time
    assert sandbox.state.item_calls(LARGE) == 5 + 2
    first_ids = entry_ids(page)
    assert len(first_ids) == 50
    assert 'rel="prev"' not in page
    next_link = html.unescape(re.search(r'<a href="([^"]+)" rel="next">Next 50 →</a>', page).group(1))
    assert next_link == "?entries=1&page=2#entries"
    second = desk.get(f"/jobs/{LARGE}/", {"entries": "1", "page": "2"}).content.decode()
    assert "Failed entries (51–100 of 250)" in text_of(second)
    second_ids = entry_ids(second)
    assert len(second_ids) == 50
    assert not set(first_ids) & set(second_ids)
    assert '<a href="?entries=1#entries" rel="prev">← Previous 50</a>' in second
    assert 'rel="next"' in second
    last = text_of(desk.get(f"/jobs/{LARGE}/", {"entries": "1", "page": "5"}).content.decode())
    assert "Failed entries (201–250 of 250)" in last
    assert "Next 50" not in last
    assert sandbox.state.item_calls(LARGE) == 7  # the other pages came from the cache


def test_failed_entries_are_counted_by_type_with_who_acts_and_what_to_do(desk, sandbox):
    page = desk.get(f"/jobs/{LARGE}/").content.decode()
    groups = failure_groups(page)
    assert sum(count for _, count in groups) == 250
    assert {kind for kind, _ in groups} == {kind.value for kind in ItemFailureType}  # the sandbox has all 18
    assert [count for _, count in groups] == sorted((count for _, count in groups), reverse=True)
    table = page.split('<table class="failure-groups"')[1].split("</table>")[0]
    for kind in ItemFailureType:
        words = item_failure_wording(kind)
        row = next(row for row in table.split("</tr>") if f">{kind.value}</code>" in row)
        assert escape(str(words.label)) in row
        assert escape(str(ACTORS[words.actor])) in row
        assert escape(str(words.next_step)) in row
        assert f'href="?entries=1&amp;type={kind.value}#entries"' in row


def test_the_table_can_be_filtered_to_one_failure_type_and_back(desk, sandbox):
    kind = ItemFailureType.RECEIPT_FILE_SIZE_LIMIT_EXCEEDED
    page = desk.get(f"/jobs/{LARGE}/", {"entries": "1", "type": kind.value}).content.decode()
    words = text_of(page)
    count = dict(failure_groups(page))[kind.value]
    assert f"Failed entries (1–{count} of {count})" in words
    assert f"Showing only “{ITEM_FAILURE[kind].label}”" in words
    assert '<a href="?entries=1#entries">Show all failed entries</a>' in page
    rows = page.split('<table class="failed-entries">')[1].split("</table>")[0]
    assert rows.count(f'<code class="code muted">{kind.value}</code>') == count
    assert len(entry_ids(page)) == count
    assert '<tr class="selected">' in page
    # a type the job has no entries of, or made up, lists them all
    everything = text_of(desk.get(f"/jobs/{LARGE}/", {"entries": "1", "type": "<script>"}).content.decode())
    assert "Failed entries (1–50 of 250)" in everything
    assert "<script>" not in everything


def test_a_page_past_the_end_shows_the_last_page(desk, sandbox):
    words = text_of(desk.get(f"/jobs/{LARGE}/", {"entries": "1", "page": "99"}).content.decode())
    assert "Failed entries (201–250 of 250)" in words
    words = text_of(desk.get(f"/jobs/{LARGE}/", {"entries": "1", "page": "-3"}).content.decode())
    assert "Failed entries (1–50 of 250)" in words


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
    from exportjobs.presenters import entries as presenters

    assert presenters.safe_url("javascript:alert(1)") == ""
    assert presenters.safe_url("https://accounting.example.com/x") == "https://accounting.example.com/x"


def test_a_cursor_in_the_address_is_ignored_not_sent_to_pleo(desk, sandbox):
    response = desk.get(f"/jobs/{PARTIAL}/", {"entries": "1", "after": "../../etc"})
    assert response.status_code == 200
    assert len(entry_ids(response.content.decode())) == 4  # the first page, as without it
    assert sandbox.state.item_calls(PARTIAL) == 6  # five counts and one walk of the failed entries


# --- recent lookups -------------------------------------------------------------------


def recent_rows(page: str) -> list[str]:
    """The recent-jobs list's rows as visible words."""
    section = page.split("Your recent jobs")[1].split("</section>")[0]
    return [text_of(item).strip() for item in section.split("<li>")[1:]]


def recent_ids(page: str) -> list[str]:
    section = page.split("Your recent jobs")[1].split("</section>")[0]
    return re.findall(r'<a href="/jobs/([0-9a-f-]{36})/" class="recent-what">', section)


@pytest.mark.django_db
def test_the_home_page_lists_my_last_10_jobs_newest_first_with_their_status(desk, sandbox, django_user_model):
    samples = [s for s in seed.SAMPLES if not s.faults][:12]
    for sample in samples:
        desk.get(f"/jobs/{sample.id}/")
    desk.get(f"/jobs/{samples[0].id}/")  # seen again: now the newest
    page = desk.get("/").content.decode()
    recent = recent_ids(page)
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


@pytest.mark.django_db
def test_recent_failed_jobs_can_be_told_apart_by_failure_and_creation_time(desk, sandbox, settings):
    """Six failed jobs: each row names its failure (or entries, when there is none) and when it was created."""
    settings.TIME_ZONE = "UTC"
    kinds = ("invalid_configuration", "pleo_rate_limit", "service_timeout", "job_expired", "validation_failure")
    created = f"{datetime.now(timezone.utc).year}-03-04T05:06:07Z"  # this year's: no year shown
    for index, kind in enumerate(kinds):
        job_id = f"5b0e7c1a-8d2f-4e6a-9b3c-00000000000{index}"
        sandbox.state.put_job(
            job_payload(job_id, status="failed", failureReasonType=kind, failureReason="x", createdAt=created)
        )
        desk.get(f"/jobs/{job_id}/")
    partly = "5b0e7c1a-8d2f-4e6a-9b3c-000000000009"
    sandbox.state.put_job(job_payload(partly, status="completed_with_errors", numberOfItems=1234, createdAt=created))
    desk.get(f"/jobs/{partly}/")
    rows = recent_rows(desk.get("/").content.decode())
    assert len(set(rows)) == len(rows) == 6
    assert rows[0].startswith("! Partly exported 1,234 entries · created 4 Mar 05:06")
    labels = [str(FAILURE[FailureType(kind)].label) for kind in reversed(kinds)]
    for row, label in zip(rows[1:], labels, strict=True):
        assert row.startswith(f"✕ Failed {label} · created 4 Mar 05:06"), row
        assert "you looked just now" in row


# --- what changed since the link was shared -------------------------------------------------


def test_a_shared_link_says_what_changed_since(desk, sandbox):
    words = text_of(
        desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/", {"seen": "in_progress", "at": "2026-03-03T14:02:00Z"}).content.decode()
    )
    assert "When this link was shared (3 Mar 2026, 14:02 UTC) the job was exporting; now it has failed." in words


def test_a_shared_link_says_when_nothing_changed(desk, sandbox):
    words = text_of(
        desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/", {"seen": "failed", "at": "2026-03-03T14:02:00Z"}).content.decode()
    )
    assert "the job was already failed; it has not changed since." in words


def test_a_tampered_seen_link_is_harmless_and_its_text_never_shown(desk, sandbox):
    for seen in ("<b>x</b>", "\u202ePleo confirmed: re-run approved", "failed x"):
        page = desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/", {"seen": seen, "at": "yesterday"}).content.decode()
        assert "seen-change" not in page  # only the desk's own status words are read back
        assert "re-run approved" not in page
        assert "&lt;b&gt;x" not in page


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
