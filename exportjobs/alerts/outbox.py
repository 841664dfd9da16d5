"""Delivering the outbox: each notification to its channel, with retries and backoff, every attempt recorded.

A worker takes a notification by moving its lease (``leased_until``) forward in one conditional update, so
two workers never deliver the same one at once. A worker killed mid-delivery leaves the lease to run out
(``ALERT_DELIVERY_LEASE_SECONDS``); then any worker takes it again. A receiver may see a message twice in
that case, always with the same id (``webhook-id``), so it can drop the repeat.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from .. import clock
from ..metrics import ALERT_DELIVERIES
from ..models import AlertDelivery, AlertNotification
from .channels import DeliveryFailed, Message, mask, send
from .messages import render

logger = logging.getLogger(__name__)
BACKOFF = (1, 4, 10, 20, 30)  # × ALERT_RETRY_SECONDS after each failed attempt: six attempts in about an hour
BATCH = 50  # notifications one sweep delivers at most

Later = Callable[[str, datetime], None]  # asks a worker to try a notification again at a time


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    step = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return timedelta(seconds=step * float(settings.ALERT_RETRY_SECONDS))


def notification_take(*, notification_id: uuid.UUID | str, now: datetime) -> AlertNotification | None:
    """The notification, leased to this worker, when it is due and nobody else holds it; else None."""
    lease = now + timedelta(seconds=float(settings.ALERT_DELIVERY_LEASE_SECONDS))
    taken = AlertNotification.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now),
        pk=notification_id,
        status=AlertNotification.Status.PENDING,
        next_attempt_at__lte=now,
    ).update(leased_until=lease)
    return AlertNotification.objects.select_related("rule", "watch").get(pk=notification_id) if taken else None


def message_of(notification: AlertNotification) -> Message:
    return render(
        kind=notification.kind,
        jobs=notification.jobs,
        seen_at=notification.seen_at,
        language=notification.language,
        rule_name=notification.rule.name if notification.rule is not None else "",
    )


def channel_of(notification: AlertNotification) -> str:
    if notification.rule is not None:
        return notification.rule.channel
    return f"mailto:{notification.recipient}"


def notification_deliver(*, notification_id: uuid.UUID | str, later: Later) -> bool:
    """One attempt at one notification (when due and not held by another worker); True when delivered."""
    notification = notification_take(notification_id=notification_id, now=clock.now())
    if notification is None:
        return False
    channel = channel_of(notification)
    try:
        send(channel=channel, message=message_of(notification), notification_id=str(notification.id))
    except DeliveryFailed as failure:
        _failed(notification, failure.message, channel, later)
        return False
    now = clock.now()
    AlertDelivery.objects.create(notification=notification, ok=True)
    AlertNotification.objects.filter(pk=notification.pk).update(
        status=AlertNotification.Status.DELIVERED, delivered_at=now, attempts=notification.attempts + 1,
        leased_until=None,
    )  # fmt: skip
    ALERT_DELIVERIES.labels(outcome="delivered").inc()
    return True


def _failed(notification: AlertNotification, error: str, channel: str, later: Later) -> None:
    attempts = notification.attempts + 1
    AlertDelivery.objects.create(notification=notification, ok=False, error=error)
    if attempts >= int(settings.ALERT_DELIVERY_ATTEMPTS):
        AlertNotification.objects.filter(pk=notification.pk).update(
            status=AlertNotification.Status.FAILED, attempts=attempts, leased_until=None
        )
        ALERT_DELIVERIES.labels(outcome="failed").inc()
        logger.warning("An alert to %s was given up after %d attempts: %s", mask(channel), attempts, error)
        return
    due = clock.now() + retry_delay(attempts)
    AlertNotification.objects.filter(pk=notification.pk).update(
        attempts=attempts, next_attempt_at=due, leased_until=None
    )
    ALERT_DELIVERIES.labels(outcome="retrying").inc()
    logger.info("An alert to %s failed (attempt %d), tried again at %s: %s", mask(channel), attempts, due, error)
    later(str(notification.id), due)


def notifications_deliver_due(*, later: Later, limit: int = BATCH) -> int:
    """Deliver what is due and held by nobody (new, to be retried, or left by a worker that died)."""
    now = clock.now()
    due = (
        AlertNotification.objects.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lt=now),
            status=AlertNotification.Status.PENDING,
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(notification_deliver(notification_id=pk, later=later) for pk in list(due))
