"""A job's failed entries as a file (``/jobs/<id>/entries.csv``): every failed entry the desk holds, with what
each one is, audited like a look at the job and counted against the user's budget like the job page."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .. import audit, clock, wording
from ..access import desk_view
from ..audit import AuditUnavailable
from ..downloads import csv_download, separator_for
from ..models import AuditEvent
from ..policy import NO_ANSWER
from ..presenters.entries import entries_csv_rows
from ..services.answers import deadline_for_page
from ..services.entries import FAILED_LIST_MAX, entries_known_for, entry_details_get, job_items_get
from ..services.jobs import job_get
from ..verdict import verdict_of
from .common import audit_unavailable_page, error_page

DOWNLOAD = {"download": "failed_entries_csv"}  # how the audit row tells this file from a look at the page


@require_safe
@never_cache
@desk_view
def job_entries_csv(request: HttpRequest, job_id: str) -> HttpResponseBase:
    """Every failed entry of the job the desk holds (up to ``FAILED_LIST_MAX``), each with what went wrong, who
    acts and what the entry is. The details cost the user's budget what the page's cost (one call per 10
    entries asked for, none when cached); entries Pleo does not describe in time are listed without them."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        raise Http404("No such export job ID") from None
    if job_id != str(parsed):
        return redirect(reverse("job_entries_csv", args=[str(parsed)]))
    action = AuditEvent.Action.VIEW
    try:
        result = job_get(job_id=parsed)
        summary = job_items_get(job=result.value)
    except NO_ANSWER as error:
        audit.record_failure(request, action, job_id=parsed, error=error, filters=DOWNLOAD)
        return error_page(request, error, job_id=parsed)
    job = result.value
    verdict = verdict_of(job, now=clock.now(), entries=entries_known_for(job, summary))
    try:
        audit.record(
            request,
            action,
            job_id=parsed,
            outcome=AuditEvent.Outcome.FOUND,
            job=job,
            verdict=verdict,
            source=result.source,
            filters=DOWNLOAD,
        )
    except AuditUnavailable:
        return audit_unavailable_page(request, job_id=parsed)
    ids = [item.accounting_entry_id for item in summary.failed]
    details = entry_details_get(entry_ids=ids, deadline=deadline_for_page(), job_id=job.id, limit=FAILED_LIST_MAX)
    stamp = (summary.fetched_at or clock.now()).strftime("%Y%m%d-%H%M%S")
    return csv_download(
        filename=f"failed-entries-{str(parsed)[:8]}-{stamp}.csv",
        header=[str(title) for title in wording.ENTRIES_CSV_HEADER],
        rows=entries_csv_rows(summary, details),
        separator=separator_for(request),
    )
