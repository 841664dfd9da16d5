"""Short-lived marks in the cache: what Pleo refused the desk's key (403), and what it was just too slow or
down for, so that no page asks (and waits) again meanwhile. Each mark carries its own time: it counts only
while it is younger than its lifetime by the desk's clock."""

from __future__ import annotations

from .. import clock
from ..cache import NAMESPACE, cache_get, cache_set

REFUSED_TTL = 300  # seconds the desk stops asking for what Pleo refused (403) to its key
TROUBLE_TTL = 30  # seconds pages stop waiting for entries' details (or names) after Pleo was down or too slow


def _recent(mark: object, ttl: int) -> dict[str, object] | None:
    """A mark written less than ``ttl`` seconds ago by the desk's clock, else None."""
    if not isinstance(mark, dict) or not isinstance(mark.get("at"), (int, float)):
        return None
    return mark if clock.time() < mark["at"] + ttl else None


def _refused_key(kind: str) -> str:
    return f"{NAMESPACE}:refused:{kind}"


def refused(kind: str) -> bool:
    """Pleo refused the desk's key for this kind of call (403) within the last ``REFUSED_TTL`` seconds."""
    return _recent(cache_get(_refused_key(kind), local_seconds=REFUSED_TTL), REFUSED_TTL) is not None


def remember_refusal(kind: str) -> None:
    cache_set(_refused_key(kind), {"at": clock.time()}, REFUSED_TTL, local_seconds=REFUSED_TTL)


def _trouble_key(kind: str) -> str:
    return f"{NAMESPACE}:trouble:{kind}"


def recent_trouble(kind: str) -> str:
    """The problem ("unavailable" or "timeout") Pleo had with this kind of call in the last ``TROUBLE_TTL``
    seconds, or ""."""
    mark = _recent(cache_get(_trouble_key(kind), local_seconds=TROUBLE_TTL), TROUBLE_TTL)
    problem = mark.get("problem") if mark is not None else None
    return str(problem) if problem in ("unavailable", "timeout") else ""


def remember_trouble(kind: str, problem: str) -> None:
    mark = {"problem": problem, "at": clock.time()}
    cache_set(_trouble_key(kind), mark, TROUBLE_TTL, local_seconds=TROUBLE_TTL)
