"""The pages of a sign-in with the identity provider: start, callback, sign-out, the signed-out page,
each failure as a page in the reader's language, and the renewal of a provider's sign-in.

mozilla-django-oidc's views and ``SessionRefresh`` middleware do the protocol; these subclasses read the
provider from discovery (``exportjobs.oidc``), answer 404 while ``OIDC_ISSUER`` is unset, and turn each
way a sign-in can fail into a page instead of a redirect to ``/`` or a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import View
from mozilla_django_oidc.middleware import SessionRefresh
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView, OIDCLogoutView

from . import audit, wording
from .models import AuditEvent
from .oidc import SignInRefused, library_setting, provider, quoted

logger = logging.getLogger(__name__)

BACKEND = "exportjobs.oidc.OIDCBackend"
# What the provider answers a silent check (prompt=none) when the person must sign in there again.
SIGN_IN_AGAIN = {"login_required", "interaction_required", "consent_required", "account_selection_required"}
STATUS = {"unavailable": 503, "expired": 400, "cancelled": 403, "refused": 400, "not_allowed": 403, "locked": 429}
RENEW_HEADER = "X-Desk-Sign-In"  # on the answer to a page's own background fetch: load the page again


def with_provider(request: HttpRequest) -> bool:
    """Whether this session's user signed in with the identity provider."""
    session = getattr(request, "session", None)
    return session is not None and session.get(BACKEND_SESSION_KEY) == BACKEND


def sign_in_context(request: HttpRequest) -> dict[str, Any]:
    """For the sign-in page, the header's sign-out and the no-access page (nothing while OIDC is off)."""
    if not settings.OIDC_ISSUER:
        return {"oidc": None}
    name = settings.OIDC_PROVIDER_NAME
    signed_in_with_provider = with_provider(request)
    return {
        "oidc": {
            "button": wording.SIGN_IN_WITH % {"provider": name} if name else wording.SIGN_IN_WITH_COMPANY,
            "only": settings.OIDC_ONLY,
            "with_provider": signed_in_with_provider,
            "groups_decide": signed_in_with_provider and bool(settings.OIDC_FINANCE_GROUPS),
        }
    }


def _same_site(request: HttpRequest, url: str) -> str:
    """``url`` as a path on this site, or empty."""
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return ""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _record_refusal(refusal: SignInRefused) -> None:
    audit.record_sign_in(
        user=None,
        method=AuditEvent.SignInMethod.OIDC,
        outcome=AuditEvent.Outcome.REFUSED,
        error_code=refusal.code,
    )


def failure_page(request: HttpRequest, refusal: SignInRefused, *, next_url: str = "") -> HttpResponse:
    """A sign-in that did not happen, in words: what happened, what to do, and a way to try again."""
    logger.warning("Sign-in with the identity provider refused (%s): %s", refusal.code, refusal.detail)
    _record_refusal(refusal)
    again = reverse("oidc_authentication_init") + (f"?{urlencode({'next': next_url})}" if next_url else "")
    context = {
        "page": wording.SIGN_IN_FAILURES[refusal.code],
        "code": refusal.code,
        "detail": refusal.detail,
        "again": again,
        "words": wording.SIGN_IN_FAILURE_PAGE,
    }
    return render(request, "registration/oidc_failed.html", context, status=STATUS[refusal.code])


def _off(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    def checked(self: View, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.OIDC_ISSUER:
            raise Http404
        return view(self, request, *args, **kwargs)

    return checked


class Authenticate(OIDCAuthenticationRequestView):  # type: ignore[misc] # mozilla-django-oidc ships no types
    """``/oidc/authenticate/?next=…``: to the provider, with state, nonce and a PKCE challenge."""

    get_settings = staticmethod(library_setting)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the endpoint is read from discovery in get(), not from settings

    @_off
    def get(self, request: HttpRequest) -> HttpResponseBase:
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider().authorization_endpoint
        except SignInRefused as refusal:
            return failure_page(request, refusal, next_url=_same_site(request, request.GET.get("next", "")))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        response: HttpResponseBase = super().get(request)
        return response


class Callback(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """``/oidc/callback/``: the provider's answer. The library exchanges the code and signs the person in;
    what it would send to ``/`` (an error, an unknown state, a refused token) becomes a page here."""

    get_settings = staticmethod(library_setting)

    @_off
    def get(self, request: HttpRequest) -> HttpResponseBase:
        states = request.session.get("oidc_states")
        state = request.GET.get("state", "")
        known = isinstance(states, dict) and state in states
        next_url = str(request.session.get("oidc_login_next") or "")
        error = request.GET.get("error")
        if error:
            if known and isinstance(states, dict):  # a state answered once is used up
                del states[state]
                request.session.modified = True
            if error in SIGN_IN_AGAIN and known:
                # The silent check found the provider's sign-in over: the desk's ends too, and the person
                # signs in with the provider again, back to the same page.
                auth.logout(request)
                query = f"?{urlencode({'next': next_url})}" if next_url else ""
                return HttpResponseRedirect(reverse("oidc_authentication_init") + query)
            if request.user.is_authenticated:
                auth.logout(request)
            code = "cancelled" if error == "access_denied" else "unavailable"
            detail = f"The provider answered error={quoted(error)}: {quoted(request.GET.get('error_description', ''))}"
            return failure_page(request, SignInRefused(code, detail), next_url=next_url)
        if not known or not request.GET.get("code"):
            refusal = SignInRefused("expired", "The answer's state is not one this browser's session started")
            return failure_page(request, refusal, next_url=next_url)
        if "iss" in request.GET and request.GET["iss"] != settings.OIDC_ISSUER:  # RFC 9207: a mix-up of providers
            refusal = SignInRefused("refused", f"The answer names another issuer: {quoted(request.GET['iss'])}")
            return failure_page(request, refusal, next_url=next_url)
        response: HttpResponseBase = super().get(request)
        return response

    def login_failure(self) -> HttpResponseBase:
        request = self.request
        refusal = getattr(request, "desk_sign_in_refused", None)
        if refusal is None and getattr(request, "axes_locked_out", False):
            # django-axes refused before the provider was asked (AxesMiddleware answers with its page)
            refusal = SignInRefused("locked", "Sign-in is locked from this address")
        elif refusal is None:
            refusal = SignInRefused("refused", "No sign-in backend accepted the provider's answer")
        next_url = str(request.session.get("oidc_login_next") or "")
        if request.user.is_authenticated:  # a renewal that failed ends the desk's session
            auth.logout(request)
        return failure_page(request, refusal, next_url=next_url)


def provider_logout_url(request: HttpRequest) -> str:
    """Where signing out goes: the provider's end-session endpoint (RP-initiated logout), which sends the
    person back to the desk's signed-out page; without one (or with the provider down), that page."""
    signed_out = request.build_absolute_uri(reverse("signed_out"))
    id_token = request.session.get("oidc_id_token")
    try:
        endpoint = provider().end_session_endpoint
    except SignInRefused as refusal:
        logger.warning("Signing out at the provider skipped: %s", refusal.detail)
        endpoint = ""
    if not endpoint or not id_token:
        return reverse("signed_out")
    query = {"id_token_hint": id_token, "post_logout_redirect_uri": signed_out, "client_id": settings.OIDC_CLIENT_ID}
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"


class Logout(OIDCLogoutView):  # type: ignore[misc]
    """``POST /oidc/logout/``: ends the desk's session, then the provider's."""

    get_settings = staticmethod(library_setting)

    @_off
    def post(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = super().post(request)
        return response


def signed_out(request: HttpRequest) -> HttpResponse:
    """Where the provider sends a person after signing out."""
    return render(request, "registration/signed_out.html")


class SessionRenewal(SessionRefresh):  # type: ignore[misc]
    """A provider's sign-in is checked with the provider again every ``OIDC_RENEW_SECONDS``: a person
    removed from the group (or from the company) loses the desk then, not at the end of the session.

    The library's ``SessionRefresh`` sends a page's GET through the provider silently (``prompt=none``)
    and back. Here also: a form sent after the check was due goes through the provider and back to the
    page it was sent from; the pages' own background fetches (``X-Requested-With: fetch``) get a 403
    that tells the page to load itself again (a fetch cannot follow the provider's pages). Nothing
    happens while ``OIDC_ISSUER`` is unset or for users who signed in another way.
    """

    get_settings = staticmethod(library_setting)
    OIDC_STATE_SIZE = 32
    OIDC_NONCE_SIZE = 32
    OIDC_USE_NONCE = True
    OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        MiddlewareMixin.__init__(self, get_response)  # endpoints come from discovery, when a renewal is due
        self.OIDC_EXEMPT_URLS = library_setting("OIDC_EXEMPT_URLS")

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # the library's attribute names
        return str(settings.OIDC_CLIENT_ID)

    @property
    def OIDC_RP_SCOPES(self) -> str:
        return str(library_setting("OIDC_RP_SCOPES"))

    @property
    def OIDC_OP_AUTHORIZATION_ENDPOINT(self) -> str:
        return provider().authorization_endpoint

    def is_refreshable_url(self, request: HttpRequest) -> bool:
        return (
            bool(settings.OIDC_ISSUER)
            and request.user.is_authenticated
            and with_provider(request)
            and request.path not in self.exempt_urls
            and not any(pattern.match(request.path) for pattern in self.exempt_url_patterns)
        )

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        if not self.is_refreshable_url(request) or request.session.get("oidc_id_token_expiration", 0) > time.time():
            return None
        if request.headers.get("X-Requested-With") == "fetch":
            response = HttpResponse(status=403)
            response[RENEW_HEADER] = "renew"
            return response
        try:
            answer: HttpResponseBase | None = super().process_request(request)
        except SignInRefused as refusal:  # the provider cannot be asked: no renewal, so no access
            return failure_page(request, refusal, next_url=request.get_full_path())
        if answer is not None and request.method != "GET":
            back = _same_site(request, request.headers.get("Referer", "")) or "/"
            request.session["oidc_login_next"] = back
            answer.status_code = 303
        return answer
