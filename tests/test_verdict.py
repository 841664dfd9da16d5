"""One verdict per job, computed once (``exportjobs.verdict``) and shown the same on every surface: the job
page, the bulk table, the needs-attention list and its CSV, the home line and recent jobs."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from exportjobs import cache as desk_cache
from exportjobs import services
from exportjobs.pleo import ExportJob, ExportJobItem, FailureType, ItemFailureType, PleoBadResponse
from exportjobs.sandbox import seed
from exportjobs.verdict import (
    ACCOUNTING_ADMIN,
    FINANCE,
    INTEGRATION_OWNER,
    Oddity,
    Share,
    State,
    entries_known,
    verdict_of,
)
from exportjobs.wording import ACTORS, PARTY_NAMES, STATE_LABELS
from tests.helpers import entry_payload, job_payload, text_of

JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def job_of(**fields) -> ExportJob:
    return ExportJob.from_payload(job_payload(JOB, **fields))


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def item(index: int, kind: ItemFailureType | str | None, job_id: str = JOB) -> ExportJobItem:
    return ExportJobItem.from_payload(
        {
            "id": str(uuid.UUID(int=index + 1)),
            "exportJobId": job_id,
            "accountingEntryId": str(uuid.uuid5(uuid.UUID(job_id), f"entry-{index}")),
            "status": "failed",
            "failureReasonType": kind.value if isinstance(kind, ItemFailureType) else kind,
            "failureReason": f"Entry {index} failed.",
        }
    )


def active(status: str, *, quiet: timedelta, expires_in: int = 3600) -> ExportJob:
    updated = NOW - quiet
    return job_of(
        status=status,
        createdAt=ts(updated - timedelta(minutes=2)),
        startedAt=ts(updated - timedelta(minutes=1)) if status == "in_progress" else None,
        lastUpdatedAt=ts(updated),
        completedAt=None,
        expiresIn=expires_in,
    )


# --- the function ------------------------------------------------------------------------------------


def test_a_job_exporting_for_too_long_may_be_stuck_and_the_integrations_owner_acts():
    fresh = verdict_of(active("in_progress", quiet=timedelta(minutes=5)), now=NOW)
    stuck = verdict_of(active("in_progress", quiet=timedelta(minutes=40)), now=NOW)
    overdue = verdict_of(active("pending", quiet=timedelta(hours=2)), now=NOW)
    assert (fresh.state, fresh.parties) == (State.EXPORTING, ())
    assert (stuck.state, stuck.party_keys) == (State.POSSIBLY_STUCK, (INTEGRATION_OWNER,))
    assert (overdue.state, overdue.party_keys) == (State.OVERDUE, (INTEGRATION_OWNER,))
    assert stuck.badge == "in_progress"  # the badge follows Pleo's status


def test_a_job_a_user_cancelled_is_its_own_state_never_failed():
    verdict = verdict_of(job_of(status="failed", failureReasonType="canceled_by_user"), now=NOW)
    assert verdict.state == State.CANCELLED
    assert verdict.badge == "cancelled"
    assert verdict.end is not None
    assert verdict.end.kind == "cancelled"


def test_a_partly_exported_jobs_parties_are_its_failed_entries_with_their_shares():
    job = job_of(status="completed_with_errors", failureReasonType="validation_failure")
    entries = entries_known(
        [item(i, ItemFailureType.ACCOUNT_UNKNOWN) for i in range(3)]
        + [item(10 + i, ItemFailureType.TAX_CODE_UNKNOWN) for i in range(2)]
        + [item(20, ItemFailureType.ACCOUNTING_SYSTEM_UNREACHABLE)]
    )
    verdict = verdict_of(job, now=NOW, entries=entries)
    assert verdict.parties == (Share(FINANCE, 3), Share(INTEGRATION_OWNER, 2), Share(ACCOUNTING_ADMIN, 1))
    without = verdict_of(job, now=NOW)  # the entries not known yet: the job's own failure type speaks
    assert without.parties == (Share(FINANCE),)


def test_an_entry_that_no_longer_exists_has_nobody_to_act():
    job = job_of(status="completed_with_errors", failureReasonType=None, failureReason=None)
    gone = item(1, ItemFailureType.ACCOUNT_UNKNOWN)
    entries = entries_known([gone, item(2, ItemFailureType.ACCOUNT_UNKNOWN)], gone=[str(gone.accounting_entry_id)])
    verdict = verdict_of(job, now=NOW, entries=entries)
    assert verdict.parties == (Share(FINANCE, 1),)
    assert verdict.gone == 1
    only_gone = entries_known([gone], gone=[str(gone.accounting_entry_id)])
    assert verdict_of(job, now=NOW, entries=only_gone).parties == ()


def test_failure_fields_on_a_job_that_is_not_failed_are_an_oddity_not_a_failure():
    for status in ("pending", "in_progress", "completed"):
        verdict = verdict_of(job_of(status=status, failureReasonType="job_expired", failureReason="x"), now=NOW)
        assert Oddity.ALSO_REPORTED in verdict.oddities
        assert verdict.failure is None
        assert verdict.state not in (State.FAILED, State.CANCELLED)


def test_a_count_below_zero_is_unknown():
    verdict = verdict_of(job_of(numberOfItems=-50_657_494), now=NOW)
    assert verdict.entries is None
    assert Oddity.NEGATIVE_COUNT in verdict.oddities


def test_an_answer_about_another_job_is_an_oddity_and_the_client_refuses_it(sandbox):
    other = "0f8e7d6c-5b4a-4392-8a1b-2c3d4e5f6a7b"
    assert Oddity.OTHER_ID in verdict_of(job_of(), now=NOW, asked_id=uuid.UUID(other)).oddities
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "body", payload={"data": job_payload(other)})
    from exportjobs.pleo import get_client

    with pytest.raises(PleoBadResponse, match="when asked for"):
        get_client().get_export_job(uuid.UUID(JOB))


# --- every surface shows the verdict -------------------------------------------------------------------


def attribute_pair(html_part: str) -> tuple[str, str]:
    """The state and the parties (in the order shown) a rendered surface carries."""
    match = re.search(r'data-state="([^"]*)" data-parties="([^"]*)"', html_part)
    assert match, html_part[:300]
    return match.group(1), match.group(2)


def bulk_row_html(page: str, job_id: str) -> str:
    return re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{job_id}(?:(?!</tr>).)*</tr>", page, re.S).group(0)


def attention_row_html(page: str, job_id: str) -> str | None:
    pattern = rf'<tr[^>]*data-state[^>]*>(?:(?!</tr>).)*href="/jobs/{job_id}/"(?:(?!</tr>).)*</tr>'
    match = re.search(pattern, page, re.S)
    return match.group(0) if match else None


def inside(name: object) -> str:
    """A party's name as a list writes it after its first party: "the Pleo admin …"."""
    text = str(name)
    return text[0].lower() + text[1:] if text.startswith("The ") else text


def csv_row(desk, job_id: str) -> dict[str, str] | None:
    response = desk.get("/attention/?period=30d&format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    return next((row for row in rows if row["Export job ID"] == job_id), None)


def surfaces(desk, job_id: str) -> dict[str, tuple[str, str]]:
    """(state, parties) as the job page, the bulk table, the list and its CSV show them; rendered. The CSV
    says them in words (its State column and who acts by name), read back here into the same keys."""
    page = desk.get(f"/jobs/{job_id}/").content.decode()
    article = page.split('<article id="job"')[1]
    shown = {"job page": attribute_pair(article)}
    bulk = desk.post("/bulk/", {"ids": job_id}).content.decode()
    shown["bulk"] = attribute_pair(bulk_row_html(bulk, job_id))
    listed = attention_row_html(desk.get("/attention/?period=30d").content.decode(), job_id)
    if listed is not None:
        shown["attention"] = attribute_pair(listed)
        row = csv_row(desk, job_id)
        assert row is not None
        state = next(key for key, label in STATE_LABELS.items() if str(label) == row["State"])
        who = row["Who acts"].lower()  # a name after the first of a list starts in lower case
        named = {key: who.find(str(name).lower()) for key, name in PARTY_NAMES.items()}
        parties = sorted((key for key, at in named.items() if at >= 0), key=named.__getitem__)
        shown["csv"] = (state.value, " ".join(parties))
    return shown


def test_a_stuck_job_reads_possibly_stuck_in_bulk_as_on_its_page(desk, sandbox):
    now = datetime.now(timezone.utc)
    sandbox.state.put_job(
        job_payload(
            JOB,
            status="in_progress",
            createdAt=ts(now - timedelta(hours=1)),
            startedAt=ts(now - timedelta(minutes=59)),
            lastUpdatedAt=ts(now - timedelta(minutes=40)),
            completedAt=None,
        )
    )
    shown = surfaces(desk, JOB)
    assert set(shown.values()) == {(State.POSSIBLY_STUCK.value, INTEGRATION_OWNER)}
    row = text_of(bulk_row_html(desk.post("/bulk/", {"ids": JOB}).content.decode(), JOB))
    assert "May be stuck: nothing has happened for 40 min." in row
    assert str(ACTORS[INTEGRATION_OWNER]) in row
    assert "Being exported now" not in row


def test_a_cancelled_job_is_cancelled_on_the_list_its_csv_and_the_home_line_never_failed(desk, sandbox):
    cancelled = seed.job_uuid("failed:canceled_by_user")
    page = desk.get("/attention/").content.decode()
    failed_section = page.split('id="failed"')[1].split("</section>")[0]
    cancelled_section = page.split('id="cancelled"')[1].split("</section>")[0]
    assert f'href="/jobs/{cancelled}/"' in cancelled_section
    assert f'href="/jobs/{cancelled}/"' not in failed_section
    assert 'class="badge badge-neutral"' in attention_row_html(page, cancelled)
    row = csv_row(desk, cancelled)
    assert (row["Section"], row["State"]) == ("Cancelled", "Cancelled")
    home = text_of(desk.get("/").content.decode())
    assert "1 job was cancelled" in home
    failed = page.count('data-state="failed"')
    assert f"{failed} jobs failed" in home


def test_three_parties_of_a_partly_exported_job_agree_on_the_panel_the_ticket_and_the_rows(desk, sandbox):
    sandbox.state.put_job(
        job_payload(JOB, status="completed_with_errors", failureReasonType="validation_failure", numberOfItems=6)
    )
    kinds = [ItemFailureType.ACCOUNT_UNKNOWN] * 3 + [ItemFailureType.TAX_CODE_UNKNOWN] * 2
    kinds += [ItemFailureType.ACCOUNTING_SYSTEM_UNREACHABLE]
    items = [item(index, kind) for index, kind in enumerate(kinds)]
    for entry in items:
        sandbox.state.put_entry(str(entry.accounting_entry_id), entry_payload(str(entry.accounting_entry_id)))
    store_entries(JOB, "completed_with_errors", items)

    page = desk.get(f"/jobs/{JOB}/").content.decode()
    panel = text_of(page.split('aria-labelledby="failure-title"')[1].split("</section>")[0])
    ticket = html.unescape(re.search(r'<pre id="ticket-text" class="ticket-text">(.*?)</pre>', page, re.S).group(1))
    # after the first party of a list, a name starts with its article in lower case ("and the …")
    assert f"{ACTORS[FINANCE]} (3 entries), {inside(ACTORS[INTEGRATION_OWNER])} (2 entries) and" in panel
    assert f"{inside(ACTORS[ACCOUNTING_ADMIN])} (1 entry)" in panel
    assert (
        f"Who must act: {PARTY_NAMES[FINANCE]} (3 entries), {inside(PARTY_NAMES[INTEGRATION_OWNER])} (2 entries) "
        f"and {inside(PARTY_NAMES[ACCOUNTING_ADMIN])} (1 entry)."
    ) in ticket
    assert "Who must act: You" not in ticket
    rows = re.findall(r'<td data-label="Who needs to act">(.*?)</td>', page.split('class="failed-entries"')[1])
    parties = (FINANCE, INTEGRATION_OWNER, ACCOUNTING_ADMIN)
    assert sorted(set(map(html.unescape, rows))) == sorted(str(ACTORS[key]) for key in parties)
    assert set(surfaces(desk, JOB).values()) == {("partly_exported", "finance integration_owner accounting_admin")}


def test_the_ten_thousand_entry_job_with_many_failure_types_has_a_verdict_and_a_panel(desk, sandbox):
    large = seed.job_uuid("large")
    page = desk.get(f"/jobs/{large}/").content.decode()
    state, parties = attribute_pair(page.split('<article id="job"')[1])
    assert state == "partly_exported"
    assert len(parties.split()) >= 3
    panel = text_of(page.split('aria-labelledby="failure-title"')[1].split("</section>")[0])
    assert "Who needs to act" in panel
    assert all(inside(ACTORS[key]) in panel or str(ACTORS[key]) in panel for key in parties.split())


def test_an_entry_that_no_longer_exists_says_nobody_acts_on_its_row(desk, sandbox):
    sandbox.state.put_job(job_payload(JOB, status="completed_with_errors", failureReasonType=None, numberOfItems=2))
    items = [item(0, ItemFailureType.ACCOUNT_UNKNOWN), item(1, ItemFailureType.ACCOUNT_UNKNOWN)]
    sandbox.state.put_entry(str(items[0].accounting_entry_id), None)  # Pleo: no such entry
    sandbox.state.put_entry(str(items[1].accounting_entry_id), entry_payload(str(items[1].accounting_entry_id)))
    store_entries(JOB, "completed_with_errors", items)
    page = desk.get(f"/jobs/{JOB}/").content.decode()
    entry_id = items[0].accounting_entry_id
    gone_row = re.search(rf'<tr>(?:(?!</tr>).)*data-entry-id="{entry_id}"(?:(?!</tr>).)*</tr>', page, re.S)
    assert "Nobody: the entry no longer exists in Pleo" in text_of(gone_row.group(0))
    assert "Choose a category" not in text_of(gone_row.group(0))
    assert attribute_pair(page.split('<article id="job"')[1]) == ("partly_exported", FINANCE)
    assert set(surfaces(desk, JOB).values()) == {("partly_exported", FINANCE)}  # one entry left, finance's


def test_a_job_that_never_started_is_never_called_started(desk, sandbox):
    sandbox.state.put_job(
        job_payload(JOB, status="failed", startedAt=None, failureReasonType="accounting_system_unreachable")
    )
    page = desk.get(f"/jobs/{JOB}/").content.decode()
    words = text_of(page)
    title = text_of(re.search(r'<h1 id="job-title" class="job-title">(.*?)</h1>', page, re.S).group(1))
    assert "started" not in title.lower()
    assert title.startswith("Export of 1,234 entries, created")
    assert "Never started" in words
    assert "Started —" not in words
    assert "never started" not in words  # no "Started — never started"


@pytest.mark.parametrize(
    ("fields", "end"),
    [
        ({"status": "failed", "failureReasonType": "job_expired"}, "Failed"),
        ({"status": "failed", "failureReasonType": "canceled_by_user"}, "Cancelled"),
        ({"status": "completed"}, "Exported"),
        ({"status": "completed_with_errors", "failureReasonType": "validation_failure"}, "Partly exported"),
    ],
)
def test_the_end_of_a_job_is_named_by_its_state(desk, sandbox, fields, end):
    sandbox.state.put_job(job_payload(JOB, **fields))
    words = text_of(desk.get(f"/jobs/{JOB}/").content.decode())
    timeline = words.split("Timeline")[1].split("Waited before starting")[0]
    assert f"{end} 3 Nov 2026, 14:20 UTC" in timeline
    for other in ("Stopped", "Completed", "Finished"):
        assert other not in timeline
    assert f"{end} When the job ended 3 Nov 2026, 14:20 UTC" in words


def test_failure_fields_on_a_job_that_is_not_failed_are_also_reported_never_the_failure_panel(desk, sandbox):
    sandbox.state.put_job(
        job_payload(JOB, status="completed", failureReasonType="job_expired", failureReason="Stale message.")
    )
    page = desk.get(f"/jobs/{JOB}/").content.decode()
    assert 'class="card failure' not in page
    assert "Pleo also reported a problem with this job, although its status is “Exported”" in text_of(page)
    assert "Stale message." in page


def test_a_negative_count_is_never_printed(desk, sandbox):
    sandbox.state.put_job(job_payload(JOB, numberOfItems=-50_657_494))
    page = desk.get(f"/jobs/{JOB}/").content.decode()
    words = text_of(page)
    assert "50,657,494" not in words
    assert "Export of an unknown number of entries, created" in words
    assert "Entries in this export unknown" in words


def test_an_answer_about_another_job_is_a_502_and_never_cached(desk, sandbox):
    other = "0f8e7d6c-5b4a-4392-8a1b-2c3d4e5f6a7b"
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "body", payload={"data": job_payload(other)})
    first = desk.get(f"/jobs/{JOB}/")
    second = desk.get(f"/jobs/{JOB}/")
    assert first.status_code == second.status_code == 502
    assert "Pleo sent an answer that could not be read" in text_of(first.content.decode())
    assert sandbox.state.calls(JOB) == 2  # the bad answer was not kept
    assert cache.get(services.job_cache_keys(uuid.UUID(JOB)).value) is None


# --- the property: every surface agrees, whatever Pleo sends ---------------------------------------------


def store_entries(job_id: str, status: str, items: list[ExportJobItem]) -> None:
    """The job's failed entries in the desk's cache, as ``job_items_get`` keeps them (no call to Pleo)."""
    from exportjobs.services.entries import ITEMS_CODEC, ItemsSummary, _items_keys

    job = ExportJob.from_payload(job_payload(job_id, status=status))
    counts = {"successful": 0, "failed": len(items), "pending": 0, "in_progress": 0, "abandoned": 0}
    desk_cache.store(_items_keys(job), ItemsSummary(counts=counts, failed=tuple(items)), codec=ITEMS_CODEC, ttl=600)


STATUSES = ["pending", "in_progress", "failed", "completed", "completed_with_errors", "archived"]
FAILURES = [None, *[kind.value for kind in FailureType], "quantum_flux"]
ENTRY_FAILURES = [*ItemFailureType, "brand_new_failure", None]


@st.composite
def jobs_and_entries(draw):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    status = draw(st.sampled_from(STATUSES))
    created = now - timedelta(minutes=draw(st.integers(min_value=3, max_value=60 * 24 * 6)))
    quiet = draw(st.integers(min_value=0, max_value=int((now - created).total_seconds() // 60)))
    updated = draw(st.sampled_from([None, now - timedelta(minutes=quiet)]))
    fields = {
        "status": status,
        "createdAt": ts(created),
        "startedAt": draw(st.sampled_from([None, ts(created + timedelta(minutes=1))])),
        "lastUpdatedAt": ts(updated) if updated else None,
        "completedAt": draw(st.sampled_from([None, ts(now - timedelta(minutes=1))])),
        "expiredAt": draw(st.sampled_from([None, ts(now)])),
        "expiresIn": draw(st.sampled_from([60, 3600, 86400])),
        "numberOfItems": draw(st.integers(min_value=-(2**40), max_value=10**6)),
        "failureReasonType": draw(st.sampled_from(FAILURES)),
        "failureReason": draw(st.sampled_from([None, "Pleo's own words.", ""])),
    }
    kinds = draw(st.lists(st.sampled_from(ENTRY_FAILURES), max_size=8)) if status == "completed_with_errors" else []
    gone = draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    return fields, kinds, gone


@pytest.fixture
def property_desk(desk, sandbox, settings):
    settings.PLEO_USER_BUDGET = 1_000_000
    return desk


@hypothesis_settings(
    max_examples=int(os.environ.get("VERDICT_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=jobs_and_entries())
def test_every_surface_shows_the_same_state_and_who_acts_whatever_pleo_sends(property_desk, sandbox, case):
    fields, kinds, gone = case
    cache.clear()
    desk_cache.reset()
    sandbox.state.reset()
    job_id = str(uuid.uuid4())
    sandbox.state.put_job(job_payload(job_id, **fields))
    items = [item(index, kind, job_id) for index, kind in enumerate(kinds)]
    for entry, is_gone in zip(items, gone, strict=True):
        entry_id = str(entry.accounting_entry_id)
        sandbox.state.put_entry(entry_id, None if is_gone else entry_payload(entry_id))
    if items:
        store_entries(job_id, fields["status"], items)

    shown = surfaces(property_desk, job_id)

    assert len(set(shown.values())) == 1, shown
    page = property_desk.get(f"/jobs/{job_id}/").content.decode()
    words = text_of(page)
    state, parties = shown["job page"]
    assert state in {member.value for member in State}
    for key in parties.split():
        assert str(ACTORS[key]) in words
    if fields["numberOfItems"] < 0:  # never printed: the count is unknown wherever it would be shown
        assert not re.search(r"-\d[\d,]* entr", words)
        assert "Export of an unknown number of entries" in words
        assert "Entries in this export unknown" in words
    title = text_of(re.search(r'<h1 id="job-title" class="job-title">(.*?)</h1>', page, re.S).group(1))
    if not fields["startedAt"]:
        assert "started" not in title.lower()
    if fields["status"] not in ("failed", "completed_with_errors"):
        assert 'class="card failure' not in page  # failure fields elsewhere are "also reported"


def test_each_look_records_the_verdicts_state_and_recent_jobs_show_a_cancelled_job_as_cancelled(desk, sandbox):
    from exportjobs.models import AuditEvent

    cancelled = seed.job_uuid("failed:canceled_by_user")
    desk.get(f"/jobs/{cancelled}/")
    desk.get(f"/jobs/{seed.DOC_SAMPLE_ID}/")
    states = dict(AuditEvent.objects.filter(action="view").values_list("job_id", "job_state"))
    assert states == {uuid.UUID(cancelled): "cancelled", uuid.UUID(seed.DOC_SAMPLE_ID): "failed"}
    items = desk.get("/").content.decode().split('<ul class="recent-list">')[1].split("</ul>")[0].split("</li>")
    row = next(part for part in items if f"/jobs/{cancelled}/" in part)
    assert "badge-neutral" in row
    assert "Cancelled" in text_of(row)


def test_every_error_code_has_one_row_in_the_policy_table():
    from exportjobs import policy
    from exportjobs.budgets import OverBudget
    from exportjobs.cache import Busy, TooLong
    from exportjobs.pleo.errors import ERRORS

    codes = {cls.code for cls in ERRORS.values()} - {"pleo_error"} | {Busy.code, TooLong.code, OverBudget.code}
    assert codes <= set(policy.POLICY)
    assert policy.policy_of(TooLong("x")) is policy.POLICY["timeout"]
    assert policy.stale_may_answer(Busy("x"))
    assert not policy.stale_may_answer(OverBudget("x"))
