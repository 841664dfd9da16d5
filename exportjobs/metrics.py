"""What operators watch, in Prometheus' format at ``/metrics`` (prometheus-client; Django's own request
metrics come from django-prometheus).

Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` (set by ``make run``) makes every
worker write its numbers to files there, so one scrape sees all workers.
"""

from __future__ import annotations

import ipaddress
import os
import secrets

import prometheus_client
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import Counter, Gauge, Histogram, multiprocess

from . import clock
from .addresses import client_ip

PLEO_CALLS = Counter(
    "desk_pleo_calls_total",
    "Calls to Pleo's API by endpoint and outcome (ok or an error code).",
    ["endpoint", "outcome"],
)
PLEO_SECONDS = Histogram(
    "desk_pleo_call_seconds",
    "How long each call to Pleo took, retries included.",
    ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20),
)
CACHE_LOOKUPS = Counter(
    "desk_cache_lookups_total",
    "Answers looked up in the cache: hit_local (this worker's memory), hit_shared (CACHE_URL), miss, stale.",
    ["kind", "result"],
)
CACHE_ERRORS = Counter("desk_cache_errors_total", "Cache calls that failed (the cache was down or hung).")
CACHE_SKIPPED = Counter("desk_cache_skipped_total", "Cache calls skipped at once because the breaker was open.")
BREAKER_PROBES = Counter(
    "desk_cache_breaker_probes_total",
    "Tries of the shared cache by the breaker's own thread while it is open, by outcome (failed or ok).",
    ["outcome"],
)
BREAKER_OPEN = Gauge(
    "desk_cache_breaker_open",
    "1 while this worker skips the shared cache after a failure.",
    multiprocess_mode="max",
)
FLIGHT_WAITS = Counter(
    "desk_singleflight_waits_total",
    "Requests that waited for another request's call to Pleo instead of calling (scope: process or shared).",
    ["scope"],
)
FLIGHT_WAIT_SECONDS = Histogram(
    "desk_singleflight_wait_seconds",
    "How long single-flight waiters waited.",
    ["scope"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
BULKHEAD_REJECTIONS = Counter(
    "desk_bulkhead_rejections_total", "Requests turned away because too many threads were already waiting on Pleo."
)
BULKHEAD_WAITS = Counter(
    "desk_bulkhead_waits_total",
    "Times a request waited for a place among the threads waiting on Pleo (every place taken, Pleo not slow).",
)
BULKHEAD_IN_USE = Gauge("desk_bulkhead_in_use", "Threads waiting on Pleo right now.", multiprocess_mode="livesum")
BULKHEAD_MOST_IN_USE = Gauge(
    "desk_bulkhead_most_in_use",
    "The most threads of one worker that waited on Pleo at once since it started (at most PLEO_BULKHEAD).",
    multiprocess_mode="max",
)
AUDIT_FAILURES = Counter(
    "desk_audit_write_failures_total", "Audit rows that could not be written (the look was then not shown)."
)


def record_pleo_call(endpoint: str, outcome: str, seconds: float) -> None:
    """One call to Pleo (the Pleo client's ``after_call``): its outcome is ``ok`` or the error's code."""
    PLEO_CALLS.labels(endpoint=endpoint, outcome=outcome).inc()
    PLEO_SECONDS.labels(endpoint=endpoint).observe(seconds)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and secrets.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    address = client_ip(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``/metrics`` for Prometheus: from ``METRICS_ALLOWED_IPS`` or with ``METRICS_TOKEN``; others get a 404."""
    if not _allowed(request):
        raise Http404
    _read_outbox()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call] # untyped in prometheus-client
    else:
        registry = prometheus_client.REGISTRY
    response = HttpResponse(
        prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST
    )
    response["Cache-Control"] = "no-store"
    return response


ALERT_POLLS = Counter("desk_alert_polls_total", "Polls of Pleo for alerts, by outcome (ok or failed).", ["outcome"])
ALERT_DELIVERIES = Counter(
    "desk_alert_deliveries_total",
    "Attempts to deliver an alert, by outcome (delivered, retrying, failed: given up).",
    ["outcome"],
)
ALERT_OUTBOX_AGE = Gauge(
    "desk_alert_outbox_age_seconds",
    "Age of the oldest alert waiting to be delivered (0: none waits), read at the scrape.",
    multiprocess_mode="mostrecent",
)
ALERT_OUTBOX_SIZE = Gauge(
    "desk_alert_outbox_pending", "Alerts waiting to be delivered, read at the scrape.", multiprocess_mode="mostrecent"
)


def _read_outbox() -> None:
    """The alerts' outbox as it is now: how many wait to be delivered, and how long the oldest has."""
    notification = apps.get_model("exportjobs", "AlertNotification")
    now = clock.now()
    try:
        due = notification.objects.filter(status="pending", next_attempt_at__lte=now).aggregate(
            oldest=Min("created_at"), count=Count("id")
        )
    except DatabaseError:  # the database is down: /metrics still answers
        return
    oldest = due["oldest"]
    ALERT_OUTBOX_AGE.set((now - oldest).total_seconds() if oldest is not None else 0)
    ALERT_OUTBOX_SIZE.set(due["count"] or 0)
