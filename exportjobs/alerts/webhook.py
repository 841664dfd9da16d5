"""Pleo's webhook: ``v1.export-job.created`` makes the poll watch the new job from that moment on.

Verified with the Standard Webhooks signature (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
and ``PLEO_WEBHOOK_SECRET``, by the ``standardwebhooks`` library, which also refuses a timestamp more than
five minutes away (a replay). Anything unverified is refused before its body is read as JSON.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping

from django.conf import settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ..models import JobWatch

logger = logging.getLogger(__name__)
CREATED = "v1.export-job.created"


class WebhookRefused(Exception):
    """Not accepted; ``status`` is the answer's (400: malformed, 401: not signed by Pleo)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def webhook_accept(*, body: bytes, headers: Mapping[str, str]) -> uuid.UUID | None:
    """The job a verified ``export-job.created`` event names, now watched; None for another event type.
    ``WebhookRefused`` when the event is not signed with the secret, too old, or malformed."""
    wanted = {name: headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    if not all(wanted.values()):
        raise WebhookRefused(401, "not signed")
    try:
        Webhook(settings.PLEO_WEBHOOK_SECRET).verify(body, wanted)
    except WebhookVerificationError as error:
        raise WebhookRefused(401, str(error)) from None
    try:
        event = json.loads(body)
        kind = event["type"]
        data = event.get("data") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise WebhookRefused(400, "not an event") from None
    if kind != CREATED:
        return None
    try:
        job_id = uuid.UUID(str(data.get("id") or data.get("exportJobId") or ""))
    except (ValueError, AttributeError):
        raise WebhookRefused(400, "no export job id") from None
    JobWatch.objects.get_or_create(job_id=job_id, user=None, defaults={"source": "webhook"})
    return job_id
