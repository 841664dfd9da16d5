"""The file of a job's failed entries (``/jobs/<id>/entries.csv``): what each row says, the cap, the audit trail,
the user's budget, and a file Excel opens in the reader's language."""

from __future__ import annotations

import csv
import io

import pytest

from exportjobs.models import AuditEvent
from exportjobs.sandbox import seed
from exportjobs.sandbox.server import ENTRIES
from exportjobs.wording import ENTRIES_MORE, ENTRY_DETAILS
from tests.helpers import job_payload

pytestmark = pytest.mark.django_db

PARTIAL = seed.job_uuid("completed_with_errors")  # 36 entries, 4 failed: items 8, 17, 26 and 35
URL = f"/jobs/{PARTIAL}/entries.csv"
BIG = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def download(desk, url: str = URL, **headers) -> tuple[str, str]:
    """The file's text (its byte-order mark checked and removed) and its separator."""
    response = desk.get(url, **headers)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    assert data.startswith("\ufeff".encode())  # Excel reads the file as UTF-8 only with this mark
    text = data.decode("utf-8")[1:]
    separator = ";" if text.startswith('"') and text.split("\n")[0].count('";"') else ","
    return text, separator


def rows_of(text: str, separator: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=separator))


def test_every_failed_entry_is_a_row_with_what_went_wrong_who_acts_and_what_it_is(desk, sandbox):
    text, separator = download(desk)
    header, *rows = rows_of(text, separator)
    assert separator == ","
    assert header == [
        "What went wrong",
        "Failure type (Pleo's value)",
        "Who acts",
        "Kind",
        "Date",
        "Amount",
        "Currency",
        "Amount booked",
        "Currency booked",
        "Note",
        "Category (account)",
        "Receipt",
        "Review",
        "Message from the integration",
        "Pleo accounting entry ID",
        "Link in the accounting system",
    ]
    assert [row[14] for row in rows] == [seed.entry_uuid(PARTIAL, index) for index in (8, 17, 26, 35)]
    first = dict(zip(header, rows[0], strict=True))
    performed = seed.entry_payload(sandbox.state.job(PARTIAL), 8, sandbox.state.now)["performedAt"]
    assert first["What went wrong"] == "Unknown account"
    assert first["Failure type (Pleo's value)"] == "account_unknown"
    assert first["Who acts"] == "The finance team"  # named as a file read elsewhere names them
    assert first["Kind"] == "Card purchase (in store)"
    assert first["Date"] == performed[:10]  # the day of the expense
    assert (first["Amount"], first["Currency"]) == ("450.00", "DKK")
    assert (first["Amount booked"], first["Currency booked"]) == ("450.00", "DKK")
    assert first["Note"] == "Team lunch"
    assert first["Category (account)"] == "6810"
    assert first["Receipt"] == "1 receipt attached"
    assert first["Review"] == "No review needed"
    assert first["Message from the integration"] == "Account 6810 is unknown in the accounting system."
    second = dict(zip(header, rows[1], strict=True))
    assert (second["Amount"], second["Currency"], second["Currency booked"]) == ("84.50", "EUR", "DKK")
    assert not any(cell.startswith("You") for row in rows for cell in row)


def test_the_file_is_in_the_readers_language_split_on_semicolons_with_amounts_excel_reads(desk, sandbox):
    text, separator = download(desk, HTTP_ACCEPT_LANGUAGE="da")
    header, *rows = rows_of(text, separator)
    assert separator == ";"
    assert header[0] == "Hvad gik galt"
    third = dict(zip(header, rows[2], strict=True))
    assert third["Beløb"] == "12430,50"  # a decimal comma, no grouping: a number to Danish Excel
    assert third["Valuta"] == "DKK"
    assert "Kaffe & Co" in third["Besked fra integrationen"]


@pytest.mark.parametrize(("asked", "separator"), [(",", ","), (";", ";"), ("comma", ","), ("x", ";")])
def test_the_separator_can_be_asked_for(desk, sandbox, asked, separator):
    _text, used = download(desk, f"{URL}?sep={asked}", HTTP_ACCEPT_LANGUAGE="de")
    assert used == separator


def test_a_download_is_audited_like_a_look_at_the_job(desk, sandbox, finance_user):
    download(desk)
    row = AuditEvent.objects.get(action=AuditEvent.Action.VIEW, job_id=PARTIAL)
    assert row.user == finance_user
    assert row.outcome == AuditEvent.Outcome.FOUND
    assert row.filters == {"download": "failed_entries_csv"}
    assert row.job_state == "partly_exported"


def test_an_unknown_job_is_audited_and_gets_the_not_found_page(desk, sandbox):
    response = desk.get(f"/jobs/{seed.NOT_FOUND_EXAMPLE}/entries.csv")
    assert response.status_code == 404
    row = AuditEvent.objects.get(job_id=seed.NOT_FOUND_EXAMPLE)
    assert (row.outcome, row.filters) == (AuditEvent.Outcome.NOT_FOUND, {"download": "failed_entries_csv"})


def test_the_details_cost_the_users_budget_what_the_pages_cost_and_a_spent_budget_still_lists_the_entries(
    desk, sandbox, settings
):
    settings.PLEO_COMPANY_LABELS = {seed.COMPANY_ID: "Nordlys ApS"}
    settings.PLEO_USER_BUDGET = 7  # the job 1, its entries 6: nothing left for the details
    text, separator = download(desk)
    rows = rows_of(text, separator)[1:]
    assert sandbox.state.entry_calls() == 0
    assert len(rows) == 4
    assert {row[3] for row in rows} == {str(ENTRY_DETAILS["waiting"])}
    settings.PLEO_USER_BUDGET = 8  # the job and its entries are cached now: the four details cost one, as on the page
    download(desk)
    assert sandbox.state.entry_calls() == 4


def test_a_file_with_more_failed_entries_than_the_desk_lists_stops_at_the_cap_and_says_so(desk, sandbox, settings):
    settings.PLEO_USER_BUDGET = 20  # the job, the counts and six pages of failed entries; no details
    sandbox.state.put_job(job_payload(BIG, status="completed_with_errors", numberOfItems=50_000))  # 1,250 failed
    text, separator = download(desk, f"/jobs/{BIG}/entries.csv")
    rows = rows_of(text, separator)[1:]
    assert len(rows) == 1000 + 1
    assert rows[-1] == [str(ENTRIES_MORE) % {"shown": "1,000"}]
    assert sandbox.state.entry_calls() == 0


def test_the_entries_panel_links_to_the_file(desk, sandbox):
    page = desk.get(f"/jobs/{PARTIAL}/").content.decode()
    assert f'<a href="/jobs/{PARTIAL}/entries.csv" download>Download all 4 failed entries' in page


def test_pleo_refusing_the_details_still_gives_the_file_with_every_entry(desk, sandbox):
    sandbox.state.add_fault(ENTRIES, "403")
    text, separator = download(desk)
    assert len(rows_of(text, separator)) == 1 + 4
