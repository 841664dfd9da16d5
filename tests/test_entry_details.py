"""What each failed entry is (Pleo's Accounting Entries API) and companies by name (Companies API),
against the sandbox over real sockets: words, money, notes, receipts, refusals, slowness, cache, budget."""

from __future__ import annotations

import html
import re
import time
import uuid

import pytest
from django.core.cache import cache

from exportjobs import cache as desk_cache
from exportjobs import services
from exportjobs.budgets import OverBudget, charge, spending_for
from exportjobs.pleo import (
    EntryFamily,
    NotFound,
    PleoAuthError,
    PleoClient,
    ReviewStatus,
)
from exportjobs.sandbox import seed
from exportjobs.sandbox.server import COMPANIES, ENTRIES
from exportjobs.wording import CARD_PURCHASE_KIND, ENTRY_DETAILS, ENTRY_FAMILY, ENTRY_NOTICES, REVIEW_STATUS
from tests.helpers import HANG_GUARD, SANDBOX_TOKEN, entry_payload, job_payload, text_of, wait_for

PARTIAL = seed.job_uuid("completed_with_errors")  # 36 entries, 4 failed: items 8, 17, 26 and 35
LARGE = seed.job_uuid("large")  # 10,000 entries, 250 failed; the page lists 50
FAILED_ITEMS = (8, 17, 26, 35)
FIRST = seed.entry_uuid(PARTIAL, 8)  # failed over an unknown account
URL = f"/jobs/{PARTIAL}/"


def entry_ids(page: str) -> list[str]:
    return re.findall(r'<div class="entry" data-entry-id="([^"]+)"', page)


def row_of(page: str, entry_id: str) -> str:
    """The failed-entries table row of one entry, as HTML."""
    return re.search(rf"<tr>(?:(?!</tr>).)*data-entry-id=\"{entry_id}\"(?:(?!</tr>).)*</tr>", page, re.S).group(0)


def view(desk, url: str = URL, **headers) -> str:
    response = desk.get(url, **headers)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def warm(job_id: str = PARTIAL) -> None:
    """The job and its items are cached (fetched with all the time they need), so a short timeout set
    afterwards only meets the call the test is about."""
    job = services.job_get(job_id=uuid.UUID(job_id)).value
    services.job_items_get(job=job)


def notice(problem: str) -> str:
    """The entries' notice for ``problem`` as the page says it (no DESK_CONTACT: whom to ask is the administrator)."""
    return str(ENTRY_NOTICES[problem]) % {"whom": "Export Job Desk's administrator"}


def forget_this_process() -> None:
    """The next view finds only what the shared cache holds (as another worker would)."""
    desk_cache.clear_local()


# --- the client and the typed values -----------------------------------------------------------


@pytest.fixture
def pleo(sandbox):
    return PleoClient(sandbox.url, token=SANDBOX_TOKEN, timeout=1.0)


def test_the_client_reads_an_entry_as_typed_values(pleo):
    entry = pleo.get_accounting_entry(uuid.UUID(FIRST))
    assert str(entry.id) == FIRST
    assert entry.family == EntryFamily.CARD_PURCHASE
    assert entry.sub_family == "IN_STORE"
    assert entry.transaction_value.currency == "DKK"
    assert entry.transaction_value.minors == 45000
    assert entry.performed_at.tzinfo is not None


def test_values_pleo_adds_later_are_kept_raw_and_never_break_the_entry(pleo, sandbox):
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, family="CRYPTO_PURCHASE", reviewStatus="AI_APPROVED"))
    entry = pleo.get_accounting_entry(uuid.UUID(FIRST))
    assert entry.family == "CRYPTO_PURCHASE"
    assert entry.review_status == "AI_APPROVED"


def test_an_entry_pleo_does_not_have_is_not_found_and_a_refusal_names_the_access(pleo, sandbox):
    sandbox.state.put_entry(FIRST, None)
    with pytest.raises(NotFound, match="accounting entry"):
        pleo.get_accounting_entry(uuid.UUID(FIRST))
    sandbox.state.add_fault(ENTRIES, "403")
    with pytest.raises(PleoAuthError, match="read access to accounting entries"):
        pleo.get_accounting_entry(uuid.UUID(seed.entry_uuid(PARTIAL, 17)))


def test_the_client_reads_a_company_by_its_id(pleo):
    company = pleo.get_company(uuid.UUID(seed.COMPANY_SE))
    assert company.name == "Nordlys AB"
    assert company.registration_number == "556677-8899"


# --- the page says what each entry is -------------------------------------------------------------


def test_each_failed_entry_says_what_when_how_much_note_category_receipt_and_review(desk, sandbox):
    page = view(desk)
    assert entry_ids(page) == [seed.entry_uuid(PARTIAL, index) for index in FAILED_ITEMS]
    words = text_of(row_of(page, FIRST))
    performed = seed.entry_payload(sandbox.state.job(PARTIAL), 8, sandbox.state.now)["performedAt"]
    assert "Card purchase (in store)" in words
    assert f'<time datetime="{performed[:10]}">' in row_of(page, FIRST)  # the day of the expense, no time
    assert "DKK 450.00" in words
    assert "Amount booked" not in words  # paid in the company's own currency
    assert '<p class="entry-note"><q translate="no">Team lunch</q></p>' in row_of(page, FIRST)
    assert "Category (account) 6810" in words
    assert "Receipt 1 receipt attached" in words
    assert "Review No review needed" in words
    assert f"Pleo accounting entry ID {FIRST}" in words  # the technical detail stays
    assert f'data-copy="{FIRST}"' in page


@pytest.mark.parametrize("family", list(EntryFamily))
def test_every_family_is_said_in_words(desk, sandbox, family):
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, family=family.value, subFamily="SOMETHING_NEW"))
    words = text_of(row_of(view(desk), FIRST))
    assert str(ENTRY_FAMILY[family]) in words


@pytest.mark.parametrize("sub_family", sorted(CARD_PURCHASE_KIND))
def test_card_purchases_say_where_they_were_made(desk, sandbox, sub_family):
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, family="CARD_PURCHASE", subFamily=sub_family))
    assert str(CARD_PURCHASE_KIND[sub_family]) in text_of(row_of(view(desk), FIRST))


def test_a_family_and_a_review_status_the_desk_does_not_know_are_shown_raw(desk, sandbox):
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, family="CRYPTO_PURCHASE", reviewStatus="AI_APPROVED"))
    words = text_of(row_of(view(desk), FIRST))
    assert "Pleo's kind “CRYPTO_PURCHASE”" in words
    assert "Review status “AI_APPROVED”" in words


@pytest.mark.parametrize("status", list(ReviewStatus))
def test_every_review_status_is_said_in_words(desk, sandbox, status):
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, reviewStatus=status.value))
    assert f"Review {REVIEW_STATUS[status]}" in text_of(row_of(view(desk), FIRST))


def test_the_large_job_shows_the_many_kinds_of_its_first_50_failed_entries(desk, sandbox):
    page = view(desk, f"/jobs/{LARGE}/")
    words = text_of(page)
    assert len(entry_ids(page)) == 50
    for family, sub_family in seed.ENTRY_KINDS:
        expected = CARD_PURCHASE_KIND[sub_family] if sub_family else ENTRY_FAMILY[EntryFamily(family)]
        assert str(expected) in words, expected
    assert sandbox.state.entry_calls() == 50


# --- money by the book ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "language", "shown"),
    [
        ({"currency": "ISK", "minors": 1500}, "en", "ISK 1,500"),
        ({"currency": "ISK", "minors": 1500}, "da", "1.500 ISK"),
        ({"currency": "JPY", "minors": 3200}, "en", "JPY 3,200"),
        ({"currency": "KWD", "minors": 12500}, "en", "KWD 12.500"),
        ({"currency": "GBP", "minors": 6580}, "en", "GBP 65.80"),
        ({"currency": "EUR", "minors": 123456}, "de", "1.234,56 EUR"),
        ({"currency": "SEK", "minors": 129900}, "sv", "1 299,00 SEK"),
        ({"currency": "DKK", "minors": 45000}, "da", "450,00 DKK"),
    ],
)
def test_amounts_have_their_currencys_decimals_and_the_readers_separators(desk, sandbox, money, language, shown):
    booked = {"currency": "DKK", "minors": 9999}
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, transactionValue=money, totalBillValue=booked))
    words = text_of(row_of(view(desk, HTTP_ACCEPT_LANGUAGE=language), FIRST)).replace("\u00a0", " ")
    assert shown in words


def test_isk_is_never_divided_by_100(desk, sandbox):
    isk = {"currency": "ISK", "minors": 1500}
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, transactionValue=isk, totalBillValue=isk))
    words = text_of(row_of(view(desk), FIRST)).replace("\u00a0", " ")
    assert "ISK 1,500" in words
    assert "15.00" not in words


def test_an_amount_paid_in_another_currency_also_shows_the_amount_booked(desk, sandbox):
    paid, booked = {"currency": "EUR", "minors": 8450}, {"currency": "DKK", "minors": 63037}
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, transactionValue=paid, totalBillValue=booked))
    words = text_of(row_of(view(desk), FIRST)).replace("\u00a0", " ")
    assert "EUR 84.50 Amount booked: DKK 630.37 (in the company's currency)" in words


# --- notes, categories and receipts ------------------------------------------------------------------


def test_a_note_with_markup_is_shown_as_text(desk, sandbox):
    note = "<b>Client dinner</b> & drinks <img src=x onerror=alert(1)>"
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, note=note))
    row = row_of(view(desk), FIRST)
    assert "&lt;b&gt;Client dinner&lt;/b&gt; &amp; drinks &lt;img src=x onerror=alert(1)&gt;" in row
    assert "<img src=x" not in row
    assert "<b>Client" not in row


def test_a_long_note_is_shortened_with_the_whole_text_on_demand(desk, sandbox):
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, note=seed.LONG_NOTE))
    row = row_of(view(desk), FIRST)
    summary = re.search(r"<summary>(.*?)</summary>", row, re.S).group(1)
    assert len(text_of(summary)) < 120
    assert str(ENTRY_DETAILS["whole_note"]) in summary
    assert "Ask Maria in finance" in text_of(row)  # the whole note, inside <details>
    assert '<details class="entry-note">' in row


def test_no_note_and_no_category_say_so(desk, sandbox):
    payload = entry_payload(FIRST, accountId="00000000-0000-0000-0000-000000000000")
    del payload["note"], payload["accountCode"]
    sandbox.state.put_entry(FIRST, payload)
    words = text_of(row_of(view(desk), FIRST))
    assert "No note" in words
    assert "Category (account) “I don't know” was chosen" in words


def test_a_receipt_failure_without_a_receipt_stands_out(desk, sandbox):
    first = seed.entry_uuid(LARGE, 4 * 40 + 39)  # the fifth failed entry (every 40th fails): a receipt upload
    sandbox.state.put_entry(first, entry_payload(first, receiptIds=[]))
    page = view(desk, f"/jobs/{LARGE}/?entries=1&type=receipt_upload_failure")
    row = row_of(page, first)
    assert '<div class="receipt-matters">' in row
    assert '<strong class="receipt-missing">No receipt attached</strong>' in row


def test_a_receipt_is_not_emphasised_when_the_failure_is_about_something_else(desk, sandbox):
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, receiptIds=[]))
    row = row_of(view(desk), FIRST)  # failed over an unknown account
    assert "No receipt attached" in text_of(row)
    assert "receipt-matters" not in row


# --- when Pleo says no, or is slow ---------------------------------------------------------------------


def test_a_refusal_lists_the_entries_with_one_notice_naming_the_access_needed(desk, sandbox):
    sandbox.state.add_fault(ENTRIES, "403")
    page = view(desk)
    words = text_of(page)
    assert len(entry_ids(page)) == 4
    assert words.count(notice("refused")) == 1
    assert "ask Export Job Desk's administrator to let Export Job Desk read accounting entries" in words
    assert "Card purchase" not in words
    calls = sandbox.state.entry_calls()
    assert 1 <= calls <= 4
    forget_this_process()
    view(desk)
    assert sandbox.state.entry_calls() == calls  # the refusal is remembered: no call per entry per view


def test_an_entry_that_no_longer_exists_says_so_on_its_row(desk, sandbox):
    sandbox.state.put_entry(FIRST, None)
    page = view(desk)
    assert str(ENTRY_DETAILS["gone"]) in text_of(row_of(page, FIRST))
    assert "Tax code" not in text_of(row_of(page, FIRST))
    assert str(ENTRY_DETAILS["gone"]) not in text_of(row_of(page, seed.entry_uuid(PARTIAL, 17)))
    assert "entries-details-notice" not in page
    forget_this_process()
    view(desk)
    assert sandbox.state.entry_calls(FIRST) == 1  # "no such entry" is cached too


def test_pleo_unavailable_lists_the_entries_with_a_notice_and_no_500(desk, sandbox):
    sandbox.state.add_fault(ENTRIES, "503")
    page = view(desk)
    assert len(entry_ids(page)) == 4
    assert text_of(page).count(notice("unavailable")) == 1


def test_a_slow_entries_api_costs_the_page_no_more_than_its_budget_and_fills_in_on_the_next_view(
    desk, sandbox, settings, clock
):
    warm()
    settings.PLEO_API_TIMEOUT = 0.3  # a page budget of 1.6 s
    sandbox.state.add_fault(ENTRIES, "hang", seconds=60)  # the details never come while the page waits
    page = view(desk)
    assert len(entry_ids(page)) == 4
    assert text_of(page).count(notice("timeout")) == 1
    sandbox.state.clear_faults(ENTRIES)
    settings.PLEO_API_TIMEOUT = 30  # Pleo answers now, however busy the machine
    clock.shift(services.marks.TROUBLE_TTL + 1)  # once the trouble is no longer recent, the next view asks again
    forget_this_process()
    words = text_of(view(desk))
    assert "Card purchase (in store)" in words
    assert notice("timeout") not in words


def test_while_pleo_is_slow_for_entries_the_next_pages_do_not_wait_for_it_again(desk, sandbox, settings):
    warm()
    settings.PLEO_API_TIMEOUT = 0.3
    sandbox.state.add_fault(ENTRIES, "hang", seconds=60)
    view(desk)
    calls = sandbox.state.entry_calls()
    forget_this_process()  # another worker: it reads the trouble from the shared cache
    page = view(desk)
    assert sandbox.state.entry_calls() == calls  # it did not ask (so did not wait): the trouble is recent
    assert text_of(page).count(notice("timeout")) == 1


def test_details_not_answered_in_time_are_fetched_on_and_kept_for_the_next_view(desk, sandbox, settings):
    settings.PLEO_API_TIMEOUT = 30
    view(desk, f"/jobs/{PARTIAL}/?entries=1")  # the job and its items are cached now
    cache.clear()
    desk_cache.clear_local()
    sandbox.state.add_fault(ENTRIES, "gate")
    gate = sandbox.state.gate()
    ids = [uuid.UUID(seed.entry_uuid(PARTIAL, index)) for index in FAILED_ITEMS]
    first = services.entry_details_get(entry_ids=ids, deadline=time.monotonic())  # the page waits no longer
    assert first.problem == "timeout"
    assert {str(entry_id) for entry_id in ids} == first.waiting
    gate.open()  # Pleo answers only now: the calls went on after the page stopped waiting
    keys = [desk_cache.Keys.of("entry", entry_id) for entry_id in ids]
    codec, ttl = services.entries.ENTRY_CODEC, services.entries.entry_ttl
    wait_for(lambda: len(desk_cache.peek_many(keys, codec=codec, ttl=ttl)) == 4, what="the four answers in the cache")
    calls = sandbox.state.entry_calls()
    second = services.entry_details_get(entry_ids=ids, deadline=time.monotonic() + HANG_GUARD)  # all cached: no wait
    assert second.complete
    assert len(second.found) == 4
    assert sandbox.state.entry_calls() == calls


# --- the cache and the budget ---------------------------------------------------------------------------


def test_a_second_view_makes_no_entry_or_company_call(desk, sandbox):
    first = view(desk)
    assert sandbox.state.entry_calls() == 4
    assert sandbox.state.company_calls() == 1
    forget_this_process()
    second = view(desk)
    assert sandbox.state.entry_calls() == 4
    assert sandbox.state.company_calls() == 1
    assert text_of(row_of(second, FIRST)) == text_of(row_of(first, FIRST))


def test_a_changed_note_shows_once_the_entry_cache_expires(desk, sandbox, settings, clock):
    settings.ENTRY_CACHE_TTL = 600
    view(desk)
    sandbox.state.put_entry(FIRST, entry_payload(FIRST, note="Team lunch with the auditors"))
    clock.shift(300)
    forget_this_process()
    assert "Team lunch with the auditors" not in text_of(view(desk))
    clock.shift(301)
    forget_this_process()
    assert "Team lunch with the auditors" in text_of(view(desk))


def test_four_entries_details_cost_one_call_of_the_users_budget(desk, sandbox, settings):
    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_ID: "Nordlys ApS"}  # no company call in the count
    settings.PLEO_USER_BUDGET = 8  # the job 1, its entries 6 (five counts, one page of failed ones), details 1
    page = view(desk)
    assert sandbox.state.entry_calls() == 4
    assert "entries-details-notice" not in page
    assert "Card purchase (in store)" in text_of(page)


@pytest.mark.parametrize(("budget", "calls", "left"), [(4, 0, 4), (5, 50, 0)])
def test_fifty_entries_cost_five_calls_of_the_users_budget(desk, sandbox, settings, budget, calls, left):
    settings.PLEO_USER_BUDGET = budget
    ids = [uuid.uuid4() for _ in range(50)]
    with spending_for("fifty-entries"):
        details = services.entry_details_get(entry_ids=ids, deadline=time.monotonic() + HANG_GUARD)
        with pytest.raises(OverBudget):  # what fitted is spent; what was refused costs nothing
            charge("next", calls=left + 1)
        charge("next", calls=left)
    assert (details.problem == "over_budget") == (calls == 0)
    assert sandbox.state.entry_calls() == calls


def test_a_spent_budget_lists_the_entries_without_details_and_asks_for_none(desk, sandbox, settings):
    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_ID: "Nordlys ApS"}
    settings.PLEO_USER_BUDGET = 7  # the job and its entries; nothing left for the details
    page = view(desk)
    assert sandbox.state.entry_calls() == 0
    assert len(entry_ids(page)) == 4
    assert text_of(page).count(notice("over_budget")) == 1


def test_company_names_count_against_the_users_budget(desk, sandbox, settings):
    settings.PLEO_USER_BUDGET = 1  # the job: nothing left for its company's name
    page = desk.post("/bulk/", {"ids": PARTIAL}).content.decode()
    assert sandbox.state.calls(PARTIAL) == 1
    assert sandbox.state.company_calls() == 0
    assert 'class="company-name"' not in page


# --- companies by name ------------------------------------------------------------------------------------


def test_the_ticket_summary_names_the_company(desk, sandbox):
    ticket = re.search(r'<pre id="ticket-text" class="ticket-text">(.*?)</pre>', view(desk), re.S).group(1)
    assert f"Company: Nordlys ApS (Pleo company ID {seed.COMPANY_ID})" in text_of(ticket)


def test_the_bulk_table_names_each_jobs_company(desk, sandbox):
    other = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    sandbox.state.put_job(job_payload(other, companyId=seed.COMPANY_SE))
    page = desk.post("/bulk/", {"ids": f"{PARTIAL} and {other}"}).content.decode()
    assert f'<span class="company-name" translate="no" title="{seed.COMPANY_ID}">Nordlys ApS</span>' in page
    assert f'<span class="company-name" translate="no" title="{seed.COMPANY_SE}">Nordlys AB</span>' in page


def test_a_label_overrides_pleos_name_and_saves_the_call(desk, sandbox, settings):
    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_ID: "Nordlys Denmark"}
    words = text_of(view(desk))
    assert "Nordlys Denmark" in words
    assert sandbox.state.company_calls() == 0


def test_a_company_pleo_refuses_or_does_not_know_shows_its_id(desk, sandbox):
    sandbox.state.add_fault(COMPANIES, "403")
    words = text_of(view(desk))
    assert f"Pleo company ID for Pleo support {seed.COMPANY_ID}" in words
    assert f"Company: {seed.COMPANY_ID[:8]} (Pleo company ID {seed.COMPANY_ID})" in words


def test_the_attention_list_names_companies_from_pleo(desk, sandbox):
    page = desk.get("/attention/?period=30d").content.decode()
    for company_id, name in seed.COMPANIES:
        assert f'<span translate="no" title="{company_id}">{name}</span>' in page
    assert sandbox.state.company_calls() == 3


# --- the sandbox's samples of these faults (for `make run`) ------------------------------------------------


def test_the_sandbox_sample_of_refused_details_shows_the_notice(desk, sandbox):
    page = view(desk, f"/jobs/{seed.job_uuid('fault:entries-403')}/")
    assert notice("refused") in text_of(page)
    assert str(ENTRY_DETAILS["waiting"]) not in text_of(page)  # nothing is on its way: the notice says why


def test_the_sandbox_sample_of_a_deleted_entry_says_so_on_its_row(desk, sandbox):
    job_id = seed.job_uuid("fault:entries-404")
    page = view(desk, f"/jobs/{job_id}/")
    assert str(ENTRY_DETAILS["gone"]) in text_of(row_of(page, seed.entry_uuid(job_id, 8)))
    assert "Out-of-pocket expense" in text_of(row_of(page, seed.entry_uuid(job_id, 17)))


def test_the_sandbox_sample_of_slow_details_lists_the_entries_with_a_notice(desk, sandbox, settings):
    job_id = seed.job_uuid("fault:entries-slow")
    warm(job_id)
    settings.PLEO_API_TIMEOUT = 0.3  # the sample's details never come: the page waits 1.6 s for them
    page = view(desk, f"/jobs/{job_id}/")
    assert notice("timeout") in text_of(page)

    page = view(desk, f"/jobs/{seed.job_uuid('fault:entries-slow')}/")
    assert notice("timeout") in text_of(page)
    assert len(entry_ids(page)) == 4


def test_while_pleo_is_slow_for_companies_the_next_pages_do_not_wait_for_it_again(desk, sandbox, settings):
    warm()
    settings.PLEO_API_TIMEOUT = 0.3
    sandbox.state.add_fault(COMPANIES, "hang", seconds=60)
    words = text_of(view(desk))
    assert f"Pleo company ID for Pleo support {seed.COMPANY_ID}" in words
    calls = sandbox.state.company_calls()
    forget_this_process()
    view(desk)
    assert sandbox.state.company_calls() == calls  # it did not ask (so did not wait): the trouble is recent


# --- money not booked ---------------------------------------------------------------------------------


def not_booked_of(page: str) -> str:
    match = re.search(r'<div class="not-booked"><dt>Not booked</dt><dd><strong>(.*?)</strong></dd></div>', page, re.S)
    assert match, "the failure panel says how much was not booked"
    return text_of(match.group(1)).replace("\u00a0", " ")


def test_the_failure_panel_says_how_much_was_not_booked_per_currency(desk, sandbox):
    # the four failed entries: DKK 450.00, EUR 84.50, DKK 12,430.50 and SEK 1,299.00
    assert not_booked_of(view(desk)) == "DKK 12,880.50, EUR 84.50 and SEK 1,299.00 (4 entries)"


def test_a_missing_amount_makes_the_total_at_least_and_says_how_many_are_missing(desk, sandbox):
    sandbox.state.put_entry(seed.entry_uuid(PARTIAL, 26), None)  # gone: nothing to book
    sandbox.state.add_fault(seed.entry_uuid(PARTIAL, 17), "503")  # the EUR entry: its amount is not known
    assert not_booked_of(view(desk)) == (
        "at least DKK 450.00 and SEK 1,299.00 (3 entries; the amount of 1 entry is not known yet)"
    )


def test_the_total_is_in_the_readers_language(desk, sandbox):
    page = view(desk, HTTP_ACCEPT_LANGUAGE="de")
    words = text_of(page).replace("\u00a0", " ")
    assert "Nicht gebucht 12.880,50 DKK, 84,50 EUR und 1.299,00 SEK (4 Buchungen)" in words


def test_the_ticket_lists_the_failed_entries_by_type_the_money_not_booked_and_names_parties(desk, sandbox):
    page = view(desk)
    ticket = html.unescape(re.search(r'<pre id="ticket-text" class="ticket-text">(.*?)</pre>', page, re.S).group(1))
    lines = ticket.replace("\u00a0", " ").splitlines()
    start = lines.index("Failed entries by what went wrong:")
    assert lines[start + 1 : start + 5] == [
        "- Unknown account: 1 entry (who acts: The finance team)",
        "- Unknown tag: 1 entry (who acts: The finance team)",
        "- Unknown tax code: 1 entry (who acts: The Pleo admin who owns the accounting integration)",
        "- Unknown supplier: 1 entry (who acts: The finance team)",
    ]
    assert "Not booked: DKK 12,880.50, EUR 84.50 and SEK 1,299.00 (4 entries)" in lines
    assert not [line for line in lines if "You" in line]  # a ticket is read by someone else


def test_the_attention_list_shows_the_total_from_what_the_desk_holds_and_never_asks_pleo(desk, sandbox):
    def row() -> str:
        page = desk.get("/attention/?status=completed_with_errors").content.decode()
        match = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*href="/jobs/{PARTIAL}/"(?:(?!</tr>).)*</tr>', page, re.S)
        return text_of(match.group(0)).replace("\u00a0", " ")

    assert "Not booked" not in row()  # the desk holds none of its entries yet
    view(desk)  # the job page fetches them and their details
    calls = sandbox.state.entry_calls(), sandbox.state.item_calls()
    forget_this_process()
    desk_cache.clear_local()
    from exportjobs.views import attention as attention_view

    attention_view._LAID_OUT.clear()
    assert "Not booked: DKK 12,880.50, EUR 84.50 and SEK 1,299.00 (4 entries)" in row()
    assert (sandbox.state.entry_calls(), sandbox.state.item_calls()) == calls


# --- the sandbox's samples never leak into each other -----------------------------------------------------


def test_the_refused_sample_does_not_hide_the_details_of_another_job(desk, sandbox):
    refused = view(desk, f"/jobs/{seed.job_uuid('fault:entries-403')}/")
    assert notice("refused") in text_of(refused)
    forget_this_process()
    words = text_of(view(desk))
    assert notice("refused") not in words
    assert "Card purchase (in store)" in words


def test_after_the_slow_sample_the_refused_sample_still_says_it_was_refused(desk, sandbox, settings):
    slow, refused = seed.job_uuid("fault:entries-slow"), seed.job_uuid("fault:entries-403")
    warm(slow)
    settings.PLEO_API_TIMEOUT = 0.3  # the slow sample's details never come: the page waits 1.6 s for them
    assert notice("timeout") in text_of(view(desk, f"/jobs/{slow}/"))
    settings.PLEO_API_TIMEOUT = 30  # the refused sample's answers get all the time a busy machine needs
    forget_this_process()
    words = text_of(view(desk, f"/jobs/{refused}/"))
    assert notice("refused") in words
    assert notice("timeout") not in words


def test_a_company_pleo_refuses_does_not_stop_the_names_of_other_companies(desk, sandbox):
    sandbox.state.add_fault(seed.COMPANY_ID, "403")
    view(desk)  # a job of the refused company: its name is refused
    forget_this_process()
    page = desk.get("/attention/?period=30d").content.decode()  # the other companies' names are asked for
    assert f'<span translate="no" title="{seed.COMPANY_SE}">Nordlys AB</span>' in page
    assert f'<span translate="no" title="{seed.COMPANY_ID}">Nordlys ApS</span>' not in page
