"""What each way of getting no answer means for a page: one row per error code.

An error's page, its HTTP status, its ``Retry-After``, whether a stale copy may answer instead, what the
entries' details notice calls it, who acts on it in the bulk table, and its words: all in ``POLICY``, keyed
by the error's ``code``. The errors come from three places: Pleo's answers (``exportjobs.pleo.errors``),
the cache engine's own (``Busy``, ``TooLong``) and the desk's budget (``OverBudget``); none of them
decides what it means for a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import wording
from .budgets import OverBudget
from .cache import EngineError
from .pleo.errors import PleoError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text

# Every failure that leaves a page without an answer from Pleo.
NO_ANSWER: tuple[type[Exception], ...] = (PleoError, EngineError, OverBudget)


@dataclass(frozen=True)
class ErrorPolicy:
    status: int  # the HTTP status of the page
    retry_after: int | None  # seconds in ``Retry-After``; an error that says its own (a rate limit) wins
    stale_ok: bool  # a stale copy may answer instead (with a banner)
    kind: str  # what the page is about: "missing" (no such job), "limit" (the user's budget), "connection"
    can_retry: bool  # the page offers "Try again"
    ask_contact: bool  # the page says whom to ask (DESK_CONTACT)
    details_problem: str  # what the entries' details notice calls it (a key of wording.ENTRY_NOTICES)
    words: wording.ErrorWording
    bulk_who: Text  # who acts on a bulk row without an answer


POLICY: dict[str, ErrorPolicy] = {
    "not_found": ErrorPolicy(
        404, None, False, "missing", False, False, "", wording.ERRORS["not_found"], wording.BULK_ERROR_WHO["not_found"]
    ),
    "auth": ErrorPolicy(
        502, None, False, "connection", False, True, "refused", wording.ERRORS["auth"], wording.BULK_ERROR_WHO["auth"]
    ),
    "rate_limited": ErrorPolicy(
        503, 60, True, "connection", True, False, "unavailable", wording.ERRORS["rate_limited"],
        wording.BULK_ERROR_WHO["unavailable"],
    ),
    "unavailable": ErrorPolicy(
        503, 30, True, "connection", True, False, "unavailable", wording.ERRORS["unavailable"],
        wording.BULK_ERROR_WHO["unavailable"],
    ),
    "busy": ErrorPolicy(
        503, 5, True, "connection", True, False, "busy", wording.ERRORS["busy"], wording.BULK_ERROR_WHO["unavailable"]
    ),
    "timeout": ErrorPolicy(
        504, 30, True, "connection", True, True, "timeout", wording.ERRORS["timeout"],
        wording.BULK_ERROR_WHO["unavailable"],
    ),
    "over_budget": ErrorPolicy(
        429, 60, False, "limit", True, True, "over_budget", wording.ERRORS["over_budget"],
        wording.BULK_ERROR_WHO["over_budget"],
    ),
    "bad_response": ErrorPolicy(
        502, None, False, "connection", True, True, "unavailable", wording.ERRORS["bad_response"],
        wording.BULK_ERROR_WHO["bad_response"],
    ),
}  # fmt: skip
GENERIC = ErrorPolicy(
    502, None, False, "connection", True, True, "unavailable", wording.GENERIC_ERROR,
    wording.BULK_ERROR_WHO["unavailable"],
)  # fmt: skip


def code_of(error: Exception) -> str:
    return str(getattr(error, "code", "")) or "pleo_error"


def policy_of(error: Exception | str) -> ErrorPolicy:
    """The row for an error (or an error's code); errors without a row of their own get ``GENERIC``."""
    return POLICY.get(error if isinstance(error, str) else code_of(error), GENERIC)


def stale_banner(error: Exception | None) -> Text:
    """The banner over a stale copy: why Pleo gave no fresh answer, in words ("busy", "slow", ...)."""
    return wording.STALE_BANNERS.get(code_of(error), wording.STALE_BANNER) if error else wording.STALE_BANNER


def stale_may_answer(error: Exception) -> bool:
    """A stale copy may stand in for this failure (Pleo down, slow, limiting, or the desk too busy)."""
    return policy_of(error).stale_ok


def retry_after(error: Exception) -> str | None:
    """The ``Retry-After`` of the error's page, in seconds: the error's own when it says one."""
    own = getattr(error, "retry_after", None)
    if isinstance(own, int) and not isinstance(own, bool):
        return str(own)
    seconds = policy_of(error).retry_after
    return None if seconds is None else str(seconds)
