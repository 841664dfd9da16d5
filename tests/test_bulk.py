"""Bulk lookup: every distinct job id in a pasted ticket, fetched concurrently through the service."""

import html
import re
import threading

from exportjobs import services
from exportjobs.sandbox import seed
from tests.helpers import HANG_GUARD

FAILED = seed.DOC_SAMPLE_ID
COMPLETED = seed.job_uuid("completed")
PENDING = seed.job_uuid("pending")
MISSING = seed.NOT_FOUND_EXAMPLE
DOWN = seed.job_uuid("fault:503")
HERE = {"Sec-Fetch-Site": "same-origin"}  # a browser says: asked on the desk's own pages

TICKET = f"""Hi team,
exports {FAILED} and {COMPLETED.upper()} went out yesterday; {PENDING.replace("-", "")} is still waiting?
Also {MISSING} (maybe a typo) and again {FAILED}. And {DOWN}.
Thanks!"""


def rows_of(page: str) -> list[str]:
    return [" ".join(cells) for cells in cells_of(page)]


def cells_of(page: str) -> list[list[str]]:
    """The visible words of each cell of each row of the results table."""
    body = page.split("<tbody>")[1].split("</tbody>")[0].replace("<wbr>", "")
    return [
        [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", cell))).strip() for cell in row.split("</td>")[:-1]]
        for row in body.split("</tr>")[:-1]
    ]


def test_a_pasted_ticket_gives_one_row_per_distinct_job(desk, sandbox):
    response = desk.get("/bulk/", {"ids": TICKET}, headers=HERE)
    assert response.status_code == 200
    rows = rows_of(response.content.decode())
    assert len(rows) == 5
    assert FAILED in rows[0]
    assert "Failed" in rows[0]
    assert "The accounting system rejected the login" in rows[0]
    assert COMPLETED in rows[1]
    assert "Exported" in rows[1]
    assert "UTC" in rows[1]
    assert PENDING in rows[2]
    assert "waiting to start" in rows[2]
    assert "still running" not in rows[2]
    assert MISSING in rows[3]
    assert "No export job with this ID" in rows[3]
    assert DOWN in rows[4]
    assert "Pleo could not be reached" in rows[4]
    assert f'href="/jobs/{FAILED}/"' in response.content.decode()


def test_every_row_has_the_same_columns_with_words_in_each_cell(desk, sandbox):
    """Status, what happened, who acts and when it finished, for a found job and for one Pleo did not give."""
    page = desk.get("/bulk/", {"ids": TICKET}, headers=HERE).content.decode()
    head = page.split("<thead>")[1].split("</thead>")[0]
    columns = re.findall(r'<th scope="col">([^<]+)</th>', head)
    assert columns == ["Export job", "Status", "What happened", "Who needs to act", "Ended"]
    assert "colspan" not in page
    rows = cells_of(page)
    for cells in rows:
        assert len(cells) == 5
        assert all(re.search(r"[A-Za-z]", cell) for cell in cells), cells
    failed, _completed, pending, missing, down = rows
    assert failed[2].startswith("The accounting system rejected the login")
    assert failed[3] == "The Pleo admin who owns the accounting integration"
    assert pending[1] == "… Waiting to start"
    assert pending[3] == "Nobody yet: it starts by itself"
    assert pending[4] == "— waiting to start"
    assert missing[1] == "? Not known"
    assert missing[2] == "No export job with this ID"
    assert missing[3] == "You: check the ID against the ticket"
    assert down[1] == "? Not known"
    assert down[2] == "Pleo could not be reached"
    assert down[3] == "Nobody yet: try again in a few minutes"
    assert down[4] == "— unknown"


def test_bulk_lookup_goes_through_the_cache(desk, sandbox):
    desk.get(f"/jobs/{FAILED}/")
    desk.get("/bulk/", {"ids": f"{FAILED} {COMPLETED}"}, headers=HERE)
    desk.get("/bulk/", {"ids": f"{FAILED} {COMPLETED}"}, headers=HERE)
    assert sandbox.state.calls(FAILED) == 1
    assert sandbox.state.calls(COMPLETED) == 1


def test_bulk_lookup_fetches_concurrently_within_a_bound(desk, sandbox, settings):
    settings.PLEO_API_TIMEOUT = 30
    ids = [s.id for s in seed.SAMPLES if not s.faults][:16]
    for job_id in ids:
        sandbox.state.add_fault(job_id, "gate")
    gate = sandbox.state.gate()

    def open_when_eight_wait() -> None:
        gate.wait_for_arrivals(8)  # eight calls at Pleo at once: the bound, all of them in flight together
        gate.open()

    opener = threading.Thread(target=open_when_eight_wait)
    opener.start()
    response = desk.get("/bulk/", {"ids": "\n".join(ids)}, headers=HERE)
    opener.join(HANG_GUARD)
    assert response.status_code == 200
    assert len(rows_of(response.content.decode())) == 16
    assert sandbox.state.most_in_flight == services.BULK_CONCURRENCY == 8  # concurrent, and never more


def test_at_most_50_jobs_are_looked_up(desk, sandbox):
    import uuid

    ids = [str(uuid.uuid4()) for _ in range(55)]
    page = desk.get("/bulk/", {"ids": " ".join(ids)}, headers=HERE).content.decode()
    assert len(rows_of(page)) == 50
    assert "contains 55 job IDs; the first 50 are shown" in page
    assert sandbox.state.calls() == 50


def test_text_without_ids_is_a_400_with_the_form(desk, sandbox):
    response = desk.get("/bulk/", {"ids": "<b>nothing</b> here"}, headers=HERE)
    assert response.status_code == 400
    page = response.content.decode()
    assert "No export job ID found" in page
    assert "&lt;b&gt;nothing" in page
    assert sandbox.state.calls() == 0


def test_the_empty_bulk_page_is_a_form(desk):
    response = desk.get("/bulk/")
    assert response.status_code == 200
    assert 'name="ids"' in response.content.decode()


def test_lookup_with_several_ids_offers_bulk_lookup_with_the_ids_filled_in(desk):
    response = desk.get("/lookup/", {"job_id": f"{FAILED} and {COMPLETED}"})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert f"/bulk/?ids={FAILED}+{COMPLETED}" in page
    assert "Look up all 2 jobs at once" in page


def test_bulk_views_are_audited_per_job(desk, sandbox):
    from exportjobs.models import AuditEvent

    desk.get("/bulk/", {"ids": f"{FAILED} {MISSING}"}, headers=HERE)
    outcomes = sorted(AuditEvent.objects.values_list("outcome", flat=True))
    assert outcomes == ["found", "not_found"]


def test_the_bulk_form_posts_so_a_whole_ticket_fits(client, finance_user, sandbox):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(finance_user)
    form = strict.get("/bulk/").content.decode()
    assert 'method="post"' in form
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    long_ticket = ("Lorem ipsum dolor sit amet. " * 300) + FAILED
    response = strict.post("/bulk/", {"ids": long_ticket, "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert len(rows_of(response.content.decode())) == 1
    assert strict.post("/bulk/", {"ids": FAILED}).status_code == 403  # no CSRF token


def test_bulk_results_are_never_stored_by_browsers(desk):
    cache_control = desk.get("/bulk/", {"ids": FAILED}, headers=HERE)["Cache-Control"]
    assert "private" in cache_control
    assert "no-store" in cache_control


def test_a_job_that_pleo_does_not_answer_in_time_gets_its_own_row(desk, sandbox, settings):
    assert desk.get(f"/jobs/{FAILED}/").status_code == 200  # cached, so the short timeout only meets the hang
    settings.PLEO_API_TIMEOUT = 0.3
    sandbox.state.add_fault(COMPLETED, "hang", seconds=60)
    rows = rows_of(desk.get("/bulk/", {"ids": f"{FAILED} {COMPLETED}"}, headers=HERE).content.decode())
    assert "Failed" in rows[0]
    assert "Pleo took too long to answer" in rows[1]
