"""Which language a reader gets: their saved choice, else their browser's, else ``LANGUAGE_CODE``.

Django's ``LocaleMiddleware`` reads the language cookie and ``Accept-Language``; a signed-in reader's
own choice, kept on their profile, goes into their session when they sign in (so it follows them
to every device) and wins over both (``UserLanguageMiddleware``). The address never changes with the
language: a link in a ticket works for everyone.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import Profile

SESSION_KEY = "desk:language"


def supported(code: object) -> TypeGuard[str]:
    return isinstance(code, str) and code in dict(settings.LANGUAGES)


def remember_on_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:  # noqa: ARG001
    """Put the user's saved language into the new session; a choice made on the sign-in page, before
    the user had saved one, is saved as theirs."""
    if request is None or not hasattr(request, "session"):
        return
    language = Profile.objects.filter(user=user).values_list("language", flat=True).first()
    if supported(language):
        request.session[SESSION_KEY] = language
    elif supported(chosen := request.session.get(SESSION_KEY)):
        Profile.objects.update_or_create(user=user, defaults={"language": chosen})


def connect_signals() -> None:
    user_logged_in.connect(remember_on_sign_in, dispatch_uid="exportjobs.languages.remember_on_sign_in")


@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    """``POST /language/`` (``language``, ``next``): saves the choice on the profile (signed in), in the
    session and in a cookie (so the sign-in page speaks it too), then goes back to the page it came from.
    The form carries only that page's path, never its query: a page must not repeat ids it did not show."""
    language = request.POST.get("language", "")
    target = "/"
    # Back to the page the menu was on, with its query (from Referer, same site only), else its path.
    for candidate in (request.headers.get("Referer", ""), request.POST.get("next", "")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = candidate
            break
    response = HttpResponseRedirect(target)
    if not supported(language):
        return response
    if request.user.is_authenticated:
        Profile.objects.update_or_create(user=request.user, defaults={"language": language})
    request.session[SESSION_KEY] = language
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite="Lax",
    )
    return response
