"""Many jobs at once: every distinct job id in a pasted ticket or list, up to ``BULK_LIMIT``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .. import audit, clock, wording
from ..access import desk_view
from ..audit import AuditUnavailable
from ..budgets import OverBudget
from ..forms import MAX_INPUT, find_job_ids
from ..models import AuditEvent
from ..presenters.bulk import bulk_row
from ..services.answers import deadline_for_page
from ..services.companies import company_names_get
from ..services.entries import entries_known_many
from ..services.jobs import BULK_LIMIT, jobs_get_many
from ..verdict import verdict_of
from .common import asked_here, audit_unavailable_page, retry_text


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@desk_view
def bulk(request: HttpRequest) -> HttpResponse:
    """The form POSTs (a whole ticket does not fit in a URL); ``GET /bulk/?ids=…`` is for links."""
    data = request.POST if request.method == "POST" else request.GET
    text = data.get("ids", "")[:MAX_INPUT]
    ids = find_job_ids(text)
    if ids and request.method != "POST" and not asked_here(request):
        # A link from anywhere else (or from a browser that does not say where it comes from) only fills in
        # the form: fifty made-up ids in a link would otherwise spend the budget of whoever follows it.
        context = {"text": text, "found": len(ids), "limit": BULK_LIMIT, "from_link": True, "rows": []}
        return render(request, "exportjobs/bulk.html", context)
    until = deadline_for_page()
    rows = jobs_get_many(job_ids=ids) if ids else []
    jobs = [row.result.value for row in rows if row.result is not None]
    names = company_names_get(company_ids=[job.company_id for job in jobs], deadline=until) if jobs else {}
    now = clock.now()
    for row in rows:
        if row.result is not None:
            try:
                audit.record(
                    request,
                    AuditEvent.Action.VIEW,
                    job_id=row.job_id,
                    outcome=AuditEvent.Outcome.FOUND,
                    job=row.result.value,
                    verdict=verdict_of(row.result.value, now=now),
                    source=row.result.source,
                )
            except AuditUnavailable:
                return audit_unavailable_page(request, job_id=None)
        elif row.error is not None:
            audit.record_failure(request, AuditEvent.Action.VIEW, job_id=row.job_id, error=row.error)
    over = next((row.error for row in rows if isinstance(row.error, OverBudget)), None)
    known = entries_known_many(jobs)
    context = {
        "text": text,
        "rows": [bulk_row(row, now=now, company_names=names, known=known) for row in rows],
        "found": len(ids),
        "limit": BULK_LIMIT,
        "searched": "ids" in data,
        "no_id_error": wording.LOOKUP_ERRORS["no_id"],
        "over_budget": str(wording.BULK_OVER_BUDGET) % {"retry": retry_text(over)} if over else "",
    }
    status = 400 if context["searched"] and not ids else 429 if over else 200
    return render(request, "exportjobs/bulk.html", context, status=status)
