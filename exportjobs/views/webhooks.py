"""``POST /webhooks/pleo/``: Pleo's signed events. No sign-in and no CSRF token (the signature is the proof);
404 while ``PLEO_WEBHOOK_SECRET`` is unset."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..alerts.webhook import WebhookRefused, webhook_accept

logger = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


@csrf_exempt
@require_POST
def pleo_webhook(request: HttpRequest) -> HttpResponse:
    if not settings.PLEO_WEBHOOK_SECRET:
        raise Http404
    if len(request.body) > MAX_BODY:
        logger.warning("Pleo webhook refused (413): the body is too large")
        return HttpResponse(status=413)
    try:
        webhook_accept(body=request.body, headers=request.headers)
    except WebhookRefused as refused:
        logger.warning("Pleo webhook refused (%d): %s", refused.status, refused.reason)
        return HttpResponse(status=refused.status)
    return HttpResponse(status=204)
