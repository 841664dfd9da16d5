"""HTTP to Pleo: one ``requests.Session``, auth, bounded retries and a hard deadline per call.

Every call has a hard deadline of ``2 × timeout`` that includes its retries (a timer cuts the socket
of an answer that is still trickling in at the deadline). Only connection failures and 502/503/504
answers to GETs are retried, at most twice, with jittered backoff. Every transport problem becomes a
named ``PleoError``; every answer is parsed by ``models``: callers never see ``requests`` or JSON.

This package knows HTTP and Pleo's contract, and nothing of the desk: what the desk needs around each call
(charging a user's budget before it, counting it in a metric after it) is handed to it with ``configure``
(done once in ``exportjobs.apps``) or to a ``PleoClient`` directly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .errors import (
    NotFound,
    PleoAuthError,
    PleoBadResponse,
    PleoError,
    PleoRateLimited,
    PleoTimeout,
    PleoUnavailable,
    quoted,
)
from .models import (
    CURSOR,
    AccountingEntry,
    Company,
    ExportJob,
    ItemPage,
    JobPage,
    parse_company_response,
    parse_entry_response,
    parse_job_response,
)

logger = logging.getLogger(__name__)

BeforeCall = Callable[[str], None]  # (endpoint): may refuse the call by raising a PleoError
AfterCall = Callable[[str, str, float], None]  # (endpoint, outcome: "ok" or the error's code, seconds)
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_RETRIES = 2
BACKOFF_BASE = 0.2  # seconds; attempt n waits uniform(0, BACKOFF_BASE * 2**n)
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_RETRY_AFTER = 86400  # seconds; a larger Retry-After is capped


class _Retryable(Exception):
    def __init__(self, error: PleoError) -> None:
        self.error = error


class _DeadlinePassed(Exception):
    pass


def retry_after_seconds(value: str | None) -> int | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as whole seconds from now, capped at a day."""
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0, int(value.strip())))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC without saying so
        when = when.replace(tzinfo=timezone.utc)
    return min(MAX_RETRY_AFTER, max(0, int((when - datetime.now(timezone.utc)).total_seconds())))


def _error_type(body: bytes) -> str | None:
    """The ``type`` of an ``ExceptionInfo`` body, if the body is one."""
    try:
        info = json.loads(body[:65536])
    except (ValueError, RecursionError):
        return None
    value = info.get("type") if isinstance(info, dict) else None
    return value if isinstance(value, str) else None


class _TooLarge(Exception):
    pass


# What a 404 and a 403 mean for each kind of thing the desk asks about (the export job is the default).
NOT_FOUND_MESSAGES = {
    "entry": "Pleo has no accounting entry with this ID.",
    "company": "Pleo has no company with this ID.",
}
REFUSED_MESSAGES = {
    "job": "they lack the export-jobs:read scope or access to this company",
    "entry": "they lack read access to accounting entries (Accounting Entries API)",
    "company": "they lack read access to companies (Companies API)",
}


def interpret_answer(status: int, headers: Mapping[str, str], body: bytes, *, resource: str = "job") -> Any:
    """The JSON of a 200, or the ``PleoError`` its status and body stand for.

    ``resource`` (``job``, ``entry``, ``company``): what was asked for. Any 404 of an entry or a company
    means it does not exist; a job's 404 must say ``EXPORT_NOT_FOUND`` (or nothing).
    """
    if status == 200:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            content_type = quoted(headers.get("Content-Type", "unknown"))
            raise PleoBadResponse(f"Pleo's answer is not JSON (content type {content_type}).", status=200) from None
    if status == 404 and resource in NOT_FOUND_MESSAGES:
        raise NotFound(NOT_FOUND_MESSAGES[resource], status=404, what=resource)
    if status == 404:
        kind = _error_type(body)
        if kind in (None, "EXPORT_NOT_FOUND"):
            raise NotFound("Pleo has no export job with this ID.", status=404, what="job")
        raise PleoBadResponse(f"Pleo answered 404 with error type {quoted(kind)}.", status=404)
    if status == 401:
        raise PleoAuthError(
            "Pleo rejected the dashboard's credentials (401): the token or API key is missing, wrong or expired.",
            status=401,
        )
    if status == 403:
        raise PleoAuthError(
            "Pleo accepted the dashboard's credentials but refused access (403): "
            f"{REFUSED_MESSAGES.get(resource, REFUSED_MESSAGES['job'])}.",
            status=403,
        )
    if status == 429:
        retry_after = retry_after_seconds(headers.get("Retry-After"))
        raise PleoRateLimited("Pleo is rate-limiting the dashboard (429).", retry_after=retry_after)
    if status in RETRY_STATUSES:
        raise _Retryable(PleoUnavailable(f"Pleo is unavailable ({status}).", status=status))
    if status >= 500:
        raise PleoUnavailable(f"Pleo had an internal error ({status}).", status=status)
    if 300 <= status < 400:  # Pleo's API does not redirect: a redirect is not followed, it is a bad answer
        target = quoted(headers.get("Location", ""))
        raise PleoBadResponse(f"Pleo answered with a redirect ({status} to {target}), not followed.", status=status)
    raise PleoBadResponse(f"Pleo answered with unexpected status {status}.", status=status)


class PleoClient:
    """Talks to one Pleo API base URL with one set of credentials."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        api_key: str = "",
        timeout: float = 5.0,
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
        user_agent: str = "",
    ) -> None:
        """``before_call(endpoint)`` runs before each call and may refuse it by raising an exception;
        ``after_call(endpoint, outcome, seconds)`` learns how each call went."""
        if not base_url:
            raise ValueError("PleoClient needs a base URL")
        if token and api_key:
            raise ValueError("PleoClient takes a token or an API key, not both")
        if timeout <= 0:
            raise ValueError("PleoClient needs a positive timeout")
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.session = requests.Session()
        # Retries are ours (see _get): they must fit inside the call's deadline.
        adapter = _DeadlineAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        agent = f"{user_agent or 'ExportJobDesk'} (+python-requests/{requests.__version__})"
        self.session.headers.update({"Accept": "application/json", "User-Agent": agent})
        self.session.trust_env = False
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif api_key:
            self.session.auth = requests.auth.HTTPBasicAuth(api_key, "")
        self.auth_kind = "bearer" if token else "basic" if api_key else "none"
        self.before_call = before_call
        self.after_call = after_call

    def __repr__(self) -> str:
        return f"<PleoClient {self.base_url} auth={self.auth_kind} timeout={self.timeout}>"

    # Public calls ------------------------------------------------------------

    def get_export_job(self, job_id: uuid.UUID) -> ExportJob:
        """``GET /v2/export-jobs/{jobId}`` as a typed job; an answer about another job is a bad answer."""
        job_id = uuid.UUID(str(job_id))  # only a real UUID becomes part of the URL
        job = parse_job_response(self._get(f"/v2/export-jobs/{job_id}", endpoint="job"))
        if job.id != job_id:
            raise PleoBadResponse(f"Pleo answered with export job {job.id} when asked for {job_id}.", status=200)
        return job

    def get_export_job_items(
        self, job_id: uuid.UUID, *, status: str | None = None, limit: int = 50, after: str | None = None
    ) -> ItemPage:
        """One page of ``GET /v2/export-jobs/{jobId}/items``."""
        job_id = uuid.UUID(str(job_id))
        params: dict[str, Any] = {"limit": int(limit)}
        if status:
            params["status"] = status
        if after:
            if not CURSOR.match(after):  # only a cursor of Pleo's own shape goes back to Pleo
                raise PleoBadResponse(f"Pleo gave a cursor the desk does not send back: {quoted(after)}.")
            params["after"] = after
        return ItemPage.from_payload(self._get(f"/v2/export-jobs/{job_id}/items", endpoint="items", params=params))

    def list_export_jobs(
        self,
        *,
        company_id: uuid.UUID | None = None,
        statuses: Sequence[str] = (),
        limit: int = 100,
        after: str | None = None,
        sorting_keys: Sequence[str] = (),
        sorting_order: Sequence[str] = (),
        deadline: float | None = None,
    ) -> JobPage:
        """One page of ``GET /v2/export-jobs``; array parameters repeat (``statuses=a&statuses=b``).

        ``deadline`` (``time.monotonic()``) ends the call earlier than its own ``2 × timeout`` when a
        caller walking several pages has less time left. Jobs in the page that do not parse are
        counted in ``JobPage.skipped``.
        """
        params: list[tuple[str, str]] = []
        if company_id is not None:
            params.append(("company_id", str(uuid.UUID(str(company_id)))))
        params += [("statuses", status) for status in statuses]
        params.append(("limit", str(int(limit))))
        if after:
            if not CURSOR.match(after):  # only a cursor of Pleo's own shape goes back to Pleo
                raise PleoBadResponse(f"Pleo gave a cursor the desk does not send back: {quoted(after)}.")
            params.append(("after", after))
        params += [("sorting_keys", key) for key in sorting_keys]
        params += [("sorting_order", order) for order in sorting_order]
        return JobPage.from_payload(self._get("/v2/export-jobs", endpoint="list", params=params, deadline=deadline))

    def get_accounting_entry(self, entry_id: uuid.UUID) -> AccountingEntry:
        """``GET /v1/accounting-entries/{accountingEntryId}`` as a typed entry."""
        entry_id = uuid.UUID(str(entry_id))
        return parse_entry_response(self._get(f"/v1/accounting-entries/{entry_id}", endpoint="entry"))

    def get_company(self, company_id: uuid.UUID) -> Company:
        """``GET /v1/companies/{companyId}`` as a typed company."""
        company_id = uuid.UUID(str(company_id))
        return parse_company_response(self._get(f"/v1/companies/{company_id}", endpoint="company"))

    # Transport ---------------------------------------------------------------

    def _get(
        self,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """The JSON of a GET, counted and timed as a call to ``endpoint`` (a name, not the URL)."""
        if self.before_call is not None:
            self.before_call(endpoint)
        started = time.monotonic()
        outcome = "ok"
        try:
            return self._get_with_retries(path, params, deadline, resource=endpoint)
        except PleoError as error:
            outcome = error.code
            raise
        finally:
            if self.after_call is not None:
                self.after_call(endpoint, outcome, time.monotonic() - started)

    def _get_with_retries(
        self,
        path: str,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None,
        deadline: float | None,
        *,
        resource: str = "job",
    ) -> Any:
        url = self.base_url + path
        own = time.monotonic() + 2 * self.timeout
        deadline = own if deadline is None else min(own, deadline)
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(url, params, deadline, resource=resource)
            except _Retryable as retry:
                remaining = deadline - time.monotonic()
                pause = random.uniform(0, BACKOFF_BASE * 2 ** (attempt - 1))  # noqa: S311 - jitter, not a secret
                if attempt > MAX_RETRIES or remaining - pause < 0.05:
                    raise retry.error from None
                logger.info("Pleo GET %s failed (%s); retry %d in %.2fs", path, retry.error.code, attempt, pause)
                time.sleep(pause)

    def _attempt(
        self,
        url: str,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None,
        deadline: float,
        *,
        resource: str = "job",
    ) -> Any:
        remaining = deadline - time.monotonic()
        per_try = max(0.01, min(self.timeout, remaining))
        started = time.monotonic()
        _watch.deadline, _watch.timers = deadline, []  # see _DeadlineAdapter
        try:
            response = self.session.get(
                url, params=params, timeout=(per_try, per_try), stream=True, allow_redirects=False
            )
            try:
                body = _read_body(response, deadline)
            except _TooLarge:
                raise PleoBadResponse(
                    f"Pleo's answer is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB once decoded; not read.",
                    status=response.status_code,
                ) from None
            except requests.exceptions.ContentDecodingError:
                raise PleoBadResponse("Pleo's answer could not be decompressed.", status=response.status_code) from None
            finally:
                response.close()
            if time.monotonic() >= deadline - 0.01:  # the answer was cut off at the deadline
                raise _DeadlinePassed
        except requests.exceptions.ConnectTimeout:
            raise _Retryable(PleoTimeout("Pleo did not accept the connection in time.")) from None
        except (requests.exceptions.ReadTimeout, _DeadlinePassed):
            raise PleoTimeout("Pleo did not answer in time.") from None
        except requests.exceptions.RequestException as exc:
            if time.monotonic() >= deadline - 0.05 or _is_read_timeout(exc):
                raise PleoTimeout("Pleo did not answer in time.") from None
            if isinstance(exc, requests.exceptions.ConnectionError):
                raise _Retryable(PleoUnavailable("Pleo could not be reached (connection failed).")) from None
            raise PleoUnavailable(f"Pleo could not be reached ({type(exc).__name__}).") from None
        finally:
            for timer in _watch.timers:
                timer.cancel()
            _watch.deadline, _watch.timers = None, []
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.info("Pleo GET %s -> %s in %.0f ms", response.url.split("?")[0], response.status_code, elapsed_ms)
        return interpret_answer(response.status_code, response.headers, body, resource=resource)


def _read_body(response: requests.Response, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:  # counted after decompression: a compression bomb stops here too
            raise _TooLarge
        if time.monotonic() > deadline:
            raise _DeadlinePassed
    return b"".join(chunks)


# --- a hard deadline for the whole exchange ------------------------------------------------
# requests' timeouts bound each socket operation, so a server that trickles a byte now and then
# could hold a call for ever. Every connection of the client's session starts, with each request,
# a timer that shuts its socket down when the call's deadline passes. No library offers a total
# deadline for a requests call, so this hooks urllib3's documented ``ConnectionCls`` extension
# point; urllib3 is pinned in requirements.txt for that reason.

_watch = threading.local()


def _arm_deadline(conn: urllib3.connection.HTTPConnection) -> None:
    deadline = getattr(_watch, "deadline", None)
    if deadline is None:
        return
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (conn,))
    timer.daemon = True
    timer.start()
    _watch.timers.append(timer)


def _cut(conn: urllib3.connection.HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to cut
            sock.shutdown(socket.SHUT_RDWR)


class _DeadlineHTTPConnection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _arm_deadline(self)
        super().request(*args, **kwargs)


class _DeadlineHTTPSConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _arm_deadline(self)
        super().request(*args, **kwargs)


class _DeadlineHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


def _is_read_timeout(exc: BaseException) -> bool:
    # requests wraps urllib3's ReadTimeoutError raised mid-body in ConnectionError.
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            return True
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = inner or seen.__context__
    return False


@dataclass
class _Configured:
    before_call: BeforeCall | None = None
    after_call: AfterCall | None = None
    user_agent: str = ""


_configured = _Configured()


def configure(*, before_call: BeforeCall | None, after_call: AfterCall | None, user_agent: str) -> None:
    """What ``get_client``'s client does around each call (the desk sets this once, at start-up)."""
    _configured.before_call, _configured.after_call, _configured.user_agent = before_call, after_call, user_agent
    get_client.cache_clear()


@lru_cache(maxsize=1)
def get_client() -> PleoClient:
    """The process-wide client, built from settings (cleared when they change)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.PLEO_API_BASE_URL:
        raise ImproperlyConfigured("PLEO_API_BASE_URL is not set: `make run` starts the sandbox when it is unset.")
    return PleoClient(
        settings.PLEO_API_BASE_URL,
        token=settings.PLEO_API_TOKEN,
        api_key=settings.PLEO_API_KEY,
        timeout=settings.PLEO_API_TIMEOUT,
        before_call=_configured.before_call,
        after_call=_configured.after_call,
        user_agent=_configured.user_agent,
    )


def _reset_client(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("PLEO_API_"):
        get_client.cache_clear()


def connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_reset_client, dispatch_uid="exportjobs.pleo.client.reset")
