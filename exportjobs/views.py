"""Short function views: parse the request, call the service, render a page.

Every ``PleoError`` becomes a page and an HTTP status in one place (``ERROR_STATUS`` and
``error_page``); its words come from ``wording.ERRORS`` by the error's code.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import sys
import time
import uuid
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template import loader
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone as dj_timezone
from django.utils import translation
from django.utils.html import format_html
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import clock, metrics, services, wording
from .access import desk_view
from .attention import Filters, ListResult, Recent, attention_get, attention_summary_cached
from .cache import local_get, local_put, page_budget
from .downloads import csv_download
from .forms import MAX_INPUT, AttentionForm, LookupForm, find_job_ids
from .models import AuditEvent
from .pleo import ExportJob, JobNotFound, JobStatus, OverBudget, PleoError, PleoRateLimited
from .presenters import (
    AttentionSection,
    attention_companies,
    attention_csv_rows,
    attention_freshness,
    attention_notices,
    attention_sections,
    bulk_row,
    entries_error_notice,
    items_context,
    job_page_context,
    local_text,
    page_entry_ids,
    recent_line,
    seen_change,
    with_details,
    zone_name,
)
from .services import JobResult
from .wording import status_wording

logger = logging.getLogger(__name__)

ENTRY_STATUSES = (JobStatus.FAILED, JobStatus.COMPLETED_WITH_ERRORS)

# The HTTP status of the page for each PleoError code; the page's words are wording.ERRORS[code].
ERROR_STATUS = {
    "not_found": 404,
    "auth": 502,
    "rate_limited": 503,
    "unavailable": 503,
    "busy": 503,
    "over_budget": 429,
    "timeout": 504,
    "bad_response": 502,
}
ERROR_KIND = {"not_found": "missing", "over_budget": "limit"}  # all others: the desk's connection to Pleo
NO_RETRY = {"not_found", "auth"}  # trying again cannot help: no "Try again" button
ASK_CONTACT = {"auth", "bad_response", "timeout", "over_budget"}  # pages that say whom to ask (DESK_CONTACT)
RETRY_AFTER = {"busy": "5"}  # seconds; other 503/504 pages say 30 (a 429 passes on Pleo's own)
FRESH_SINCE = "exportjobs:fresh-since"  # session key: after a refresh, no older copy of that job


class AuditUnavailable(Exception):
    """The audit row of a look could not be written: the look's data must not be shown."""


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, the browser GETs the page again."""

    status_code = 303


def error_page(request: HttpRequest, error: PleoError, *, job_id: uuid.UUID | None) -> HttpResponse:
    """The one mapping from a Pleo error to the page and status the user gets."""
    status = ERROR_STATUS.get(error.code, 502)
    if not isinstance(error, JobNotFound):
        logger.warning("%s: %s (%s)", f"Job {job_id}" if job_id else request.path, error.code, error.message)
    context = {
        "page": wording.error_wording(error.code),
        "status": status,
        "kind": ERROR_KIND.get(error.code, "connection"),
        "words": wording.ERROR_PAGE,
        "can_retry": error.code not in NO_RETRY,
        "ask": error.code in ASK_CONTACT,
        "retry": _retry_text(error),
        "error": error,
        "job_id": job_id,
        "form": LookupForm(initial={"job_id": str(job_id) if job_id else ""}),
        "detail": error.message if not isinstance(error, JobNotFound) else "",
    }
    request.desk_error_logged = True  # type: ignore[attr-defined] # logged above: Django's own line is dropped
    response = render(request, "exportjobs/error.html", context, status=status)
    if isinstance(error, (PleoRateLimited, OverBudget)):
        response["Retry-After"] = str(error.retry_after if error.retry_after is not None else 60)
    elif status in (503, 504):
        response["Retry-After"] = RETRY_AFTER.get(error.code, "30")
    return response


def _retry_text(error: PleoError) -> str:
    """When the user may try again, in words, for a limit of the desk's own."""
    if not isinstance(error, OverBudget) or error.retry_after is None:
        return ""
    when = clock.now() + timedelta(seconds=error.retry_after)
    return str(wording.TRY_AGAIN_AT) % {
        "time": local_text(when, with_date=False),
        "duration": wording.duration_words(error.retry_after),
    }


def audit_unavailable_page(request: HttpRequest, *, job_id: uuid.UUID | None) -> HttpResponse:
    """503: the look could not be recorded, so the job is not shown."""
    context = {
        "page": wording.AUDIT_UNAVAILABLE,
        "status": 503,
        "kind": "desk",
        "words": wording.ERROR_PAGE,
        "can_retry": True,
        "ask": True,
        "job_id": job_id,
        "form": LookupForm(initial={"job_id": str(job_id) if job_id else ""}),
    }
    request.desk_error_logged = True  # type: ignore[attr-defined] # _audit logged it: Django's own line is dropped
    response = render(request, "exportjobs/error.html", context, status=503)
    response["Retry-After"] = "30"
    return response


def _audit(
    request: HttpRequest,
    action: str,
    *,
    job_id: uuid.UUID | None = None,
    outcome: str,
    result: JobResult | None = None,
    error: PleoError | None = None,
) -> None:
    """Record a look. Raises ``AuditUnavailable`` when the row could not be written (it is then
    committed or not at all: the desk runs in autocommit), so the caller does not show the data."""
    user = request.user if request.user.is_authenticated else None
    job = result.job if result else None
    try:
        AuditEvent.objects.create(
            user=user,
            username=user.get_username() if user else "",
            action=action,
            job_id=job_id,
            outcome=outcome,
            source=result.source if result else "",
            job_status=_audit_text(job.status_value) if job else "",
            error_code=error.code if error else "",
            failure_type=_audit_text(job.failure_type_value or "") if job else "",
            job_created_at=job.created_at if job else None,
            job_entries=job.number_of_items if job and abs(job.number_of_items) < 2**63 else None,
        )
    except DatabaseError as exc:
        metrics.AUDIT_FAILURES.inc()
        logger.error("Could not write audit event for %s %s: %s: %s", action, job_id, type(exc).__name__, exc)
        raise AuditUnavailable from exc


def _audit_text(value: str) -> str:
    """Pleo's value as the audit row keeps it: PostgreSQL refuses NUL in text, so a value Pleo sent with
    one is recorded with a visible mark, and it is cut to the column's 64 characters."""
    return value.replace("\x00", "\ufffd")[:64]


def _audit_failure(request: HttpRequest, action: str, *, job_id: uuid.UUID | None, error: PleoError | None) -> None:
    """Record a look that showed no job data (an error page); if the row cannot be written, the page goes out."""
    outcome = AuditEvent.Outcome.INVALID if error is None else _outcome(error)
    with contextlib.suppress(AuditUnavailable):
        _audit(request, action, job_id=job_id, outcome=outcome, error=error)


def _audit_list(
    request: HttpRequest,
    action: str,
    *,
    filters: dict[str, Any],
    outcome: str,
    result: ListResult | None = None,
    error: PleoError | None = None,
    shown: int | None = None,
) -> None:
    """One audit row for a view (or refresh) of the needs-attention list; ``AuditUnavailable`` when it
    cannot be written (the list is then not shown)."""
    user = request.user if request.user.is_authenticated else None
    try:
        AuditEvent.objects.create(
            user=user,
            username=user.get_username() if user else "",
            action=action,
            outcome=outcome,
            source=result.source if result else "",
            error_code=error.code if error else "",
            filters=filters,
            job_count=shown,
        )
    except DatabaseError as exc:
        metrics.AUDIT_FAILURES.inc()
        logger.error("Could not write audit event for %s: %s: %s", action, type(exc).__name__, exc)
        raise AuditUnavailable from exc


def _outcome(error: PleoError) -> str:
    return AuditEvent.Outcome.NOT_FOUND if isinstance(error, JobNotFound) else AuditEvent.Outcome.ERROR


def _samples() -> list[tuple[str, list[tuple[str, str]]]]:
    """The sandbox's sample jobs by group, from ``SANDBOX_SAMPLES`` (only in sandbox mode)."""
    if not settings.PLEO_SANDBOX or not settings.SANDBOX_SAMPLES:
        return []
    provider = import_string(settings.SANDBOX_SAMPLES)
    samples: list[tuple[str, list[tuple[str, str]]]] = provider()
    # The sandbox marks its titles with gettext_noop; they are translated here, in the reader's language.
    return [
        (translation.gettext(group), [(translation.gettext(title), job_id) for title, job_id in jobs])
        for group, jobs in samples
    ]


# --- pages -------------------------------------------------------------------------


@require_GET
@desk_view
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "form": LookupForm(),
        "sample_groups": _samples(),
        "recent": _recent(request),
        "attention_line": _attention_line(),
    }
    return render(request, "exportjobs/home.html", context)


def _attention_line() -> str:
    """The line about the list for the default filters, when it is cached; "" otherwise. Never calls Pleo."""
    summary = attention_summary_cached()
    if summary is None:
        return ""
    return wording.attention_home_line(
        failed=summary.failed, partly=summary.partly, stuck=summary.stuck, period=summary.period
    )


def _recent(request: HttpRequest, limit: int = 10) -> list[dict[str, Any]]:
    """The user's last ``limit`` distinct jobs seen, newest first, as they were then: status, what happened
    (failure type or entries) and when the job was created, so that rows can be told apart."""
    seen: dict[uuid.UUID, dict[str, Any]] = {}
    now = clock.now()
    if request.user.pk is None:
        return []
    events = (
        AuditEvent.objects.filter(
            user_id=request.user.pk, action__in=("view", "refresh"), outcome=AuditEvent.Outcome.FOUND
        )
        .order_by("-created_at", "-id")
        .values("job_id", "job_status", "failure_type", "job_created_at", "job_entries", "created_at")[:50]
    )
    for event in events:
        if event["job_id"] is not None and event["job_id"] not in seen:
            seen[event["job_id"]] = recent_line(event, now)
        if len(seen) == limit:
            break
    return list(seen.values())


@require_GET
@desk_view
def lookup(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.GET)
    if form.is_valid():
        job_id = form.cleaned_data["job_id"]
        with contextlib.suppress(AuditUnavailable):  # a redirect shows no job data
            _audit(request, AuditEvent.Action.LOOKUP, job_id=job_id, outcome=AuditEvent.Outcome.FOUND)
        return redirect("job_detail", job_id=str(job_id))
    _audit_failure(request, AuditEvent.Action.LOOKUP, job_id=None, error=None)
    found = form.found_ids
    context = {
        "form": form,
        "sample_groups": _samples(),
        "found_ids": found,
        "bulk_query": urlencode({"ids": " ".join(str(i) for i in found)}) if len(found) > 1 else "",
        "recent": _recent(request),
    }
    return render(request, "exportjobs/home.html", context, status=400)


@require_http_methods(["GET", "POST"])
@never_cache
@desk_view
def bulk(request: HttpRequest) -> HttpResponse:
    """Many jobs at once: every distinct id in a pasted ticket or list, up to ``BULK_LIMIT``.

    The form POSTs (a whole ticket does not fit in a URL); ``GET /bulk/?ids=…`` is for links.
    """
    data = request.POST if request.method == "POST" else request.GET
    text = data.get("ids", "")[:MAX_INPUT]
    ids = find_job_ids(text)
    until = time.monotonic() + page_budget()
    rows = services.jobs_get_many(job_ids=ids) if ids else []
    companies = [row.result.job.company_id for row in rows if row.result is not None]
    names = services.company_names_get(company_ids=companies, deadline=until) if companies else {}
    for row in rows:
        if row.result is not None:
            outcome = AuditEvent.Outcome.FOUND
            try:
                _audit(request, AuditEvent.Action.VIEW, job_id=row.job_id, outcome=outcome, result=row.result)
            except AuditUnavailable:
                return audit_unavailable_page(request, job_id=None)
        elif row.error is not None:
            _audit_failure(request, AuditEvent.Action.VIEW, job_id=row.job_id, error=row.error)
    over = next((row.error for row in rows if isinstance(row.error, OverBudget)), None)
    context = {
        "text": text,
        "rows": [bulk_row(row, names) for row in rows],
        "found": len(ids),
        "limit": services.BULK_LIMIT,
        "searched": "ids" in data,
        "no_id_error": wording.LOOKUP_ERRORS["no_id"],
        "over_budget": str(wording.BULK_OVER_BUDGET) % {"retry": _retry_text(over)} if over else "",
    }
    status = 400 if context["searched"] and not ids else 429 if over else 200
    return render(request, "exportjobs/bulk.html", context, status=status)


POLL_ROW_EVERY = timedelta(minutes=10)  # an open page's auto-refresh: one "poll" row per user and job this often
POLL_SEEN_WITHIN = timedelta(hours=1)  # a poll of a job the user has not looked at this recently is a view


def _is_poll(request: HttpRequest) -> bool:
    """The page's own auto-refresh (desk.js), not a person opening the job."""
    return request.headers.get("X-Requested-With") == "fetch"


def _audit_look(request: HttpRequest, job_id: uuid.UUID, result: JobResult) -> None:
    """Record a look at a job's data (raises ``AuditUnavailable``).

    A person opening the page is a view. The page's own auto-refresh is recorded more cheaply: nothing
    while this user's last row for the job is under 10 minutes old, else one "poll" row; but a poll of
    a job the user has not looked at within the hour is a view, and recorded as one.
    """
    action = AuditEvent.Action.VIEW
    if _is_poll(request) and request.user.pk is not None:
        now = clock.now()
        last = (
            AuditEvent.objects.filter(
                user_id=request.user.pk,
                job_id=job_id,
                outcome=AuditEvent.Outcome.FOUND,
                action__in=(AuditEvent.Action.VIEW, AuditEvent.Action.REFRESH, AuditEvent.Action.POLL),
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if last is not None and now - last < POLL_ROW_EVERY:
            return
        if last is not None and now - last < POLL_SEEN_WITHIN:
            action = AuditEvent.Action.POLL
    _audit(request, action, job_id=job_id, outcome=AuditEvent.Outcome.FOUND, result=result)


def _parse_job_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@require_GET
@never_cache
@desk_view
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    parsed = _parse_job_id(job_id)
    if parsed is None:
        context = {
            "form": LookupForm(data={"job_id": job_id}),
            "sample_groups": _samples(),
            "bad_link": wording.BAD_LINK,
        }
        return render(request, "exportjobs/home.html", context, status=404)
    if job_id != str(parsed):
        query = request.GET.urlencode()
        return redirect(reverse("job_detail", args=[str(parsed)]) + (f"?{query}" if query else ""))
    try:
        result = services.job_get(job_id=parsed, fresh_since=_fresh_since(request, parsed))
    except PleoError as error:
        _audit_failure(request, AuditEvent.Action.VIEW, job_id=parsed, error=error)
        return error_page(request, error, job_id=parsed)
    try:
        _audit_look(request, parsed, result)
    except AuditUnavailable:
        return audit_unavailable_page(request, job_id=parsed)
    context = {
        "job": result.job,
        "status": status_wording(result.job.status, result.job.failure_reason_type),
        "article": _job_article(request, result),
    }
    return render(request, "exportjobs/job_detail.html", context)


ARTICLE_SECONDS = 10  # how long a worker reuses the rendered job (relative times move in 30 s steps)
CSRF_SLOT = "<!--desk-csrf-->"  # where each request's own CSRF field goes into a reused article


def _job_article(request: HttpRequest, result: JobResult) -> SafeString:
    """The job's part of the page, rendered once per answer and reused for a few seconds.

    Everything in it depends only on the answer, the address and the query (never on who looks):
    many people opening one job from a ticket cost one render. Each response gets its own CSRF field.
    """
    parts = (
        str(result.job.id),
        str(int(result.fetched_at.timestamp())),
        result.source,
        result.error.code if result.error else "",
        request.get_host(),
        request.scheme or "",
        *_page_query(request),
        dj_timezone.get_current_timezone_name(),
        translation.get_language() or "",
        str(int(clock.time() // ARTICLE_SECONDS)),
    )
    key = "exportjobs:article:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    article = local_get(key)
    if not isinstance(article, str):
        job = result.job
        names = services.company_names_later(company_ids=[job.company_id])  # asked while the entries are
        until = time.monotonic() + page_budget()
        entries = _entries(request, job)
        try:
            company_names, named_in_time = names.result(timeout=max(0.0, until - time.monotonic())), True
        except FutureTimeout:
            company_names, named_in_time = {}, False
        context = job_page_context(request, result, company_names=company_names)
        context["seen_change"] = seen_change(job, request.GET.get("seen"), request.GET.get("at"))
        context.update(entries)
        context["csrf_input"] = mark_safe(CSRF_SLOT)  # noqa: S308 - a fixed marker, replaced below
        article = loader.render_to_string("exportjobs/_job_article.html", context)
        # A page still missing what Pleo was asked is not reused: the next view shows what has arrived.
        if named_in_time and entries.get("entries", {}).get("details_complete", True):
            local_put(key, article, ARTICLE_SECONDS)
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


ENTRY_TYPE = re.compile(r"[a-z0-9_]{1,64}\Z")  # a failure type in ``?type=``: Pleo's values are snake_case


def _entries_query(request: HttpRequest) -> tuple[str, int]:
    """The failure type to list (``?type=``) and the page (``?page=``, from 1) of the failed entries."""
    failure_type = request.GET.get("type") or ""
    if not ENTRY_TYPE.match(failure_type):
        failure_type = ""
    try:
        page = max(1, min(int(request.GET.get("page") or 1), 1000))
    except ValueError:
        page = 1
    return failure_type, page


def _page_query(request: HttpRequest) -> tuple[str, ...]:
    """What of the query changes the job's part of the page (so reused renders are keyed by it)."""
    failure_type, page = _entries_query(request)
    return (
        (request.GET.get("seen") or "")[:64],
        (request.GET.get("at") or "")[:40],
        "entries" if request.GET.get("entries") == "1" else "",
        failure_type,
        str(page),
    )


def _entries(request: HttpRequest, job: ExportJob) -> dict[str, Any]:
    """The entries panel: always for failed or partly exported jobs, on request for others."""
    wanted = job.status in ENTRY_STATUSES or request.GET.get("entries") == "1"
    if not wanted:
        return {"entries_offered": job.number_of_items > 0}
    started = time.monotonic()
    try:
        summary = services.job_items_get(job=job)
    except PleoError as error:
        logger.warning("Entries of job %s: %s (%s)", job.id, error.code, error.message)
        return {"entries_error": entries_error_notice(error)}
    failure_type, page = _entries_query(request)
    entries = items_context(summary, job=job, failure_type=failure_type, page=page)
    entry_ids = page_entry_ids(entries)
    if entry_ids:  # what each listed entry is, within what is left of the entries' time
        details = services.entry_details_get(entry_ids=entry_ids, deadline=started + page_budget())
        entries = with_details(entries, details)
    return {"entries": entries}


@require_http_methods(["GET", "POST"])
@desk_view
def job_refresh(request: HttpRequest, job_id: str) -> HttpResponseBase:
    parsed = _parse_job_id(job_id)
    if parsed is None or job_id != str(parsed):
        return redirect("home")
    if request.method == "GET":  # e.g. the sign-in page sending an expired session's Refresh back here
        return redirect("job_detail", job_id=str(parsed))
    try:
        result = services.job_get(job_id=parsed, refresh=True)
    except OverBudget as error:
        _audit_failure(request, AuditEvent.Action.REFRESH, job_id=parsed, error=error)
        return error_page(request, error, job_id=parsed)
    except PleoError as error:
        _audit_failure(request, AuditEvent.Action.REFRESH, job_id=parsed, error=error)
        if not isinstance(error, JobNotFound):
            title = wording.error_wording(error.code).title
            messages.warning(request, str(wording.REFRESH_FAILED) % {"title": title})
    else:
        with contextlib.suppress(AuditUnavailable):  # the redirect shows nothing; the page it leads to audits
            _audit(request, AuditEvent.Action.REFRESH, job_id=parsed, outcome=AuditEvent.Outcome.FOUND, result=result)
        if result.source == "stale":
            messages.warning(request, str(wording.REFRESH_STALE))
        else:
            marks = request.session.get(FRESH_SINCE)
            marks = marks if isinstance(marks, dict) else {}
            marks[str(parsed)] = result.fetched_at.timestamp()
            request.session[FRESH_SINCE] = dict(list(marks.items())[-20:])
    return HttpResponseSeeOther(reverse("job_detail", args=[str(parsed)]))


@require_GET
@never_cache
@desk_view
def attention(request: HttpRequest) -> HttpResponseBase:
    """Needs attention: failed, partly exported and active jobs across companies; ``format=csv`` downloads it."""
    form = AttentionForm(request.GET)
    if not form.is_valid():
        # What was asked, kept short and without NUL characters (PostgreSQL's JSON refuses them).
        raw = {
            key: [value.replace("\x00", "\ufffd")[:60] for value in request.GET.getlist(key)[:10]]
            for key in ("period", "status", "company", "format")
        }
        with contextlib.suppress(AuditUnavailable):  # the form's errors show no job
            _audit_list(
                request, AuditEvent.Action.ATTENTION, filters={"invalid": raw}, outcome=AuditEvent.Outcome.INVALID
            )
        context = _attention_context(request, form=form, filters=Filters())
        return render(request, "exportjobs/attention.html", context, status=400)
    filters = form.filters()
    until = time.monotonic() + page_budget()
    as_csv = form.cleaned_data["format"] == "csv"
    audit = {**filters.for_audit(), "format": "csv" if as_csv else "html"}
    try:
        result = attention_get(filters=filters)
    except PleoError as error:
        with contextlib.suppress(AuditUnavailable):  # an error page shows no job
            _audit_list(request, AuditEvent.Action.ATTENTION, filters=audit, outcome=_outcome(error), error=error)
        return error_page(request, error, job_id=None)
    now = clock.now()
    if as_csv:
        names = services.company_names_get(company_ids={job.company_id for job in result.jobs.jobs}, deadline=until)
        sections = attention_sections(result.jobs.jobs, filters, now=now, company_names=names)
        shown = sum(len(section.rows) for section in sections if section.shown)
        try:
            _audit_attention(request, filters=audit, result=result, shown=shown)
        except AuditUnavailable:
            return audit_unavailable_page(request, job_id=None)
        return _attention_csv(request, filters, result, sections)
    names = services.company_names_get(company_ids={job.company_id for job in result.jobs.jobs}, deadline=until)
    layout = _attention_layout(result, filters, now, names)
    try:
        _audit_attention(request, filters=audit, result=result, shown=layout.shown)
    except AuditUnavailable:
        return audit_unavailable_page(request, job_id=None)
    context = _attention_context(request, form=form, filters=filters, result=result)
    context.update(sections_html=layout.sections_html, shown=layout.shown, companies=layout.companies)
    return render(request, "exportjobs/attention.html", context)


def _audit_attention(request: HttpRequest, *, filters: dict[str, Any], result: ListResult, shown: int) -> None:
    """Record a view of the list. Its own auto-refresh (every 60 s) is recorded like a job page's: nothing
    while this user's last view of the list is under 10 minutes old, else a new row."""
    if _is_poll(request) and request.user.pk is not None:
        last = (
            AuditEvent.objects.filter(
                user_id=request.user.pk, action=AuditEvent.Action.ATTENTION, outcome=AuditEvent.Outcome.FOUND
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if last is not None and clock.now() - last < POLL_ROW_EVERY:
            return
    outcome = AuditEvent.Outcome.FOUND
    _audit_list(request, AuditEvent.Action.ATTENTION, filters=filters, outcome=outcome, result=result, shown=shown)


@dataclass(frozen=True)
class _Layout:
    sections_html: str
    shown: int  # jobs the sections show
    companies: list[tuple[str, str]]  # the company filter's choices


LAYOUT_STEP = 10  # seconds a laid-out list is reused for (its relative times move on by then)
_LAID_OUT: Recent[tuple[object, ...], _Layout] = Recent(16)


def _attention_layout(result: ListResult, filters: Filters, now: datetime, names: dict[str, str]) -> _Layout:
    """The list's sections as HTML, how many jobs they show, and the company choices.

    Laying out 500 rows costs far more than serving the rest of the page, and every viewer of one answer
    sees the same rows: a worker lays out each answer once per ``LAYOUT_STEP`` (per time zone, language and
    company names) and reuses it. Nothing in the layout depends on the viewer.
    """
    labels = tuple(sorted({**names, **settings.PLEO_COMPANY_LABELS}.items()))
    language = translation.get_language()
    key = (result.jobs.walk, filters.ident, int(now.timestamp()) // LAYOUT_STEP, zone_name(), language, labels)

    def lay_out() -> _Layout:
        sections = attention_sections(result.jobs.jobs, filters, now=now, company_names=names)
        html = render_to_string(
            "exportjobs/_attention_sections.html", {"sections": sections, "words": wording.ATTENTION}
        )
        return _Layout(
            sections_html=html,
            shown=sum(len(section.rows) for section in sections if section.shown),
            companies=attention_companies(result.jobs.jobs, filters.company, names),
        )

    return _LAID_OUT.get_or_make(key, lay_out)


def _attention_context(
    request: HttpRequest, *, form: AttentionForm, filters: Filters, result: ListResult | None = None
) -> dict[str, Any]:
    now = clock.now()
    return {
        "form": form,
        "filters": filters,
        "result": result,
        "sections_html": "",
        "shown": 0,
        "notices": attention_notices(result) if result else [],
        "freshness": attention_freshness(result, now) if result else None,
        "companies": attention_companies((), filters.company),
        "selected_company": str(filters.company or ""),
        "statuses": list(filters.statuses),
        "csv_query": urlencode([*filters.query(), ("format", "csv")]),
        "words": wording.ATTENTION,
        "stale_more": wording.ATTENTION_STALE_MORE,
    }


def _attention_csv(
    request: HttpRequest, filters: Filters, result: ListResult, sections: list[AttentionSection]
) -> HttpResponseBase:
    stamp = result.fetched_at.strftime("%Y%m%d-%H%M%S")
    company = f"-{str(filters.company)[:8]}" if filters.company else ""
    return csv_download(
        filename=f"needs-attention-{filters.period}{company}-{stamp}.csv",
        header=[str(title) for title in wording.ATTENTION_CSV_HEADER],
        rows=attention_csv_rows(sections, request.build_absolute_uri("/")[:-1]),
    )


@require_http_methods(["GET", "POST"])
@desk_view
def attention_refresh(request: HttpRequest) -> HttpResponseBase:
    """The Refresh button: ask Pleo again for these filters, then back to the list (303)."""
    if request.method == "GET":
        return redirect("attention")
    form = AttentionForm(request.POST)
    if not form.is_valid():
        return HttpResponseSeeOther(reverse("attention"))
    filters = form.filters()
    back = HttpResponseSeeOther(f"{reverse('attention')}?{urlencode(filters.query())}")
    action = AuditEvent.Action.ATTENTION_REFRESH
    try:
        result = attention_get(filters=filters, refresh=True)
    except PleoError as error:
        with contextlib.suppress(AuditUnavailable):
            _audit_list(request, action, filters=filters.for_audit(), outcome=_outcome(error), error=error)
        title = wording.error_wording(error.code).title
        messages.warning(request, str(wording.REFRESH_FAILED) % {"title": title})
        return back
    with contextlib.suppress(AuditUnavailable):  # the redirect shows nothing; the list it leads to audits
        _audit_list(request, action, filters=filters.for_audit(), outcome=AuditEvent.Outcome.FOUND, result=result)
    if result.source == "stale":
        messages.warning(request, str(wording.REFRESH_STALE))
    return back


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: the process serves and its database answers. Never calls Pleo."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "time": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")})


# --- error handlers ------------------------------------------------------------------


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", {"form": LookupForm()}, status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", {}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """Our own 500 page: its reference is the request id, logged with the failure.

    It renders from the template alone, without the request's context (no user, session, messages
    or cache), so it works when the database or the cache is what failed. The traceback goes to the
    log once (a failure repeated on every request is written once a minute, with a count).
    """
    reference = getattr(request, "request_id", None) or uuid.uuid4().hex[:16]
    logger.error(
        "Unhandled error, reference %s, %s %s", reference, request.method, request.path, exc_info=sys.exc_info()
    )
    request.desk_error_logged = True  # type: ignore[attr-defined] # Django's own record of it is then dropped
    context = {"reference": reference, "sandbox": settings.PLEO_SANDBOX, "TIME_ZONE_NAME": settings.TIME_ZONE}
    try:
        page = loader.render_to_string("500.html", context)
    except Exception:  # the error page itself must never fail
        logger.exception("The 500 page failed to render (reference %s)", reference)
        return HttpResponse(f"{wording.SERVER_ERROR_PLAIN} {reference}", status=500, content_type="text/plain")
    response = HttpResponse(page, status=500)
    response["Cache-Control"] = "private, no-store"
    return response
