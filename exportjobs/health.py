"""``/healthz``: whether this process can serve, for load balancers and the operator.

The database decides (no page can be audited without it): 503 while it does not answer. The shared
cache is reported too, but an outage of it alone still answers 200: the desk serves without it (each
worker from its own memory and from Pleo). Pleo is never asked, so a Pleo outage takes no host out of
rotation. Answered by ``HealthzMiddleware``, before any session, user or language is read.
"""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

from . import cache, clock


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "unavailable"
    return "ok"


def cache_state() -> str:
    """``ok`` or ``unavailable``, through the cache engine's breaker: while it is open the shared cache is
    not asked again (a hung Redis costs one socket timeout, once, not one per health check)."""
    if cache.breaker_open():
        return "unavailable"
    cache.cache_get(f"{cache.NAMESPACE}:healthz")  # a failure opens the breaker
    return "unavailable" if cache.breaker_open() else "ok"


def answer(*, head: bool = False) -> HttpResponse:
    """``{"status": "ok"|"error", "database": "ok"|"unavailable", "cache": "ok"|"unavailable", "time": …}``."""
    database = database_state()
    body = {
        "status": "ok" if database == "ok" else "error",
        "database": database,
        "cache": cache_state(),
        "time": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    status = 200 if database == "ok" else 503
    response: HttpResponse = JsonResponse(body, status=status)
    if head:  # the same status and headers, no body
        response = HttpResponse(status=status, content_type=response["Content-Type"])
    add_never_cache_headers(response)
    return response
