"""What every request passes first: the host check, its id, the proxies trusted by address (and single
sign-on through them), /healthz, the reader's language and the client address for lock-outs."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import PersistentRemoteUserMiddleware
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import DisallowedHost, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils import translation
from django.views.defaults import bad_request

from . import health
from .addresses import from_trusted_proxy
from .languages import SESSION_KEY, supported
from .logs import request_id

logger = logging.getLogger(__name__)

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Headers only a proxy in front of the desk may set: dropped from every other connection.
PROXY_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_X_REQUEST_ID",
)
USER_NAME = UnicodeUsernameValidator()
USER_NAME_MAX = 150  # Django's User.username


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def remote_user_key() -> str:
    """The ``request.META`` key of ``AUTH_REMOTE_USER_HEADER`` ("" when single sign-on is off)."""
    header = str(settings.AUTH_REMOTE_USER_HEADER)
    return "HTTP_" + header.upper().replace("-", "_") if header else ""


def remote_user_name(raw: str) -> str | None:
    """The user name a proxy sent, or None when it is not one.

    WSGI hands header values over as Latin-1 text: the bytes are decoded again as UTF-8 (``Ã©lise`` is
    ``élise``). The value must be a user name Django would accept, so control characters, a second header
    line (a WSGI server joins repeated headers with commas) and formula-like text such as ``=HYPERLINK(…)``
    are refused, never split or trimmed into some other name.
    """
    try:
        name = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    if not name or len(name) > USER_NAME_MAX or not name.isprintable():
        return None
    try:
        USER_NAME(name)
    except ValidationError:
        return None
    return name


class DisallowedHostMiddleware:
    """With ``DEBUG`` on (``make dev``), a request for a host not in ``ALLOWED_HOSTS`` gets Django's plain
    400 here, before anything else runs: Django would otherwise answer it with its debug page, settings
    and all. With ``DEBUG`` off Django's own handling (the same plain 400) is left as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            try:
                request.get_host()
            except DisallowedHost as exc:
                logging.getLogger("django.security.DisallowedHost").error("%s", exc)
                return bad_request(request, exc)
        return self.get_response(request)


class RequestIdMiddleware:
    """Every request gets an id: every log line of it carries it, the response says it
    (``X-Request-ID``) and the 500 page shows it as its reference.

    The id comes from ``X-Request-ID`` when one of ``TRUSTED_PROXIES`` sets it (and the value looks like
    an id), else it is generated here: a client cannot choose, or repeat, the id its lines are logged under.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        ident = given if REQUEST_ID.match(given) and from_trusted_proxy(request) else new_request_id()
        request.request_id = ident  # type: ignore[attr-defined] # read by views.server_error
        token = request_id.set(ident)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = ident
        return response


class TrustedProxyMiddleware:
    """The headers only a proxy may set are read only on connections from ``TRUSTED_PROXIES``.

    From anywhere else ``X-Forwarded-For``, ``X-Forwarded-Proto`` (Django's ``SECURE_PROXY_SSL_HEADER``),
    ``X-Request-ID`` and their kin are dropped here, before anything reads them, and the single sign-on
    header (``AUTH_REMOTE_USER_HEADER``) is refused: 400, logged. From a trusted proxy the sign-on header
    must hold one user name (``remote_user_name``), else the request is refused the same way.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = remote_user_key()
        trusted = from_trusted_proxy(request)
        if not trusted:
            for header in PROXY_HEADERS:
                request.META.pop(header, None)
        if key and trusted and request.META.get(key) == "":
            del request.META[key]  # the proxy signed nobody in (nginx sends no empty header; others may)
        if key and key in request.META:
            user_name = remote_user_name(str(request.META[key])) if trusted else None
            if user_name is None:
                logger.warning(
                    "Refused a request with %s from %s: %s",
                    settings.AUTH_REMOTE_USER_HEADER,
                    request.META.get("REMOTE_ADDR"),
                    "not a user name" if trusted else "not one of TRUSTED_PROXIES",
                )
                return bad_request(request, ValueError(settings.AUTH_REMOTE_USER_HEADER))
            request.META[key] = user_name
        return self.get_response(request)


class HealthzMiddleware:
    """``/healthz`` (GET or HEAD) is answered here, before the session, the reader's language and the user
    are read: a database outage must get its 503, not a 500 from the session a cookie names."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != "/healthz":
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return health.answer(head=request.method == "HEAD")


class UserLanguageMiddleware:
    """A signed-in reader's own language (kept in their session from their profile) wins over the
    browser's; runs after Django's ``LocaleMiddleware``, which set the cookie's or the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
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
    """Single sign-on: the user named by the header ``AUTH_REMOTE_USER_HEADER``, which only a connection
    from ``TRUSTED_PROXIES`` may send (``TrustedProxyMiddleware`` refuses it from anywhere else and hands
    on the name decoded and checked).

    Persistent: the Django session outlives requests that lack the header (e.g. static files).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        # django-stubs calls ``header`` a ClassVar; Django itself reads it from the instance.
        self.header = remote_user_key()  # type: ignore[misc]
