"""The desk's own 404, 403 and 500 pages."""

from __future__ import annotations

import logging
import sys
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader

from .. import wording
from ..forms import LookupForm

logger = logging.getLogger(__name__)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:  # noqa: ARG001 - handler404
    return render(request, "404.html", {"form": LookupForm()}, status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:  # noqa: ARG001 - handler403
    return render(request, "403.html", {}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """Our own 500 page: its reference is the request id, logged with the failure.

    It renders from the template alone, without the request's context (no user, session, messages
    or cache), so it works when the database or the cache is what failed. The traceback goes to the
    log once (a failure repeated on every request is written once a minute, with a count).
    """
    reference = getattr(request, "request_id", None) or uuid.uuid4().hex[:16]
    logger.error(
        "Unhandled error, reference %s, %s %s", reference, request.method, request.path, exc_info=sys.exc_info()
    )
    request.desk_error_logged = True  # type: ignore[attr-defined] # Django's own record of it is then dropped
    context = {"reference": reference, "sandbox": settings.PLEO_SANDBOX, "TIME_ZONE_NAME": settings.TIME_ZONE}
    try:
        page = loader.render_to_string("500.html", context)
    except Exception:  # the error page itself must never fail
        logger.exception("The 500 page failed to render (reference %s)", reference)
        return HttpResponse(f"{wording.SERVER_ERROR_PLAIN} {reference}", status=500, content_type="text/plain")
    response = HttpResponse(page, status=500)
    response["Cache-Control"] = "private, no-store"
    return response
