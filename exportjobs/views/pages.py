"""The home page (the lookup form, the user's recent jobs, one line about the list) and the lookup."""

from __future__ import annotations

import contextlib
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from .. import audit, clock, wording
from ..access import desk_view
from ..audit import AuditUnavailable
from ..forms import LookupForm
from ..models import AuditEvent
from ..services.attention import attention_summary_cached
from .common import samples


@require_safe
@desk_view
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "form": LookupForm(),
        "sample_groups": samples(),
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
        failed=summary.failed,
        cancelled=summary.cancelled,
        partly=summary.partly,
        stuck=summary.stuck,
        period=summary.period,
    )


def _recent(request: HttpRequest) -> list[dict[str, object]]:
    if request.user.pk is None:
        return []
    return audit.recent_jobs(request.user.pk, now=clock.now())


@require_safe
@desk_view
def lookup(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.GET)
    if form.is_valid():
        job_id = form.cleaned_data["job_id"]
        with contextlib.suppress(AuditUnavailable):  # a redirect shows no job data
            audit.record(request, AuditEvent.Action.LOOKUP, job_id=job_id, outcome=AuditEvent.Outcome.FOUND)
        return redirect("job_detail", job_id=str(job_id))
    audit.record_failure(request, AuditEvent.Action.LOOKUP, error=None)
    found = form.found_ids
    context = {
        "form": form,
        "sample_groups": samples(),
        "found_ids": found,
        "bulk_query": urlencode({"ids": " ".join(str(i) for i in found)}) if len(found) > 1 else "",
        "recent": _recent(request),
    }
    return render(request, "exportjobs/home.html", context, status=400)
