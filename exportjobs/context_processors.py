"""Template context every page needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from . import wording


def desk(request: HttpRequest) -> dict[str, Any]:
    """What every page needs to know: sandbox mode marks each page; the display time zone; the header's links."""
    return {
        "sandbox": settings.PLEO_SANDBOX,
        "TIME_ZONE_NAME": timezone.get_current_timezone_name(),
        "nav_attention": wording.NAV_ATTENTION,
    }
