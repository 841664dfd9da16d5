"""The ways a call to Pleo can fail to give an answer the desk can use: only what Pleo can answer.

Each error has a stable ``code``: a failure is shared between processes by its code (``to_mark``,
``error_from_mark``), the audit trail stores it, and the desk's policy table says what it means for a
page. ``message`` is the technical detail, for logs and the page's "technical detail" box, never the
page's own words. (Failures of the desk's own, such as a spent budget, are the desk's, not Pleo's.)
"""

from __future__ import annotations

from typing import ClassVar

MAX_QUOTED = 120  # characters of Pleo's own text quoted in a message


def quoted(text: object, limit: int = MAX_QUOTED) -> str:
    """Pleo's text as it may appear in a message (and so in a log): one line, control characters visible, capped.

    A newline or a terminal escape in an upstream header or body can never start a fake log line.
    """
    value = str(text)
    shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in value[:limit])
    return shown + ("…" if len(value) > limit else "")


class PleoError(Exception):
    """Base of every failure to get an answer the desk can use from Pleo."""

    code: ClassVar[str] = "pleo_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def to_mark(self) -> dict[str, object]:
        """What is needed to raise the same error again elsewhere (JSON-compatible)."""
        return {"code": self.code, "message": self.message, "status": self.status}


class NotFound(PleoError):
    """Pleo answered 404: there is no such ``what`` ("job", "entry" or "company")."""

    code = "not_found"

    def __init__(self, message: str, *, status: int | None = 404, what: str = "job") -> None:
        super().__init__(message, status=status)
        self.what = what

    def to_mark(self) -> dict[str, object]:
        return {**super().to_mark(), "what": self.what}


class PleoAuthError(PleoError):
    """Pleo refused the desk's credentials (401) or they lack a scope (403)."""

    code = "auth"


class PleoRateLimited(PleoError):
    """Pleo answered 429; ``retry_after`` is in seconds when Pleo said."""

    code = "rate_limited"

    def __init__(self, message: str, *, status: int | None = 429, retry_after: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after

    def to_mark(self) -> dict[str, object]:
        return {**super().to_mark(), "retry_after": self.retry_after}


class PleoUnavailable(PleoError):
    """Pleo could not be reached or answered 5xx."""

    code = "unavailable"


class PleoTimeout(PleoError):
    """Pleo did not answer within the call's deadline."""

    code = "timeout"


class PleoBadResponse(PleoError):
    """Pleo answered something the desk cannot read: not JSON, or not the contract's shape."""

    code = "bad_response"


ERRORS: dict[str, type[PleoError]] = {
    cls.code: cls
    for cls in (
        PleoError,
        NotFound,
        PleoAuthError,
        PleoRateLimited,
        PleoUnavailable,
        PleoTimeout,
        PleoBadResponse,
    )
}


def error_from_mark(mark: dict[str, object]) -> PleoError:
    """The error a ``to_mark()`` dict describes; an unknown code gives the base ``PleoError``."""
    cls = ERRORS.get(str(mark.get("code", "")), PleoError)
    message = str(mark.get("message", ""))
    status = mark.get("status")
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    if cls is PleoRateLimited:
        retry_after = mark.get("retry_after")
        retry = retry_after if isinstance(retry_after, int) and not isinstance(retry_after, bool) else None
        return PleoRateLimited(message, status=status, retry_after=retry)
    if cls is NotFound:
        return NotFound(message, status=status, what=str(mark.get("what") or "job"))
    return cls(message, status=status)
