"""One job: its page (``job_detail``), with its entries and their details, and its Refresh button."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import time
import uuid
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone as dj_timezone
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from .. import audit, clock, policy, wording
from ..access import desk_view
from ..audit import POLL_ROW_EVERY, POLL_SEEN_WITHIN, AuditUnavailable
from ..budgets import FromAnotherSite, LinkAllowance, OverBudget
from ..budgets import from_another_site as link_allowance
from ..forms import LookupForm
from ..lru import LRU
from ..models import AuditEvent, JobWatch
from ..pleo import ExportJob, NotFound
from ..policy import NO_ANSWER
from ..presenters.entries import entries_error_notice, items_context, not_booked, page_entry_ids, with_details
from ..presenters.job import job_page_context, seen_change, seen_moment, seen_status
from ..presenters.times import iso_utc
from ..presenters.verdicts import badge
from ..services.answers import deadline_for_page, page_budget
from ..services.companies import company_names_later
from ..services.entries import WITH_ENTRIES, entries_known_for, entry_details_get, entry_details_held, job_items_get
from ..services.jobs import JobResult, job_get
from ..verdict import EntriesKnown, Verdict, verdict_of
from .common import HttpResponseSeeOther, audit_unavailable_page, error_page, from_another_site, is_poll, samples

logger = logging.getLogger(__name__)

FRESH_SINCE = "exportjobs:fresh-since"  # session key: after a refresh, no older copy of that job
ARTICLE_SECONDS = 10  # how long a worker reuses the rendered job (relative times move in 30 s steps)
ARTICLE_BYTES = 32 * 1024 * 1024  # the rendered jobs a worker keeps, at most, in bytes
CSRF_SLOT = "<!--desk-csrf-->"  # where each request's own CSRF field goes into a reused article
ENTRY_TYPE = re.compile(r"[a-z0-9_]{1,64}\Z")  # a failure type in ``?type=``: Pleo's values are snake_case

_ARTICLES: LRU[str, str] = LRU(1000, max_bytes=ARTICLE_BYTES)


def _parse_job_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _audit_look(request: HttpRequest, job_id: uuid.UUID, result: JobResult, verdict: Verdict) -> None:
    """Record a look at a job's data (raises ``AuditUnavailable``).

    A person opening the page is a view. The page's own auto-refresh is recorded more cheaply: nothing
    while this user's last row for the job is under 10 minutes old, else one "poll" row; but a poll of
    a job the user has not looked at within the hour is a view, and recorded as one.
    """
    action = AuditEvent.Action.VIEW
    if is_poll(request) and request.user.pk is not None:
        last = audit.last_look(
            request.user.pk,
            job_id=job_id,
            actions=(AuditEvent.Action.VIEW, AuditEvent.Action.REFRESH, AuditEvent.Action.POLL),
        )
        now = clock.now()
        if last is not None and now - last < POLL_ROW_EVERY:
            return
        if last is not None and now - last < POLL_SEEN_WITHIN:
            action = AuditEvent.Action.POLL
    audit.record(
        request,
        action,
        job_id=job_id,
        outcome=AuditEvent.Outcome.FOUND,
        job=result.value,
        verdict=verdict,
        source=result.source,
    )


@require_safe
@never_cache
@desk_view
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    parsed = _parse_job_id(job_id)
    if parsed is None:
        context = {
            "form": LookupForm(data={"job_id": job_id}),
            "sample_groups": samples(),
            "bad_link": wording.BAD_LINK,
        }
        return render(request, "exportjobs/home.html", context, status=404)
    if job_id != str(parsed):
        query = request.GET.urlencode()
        return redirect(reverse("job_detail", args=[str(parsed)]) + (f"?{query}" if query else ""))
    # A ticket's link must open the job, but a link anyone can put on any site must not spend the budget
    # of whoever follows it: from another site, the desk asks Pleo for the job only (one call), and
    # the page offers to ask for the rest.
    with link_allowance() if from_another_site(request) else contextlib.nullcontext() as link:
        try:
            result = job_get(job_id=parsed, fresh_since=_fresh_since(request, parsed))
        except NO_ANSWER as error:
            audit.record_failure(request, AuditEvent.Action.VIEW, job_id=parsed, error=error)
            return error_page(request, error, job_id=parsed)
        try:
            _audit_look(request, parsed, result, verdict_of(result.value, now=clock.now()))
        except AuditUnavailable:
            return audit_unavailable_page(request, job_id=parsed)
        article, verdict = _job_article(request, result, link)
    context = {
        "job": result.value,
        "status": badge(verdict, result.value),
        "article": article,
        "watchable": verdict.is_active,
        "watching": verdict.is_active
        and JobWatch.objects.filter(job_id=parsed, user=request.user.pk or 0, done_at=None).exists(),
    }
    return render(request, "exportjobs/job_detail.html", context)


def _job_article(request: HttpRequest, result: JobResult, link: LinkAllowance | None) -> tuple[SafeString, Verdict]:
    """The job's part of the page, rendered once per answer and reused for a few seconds, with its verdict.

    Everything in it depends only on the answer, the address and the (normalised) query, never on who looks:
    many people opening one job from a ticket cost one render. Each response gets its own CSRF field.
    """
    seen, at = seen_status(request.GET.get("seen")), seen_moment(request.GET.get("at"))
    parts = (
        str(result.value.id),
        str(int(result.fetched_at.timestamp())),
        result.source,
        policy.code_of(result.error) if result.error else "",
        request.get_host(),
        request.scheme or "",
        seen,
        iso_utc(at) if at is not None and seen else "",
        *_entries_query(request),
        dj_timezone.get_current_timezone_name(),
        translation.get_language() or "",
        str(int(clock.time() // ARTICLE_SECONDS)),
    )
    key = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    cached = _ARTICLES.get(key)
    if cached is not None:
        state = cached[: cached.index("\x1f")]
        verdict = verdict_of(result.value, now=clock.now())
        if verdict.state.value == state:
            return _with_csrf(request, cached[len(state) + 1 :]), verdict
    job = result.value
    names = company_names_later(company_ids=[job.company_id])  # asked while the entries are
    until = time.monotonic() + page_budget()
    entries, known = _entries(request, job)
    try:
        company_names, named_in_time = names.result(timeout=max(0.0, until - time.monotonic())), True
    except FutureTimeout:
        company_names, named_in_time = {}, False
    verdict = verdict_of(job, now=clock.now(), entries=known)
    context = job_page_context(request, result, verdict, company_names=company_names, entries=entries.get("entries"))
    context["seen_change"] = seen_change(job, seen, request.GET.get("at") if seen else None)
    context.update(entries)
    not_asked = link is not None and link.refused
    context["ask_the_rest"] = request.get_full_path() if not_asked else ""  # the same page, asked from here
    context["csrf_input"] = mark_safe(CSRF_SLOT)  # noqa: S308 - a fixed marker, replaced below
    article = loader.render_to_string("exportjobs/_job_article.html", context)
    # A page still missing what Pleo was asked (or was not asked) is not reused: the next view shows more.
    if named_in_time and not not_asked and entries.get("entries", {}).get("details_complete", True):
        _ARTICLES.put(key, f"{verdict.state.value}\x1f{article}", ARTICLE_SECONDS)
    return _with_csrf(request, article), verdict


def _with_csrf(request: HttpRequest, article: str) -> SafeString:
    field = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
    page: SafeString = mark_safe(article.replace(CSRF_SLOT, field, 1))  # noqa: S308 - escaped when rendered
    return page


def _fresh_since(request: HttpRequest, job_id: uuid.UUID) -> float | None:
    """After a refresh of this job: the time of that refresh (no older copy may be shown), once."""
    marks = request.session.get(FRESH_SINCE)
    if not isinstance(marks, dict) or str(job_id) not in marks:
        return None
    since = marks.pop(str(job_id))
    request.session[FRESH_SINCE] = marks
    return float(since) if isinstance(since, (int, float)) else None


def _entries_query(request: HttpRequest) -> tuple[str, str, str]:
    """Whether the entries were asked for (``?entries=1``), the failure type to list (``?type=``) and the
    page (``?page=``, from 1) of the failed entries, normalised."""
    failure_type = request.GET.get("type") or ""
    if not ENTRY_TYPE.match(failure_type):
        failure_type = ""
    try:
        page = max(1, min(int(request.GET.get("page") or 1), 1000))
    except ValueError:
        page = 1
    return ("entries" if request.GET.get("entries") == "1" else ""), failure_type, str(page)


def _entries(request: HttpRequest, job: ExportJob) -> tuple[dict[str, Any], EntriesKnown | None]:
    """The entries panel (always for failed or partly exported jobs, on request for others) and what the
    verdict needs of the failed entries."""
    wanted = job.status in WITH_ENTRIES or request.GET.get("entries") == "1"
    if not wanted:
        return {"entries_offered": job.number_of_items > 0}, None
    deadline = deadline_for_page()
    try:
        summary = job_items_get(job=job)
    except FromAnotherSite:
        return {"entries_not_asked": True}, None
    except NO_ANSWER as error:
        logger.warning("Entries of job %s: %s (%s)", job.id, policy.code_of(error), getattr(error, "message", ""))
        return {"entries_error": entries_error_notice(error)}, None
    _wanted, failure_type, page = _entries_query(request)
    entries = items_context(summary, job=job, failure_type=failure_type, page=int(page))
    entry_ids = page_entry_ids(entries)
    if entry_ids:  # what each listed entry is, within what is left of the entries' time
        details = entry_details_get(entry_ids=entry_ids, deadline=deadline, job_id=job.id)
        entries = with_details(entries, details)
    known = entries_known_for(job, summary)
    held = entry_details_held(entry_ids=[item.accounting_entry_id for item in summary.failed])
    gone = known.gone if known is not None else frozenset()
    entries["not_booked"] = not_booked(summary.failed, held, gone=gone, more=summary.more)
    return {"entries": entries}, known


@require_http_methods(["GET", "POST"])
@desk_view
def job_refresh(request: HttpRequest, job_id: str) -> HttpResponseBase:
    parsed = _parse_job_id(job_id)
    if parsed is None or job_id != str(parsed):
        return redirect("home")
    if request.method == "GET":  # e.g. the sign-in page sending an expired session's Refresh back here
        return redirect("job_detail", job_id=str(parsed))
    try:
        result = job_get(job_id=parsed, refresh=True)
    except OverBudget as error:
        audit.record_failure(request, AuditEvent.Action.REFRESH, job_id=parsed, error=error)
        return error_page(request, error, job_id=parsed)
    except NO_ANSWER as error:
        audit.record_failure(request, AuditEvent.Action.REFRESH, job_id=parsed, error=error)
        if not isinstance(error, NotFound):
            messages.warning(request, str(wording.REFRESH_FAILED) % {"title": policy.policy_of(error).words.title})
    else:
        try:
            verdict = verdict_of(result.value, now=clock.now())
            audit.record(
                request,
                AuditEvent.Action.REFRESH,
                job_id=parsed,
                outcome=AuditEvent.Outcome.FOUND,
                job=result.value,
                verdict=verdict,
                source=result.source,
            )
        except AuditUnavailable:
            pass  # the redirect shows nothing; the page it leads to audits
        if result.source == "stale":
            messages.warning(request, str(wording.REFRESH_STALE))
        else:
            marks = request.session.get(FRESH_SINCE)
            marks = marks if isinstance(marks, dict) else {}
            marks[str(parsed)] = result.fetched_at.timestamp()
            request.session[FRESH_SINCE] = dict(list(marks.items())[-20:])
    return HttpResponseSeeOther(reverse("job_detail", args=[str(parsed)]))
