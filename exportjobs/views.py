"""Short function views: parse the request, call the service, render a page.

Every ``PleoError`` becomes a page and an HTTP status in one place (``ERROR_STATUS`` and
``error_page``); its words come from ``wording.ERRORS`` by the error's code.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import services, wording
from .access import desk_view
from .attention import Filters, ListResult, Recent, attention_get, attention_summary_cached
from .downloads import csv_download
from .forms import MAX_INPUT, AttentionForm, LookupForm, find_job_ids
from .models import AuditEvent
from .pleo import ExportJob, JobNotFound, JobStatus, PleoError, PleoRateLimited
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
    recent_wording,
    relative_text,
    seen_change,
    zone_name,
)
from .services import JobResult

logger = logging.getLogger(__name__)

ENTRY_STATUSES = (JobStatus.FAILED, JobStatus.COMPLETED_WITH_ERRORS)

# The HTTP status of the page for each PleoError code; the page's words are wording.ERRORS[code].
ERROR_STATUS = {
    "not_found": 404,
    "auth": 502,
    "rate_limited": 503,
    "unavailable": 503,
    "timeout": 504,
    "bad_response": 502,
}


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, the browser GETs the page again."""

    status_code = 303


def error_page(request: HttpRequest, error: PleoError, *, job_id: uuid.UUID | None) -> HttpResponse:
    """The one mapping from a Pleo error to the page and status the user gets."""
    status = ERROR_STATUS.get(error.code, 502)
    if not isinstance(error, JobNotFound):
        logger.warning("Job %s: %s (%s)", job_id, error.code, error.message)
    context = {
        "page": wording.error_wording(error.code),
        "status": status,
        "error": error,
        "job_id": job_id,
        "form": LookupForm(initial={"job_id": str(job_id) if job_id else ""}),
        "detail": error.message if not isinstance(error, JobNotFound) else "",
    }
    response = render(request, "exportjobs/error.html", context, status=status)
    if isinstance(error, PleoRateLimited):
        response["Retry-After"] = str(error.retry_after if error.retry_after is not None else 60)
    elif status in (503, 504):
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
    user = request.user if request.user.is_authenticated else None
    try:
        AuditEvent.objects.create(
            user=user,
            username=user.get_username() if user else "",
            action=action,
            job_id=job_id,
            outcome=outcome,
            source=result.source if result else "",
            job_status=result.job.status_value[:64] if result else "",
            error_code=error.code if error else "",
        )
    except DatabaseError:
        logger.exception("Could not write audit event for %s %s", action, job_id)


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
    """One audit row for a view (or refresh) of the needs-attention list."""
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
    except DatabaseError:
        logger.exception("Could not write audit event for %s", action)


def _outcome(error: PleoError) -> str:
    return AuditEvent.Outcome.NOT_FOUND if isinstance(error, JobNotFound) else AuditEvent.Outcome.ERROR


def _samples() -> list[tuple[str, list[tuple[str, str]]]]:
    """The sandbox's sample jobs by group, from ``SANDBOX_SAMPLES`` (only in sandbox mode)."""
    if not settings.PLEO_SANDBOX or not settings.SANDBOX_SAMPLES:
        return []
    provider = import_string(settings.SANDBOX_SAMPLES)
    samples: list[tuple[str, list[tuple[str, str]]]] = provider()
    return samples


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
    """The user's last ``limit`` distinct jobs seen, newest first, with the status they had then."""
    seen: dict[uuid.UUID, dict[str, Any]] = {}
    now = datetime.now(timezone.utc)
    if request.user.pk is None:
        return []
    events = (
        AuditEvent.objects.filter(
            user_id=request.user.pk, action__in=("view", "refresh"), outcome=AuditEvent.Outcome.FOUND
        )
        .order_by("-created_at", "-id")
        .values("job_id", "job_status", "created_at")[:50]
    )
    for event in events:
        if event["job_id"] is not None and event["job_id"] not in seen:
            seen[event["job_id"]] = {
                **event,
                "wording": recent_wording(event["job_status"]),
                "seen": relative_text(event["created_at"], now),
            }
        if len(seen) == limit:
            break
    return list(seen.values())


@require_GET
@desk_view
def lookup(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.GET)
    if form.is_valid():
        job_id = form.cleaned_data["job_id"]
        _audit(request, AuditEvent.Action.LOOKUP, job_id=job_id, outcome=AuditEvent.Outcome.FOUND)
        return redirect("job_detail", job_id=str(job_id))
    _audit(request, AuditEvent.Action.LOOKUP, outcome=AuditEvent.Outcome.INVALID)
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
    rows = services.jobs_get_many(job_ids=ids) if ids else []
    for row in rows:
        if row.result is not None:
            outcome = AuditEvent.Outcome.FOUND
            _audit(request, AuditEvent.Action.VIEW, job_id=row.job_id, outcome=outcome, result=row.result)
        elif row.error is not None:
            _audit(request, AuditEvent.Action.VIEW, job_id=row.job_id, outcome=_outcome(row.error), error=row.error)
    context = {
        "text": text,
        "rows": [bulk_row(row) for row in rows],
        "found": len(ids),
        "limit": services.BULK_LIMIT,
        "searched": "ids" in data,
        "no_id_error": wording.LOOKUP_ERRORS["no_id"],
    }
    status = 400 if context["searched"] and not ids else 200
    return render(request, "exportjobs/bulk.html", context, status=status)


def _is_poll(request: HttpRequest) -> bool:
    """The page's own auto-refresh (desk.js), not a person opening the job: not audited."""
    return request.headers.get("X-Requested-With") == "fetch"


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
        result = services.job_get(job_id=parsed)
    except PleoError as error:
        _audit(request, AuditEvent.Action.VIEW, job_id=parsed, outcome=_outcome(error), error=error)
        return error_page(request, error, job_id=parsed)
    if not _is_poll(request):
        _audit(request, AuditEvent.Action.VIEW, job_id=parsed, outcome=AuditEvent.Outcome.FOUND, result=result)
    context = job_page_context(request, result)
    context["seen_change"] = seen_change(result.job, request.GET.get("seen"), request.GET.get("at"))
    context.update(_entries(request, result.job))
    return render(request, "exportjobs/job_detail.html", context)


CURSOR = re.compile(r"^[A-Z2-7=~]{1,200}$")


def _entries(request: HttpRequest, job: ExportJob) -> dict[str, Any]:
    """The failed entries panel: always for failed or partly exported jobs, on request for others."""
    wanted = job.status in ENTRY_STATUSES or request.GET.get("entries") == "1"
    if not wanted:
        return {"entries_offered": job.number_of_items > 0}
    after = request.GET.get("after") or None
    if after is not None and not CURSOR.match(after):
        after = None
    try:
        summary = services.job_items_get(job=job, after=after)
    except PleoError as error:
        logger.warning("Entries of job %s: %s (%s)", job.id, error.code, error.message)
        return {"entries_error": entries_error_notice(error)}
    return {"entries": items_context(summary), "entries_after": after or ""}


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
    except PleoError as error:
        _audit(request, AuditEvent.Action.REFRESH, job_id=parsed, outcome=_outcome(error), error=error)
        if not isinstance(error, JobNotFound):
            title = wording.error_wording(error.code).title
            messages.warning(request, str(wording.REFRESH_FAILED) % {"title": title})
    else:
        _audit(request, AuditEvent.Action.REFRESH, job_id=parsed, outcome=AuditEvent.Outcome.FOUND, result=result)
        if result.source == "stale":
            messages.warning(request, str(wording.REFRESH_STALE))
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
        _audit_list(request, AuditEvent.Action.ATTENTION, filters={"invalid": raw}, outcome=AuditEvent.Outcome.INVALID)
        context = _attention_context(request, form=form, filters=Filters())
        return render(request, "exportjobs/attention.html", context, status=400)
    filters = form.filters()
    as_csv = form.cleaned_data["format"] == "csv"
    audit = {**filters.for_audit(), "format": "csv" if as_csv else "html"}
    try:
        result = attention_get(filters=filters)
    except PleoError as error:
        _audit_list(request, AuditEvent.Action.ATTENTION, filters=audit, outcome=_outcome(error), error=error)
        return error_page(request, error, job_id=None)
    now = datetime.now(timezone.utc)
    if as_csv:
        sections = attention_sections(result.jobs.jobs, filters, now=now)
        shown = sum(len(section.rows) for section in sections if section.shown)
        _audit_attention(request, filters=audit, result=result, shown=shown)
        return _attention_csv(request, filters, result, sections)
    layout = _attention_layout(result, filters, now)
    if not _is_poll(request):
        _audit_attention(request, filters=audit, result=result, shown=layout.shown)
    context = _attention_context(request, form=form, filters=filters, result=result)
    context.update(sections_html=layout.sections_html, shown=layout.shown, companies=layout.companies)
    return render(request, "exportjobs/attention.html", context)


def _audit_attention(request: HttpRequest, *, filters: dict[str, Any], result: ListResult, shown: int) -> None:
    outcome = AuditEvent.Outcome.FOUND
    _audit_list(request, AuditEvent.Action.ATTENTION, filters=filters, outcome=outcome, result=result, shown=shown)


@dataclass(frozen=True)
class _Layout:
    sections_html: str
    shown: int  # jobs the sections show
    companies: list[tuple[str, str]]  # the company filter's choices


LAYOUT_STEP = 10  # seconds a laid-out list is reused for (its relative times move on by then)
_LAID_OUT: Recent[tuple[object, ...], _Layout] = Recent(16)


def _attention_layout(result: ListResult, filters: Filters, now: datetime) -> _Layout:
    """The list's sections as HTML, how many jobs they show, and the company choices.

    Laying out 500 rows costs far more than serving the rest of the page, and every viewer of one answer
    sees the same rows: a worker lays out each answer once per ``LAYOUT_STEP`` (per time zone and company
    names) and reuses it. Nothing in the layout depends on the viewer.
    """
    labels = tuple(sorted(settings.PLEO_COMPANY_LABELS.items()))
    key = (result.jobs.walk, filters.ident, int(now.timestamp()) // LAYOUT_STEP, zone_name(), labels)

    def lay_out() -> _Layout:
        sections = attention_sections(result.jobs.jobs, filters, now=now)
        html = render_to_string(
            "exportjobs/_attention_sections.html", {"sections": sections, "words": wording.ATTENTION}
        )
        return _Layout(
            sections_html=html,
            shown=sum(len(section.rows) for section in sections if section.shown),
            companies=attention_companies(result.jobs.jobs, filters.company),
        )

    return _LAID_OUT.get_or_make(key, lay_out)


def _attention_context(
    request: HttpRequest, *, form: AttentionForm, filters: Filters, result: ListResult | None = None
) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
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
        _audit_list(request, action, filters=filters.for_audit(), outcome=_outcome(error), error=error)
        title = wording.error_wording(error.code).title
        messages.warning(request, str(wording.REFRESH_FAILED) % {"title": title})
        return back
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
    return JsonResponse({"status": "ok", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})


# --- error handlers ------------------------------------------------------------------


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", {"form": LookupForm()}, status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", {}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    reference = getattr(request, "error_reference", None) or uuid.uuid4().hex[:12]
    logger.error("Unhandled error, reference %s, path %s", reference, request.path)
    try:
        return render(request, "500.html", {"reference": reference}, status=500)
    except Exception:  # the error page itself must never fail
        logger.exception("The 500 page failed to render (reference %s)", reference)
        return HttpResponse(
            f"Something went wrong on our side. Reference: {reference}", status=500, content_type="text/plain"
        )
