"""What every page family's views share: the one mapping from a failure to its page (``error_page``, by
``exportjobs.policy``), the page shown when a look cannot be recorded, and small helpers."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.module_loading import import_string

from .. import clock, policy, wording
from ..budgets import OverBudget
from ..forms import LookupForm
from ..pleo.errors import NotFound
from ..presenters.times import local_text

logger = logging.getLogger(__name__)


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, the browser GETs the page again."""

    status_code = 303


def from_another_site(request: HttpRequest) -> bool:
    """The browser says a link or form on another site led here (``Sec-Fetch-Site``; a sibling
    subdomain is another site too)."""
    return request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site")


def asked_here(request: HttpRequest) -> bool:
    """The browser says the person asked on the desk's own pages or typed the address (``Sec-Fetch-Site``
    ``same-origin`` or ``none``). A browser that does not say is not taken at its word."""
    return request.headers.get("Sec-Fetch-Site") in ("same-origin", "none")


def is_poll(request: HttpRequest) -> bool:
    """The page's own auto-refresh (desk.js), not a person opening the page."""
    return request.headers.get("X-Requested-With") == "fetch"


def retry_text(error: Exception | None) -> str:
    """When the user may try again, in words, for a limit of the desk's own."""
    if not isinstance(error, OverBudget) or error.retry_after is None:
        return ""
    when = clock.now() + timedelta(seconds=error.retry_after)
    return str(wording.TRY_AGAIN_AT) % {
        "time": local_text(when, with_date=False),
        "duration": wording.duration_words(error.retry_after),
    }


def error_page(request: HttpRequest, error: Exception, *, job_id: uuid.UUID | None) -> HttpResponse:
    """The one mapping from a failure to the page and status the user gets (``policy.POLICY``)."""
    rule = policy.policy_of(error)
    message = str(getattr(error, "message", error))
    if not isinstance(error, NotFound):
        logger.warning("%s: %s (%s)", f"Job {job_id}" if job_id else request.path, policy.code_of(error), message)
    context = {
        "page": rule.words,
        "status": rule.status,
        "kind": rule.kind,
        "words": wording.ERROR_PAGE,
        "can_retry": rule.can_retry,
        "ask": rule.ask_contact,
        "retry": retry_text(error),
        "error": error,
        "job_id": job_id,
        "form": LookupForm(initial={"job_id": str(job_id) if job_id else ""}),
        "detail": message if not isinstance(error, NotFound) else "",
    }
    request.desk_error_logged = True  # type: ignore[attr-defined] # logged above: Django's own line is dropped
    response = render(request, "exportjobs/error.html", context, status=rule.status)
    seconds = policy.retry_after(error)
    if seconds is not None:
        response["Retry-After"] = seconds
    return response


def audit_unavailable_page(request: HttpRequest, *, job_id: uuid.UUID | None) -> HttpResponse:
    """503: the look could not be recorded, so the job is not shown."""
    context = {
        "page": wording.AUDIT_UNAVAILABLE,
        "status": 503,
        "kind": "desk",
        "words": wording.ERROR_PAGE,
        "can_retry": True,
        "ask": True,
        "job_id": job_id,
        "form": LookupForm(initial={"job_id": str(job_id) if job_id else ""}),
    }
    request.desk_error_logged = True  # type: ignore[attr-defined] # the audit writer logged it
    response = render(request, "exportjobs/error.html", context, status=503)
    response["Retry-After"] = "30"
    return response


def samples() -> list[tuple[str, list[tuple[str, str]]]]:
    """The sandbox's sample jobs by group, from ``SANDBOX_SAMPLES`` (only in sandbox mode)."""
    if not settings.PLEO_SANDBOX or not settings.SANDBOX_SAMPLES:
        return []
    provider = import_string(settings.SANDBOX_SAMPLES)
    found: list[tuple[str, list[tuple[str, str]]]] = provider()
    # The sandbox marks its titles with gettext_noop; they are translated here, in the reader's language.
    return [
        (translation.gettext(group), [(translation.gettext(title), job_id) for title, job_id in jobs])
        for group, jobs in found
    ]


def lookup_form_context(**extra: Any) -> dict[str, Any]:
    return {"sample_groups": samples(), **extra}
