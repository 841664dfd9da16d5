"""How much one person may make the desk ask Pleo: a budget of calls per user, shared by every worker.

A Pleo token that gets rate-limited stops the whole finance team, so no single user can make the desk
call Pleo without limit (refresh after refresh, bulk lookups of made-up ids, ...). Every call the desk
makes to Pleo on a user's behalf (the job, its entries, each job of a bulk lookup, each company's name)
counts against ``PLEO_USER_BUDGET`` calls per ``PLEO_USER_BUDGET_WINDOW`` seconds; answers from the
cache cost nothing. The details of the failed entries one page lists (at most 50, cached, asked only
when the page is cold) count as one call of that page view, so that looking at a few failed jobs does
not spend a person's budget. Counted in the shared cache (Redis), so the budget holds across workers and hosts.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from . import clock
from .cache import NAMESPACE, count_up


class OverBudget(Exception):
    """The desk did not ask Pleo: the user has made it ask too often lately.

    About one user: never shared with others waiting for the same answer, never hidden by a stale copy.
    """

    code = "over_budget"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = 429
        self.retry_after = retry_after


_spender: contextvars.ContextVar[str | None] = contextvars.ContextVar("desk_budget_user", default=None)


@contextmanager
def spending_for(user_key: str | None) -> Iterator[None]:
    """Calls to Pleo made in this context (and in pools it hands work to) count against this user."""
    token = _spender.set(user_key)
    try:
        yield
    finally:
        _spender.reset(token)


def charge(endpoint: str, calls: int = 1) -> None:
    """Count ``calls`` calls to Pleo for the current user; ``OverBudget`` (and no call) when it is spent."""
    user = _spender.get()
    if user is None:  # not on a user's behalf (a management command, a background refill)
        return
    window = int(settings.PLEO_USER_BUDGET_WINDOW)
    now = clock.time()
    start = int(now // window) * window
    used = count_up(f"{NAMESPACE}:budget:{user}:{start}", window, calls)
    if used > int(settings.PLEO_USER_BUDGET):
        retry_after = max(1, int(start + window - now) + 1)
        raise OverBudget(
            f"The user's budget of {settings.PLEO_USER_BUDGET} calls to Pleo per {window} s is spent ({endpoint}).",
            retry_after=retry_after,
        )
