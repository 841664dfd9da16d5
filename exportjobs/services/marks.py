"""Short-lived marks in the cache: what Pleo refused the desk's key (403), and what it was just too slow or
down for, so that no page asks (and waits) again meanwhile. Each mark carries its own time: it counts only
while it is younger than its lifetime by the desk's clock.

A mark is as wide as what Pleo refused or was slow for, never wider: the entries of one job (``entries_of``)
or one company (``company``). Pleo refusing one job's entries says nothing about another job's, so a
refusal there never hides the details of any other job.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from .. import clock
from ..cache import NAMESPACE, cache_get_many, cache_set

REFUSED_TTL = 300  # seconds the desk stops asking for what Pleo refused (403) to its key
TROUBLE_TTL = 30  # seconds pages stop waiting for entries' details (or names) after Pleo was down or too slow


def entries_of(job_id: uuid.UUID | str) -> str:
    """The scope of the failed entries of one job."""
    return f"entries:{str(job_id).lower()}"


def company(company_id: uuid.UUID | str) -> str:
    """The scope of one company."""
    return f"company:{str(company_id).lower()}"


def _recent(mark: object, ttl: int) -> dict[str, object] | None:
    """A mark written less than ``ttl`` seconds ago by the desk's clock, else None."""
    if not isinstance(mark, dict) or not isinstance(mark.get("at"), (int, float)):
        return None
    return mark if clock.time() < mark["at"] + ttl else None


def _refused_key(scope: str) -> str:
    return f"{NAMESPACE}:refused:{scope}"


def remember_refusal(scope: str) -> None:
    cache_set(_refused_key(scope), {"at": clock.time()}, REFUSED_TTL, local_seconds=REFUSED_TTL)


def _trouble_key(scope: str) -> str:
    return f"{NAMESPACE}:trouble:{scope}"


def remember_trouble(scope: str, problem: str) -> None:
    mark = {"problem": problem, "at": clock.time()}
    cache_set(_trouble_key(scope), mark, TROUBLE_TTL, local_seconds=TROUBLE_TTL)


def blocked(scopes: Iterable[str]) -> dict[str, str]:
    """Of ``scopes``, those not to ask Pleo about now, each with why: ``refused`` (403 within
    ``REFUSED_TTL``) or ``unavailable`` / ``timeout`` (within ``TROUBLE_TTL``); in one round trip."""
    wanted = list(dict.fromkeys(scopes))
    keys = {scope: (_refused_key(scope), _trouble_key(scope)) for scope in wanted}
    seconds = {
        key: float(ttl) for pair in keys.values() for key, ttl in zip(pair, (REFUSED_TTL, TROUBLE_TTL), strict=True)
    }
    found = cache_get_many(list(seconds), local_seconds=seconds)
    answer: dict[str, str] = {}
    for scope, (refused_key, trouble_key) in keys.items():
        if _recent(found.get(refused_key), REFUSED_TTL) is not None:
            answer[scope] = "refused"
            continue
        mark = _recent(found.get(trouble_key), TROUBLE_TTL)
        problem = mark.get("problem") if mark is not None else None
        if problem in ("unavailable", "timeout"):
            answer[scope] = str(problem)
    return answer
