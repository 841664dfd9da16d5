"""The pages read by someone who has never heard of Pleo: one answer to "who acts", entries one can act on,
and no two parts of a page that disagree."""

import re
import uuid
from datetime import datetime, timezone

import pytest
from django.test import Client
from django.utils.html import escape

from exportjobs import services, wording
from exportjobs.models import AuditEvent
from exportjobs.pleo import ExportJob, FailureType, ItemFailureType
from exportjobs.pleo.models import ExportJobItem
from exportjobs.presenters import entries as presenters
from exportjobs.sandbox import seed
from tests.helpers import job_payload, text_of

JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
URL = f"/jobs/{JOB}/"
PASSWORD = "a-long-test-password"


def article(page: str) -> str:
    return page.split('<article id="job"')[1].split("</article>")[0]


def failure_panel(page: str) -> str:
    return page.split('aria-labelledby="failure-title"')[1].split("</section>")[0]


def entries_section(page: str) -> str:
    return page.split('<section class="card entries" id="entries"')[1].split("</section>")[0]


def show(desk, sandbox, **fields) -> str:
    sandbox.state.put_job(job_payload(JOB, **fields))
    response = desk.get(URL)
    assert response.status_code == 200
    return response.content.decode()


# --- 1. one answer to "who needs to act" ---------------------------------------------------------


def test_the_sandbox_follows_pleos_lifecycle_a_failed_jobs_entries_are_abandoned(sandbox):
    """Pleo documents ``abandoned`` as "not exported because the job as a whole could not be completed"."""
    failed = [
        sample for sample in seed.SAMPLES if not sample.faults and sample.build(sandbox.state.now)["status"] == "failed"
    ]
    assert len(failed) == len(FailureType)
    for sample in failed:
        summary = services.job_items_get(job=services.job_get(job_id=uuid.UUID(sample.id)).value)
        assert summary.counts["failed"] == 0, sample.title
        assert summary.counts["abandoned"] == summary.total > 0, sample.title
        assert summary.failed == ()


@pytest.mark.parametrize("kind", list(FailureType))
def test_a_failed_jobs_panel_and_entries_name_one_party(desk, sandbox, kind):
    """The panel speaks for the job; its entries were not exported because it stopped, and the page says so:
    no entry row names another party."""
    page = show(desk, sandbox, status="failed", failureReasonType=kind.value, failureReason="x", numberOfItems=7)
    words = failure_wording(kind)
    panel = text_of(failure_panel(page))
    assert f"Who needs to act {words.actor_label}" in panel
    entries = entries_section(page)
    assert "failed-entries" not in entries
    assert "failure-groups" not in entries
    note = wording.ENTRIES_CANCELLED if kind == FailureType.CANCELED_BY_USER else wording.ENTRIES_ABANDONED
    assert escape(str(note)) in entries
    assert "Not exported (job stopped) 7" in text_of(entries)
    others = {str(label) for key, label in wording.ACTORS.items() if key != words.actor}
    assert not any(escape(label) in entries for label in others)


def failure_wording(kind, *, partial=False):
    return wording.failure_wording(kind, partial=partial)


def item(index: int, kind: ItemFailureType) -> ExportJobItem:
    return ExportJobItem.model_validate(
        {
            "id": str(uuid.UUID(int=index)),
            "exportJobId": JOB,
            "accountingEntryId": str(uuid.UUID(int=1000 + index)),
            "status": "failed",
            "failureReasonType": kind.value,
            "failureReason": "x",
            "createdAt": "2026-11-03T14:02:00Z",
        }
    )


def summary_of(failed: list[ExportJobItem], **counts: int) -> services.ItemsSummary:
    every = {"successful": 0, "failed": len(failed), "pending": 0, "in_progress": 0, "abandoned": 0, **counts}
    return services.ItemsSummary(counts=every, failed=tuple(failed))


def job_of(**fields) -> ExportJob:
    return ExportJob.from_payload(job_payload(JOB, **fields))


def test_when_pleo_reports_failed_entries_of_a_failed_job_the_page_says_why_they_differ():
    job = job_of(status="failed", failureReasonType="accounting_system_unreachable", failureReason="x")
    context = presenters.items_context(
        summary_of([item(1, ItemFailureType.RECEIPT_DOWNLOAD_FAILURE)], abandoned=5), job=job, failure_type="", page=1
    )
    assert context["notes"] == [wording.ENTRIES_OWN_FAILURES]
    assert [group.actor for group in context["groups"]] == ["pleo_support"]


def test_a_job_a_user_cancelled_looks_cancelled_not_broken(desk, sandbox):
    page = show(desk, sandbox, status="failed", failureReasonType="canceled_by_user", failureReason="Cancelled.")
    job = article(page)
    assert "<title>Cancelled — export job" in page
    assert 'class="badge badge-neutral"' in job
    assert "Cancelled" in text_of(job.split("</h1>")[0])
    assert "danger" not in job
    assert "✕" not in job
    assert 'class="card failure failure-neutral"' in job
    assert 'class="step step-cancelled"' in job
    panel = text_of(failure_panel(page))
    assert "Why it stopped: Cancelled by a user" in panel.split("Pleo's failure type")[0]
    assert "Nothing is broken" in panel


def test_the_sample_titles_say_a_cancelled_job_is_cancelled():
    titles = {sample.id: sample.title for sample in seed.SAMPLES}
    assert titles[seed.job_uuid("failed:canceled_by_user")].startswith("Cancelled by a user")


# --- 2. a wording for a failed job and for a partly exported one, for every failure type -------------


@pytest.mark.parametrize("kind", list(FailureType))
def test_every_failure_type_has_its_own_words_for_failed_and_for_partly_exported(kind):
    failed, partly = failure_wording(kind), failure_wording(kind, partial=True)
    assert failed.label == partly.label
    assert failed.actor == partly.actor
    assert failed.actor in wording.ACTORS
    for text in (failed.meaning, failed.next_step, partly.meaning, partly.next_step):
        assert len(str(text)) > 20
    assert str(failed.meaning) != str(partly.meaning)
    assert str(failed.next_step) != str(partly.next_step)
    # A partly exported job finished: its words never say it could not be processed, and the next step
    # points at what the page shows, the failed entries listed below.
    assert "could not be processed" not in str(partly.meaning)
    assert "export stopped" not in str(partly.meaning)
    assert "listed below" in str(partly.next_step)
    assert "the others were" in str(partly.meaning).lower()
    # A failed job's entries were not exported: its next step is about the job, not about entries below.
    assert "listed below" not in str(failed.next_step)


@pytest.mark.parametrize("status", ["failed", "completed_with_errors"])
@pytest.mark.parametrize("kind", list(FailureType))
def test_the_failure_panel_uses_the_words_for_the_jobs_status(desk, sandbox, kind, status):
    partial = status == "completed_with_errors"
    page = show(desk, sandbox, status=status, failureReasonType=kind.value, failureReason="Some text.", numberOfItems=9)
    words = failure_wording(kind, partial=partial)
    panel = failure_panel(page)
    assert escape(str(words.meaning)) in panel
    heading = text_of(panel.split("</h2>")[0])
    if partial:
        assert heading.endswith(f"Why some entries were not exported: {words.label}")
        assert "failed-entries" in entries_section(page)  # the entries the next step points at
        # Who acts is who the failed entries name (each with their share), not the job's summary type's party.
        who = text_of(re.search(r'<strong class="who-acts">(.*?)</strong>', panel).group(1))
        groups = re.findall(r'<td data-label="Who needs to act">(.*?)</td>', entries_section(page).split("</table>")[0])
        assert groups
        assert all(text_of(label) in who for label in groups)
    else:
        assert escape(str(words.next_step)) in panel
        assert escape(str(words.actor_label)) in panel
    if not partial and kind == FailureType.CANCELED_BY_USER:
        assert heading.endswith(f"Why it stopped: {words.label}")
    elif not partial:
        assert heading.endswith(f"Why it failed: {words.label}")


@pytest.mark.parametrize("kind", list(ItemFailureType))
def test_every_entry_failure_type_says_who_acts_and_what_to_do(kind):
    words = wording.item_failure_wording(kind)
    assert words.actor in wording.ACTORS
    assert len(str(words.label)) > 3
    assert len(str(words.meaning)) > 20
    assert len(str(words.next_step)) > 20
    assert str(words.next_step) != str(words.meaning)


def test_entry_failure_next_steps_are_all_different():
    steps = [str(wording.item_failure_wording(kind).next_step) for kind in ItemFailureType]
    assert len(set(steps)) == len(steps)


def test_an_unknown_entry_failure_type_is_shown_with_a_next_step():
    words = wording.item_failure_wording("receipt_eaten_by_dog")
    assert "receipt_eaten_by_dog" in str(words.label)
    assert words.next_step == wording.UNKNOWN_ITEM_NEXT_STEP


# --- 3. Pleo's faults are a notice about the connection, not a job status -----------------------------


FAULTS = {
    "fault:503": 503,
    "fault:malformed": 502,
    "fault:timeout": 504,
    "fault:401": 502,
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_pleos_faults_read_as_the_desks_connection_not_as_the_jobs_status(desk, sandbox, settings, name):
    settings.PLEO_API_TIMEOUT = 0.5
    response = desk.get(f"/jobs/{seed.job_uuid(name)}/")
    assert response.status_code == FAULTS[name]
    page = response.content.decode()
    main = page.split('<main id="main"')[1].split("</main>")[0]
    assert 'class="connection-notice"' in main
    assert "badge" not in main  # nothing shaped like a job's status
    assert "Export Job Desk's connection to Pleo" in text_of(main)
    assert "not about the export job" in text_of(main)
    if name == "fault:401":  # Pleo refused the desk's credentials: trying again cannot help
        assert "Try again" not in main
    else:
        assert re.search(r'<a class="button primary" href="/jobs/[0-9a-f-]{36}/">Try again</a>', main)


# --- 4. the tab's title --------------------------------------------------------------------------


def test_two_ids_found_is_the_tabs_title_not_an_unrecognised_id(desk):
    first, second = seed.DOC_SAMPLE_ID, seed.job_uuid("pending")
    page = desk.get("/lookup/", {"job_id": f"{first} and {second}"}).content.decode()
    title = re.search(r"<title>([^<]*)</title>", page).group(1)
    assert title.startswith("2 job IDs found — ")
    assert "not recognised" not in title
    bad = desk.get("/lookup/", {"job_id": "nothing here"}).content.decode()
    assert re.search(r"<title>Job ID not recognised — ", bad)


# --- 7. a job page with a name --------------------------------------------------------------------


def test_the_job_page_leads_with_status_and_a_title_with_the_id_below_it(desk, sandbox, settings):
    settings.TIME_ZONE = "UTC"
    created = f"{datetime.now(timezone.utc).year}-11-28T15:31:00Z"
    page = show(desk, sandbox, status="completed", numberOfItems=36, createdAt=created, isInteractive=True)
    header = page.split('<header class="card job-header">')[1].split("</header>")[0]
    assert header.index("badge") < header.index("<h1")
    h1 = re.search(r'<h1 id="job-title" class="job-title">([^<]*)</h1>', header).group(1)
    assert h1 == "Export of 36 entries, created 28 Nov 15:31 by a person in Pleo"
    id_line = header.split("</h1>")[1].split("</p>")[0]
    assert JOB in id_line.replace("<wbr>", "")
    assert f'data-copy="{JOB}"' in id_line
    other = "5b0e7c1a-8d2f-4e6a-9b3c-00000000000a"
    sandbox.state.put_job(job_payload(other, numberOfItems=1, createdAt=created, isInteractive=False))
    automatic = desk.get(f"/jobs/{other}/").content.decode()
    assert "Export of 1 entry, created 28 Nov 15:31 by Pleo&#x27;s system" in automatic


def test_started_by_is_said_in_words_with_the_user_id_as_detail(desk, sandbox):
    words = text_of(show(desk, sandbox, isInteractive=True))
    details = words.split("Started by")[1]
    assert details.startswith(" A person in Pleo, by pressing Export Pleo user ID")
    assert seed.USER_MARIA not in words.split("Started by")[0]  # not in the heading, nor the title


# --- 8. whom to ask -------------------------------------------------------------------------------


CONTACTS = [
    ("it-desk@example.com", '<a href="mailto:it-desk@example.com">it-desk@example.com</a>'),
    ("#finance-tools on Slack", "#finance-tools on Slack"),
    ("https://wiki.example.com/desk", '<a href="https://wiki.example.com/desk">https://wiki.example.com/desk</a>'),
]


def pages_that_ask(client: Client, django_user_model, desk_client) -> dict[str, str]:
    """The 403 page, the lock-out page and the page for Pleo refusing the desk's credentials."""
    outsider = django_user_model.objects.create_user("outsider", password=PASSWORD)
    other = Client()
    other.force_login(outsider)
    forbidden = other.get("/")
    assert forbidden.status_code == 403
    for _ in range(5):
        locked = client.post("/accounts/login/", {"username": "fiona", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    assert locked.status_code == 429
    refused = desk_client.get(f"/jobs/{seed.job_uuid('fault:401')}/")
    assert refused.status_code == 502
    return {"403": forbidden.content.decode(), "locked": locked.content.decode(), "auth": refused.content.decode()}


@pytest.mark.parametrize(("contact", "shown"), CONTACTS)
def test_desk_contact_is_named_on_each_page_that_says_ask(desk, sandbox, settings, django_user_model, contact, shown):
    settings.DESK_CONTACT = contact
    pages = pages_that_ask(Client(), django_user_model, desk)
    for name, page in pages.items():
        assert (
            f'<p class="contact"><strong>Whom to ask:</strong> {escape(shown) if "<a" not in shown else shown}</p>'
            in page
        ), name


def test_without_desk_contact_the_pages_keep_todays_words(desk, sandbox, settings, django_user_model):
    settings.DESK_CONTACT = ""
    for name, page in pages_that_ask(Client(), django_user_model, desk).items():
        assert 'class="contact"' not in page, name
        assert "administrator" in page, name


# --- 9. recent jobs: see tests/test_entries.py; 10. bulk: tests/test_bulk.py ------------------------
# --- 12. the admin audit list ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_audit_list_shows_seconds_full_ids_and_one_sign_for_none(client, django_user_model, settings):
    settings.TIME_ZONE = "UTC"
    admin = django_user_model.objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    job_id = uuid.uuid4()
    AuditEvent.objects.create(
        username="fiona", action="view", job_id=job_id, outcome="found", source="fresh", job_status="failed"
    )
    AuditEvent.objects.create(username="", action="lookup", outcome="invalid")
    page = client.get("/admin/exportjobs/auditevent/").content.decode()
    assert 'href="/static/exportjobs/admin.css"' in page
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]
    assert len(rows) == 2
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in rows]
    for row in cells:
        assert re.fullmatch(r"(<a [^>]*>)?\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(</a>)?", row[1].strip()), row[1]
    assert f'<code class="job-id">{job_id}</code>' in rows[1]
    shown = [cell for row in cells for cell in row if "<input" not in cell]
    empties = {cell.strip() for cell in shown if re.fullmatch(r"\W*", re.sub(r"<[^>]+>", "", cell))}
    assert empties == {"—"}
    assert "—" in rows[0]  # the lookup row: no user, no job, no source, no status
    assert not re.search(r">\s*-\s*<", page.split("<tbody>")[1].split("</tbody>")[0])
