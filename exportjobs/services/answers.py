"""How the desk keeps Pleo's answers through the cache engine: one codec, one way of failing, one budget.

The cache engine knows no Pleo; here the desk tells it how a call to Pleo can fail (``PLEO_FAILURES``)
and how an object Pleo sent is kept (``PayloadCodec``: as Pleo sent it, parsed again on every read).
"""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

from ..budgets import OverBudget
from ..cache import Answer, Failures, page_budget
from ..pleo.errors import NotFound, PleoBadResponse, PleoError, error_from_mark
from ..pleo.models import KeptAsSent
from ..policy import stale_may_answer

M = TypeVar("M", bound=KeptAsSent)
V = TypeVar("V")


def _to_mark(error: Exception) -> dict[str, Any]:
    return error.to_mark() if isinstance(error, PleoError) else {"code": "pleo_error", "message": str(error)}


PLEO_FAILURES = Failures(
    known=(PleoError,),
    missing=NotFound,
    personal=(OverBudget,),
    stale_if=stale_may_answer,
    to_mark=_to_mark,
    from_mark=error_from_mark,
)


class PayloadCodec(Generic[M]):
    """An object Pleo sent (a job, an accounting entry, a company) is cached as Pleo's own ``data`` object."""

    def __init__(self, model: type[M]) -> None:
        self.model = model

    def dump(self, value: M) -> dict[str, Any]:
        return value.payload

    def load(self, data: Any) -> M:
        try:
            return self.model.from_payload(data)
        except PleoBadResponse as error:  # kept by an older release in another shape: a miss
            raise ValueError(error.message) from None


def found(answer: Answer[V | None], *, what: str, message: str) -> Answer[V]:
    """The answer, now that it has a value; ``NotFound`` when the cache remembers Pleo's "no such thing"."""
    if answer.value is None:
        raise NotFound(message, what=what)
    return Answer(answer.value, answer.fetched_at, answer.source, answer.error)


def deadline_for_page() -> float:
    """``time.monotonic()`` by which a page stops waiting for Pleo's answer (one page budget from now)."""
    return time.monotonic() + page_budget()


__all__ = ["PLEO_FAILURES", "PayloadCodec", "deadline_for_page", "found", "page_budget"]
