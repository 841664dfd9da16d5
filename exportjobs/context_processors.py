"""Template context every page needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from django.utils import timezone, translation

from . import access, l10n, wording


def desk(request: HttpRequest) -> dict[str, Any]:
    """What every page needs to know: sandbox mode marks each page; the display time zone and the locale
    whose format the browser writes a viewer's own zone in; the header's links and language menu (each
    language named in itself; the link to alerts for those who may manage them, asked only when a page
    shows it, from the permission answer the desk remembers)."""
    return {
        "sandbox": settings.PLEO_SANDBOX,
        "TIME_ZONE_NAME": timezone.get_current_timezone_name(),
        # The browser writes a viewer's own zone in the pages' format: the locale, and how it joins a day and a time.
        "INTL_LOCALE": str(l10n.locale()).replace("_", "-"),
        "DATETIME_GLUE": str(l10n.locale().datetime_formats["medium"]),
        "nav_attention": wording.NAV_ATTENTION,
        "may_manage_alerts": lambda: access.may_manage_alerts(getattr(request, "user", AnonymousUser())),
        "password_reset_enabled": settings.PASSWORD_RESET_ENABLED,
        "desk_contact": contact(),
        "languages": settings.LANGUAGES,
        "language_name": dict(settings.LANGUAGES).get(translation.get_language() or "", ""),
    }


def contact() -> dict[str, Any] | None:
    """Whom to ask (``DESK_CONTACT``): an e-mail address becomes a mailto link, a web address a link."""
    text = settings.DESK_CONTACT
    if not text:
        return None
    href = ""
    try:
        validate_email(text)
        href = "mailto:" + text
    except ValidationError:
        if text.startswith(("https://", "http://")):
            href = text
    return {"text": text, "href": href, "label": wording.CONTACT_LABEL}
