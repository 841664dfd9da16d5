"""Request ids, the reader's language, single sign-on from a trusted proxy, and the client address for lock-outs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import PersistentRemoteUserMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .logs import request_id

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


class RequestIdMiddleware:
    """Every request gets an id: every log line of it carries it, the response says it
    (``X-Request-ID``) and the 500 page shows it as its reference.

    The id comes from ``X-Request-ID`` when a trusted proxy sets it (``TRUSTED_PROXY_COUNT`` > 0
    and the value looks like an id), else it is generated here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        ident = given if settings.TRUSTED_PROXY_COUNT and REQUEST_ID.match(given) else new_request_id()
        request.request_id = ident  # type: ignore[attr-defined] # read by views.server_error
        token = request_id.set(ident)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = ident
        return response


class UserLanguageMiddleware:
    """A signed-in reader's own language (kept in their session from their profile) wins over the
    browser's; runs after Django's ``LocaleMiddleware``, which set the cookie's or the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from .languages import SESSION_KEY, supported

        chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if supported(chosen) and chosen != translation.get_language():
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen  # as LocaleMiddleware sets it
        return self.get_response(request)


class PrivatePagesMiddleware:
    """Every answer of the desk's own (pages, errors, redirects) is ``Cache-Control: private, no-store``:
    they show financial data, the user's recent jobs or the ids someone pasted. Static files (served
    before this, with their own long-lived headers) are left as they are."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-store"
        return response


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
