"""Needs attention: failed, cancelled, partly exported and active jobs across companies, as a page or a CSV."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from .. import audit, clock, policy, wording
from ..access import desk_view
from ..audit import POLL_ROW_EVERY, AuditUnavailable
from ..downloads import csv_download, separator_for
from ..forms import AttentionForm
from ..lru import LRU
from ..models import AuditEvent
from ..pleo import AccountingEntry
from ..policy import NO_ANSWER
from ..presenters.attention import (
    AttentionSection,
    attention_companies,
    attention_csv_header,
    attention_csv_rows,
    attention_freshness,
    attention_notices,
    attention_sections,
)
from ..presenters.times import zone_name
from ..services.answers import deadline_for_page
from ..services.attention import Filters, ListResult, attention_get
from ..services.companies import company_names_get
from ..services.entries import entries_known_many, entry_details_held
from ..verdict import EntriesKnown
from .common import HttpResponseSeeOther, audit_unavailable_page, error_page, is_poll


@require_safe
@never_cache
@desk_view
def attention(request: HttpRequest) -> HttpResponseBase:
    """Needs attention across jobs and companies; ``format=csv`` downloads it."""
    form = AttentionForm(request.GET)
    if not form.is_valid():
        # Which filters were wrong and how (the form's error codes), never the values themselves: they are
        # whatever a link said, and the audit export is opened in a spreadsheet.
        wrong = {
            field: sorted({each.code or "invalid" for each in errors})
            for field, errors in form.errors.as_data().items()
        }
        audit.record_failure(request, AuditEvent.Action.ATTENTION, error=None, filters={"invalid": wrong})
        context = _attention_context(form=form, filters=Filters())
        return render(request, "exportjobs/attention.html", context, status=400)
    filters = form.filters()
    until = deadline_for_page()
    as_csv = form.cleaned_data["format"] == "csv"
    audited = {**filters.for_audit(), "format": "csv" if as_csv else "html"}
    try:
        result = attention_get(filters=filters)
    except NO_ANSWER as error:
        audit.record_failure(request, AuditEvent.Action.ATTENTION, error=error, filters=audited)
        return error_page(request, error, job_id=None)
    now = clock.now()
    jobs = result.value.jobs
    names = company_names_get(company_ids={job.company_id for job in jobs}, deadline=until)
    if as_csv:
        known = entries_known_many(jobs)
        sections = attention_sections(jobs, filters, now=now, company_names=names, known=known, held=_held(known))
        shown = sum(len(section.rows) for section in sections if section.shown)
        try:
            _audit_attention(request, filters=audited, result=result, shown=shown, poll_rule=False)
        except AuditUnavailable:
            return audit_unavailable_page(request, job_id=None)
        return _attention_csv(request, filters, result, sections)
    layout = _attention_layout(result, filters, now, names)
    try:
        _audit_attention(request, filters=audited, result=result, shown=layout.shown, poll_rule=True)
    except AuditUnavailable:
        return audit_unavailable_page(request, job_id=None)
    context = _attention_context(form=form, filters=filters, result=result)
    context.update(sections_html=layout.sections_html, shown=layout.shown, companies=layout.companies)
    return render(request, "exportjobs/attention.html", context)


def _audit_attention(
    request: HttpRequest, *, filters: dict[str, Any], result: ListResult, shown: int, poll_rule: bool
) -> None:
    """Record a view of the list. Its own auto-refresh (every 60 s) is recorded like a job page's: nothing
    while this user's last view of the same list (the same filters, the same format) is under 10 minutes
    old, else a new row. A download is always recorded (``poll_rule`` False)."""
    if poll_rule and is_poll(request) and request.user.pk is not None:
        last = audit.last_look(request.user.pk, actions=(AuditEvent.Action.ATTENTION,), filters=filters)
        if last is not None and clock.now() - last < POLL_ROW_EVERY:
            return
    audit.record(
        request,
        AuditEvent.Action.ATTENTION,
        outcome=AuditEvent.Outcome.FOUND,
        source=result.source,
        filters=filters,
        shown=shown,
    )


HELD_MAX = 5000  # failed entries whose details one list reads from the cache at most (one round trip)


def _held(known: dict[uuid.UUID, EntriesKnown]) -> dict[str, AccountingEntry | None]:
    """The details the desk holds of the listed jobs' failed entries, from the cache only (never Pleo): each
    row's money not booked."""
    ids = [item.accounting_entry_id for entries in known.values() for item in entries.failed]
    return entry_details_held(entry_ids=ids[:HELD_MAX])


@dataclass(frozen=True)
class _Layout:
    sections_html: str
    shown: int  # jobs the sections show
    companies: list[tuple[str, str]]  # the company filter's choices


LAYOUT_STEP = 10  # seconds a laid-out list is reused for (its relative times move on by then)
_LAID_OUT: LRU[tuple[object, ...], _Layout] = LRU(16)


def _attention_layout(result: ListResult, filters: Filters, now: datetime, names: dict[str, str]) -> _Layout:
    """The list's sections as HTML, how many jobs they show, and the company choices.

    Laying out 500 rows costs far more than serving the rest of the page, and every viewer of one answer
    sees the same rows: a worker lays out each answer once per ``LAYOUT_STEP`` (per time zone, language and
    company names) and reuses it. Nothing in the layout depends on the viewer. The verdict of each row reads
    the failed entries the desk holds for it then (from the cache, never Pleo).
    """
    labels = tuple(sorted({**names, **settings.PLEO_COMPANY_LABELS}.items()))
    language = translation.get_language()
    jobs = result.value.jobs
    key = (result.value.walk, filters.ident, int(now.timestamp()) // LAYOUT_STEP, zone_name(), language, labels)

    def lay_out() -> _Layout:
        known = entries_known_many(jobs)
        sections = attention_sections(jobs, filters, now=now, company_names=names, known=known, held=_held(known))
        html = render_to_string(
            "exportjobs/_attention_sections.html", {"sections": sections, "words": wording.ATTENTION}
        )
        return _Layout(
            sections_html=html,
            shown=sum(len(section.rows) for section in sections if section.shown),
            companies=attention_companies(jobs, filters.company, names),
        )

    return _LAID_OUT.get_or_make(key, lay_out)


def _attention_context(*, form: AttentionForm, filters: Filters, result: ListResult | None = None) -> dict[str, Any]:
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
        header=attention_csv_header(),
        rows=attention_csv_rows(sections, request.build_absolute_uri("/")[:-1]),
        separator=separator_for(request),
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
    except NO_ANSWER as error:
        audit.record_failure(request, action, error=error, filters=filters.for_audit())
        messages.warning(request, str(wording.REFRESH_FAILED) % {"title": policy.policy_of(error).words.title})
        return back
    with contextlib.suppress(AuditUnavailable):  # the redirect shows nothing; the list it leads to audits
        audit.record(
            request, action, outcome=AuditEvent.Outcome.FOUND, source=result.source, filters=filters.for_audit()
        )
    if result.source == "stale":
        messages.warning(request, str(wording.REFRESH_STALE))
    return back
