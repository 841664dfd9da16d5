"""Gives every unexpected error a reference id, logged with its traceback and shown on the 500 page."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import PersistentRemoteUserMiddleware
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("exportjobs.errors")


class ErrorReferenceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        reference = uuid.uuid4().hex[:12]
        request.error_reference = reference  # type: ignore[attr-defined] # read back by views.server_error
        logger.error(
            "Unhandled error, reference %s, %s %s", reference, request.method, request.path, exc_info=exception
        )
        return None  # Django goes on to handler500, which shows the reference


class ProxyRemoteUserMiddleware(PersistentRemoteUserMiddleware):
    """Single sign-on: trusts the header named by ``AUTH_REMOTE_USER_HEADER``, set by an SSO proxy.

    Persistent: the Django session outlives requests that lack the header (e.g. static files).
    Safe only when every request reaches the dashboard through that proxy, which must strip the
    header from what clients send.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        # django-stubs calls ``header`` a ClassVar; Django itself reads it from the instance.
        self.header = "HTTP_" + settings.AUTH_REMOTE_USER_HEADER.upper().replace("-", "_")  # type: ignore[misc]


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for brute-force counting: the proxies' X-Forwarded-For entry, else REMOTE_ADDR."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            return str(hops[-count])
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None
