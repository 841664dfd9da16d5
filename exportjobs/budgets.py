"""How much one person may make the desk ask Pleo: a budget of calls per user, shared by every worker.

A Pleo token that gets rate-limited stops the whole finance team, so no single user can make the desk
call Pleo without limit (refresh after refresh, bulk lookups of made-up ids, ...). Every call the desk
makes to Pleo on a user's behalf (the job, its entries, each job of a bulk lookup, each company's name)
counts against ``PLEO_USER_BUDGET`` calls per ``PLEO_USER_BUDGET_WINDOW`` seconds; answers from the
cache cost nothing. The details of the failed entries one page lists (at most 50, cached, asked only
when the page is cold) count as one call of that page view, so that looking at a few failed jobs does
not spend a person's budget. Counted in the shared cache (Redis), so the budget holds across workers and hosts.

**A moving window.** The budget holds for *any* ``PLEO_USER_BUDGET_WINDOW`` seconds, not per fixed
window: a fixed window lets twice the budget through across its edge (the budget at 11:59:59, again at
12:00:01). The window is counted in ``SLOTS`` slots of a twentieth of it, each a counter in the shared
cache; a call is charged to the current slot and counts until the slot has left the window entirely, so
between one window and one window and a slot after it was made (never less: a burst across any edge
stays within the budget). A refused call is not counted: asking again later costs nothing.

Why not a token bucket: it lets a full bucket through and then its refill, up to twice the budget
within one window, which is what the budget is meant to stop. Why not the ``limits`` library (its
moving window is exact): it keeps its own connection to Redis outside the cache engine's breaker (a hung
Redis would hang every page instead of costing one socket timeout), has no fallback to each worker's own
count when Redis is down, and reads the real clock, which tests cannot move (``exportjobs.clock``).
These counters use the engine's ``count_up``: atomic across workers with Redis (``incr``), per worker on
local memory or while Redis is down.
"""

from __future__ import annotations

import contextvars
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from . import clock
from .cache import NAMESPACE, cache_get_many, count_up, local_get


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


class FromAnotherSite(OverBudget):
    """Not asked: the page was opened from a link on another site, which may make the desk ask Pleo for
    the job only (``from_another_site``). Shown as a link to ask for the rest, never as a spent budget."""

    code = "from_link"

    def __init__(self, endpoint: str) -> None:
        super().__init__(f"A page opened from another site asks Pleo for the job only (not {endpoint}).")


class LinkAllowance:
    """What a page opened from another site may ask Pleo: the job, once. Shared by the threads the page
    hands work to (each gets a copy of the context, which holds this same object)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.job_asked = False
        self.refused = False  # something was not asked: the page offers to ask for it

    def take(self, endpoint: str, calls: int) -> None:
        with self._lock:
            if endpoint == "job" and calls == 1 and not self.job_asked:
                self.job_asked = True
                return
            self.refused = True
        raise FromAnotherSite(endpoint)


_link: contextvars.ContextVar[LinkAllowance | None] = contextvars.ContextVar("desk_link_allowance", default=None)


@contextmanager
def from_another_site() -> Iterator[LinkAllowance]:
    """Calls to Pleo in this context are those of a page opened from a link on another site: a link
    anyone can put anywhere must not spend the budget of whoever follows it. Only the job is asked
    for (one call); its entries, their details and the company's name come from the cache or not at
    all, until the person asks for them on the page."""
    allowance = LinkAllowance()
    token = _link.set(allowance)
    try:
        yield allowance
    finally:
        _link.reset(token)


SLOTS = 20  # slots per window: a call counts for at most a twentieth of the window longer than the window

_spender: contextvars.ContextVar[str | None] = contextvars.ContextVar("desk_budget_user", default=None)


@contextmanager
def spending_for(user_key: str | None) -> Iterator[None]:
    """Calls to Pleo made in this context (and in pools it hands work to) count against this user."""
    token = _spender.set(user_key)
    try:
        yield
    finally:
        _spender.reset(token)


def _slot_key(user: str, window: int, index: int) -> str:
    return f"{NAMESPACE}:budget:{user}:{window}:{index}"


def charge(endpoint: str, calls: int = 1) -> None:
    """Count ``calls`` calls to Pleo for the current user; ``OverBudget`` (and no call) when they would take
    the calls of the last ``PLEO_USER_BUDGET_WINDOW`` seconds over ``PLEO_USER_BUDGET``."""
    user = _spender.get()
    if user is None:  # not on a user's behalf (a management command, a background refill)
        return
    allowance = _link.get()
    if allowance is not None:
        allowance.take(endpoint, calls)
    budget = int(settings.PLEO_USER_BUDGET)
    window = int(settings.PLEO_USER_BUDGET_WINDOW)
    slot = window / SLOTS
    now = clock.time()
    current = math.floor(now / slot)
    # The current slot and the SLOTS before it: every call of the last `window` seconds (and up to a slot more).
    indexes = range(current - SLOTS, current + 1)
    keys = [_slot_key(user, window, index) for index in indexes]
    lifetime = window + 2 * slot
    # Count first, then add up: of two requests racing for the last call, the later one sees both.
    mine = count_up(keys[-1], lifetime, calls)
    shared = cache_get_many(keys)
    counts = [_count(shared.get(key)) + _count(local_get(key)) for key in keys]  # local: counted while Redis was down
    counts[-1] = max(counts[-1], mine)
    if sum(counts) <= budget:
        return
    count_up(keys[-1], lifetime, -calls)  # refused: not counted
    counts[-1] -= calls
    raise OverBudget(
        f"The user's budget of {budget} calls to Pleo per {window} s is spent ({endpoint}).",
        retry_after=_retry_after(counts, list(indexes), calls, budget, slot, now),
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def _retry_after(counts: list[int], indexes: list[int], calls: int, budget: int, slot: float, now: float) -> int:
    """Seconds until enough of the oldest slots have left the window for ``calls`` more to fit."""
    total = sum(counts)
    for count, index in zip(counts, indexes, strict=True):
        total -= count
        if total + calls <= budget:
            leaves = (index + SLOTS + 1) * slot  # the first moment this slot is no longer counted
            return max(1, math.ceil(leaves - now))
    return max(1, math.ceil((indexes[-1] + SLOTS + 1) * slot - now))  # more than the whole budget at once
