"""What only a browser shows: pages render, buttons work, copy works, auto-refresh stops, keyboard use.

Playwright's sync API drives Debian's Chromium against pytest-django's ``live_server``. The live
server runs in a thread of this process, so the ``settings`` fixture and the sandbox apply to it.
One Chromium per module, a fresh context (cookies, clipboard, viewport) per test.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from exportjobs.alerts.rules import rule_create
from exportjobs.models import AlertNotification
from exportjobs.sandbox import seed
from tests.helpers import HANG_GUARD, deliver_all, fails_between_polls, job_payload

try:  # axe-core, as the axe-playwright-python package ships it (requirements-dev.txt)
    import axe_playwright_python

    AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
except ImportError:  # pragma: no cover - installed by make test
    AXE_SOURCE = ""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
USERNAME, PASSWORD = "fiona", "a-long-test-password"  # the ``finance_user`` fixture's
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"

FAILED = seed.DOC_SAMPLE_ID  # failed: accounting system login rejected
SAMPLE = {status: seed.job_uuid(status) for status in ("pending", "in_progress", "completed", "completed_with_errors")}
SAMPLE["failed"] = FAILED
JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"

# Generous waits that only guard against a hang: a busy machine may take seconds to render a page.
expect.set_options(timeout=HANG_GUARD * 1000)


# --- fixtures ------------------------------------------------------------------------


class _Chromium:
    """One Playwright and one Chromium for the module, started by the first test that needs them."""

    def __init__(self) -> None:
        self._playwright = None
        self._browser: Browser | None = None

    def get(self, executable_path: str) -> Browser:
        if self._browser is None:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=executable_path, args=CHROMIUM_ARGS)
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


@pytest.fixture(scope="module")
def _chromium():
    chromium = _Chromium()
    yield chromium
    chromium.close()


@pytest.fixture
def browser(_chromium, chromium_path) -> Browser:
    # ``chromium_path`` decides skip (locally) or failure (CI) when Chromium is missing.
    return _chromium.get(chromium_path)


@pytest.fixture
def open_page(browser, live_server, transactional_db, finance_user, sandbox):
    """Open a page in a new browser context; keyword arguments go to ``new_context``."""
    contexts = []

    def open_(**options) -> Page:
        context = browser.new_context(base_url=live_server.url, **options)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(HANG_GUARD * 1000)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page) -> Page:
    return open_page()


@pytest.fixture
def signed_in_page(page) -> Page:
    sign_in(page)
    return page


# --- helpers -------------------------------------------------------------------------


def sign_in(page: Page) -> None:
    """Through the real form; ends on the home page."""
    page.goto("/accounts/login/?next=/")
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))


def job_path(job_id: str) -> str:
    return f"/jobs/{job_id}/"


def badge(page: Page):
    return page.locator(".job-header .badge")


def active_job(job_id: str, status: str) -> dict:
    """A job that is still running, with times from the last few minutes."""
    now = datetime.now(timezone.utc)
    return job_payload(
        job_id,
        status=status,
        createdAt=seed.ts(now - timedelta(minutes=4)),
        startedAt=seed.ts(now - timedelta(minutes=3)) if status == "in_progress" else None,
        lastUpdatedAt=seed.ts(now - timedelta(minutes=1)),
        completedAt=None,
    )


def finish(sandbox, job_id: str) -> None:
    now = seed.ts(datetime.now(timezone.utc))
    sandbox.state.update_job(job_id, status="completed", completedAt=now, lastUpdatedAt=now)


def tab_to(page: Page, name: str, *, limit: int = 40) -> None:
    """Press Tab until the focused element's text is ``name``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.textContent.trim()") == name:
            return
    pytest.fail(f"Tab never reached {name!r}")


def clipboard(page: Page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.is_file(), path
    assert path.stat().st_size > 0, path
    return path


# --- tests ---------------------------------------------------------------------------


@pytest.mark.browser
def test_a_sentence_pasted_from_a_ticket_leads_to_the_failed_job(signed_in_page):
    page = signed_in_page
    sentence = f"Hi, export {FAILED} failed, please check"
    page.evaluate("text => navigator.clipboard.writeText(text)", sentence)
    page.get_by_label("Export job ID").focus()
    page.keyboard.press("ControlOrMeta+V")
    expect(page.get_by_label("Export job ID")).to_have_value(sentence)

    page.get_by_role("button", name="Show job").click()

    page.wait_for_url(f"**{job_path(FAILED)}")
    expect(badge(page)).to_contain_text("Failed")
    expect(page.locator("section.failure")).to_be_visible()
    expect(page.locator("section.failure")).to_contain_text("Who needs to act")


@pytest.mark.browser
def test_a_job_can_be_looked_up_and_refreshed_with_the_keyboard_alone(signed_in_page, sandbox):
    page = signed_in_page
    job_id = SAMPLE["completed"]
    expect(page.get_by_label("Export job ID")).to_be_focused()

    page.keyboard.type(job_id)
    page.keyboard.press("Enter")

    page.wait_for_url(f"**{job_path(job_id)}")
    expect(badge(page)).to_contain_text("Exported")
    assert sandbox.state.calls(job_id) == 1
    for calls, key in ((2, "Enter"), (3, "Space")):
        tab_to(page, "Refresh from Pleo")
        with page.expect_navigation(url=f"**{job_path(job_id)}"):
            page.keyboard.press(key)
        assert sandbox.state.calls(job_id) == calls, f"{key} on the focused button did not refresh"


@pytest.mark.browser
def test_refresh_asks_pleo_again_and_comes_back_to_the_job_page(signed_in_page, sandbox, live_server):
    page = signed_in_page
    sandbox.state.put_job(active_job(JOB, "in_progress"))
    page.goto(job_path(JOB))
    expect(badge(page)).to_contain_text("Exporting")
    finish(sandbox, JOB)

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Refresh from Pleo").click()
    page.wait_for_load_state()

    assert posted.value.status == 303
    expect(badge(page)).to_contain_text("Exported")
    assert page.url == live_server.url + job_path(JOB)
    assert sandbox.state.calls(JOB) == 2


@pytest.mark.browser
def test_copy_buttons_put_the_id_and_the_ticket_summary_on_the_clipboard(signed_in_page):
    page = signed_in_page
    page.goto(job_path(FAILED))
    status = page.locator(".copy-status")

    page.get_by_role("button", name="Copy job ID").click()
    expect(status).to_have_text("Copied: the job ID")
    assert clipboard(page) == FAILED

    page.get_by_role("button", name="Copy for ticket").click()
    expect(status).to_have_text("Copied: the summary for the ticket")
    text = clipboard(page)
    assert f"Pleo export job {FAILED}" in text
    assert "Who must act" in text


def requests_until_a_marker(page: Page, path: str, seen: list[str]) -> list[str]:
    """The requests for ``path`` the page made before a marker request the test sends now (they are
    reported in the order the page sent them): a barrier after which nothing more is on its way."""
    with page.expect_request(lambda request: request.url.endswith("/healthz?marker")):
        page.evaluate("fetch('/healthz?marker')")
    return [url for url in seen if url.endswith(path)]


@pytest.mark.browser
def test_auto_refresh_shows_the_final_status_in_place_and_then_stops(signed_in_page, sandbox, settings, clock):
    page = signed_in_page
    page.clock.install()  # the page's timers move only when the test says
    sandbox.state.put_job(active_job(JOB, "pending"))
    page.goto(job_path(JOB))
    expect(badge(page)).to_contain_text("Waiting to start")
    expect(page.locator("#job")).to_have_attribute("data-auto-refresh", "true")
    page.evaluate("window.sameDocument = true")
    job_requests: list[str] = []
    page.on("request", lambda r: job_requests.append(r.url))

    finish(sandbox, JOB)
    clock.shift(settings.JOB_CACHE_TTL_ACTIVE + 1)  # the desk's copy of the running job has run out
    page.clock.run_for(10_000)  # one refresh interval

    expect(badge(page)).to_contain_text("Exported")
    assert page.evaluate("window.sameDocument") is True, "the page reloaded instead of updating in place"
    assert requests_until_a_marker(page, job_path(JOB), job_requests), "the update came from no background request"
    expect(page.locator("#job")).to_have_attribute("data-auto-refresh", "false")
    seen = len(requests_until_a_marker(page, job_path(JOB), job_requests))
    page.clock.run_for(120_000)  # twelve more intervals: a page still polling would ask again
    assert len(requests_until_a_marker(page, job_path(JOB), job_requests)) == seen, "it kept polling"


@pytest.mark.browser
def test_no_page_logs_a_console_error(signed_in_page, sandbox):
    page = signed_in_page
    problems: list[str] = []

    def on_console(message) -> None:
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and message.location.get("url") == page.url:
            return  # Chromium's note of the error page's own status (404, 503), which we asked for
        problems.append(f"{page.url}: console: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: uncaught: {e}"))
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "503")
    visits = [("/", 200)]
    visits += [(job_path(job_id), 200) for job_id in SAMPLE.values()]
    visits += [(job_path(JOB), 503), (job_path(seed.NOT_FOUND_EXAMPLE), 404), ("/no-such-page/", 404)]

    for path, status in visits:
        response = page.goto(path)
        assert response.status == status, path
        page.wait_for_load_state("load")

    assert problems == []


@pytest.mark.browser
def test_every_page_kind_is_saved_as_a_screenshot(page, sandbox, settings):
    response = page.goto("/accounts/login/")
    assert response.status == 200
    screenshot(page, "login")
    sign_in(page)
    screenshot(page, "home")
    for status, job_id in SAMPLE.items():
        response = page.goto(job_path(job_id))
        assert response.status == 200
        screenshot(page, f"job-{status}")
    shots = {
        "error-404-not-found": (None, 404),
        "error-502-credentials": ("401", 502),
        "error-503-unavailable": ("503", 503),
        "error-504-timeout": ("hang", 504),
        "error-502-malformed": ("malformed_json", 502),
    }
    for name, (fault, status) in shots.items():
        job_id = seed.job_uuid(f"browser:{name}")
        settings.PLEO_API_TIMEOUT = 0.3 if fault == "hang" else 5  # the hang turns into a 504 quickly
        if fault:
            sandbox.state.put_job(job_payload(job_id))
            sandbox.state.add_fault(job_id, fault, seconds=2)  # ``seconds`` only matters to "hang"
        response = page.goto(job_path(job_id))
        assert response.status == status, name
        screenshot(page, name)


@pytest.mark.browser
def test_the_job_page_works_without_javascript(open_page):
    page = open_page(java_script_enabled=False)
    sign_in(page)
    page.goto(job_path(FAILED))

    expect(badge(page)).to_contain_text("Failed")
    expect(page.locator("section.failure")).to_be_visible()
    page.get_by_text("Summary for the ticket (plain text)").click()  # a <details>: opens without JS
    expect(page.locator("#ticket-text")).to_be_visible()
    expect(page.locator("#ticket-text")).to_contain_text(f"Pleo export job {FAILED}")
    for name in ("Copy job ID", "Copy link to this page", "Copy for ticket"):
        expect(page.get_by_text(name, exact=True)).to_be_hidden()


@pytest.mark.browser
def test_a_job_page_fits_a_phone_screen_without_sideways_scrolling(open_page):
    page = open_page(viewport={"width": 375, "height": 800})
    sign_in(page)
    for name, job_id in (("failed", FAILED), ("completed_with_errors", SAMPLE["completed_with_errors"])):
        page.goto(job_path(job_id))
        page.evaluate('document.querySelectorAll("details").forEach(d => { d.open = true; })')
        width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, f"job-{name}-375px")
        assert width <= 375, f"{name} job page is {width}px wide on a 375px screen"


@pytest.mark.browser
def test_bulk_lookup_from_a_pasted_ticket_shows_a_row_per_job(signed_in_page: Page):
    page = signed_in_page
    ticket = (
        f"Customer writes: exports {FAILED} and {SAMPLE['completed'].upper()} from Monday,\n"
        f"plus {seed.NOT_FOUND_EXAMPLE} which they could not find. Thanks!"
    )
    page.get_by_role("link", name="look up many jobs at once").click()
    page.get_by_label("Paste a whole ticket or a list of export job IDs").fill(ticket)
    page.get_by_role("button", name="Look up jobs").click()
    rows = page.locator("table.bulk-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Failed")
    expect(rows.nth(1)).to_contain_text("Exported")
    expect(rows.nth(2)).to_contain_text("No export job with this ID")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "bulk.png"), full_page=True)
    rows.nth(0).get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{FAILED}/$"))


# --- links from another site (a ticket) ------------------------------------------------------------------

TICKETS = "https://tickets.example"  # another site, answered by the browser context itself


def open_ticket(page: Page, live_url: str, links: dict[str, str]) -> None:
    """A ticket on another site with these links (text: path on the desk), opened in ``page``."""
    anchors = "".join(f'<p><a href="{live_url}{path}">{text}</a></p>' for text, path in links.items())
    page.context.route(
        f"{TICKETS}/**",
        lambda route: route.fulfill(body=f"<!doctype html><title>Ticket</title>{anchors}", content_type="text/html"),
    )
    page.goto(f"{TICKETS}/ticket/4711")


@pytest.mark.browser
def test_a_ticket_link_opens_the_job_asks_for_it_alone_and_offers_the_rest(signed_in_page: Page, live_server, sandbox):
    page = signed_in_page
    partly = SAMPLE["completed_with_errors"]
    open_ticket(page, live_server.url, {"export failed, please check": job_path(partly)})
    page.get_by_role("link", name="export failed, please check").click()
    expect(badge(page)).to_contain_text("Partly exported")
    expect(page.locator(".from-link")).to_contain_text("You opened this page from a link on another site.")
    assert sandbox.state.calls(partly) == 1
    assert sandbox.state.item_calls(partly) == 0
    screenshot(page, "job-from-another-site")
    page.get_by_role("link", name="Show the whole page").click()
    expect(page.locator("table.failed-entries tbody tr")).to_have_count(4)
    expect(page.locator(".from-link")).to_have_count(0)


@pytest.mark.browser
def test_a_bulk_link_from_another_site_waits_for_the_button(signed_in_page: Page, live_server, sandbox):
    page = signed_in_page
    ids = [str(seed.job_uuid(f"made-up-{index}")) for index in range(20)]
    open_ticket(page, live_server.url, {"look these up": "/bulk/?ids=" + "+".join(ids)})
    page.get_by_role("link", name="look these up").click()
    expect(page.locator(".from-link")).to_contain_text("A link filled in 20 job IDs.")
    assert sandbox.state.calls() == 0
    screenshot(page, "bulk-from-another-site")
    page.get_by_role("button", name="Look up jobs").click()
    expect(page.locator("table.bulk-table tbody tr")).to_have_count(20)
    assert sandbox.state.calls() == 20


# --- pages read as a finance person reads them ----------------------------------------------------

# Every inline code of a page on one line, every id broken only after a hyphen: a text node between two
# <wbr> never spans two lines.
BROKEN_WORDS = """
() => {
  const broken = [];
  for (const code of document.querySelectorAll("code.code")) {
    if (code.getClientRects().length > 1) broken.push(code.textContent);
  }
  for (const code of document.querySelectorAll("code.uuid")) {
    for (const node of code.childNodes) {
      if (node.nodeType !== Node.TEXT_NODE || !node.textContent) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      if (range.getClientRects().length > 1) broken.push(code.textContent + " at " + node.textContent);
    }
  }
  return broken;
}
"""
HEADER_LINES = """
() => new Set([...document.querySelector(".header-row").children]
  .filter(el => el.getClientRects().length)
  .map(el => Math.round(el.getBoundingClientRect().top / 8))).size
"""
# The header is one line when every item of it shares a stretch of height with every other.
HEADER_ON_ONE_LINE = """
() => { const boxes = [...document.querySelector(".header-row").children]
  .filter(el => el.getClientRects().length).map(el => el.getBoundingClientRect());
  return Math.max(...boxes.map(b => b.top)) < Math.min(...boxes.map(b => b.bottom)); }
"""


def reading_pages(sandbox) -> dict[str, str]:
    """The pages the reading review changed, by screenshot name."""
    cancelled = seed.job_uuid("failed:canceled_by_user")
    large = seed.job_uuid("large")
    bulk = " ".join(
        (FAILED, SAMPLE["pending"], SAMPLE["completed_with_errors"], seed.NOT_FOUND_EXAMPLE, seed.job_uuid("fault:503"))
    )
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "503")
    return {
        "job-failed": job_path(FAILED),
        "job-cancelled": job_path(cancelled),
        "job-partly-exported": job_path(SAMPLE["completed_with_errors"]),
        "job-10000-entries": job_path(large),
        "job-10000-entries-page-2": job_path(large) + "?entries=1&page=2",
        "job-10000-entries-one-type": job_path(large) + "?entries=1&type=receipt_file_size_limit_exceeded",
        "job-completed": job_path(SAMPLE["completed"]),
        "bulk": "/bulk/?" + "ids=" + bulk.replace(" ", "+"),
        "two-ids": f"/lookup/?job_id={FAILED}+{SAMPLE['pending']}",
        "error-503-unavailable": job_path(JOB),
        "error-502-credentials": job_path(seed.job_uuid("fault:401")),
        "home-recent-jobs": "/",  # last: after the jobs above were looked at
    }


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_the_changed_pages_fit_the_screen_and_keep_codes_and_ids_whole(open_page, sandbox, settings, width):
    settings.DESK_CONTACT = "it-desk@example.com"
    page = open_page(viewport={"width": width, "height": 900})
    sign_in(page)
    for name, path in reading_pages(sandbox).items():
        page.goto(path)
        page.wait_for_load_state("load")
        screenshot(page, f"{name}-{width}px")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} is {scroll}px wide at {width}px"
        assert page.evaluate(BROKEN_WORDS) == [], name
        if width == 375:
            assert page.evaluate(HEADER_LINES) <= 2, f"the header of {name} takes more than two lines"
    page.goto(job_path(SAMPLE["completed"]))
    offer = page.locator(".entries-offer")
    expect(offer).to_be_visible()
    assert offer.evaluate("el => el.closest('.card') !== null")


@pytest.mark.browser
def test_the_admin_audit_list_is_readable_on_a_laptop(open_page, sandbox, django_user_model):
    from exportjobs.models import AuditEvent

    django_user_model.objects.create_superuser("root", password=PASSWORD)
    for index in range(3):
        AuditEvent.objects.create(
            username="fiona",
            action="view",
            job_id=seed.job_uuid(f"audit:{index}"),
            outcome="found",
            source="fresh",
            job_status="completed_with_errors",
            failure_type="validation_failure",
        )
    AuditEvent.objects.create(username="", action="lookup", outcome="invalid")
    page = open_page(viewport={"width": 1280, "height": 900})
    page.goto("/admin/login/?next=/admin/exportjobs/auditevent/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/exportjobs/auditevent/$"))
    screenshot(page, "admin-audit-list-1280px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    results = page.locator("#changelist .results")
    assert results.evaluate("el => el.scrollWidth <= el.clientWidth"), "the list's right-hand columns are cut off"
    ids = page.locator("#result_list code.job-id")
    expect(ids).to_have_count(3)
    for index in range(3):
        assert ids.nth(index).evaluate("el => el.getClientRects().length") == 1
    times = page.locator("#result_list tbody th, #result_list tbody td.field-when").all_inner_texts()
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text.strip()) for text in times), times


# --- needs attention ------------------------------------------------------------------------


def attention_rows(page: Page):
    return page.locator("table.attention-table tbody tr")


@pytest.mark.browser
def test_the_list_changes_with_a_filter_leads_to_a_job_without_a_call_and_downloads_as_csv(signed_in_page, sandbox):
    page = signed_in_page
    page.get_by_role("link", name="Needs attention").click()
    page.wait_for_url("**/attention/")
    expect(page.locator("#failed h2")).to_contain_text("Failed")
    week = attention_rows(page).count()

    page.get_by_label("Created in the last").select_option("30d")
    page.get_by_label("Waiting to start").uncheck()
    page.get_by_role("button", name="Apply filters").click()

    page.wait_for_url(
        re.compile(
            r"/attention/\?period=30d&status=failed&status=cancelled&status=completed_with_errors&status=in_progress"
        )
    )
    expect(page.get_by_label("Created in the last")).to_have_value("30d")
    expect(page.get_by_label("Waiting to start")).not_to_be_checked()
    month = attention_rows(page).count()
    assert month > week
    assert page.locator("table.attention-table .badge", has_text="Waiting to start").count() == 0

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8-sig")  # with its byte-order mark
    lines = saved.strip().splitlines()
    assert next(csv.reader(lines[:1]))[:3] == ["Section", "Export job ID", "Status"]
    assert len(lines) == 1 + month
    assert download.value.suggested_filename.startswith("needs-attention-30d-")

    first = page.locator("#failed table.attention-table tbody tr").first.get_by_role("link")
    job_id = first.get_attribute("href").split("/")[-2]
    first.click()
    page.wait_for_url(f"**{job_path(job_id)}")
    expect(badge(page)).to_contain_text("Failed")
    expect(page.locator(".freshness")).to_contain_text("Fetched from Pleo at")
    assert sandbox.state.calls(job_id) == 0


@pytest.mark.browser
def test_the_list_updates_itself_in_place(signed_in_page, sandbox, settings, clock):
    page = signed_in_page
    page.clock.install()
    page.goto("/attention/?status=failed")
    page.evaluate("window.sameDocument = true")
    before = attention_rows(page).count()
    now = datetime.now(timezone.utc)
    sandbox.state.put_job(
        job_payload(
            JOB,
            status="failed",
            createdAt=seed.ts(now - timedelta(minutes=1)),
            failureReasonType="job_expired",
            failureReason="Expired.",
        )
    )
    clock.shift(settings.ATTENTION_CACHE_TTL + 1)  # the desk's copy of the list has run out
    page.clock.run_for(60_000)  # the list's refresh interval

    expect(attention_rows(page)).to_have_count(before + 1)
    assert page.evaluate("window.sameDocument") is True, "the page reloaded instead of updating in place"
    expect(page.locator(f'a[href="/jobs/{JOB}/"]')).to_be_visible()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_the_list_is_saved_as_a_screenshot_and_fits_a_phone(open_page, sandbox, settings, width):
    settings.PLEO_COMPANY_LABELS = {company: name for company, name in seed.COMPANIES}
    page = open_page(viewport={"width": width, "height": 900})
    sign_in(page)
    page.goto("/attention/")
    expect(page.locator("#active table")).to_be_visible()

    path = screenshot(page, f"attention-{width}px")

    assert path.stat().st_size > 10_000
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"/attention/ is {scroll}px wide on a {width}px screen"
    if width == 375:
        label = page.evaluate('getComputedStyle(document.querySelector(".attention-table td"), "::before").content')
        assert label == '"Status"'  # each cell labelled, as the job page's tables are on a phone


@pytest.mark.browser
def test_the_list_prints_without_its_controls(signed_in_page, sandbox):
    page = signed_in_page
    page.goto("/attention/?period=24h")
    page.emulate_media(media="print")
    expect(page.locator("form.filters")).to_be_hidden()
    expect(page.get_by_role("button", name="Refresh from Pleo")).to_be_hidden()
    expect(page.locator("#failed table")).to_be_visible()
    screenshot(page, "attention-print")


# --- the reader's language ---------------------------------------------------------------------------

LANGUAGE_NAMES = {"en": "English", "da": "Dansk", "sv": "Svenska", "de": "Deutsch", "es": "Español", "fr": "Français"}


def sign_in_by_form(page: Page) -> None:
    """Sign in whatever language the page is in (the labels are translated, the fields' names are not)."""
    page.goto("/accounts/login/?next=/")
    page.locator("input[name=username]").fill(USERNAME)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.stack button[type=submit], main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))


def choose_language(page: Page, code: str) -> None:
    page.locator(".language-menu > summary").click()
    page.locator(f'.language-menu button[value="{code}"]').click()
    page.wait_for_load_state("load")


@pytest.mark.browser
def test_a_language_chosen_in_the_header_sticks_after_signing_out_and_in(open_page, django_user_model):
    page = open_page(locale="en-GB")
    sign_in(page)
    page.goto(job_path(FAILED))
    expect(page.locator("html")).to_have_attribute("lang", "en")

    choose_language(page, "de")

    assert page.url.endswith(job_path(FAILED))  # back on the same page, same address
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".language-menu > summary")).to_contain_text("DE")
    expect(page.locator("section.failure")).not_to_contain_text("Who needs to act")

    page.locator('form[action="/accounts/logout/"] button').click()
    page.wait_for_load_state("load")
    sign_in_by_form(page)
    expect(page.locator("html")).to_have_attribute("lang", "de")

    # Another device, whose browser asks for English: the choice follows the user.
    elsewhere = open_page(locale="en-US")
    sign_in_by_form(elsewhere)
    expect(elsewhere.locator("html")).to_have_attribute("lang", "de")
    elsewhere.goto(job_path(FAILED))
    expect(elsewhere.locator("html")).to_have_attribute("lang", "de")

    choose_language(elsewhere, "en")
    expect(elsewhere.locator("html")).to_have_attribute("lang", "en")
    expect(elsewhere.locator("section.failure")).to_contain_text("Who needs to act")


# --- what each failed entry is --------------------------------------------------------------------


# Buttons, badges and table headings whose words do not fit their box (cut off or spilling out).
CUT_TEXT = """
() => [...document.querySelectorAll("button, .button, .badge, th, dt, summary, h1, h2, h3")]
  .filter(el => el.getClientRects().length && el.scrollWidth > el.clientWidth + 1
    && getComputedStyle(el).overflow !== "visible")
  .map(el => el.tagName + ": " + el.textContent.trim().slice(0, 60))
"""


# --- what each failed entry is --------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_the_failed_entries_with_their_details_are_saved_as_a_screenshot_and_fit_a_phone(open_page, sandbox, width):
    page = open_page(viewport={"width": width, "height": 900})
    sign_in(page)
    large = seed.job_uuid("large")
    page.goto(job_path(large) + "#entries")
    table = page.locator("table.failed-entries")
    expect(table).to_be_visible()
    expect(table.get_by_text("Card purchase (online)").first).to_be_visible()
    expect(table.get_by_text("Mileage").first).to_be_visible()
    expect(table.get_by_text("ISK 3,900").first).to_be_visible()
    # a long note opens on demand, its whole text then readable
    note = table.locator("details.entry-note").first
    expect(note.locator(".note-text")).to_be_hidden()
    note.locator("summary").click()
    expect(note.locator(".note-text")).to_be_visible()
    expect(note.locator(".note-text")).to_contain_text("Ask Maria in finance")
    # the entry's Pleo id is copied whole
    first = table.locator(".entry").first
    entry_id = first.get_attribute("data-entry-id")
    first.get_by_role("button", name="Copy").click()
    assert clipboard(page) == entry_id
    if width == 375:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # the partly exported sample (four failed entries, four kinds and currencies) as a whole page
    page.goto(job_path(SAMPLE["completed_with_errors"]))
    expect(page.locator("table.failed-entries .entry-kind").first).to_be_visible()
    screenshot(page, f"job-failed-entries-{width}px")
    page.locator("table.failed-entries").screenshot(path=str(SCREENSHOTS / f"failed-entries-table-{width}px.png"))
    if width == 375:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # Pleo refusing the details: the entries as before, one notice naming the access the key needs
    page.goto(job_path(seed.job_uuid("fault:entries-403")))
    expect(page.locator(".entries-details-notice")).to_have_count(1)
    page.locator("#entries").screenshot(path=str(SCREENSHOTS / f"failed-entries-refused-{width}px.png"))


# --- markup in a note, in the sample kept for it ---------------------------------------------------


@pytest.mark.browser
def test_markup_and_scripts_in_notes_are_shown_as_text_in_the_hostile_data_sample(signed_in_page):
    page = signed_in_page
    page.goto(job_path(seed.job_uuid(seed.HOSTILE_SAMPLE)))
    table = page.locator("table.failed-entries")
    expect(table.get_by_text("<b>Client dinner</b>", exact=False).first).to_be_visible()
    expect(table.get_by_text('<script>alert("note")</script>', exact=False).first).to_be_visible()
    assert page.locator("table.failed-entries b, table.failed-entries img, table.failed-entries script").count() == 0


# --- read by finance, in six languages -------------------------------------------------------------

# Text of two cells of one row of the list that overlap on screen (a time running into the entries number).
OVERLAPS = """
() => {
  const found = [];
  const boxes = cell => { const range = document.createRange(); range.selectNodeContents(cell);
    return [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0); };
  for (const row of document.querySelectorAll("table.attention-table tbody tr")) {
    const cells = [...row.children].filter(cell => cell.getClientRects().length).map(cell => [cell, boxes(cell)]);
    for (let i = 0; i < cells.length; i++) for (let j = i + 1; j < cells.length; j++)
      for (const a of cells[i][1]) for (const b of cells[j][1])
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
          found.push(cells[i][0].textContent.trim().slice(0, 40) + " / " + cells[j][0].textContent.trim().slice(0, 40));
  }
  return found.slice(0, 5);
}
"""
# The page audit: axe-core's rules on names (WCAG 2.5.3 label in name, 4.1.2 names of links and buttons).
AXE_RULES = ["label-content-name-mismatch", "link-name", "button-name", "aria-valid-attr", "duplicate-id-aria"]


def axe_violations(page: Page) -> list[str]:
    """What axe-core finds wrong on the page with ``AXE_RULES`` (label-content-name-mismatch is experimental in
    axe, so it is switched on by name)."""
    assert AXE_SOURCE, "axe-playwright-python is not installed: run make test"
    page.evaluate(AXE_SOURCE)
    options = {
        "runOnly": {"type": "rule", "values": AXE_RULES},
        "rules": {"label-content-name-mismatch": {"enabled": True}},
    }
    found = page.evaluate("options => axe.run(document, options).then(r => r.violations)", options)
    return [f"{v['id']}: {node['html'][:120]}" for v in found for node in v["nodes"]]


@pytest.mark.browser
def test_the_page_audit_finds_a_name_that_does_not_contain_its_visible_text(page):
    """The audit can fail: the language menu as it used to be named ("Language: English" for "EN English")."""
    page.set_content(
        '<html lang="en"><body><main><details><summary aria-label="Language: English"><span>EN</span>'
        "<span> English</span></summary></details></main></body></html>"
    )
    assert [v.split(":")[0] for v in axe_violations(page)] == ["label-content-name-mismatch"]


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_the_header_job_pages_and_list_fit_in_every_language_with_nothing_cut_or_overlapping(
    open_page, sandbox, settings, width
):
    """The pages a ticket leads to, read in each language: no sideways scrolling, no word broken or cut
    off, the header on one line (two on a phone), nothing on top of anything, nothing axe-core objects to."""
    settings.PLEO_COMPANY_LABELS = {company: name for company, name in seed.COMPANIES}
    settings.PLEO_SANDBOX = True  # the header carries the "Sandbox" flag, as with make run
    for code in LANGUAGE_NAMES:
        page = open_page(viewport={"width": width, "height": 900}, locale=code)
        sign_in_by_form(page)
        for name, path in (
            ("job-failed", job_path(FAILED)),
            ("job-partly-exported", job_path(SAMPLE["completed_with_errors"])),
            ("attention", "/attention/"),
        ):
            page.goto(path)
            page.wait_for_load_state("load")
            expect(page.locator("html")).to_have_attribute("lang", code)
            screenshot(page, f"reading-{name}-{code}-{width}px")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name} in {code} is {scroll}px wide at {width}px"
            if width >= 1280:
                assert page.evaluate(HEADER_ON_ONE_LINE), f"the header of {name} in {code} wraps at {width}px"
            else:
                assert page.evaluate(HEADER_LINES) <= 2, f"the header of {name} in {code} takes more than two lines"
            assert page.evaluate(BROKEN_WORDS) == [], (name, code)
            assert page.evaluate(CUT_TEXT) == [], (name, code)
            assert page.evaluate(OVERLAPS) == [], (name, code)
            assert axe_violations(page) == [], (name, code)
        page.locator("header.site-header").screenshot(path=str(SCREENSHOTS / f"reading-header-{code}-{width}px.png"))
        page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("code", "same_day", "other_day"),
    [
        ("en", r"09:02", r"2 Nov 2026, 21:30"),
        ("da", r"09\.02", r"2\. nov\. 2026 21\.30"),  # Danish joins a day and a time without a comma
        ("fr", r"09:02", r"2 nov\. 2026, 21:30"),
    ],
)
def test_the_viewers_own_zone_follows_the_companys_on_the_same_line_in_the_pages_format(
    open_page, sandbox, settings, code, same_day, other_day
):
    settings.TIME_ZONE = "Europe/Copenhagen"
    page = open_page(locale=code, timezone_id="America/New_York", viewport={"width": 1280, "height": 900})
    sign_in_by_form(page)
    sandbox.state.put_job(
        job_payload(
            JOB, createdAt="2026-11-03T02:30:00Z", startedAt="2026-11-03T14:02:00Z", completedAt="2026-11-03T14:20:00Z"
        )
    )
    page.goto(job_path(JOB))
    steps = page.locator(".timeline time[data-local]")
    expect(steps.first.locator("xpath=following-sibling::span[1]")).to_have_class("local-zone")
    created, started = (steps.nth(index) for index in (0, 1))
    for stamp, pattern in ((created, other_day), (started, same_day)):
        viewer = stamp.locator("xpath=following-sibling::span[1]")
        text = viewer.inner_text().replace("\u202f", " ").replace("\u00a0", " ")
        assert re.fullmatch(rf" ?· {pattern} \S+", text), text  # the day only when it is another day there
        assert abs(stamp.bounding_box()["y"] - viewer.bounding_box()["y"]) < 2, "the viewer's zone is on the same line"
    assert "Your time" not in page.locator("body").inner_text()
    assert created.get_attribute("title").endswith("UTC")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_the_sandboxs_outbox_shows_a_whole_alert_without_sideways_scrolling(open_page, sandbox, settings, clock, width):
    settings.PLEO_SANDBOX = True
    settings.DESK_BASE_URL = "https://desk.example.com"
    rule_create(name="Sandbox outbox", channel="outbox:", states=["failed"])
    fails_between_polls(sandbox, clock)
    deliver_all(clock)
    assert AlertNotification.objects.get().status == "delivered"
    page = open_page(viewport={"width": width, "height": 900})
    sign_in(page)
    page.goto("/alerts/outbox/")
    expect(page.locator("pre.message")).to_contain_text("Next step:")
    screenshot(page, f"alerts-outbox-{width}px")
    width_shown = page.evaluate("document.documentElement.scrollWidth")
    assert width_shown <= width, f"the outbox is {width_shown}px wide on a {width}px screen"
