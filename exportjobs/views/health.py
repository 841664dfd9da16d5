"""``/healthz``: answered by ``HealthzMiddleware`` before any session is read; this view is the same answer
for a stack without that middleware (``exportjobs.health`` decides it). Never calls Pleo."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from .. import health


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return health.answer(head=request.method == "HEAD")
