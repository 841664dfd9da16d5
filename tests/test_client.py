"""PleoClient against the sandbox Pleo API over real sockets: typed jobs, named errors,
retries counted upstream, the call's deadline, and credentials that never leak."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from exportjobs import __version__
from exportjobs.pleo import (
    ExportJob,
    FailureType,
    ItemStatus,
    JobStatus,
    NotFound,
    PleoAuthError,
    PleoBadResponse,
    PleoClient,
    PleoError,
    PleoRateLimited,
    PleoTimeout,
    PleoUnavailable,
)
from exportjobs.sandbox import SandboxServer, seed
from tests.helpers import HANG_GUARD, SANDBOX_TOKEN

TIMEOUT = 0.5

COMPLETED = seed.job_uuid("completed")
WITH_ERRORS = seed.job_uuid("completed_with_errors")
ALL_NULL = seed.job_uuid("all_null")
NULLABLE = ("createdBy", "startedAt", "lastUpdatedAt", "completedAt", "expiredAt", "failureReason", "failureReasonType")
REQUIRED = (
    "companyId",
    "createdAt",
    "expiresIn",
    "id",
    "isInteractive",
    "numberOfItems",
    "status",
    "vendorBasedBookkeeping",
)


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


@pytest.fixture
def pleo(sandbox) -> PleoClient:
    return PleoClient(sandbox.url, token=SANDBOX_TOKEN, timeout=TIMEOUT)


def fetch(client: PleoClient, job_id: str) -> ExportJob | PleoError:
    """The job or the error the client raised."""
    try:
        return client.get_export_job(uuid.UUID(job_id))
    except PleoError as exc:
        return exc


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- a 200 becomes a typed ExportJob -----------------------------------------


def test_a_found_job_comes_back_typed(pleo, sandbox):
    payload = sandbox.state.job(WITH_ERRORS)

    job = pleo.get_export_job(uuid.UUID(WITH_ERRORS))

    assert isinstance(job, ExportJob)
    assert job.id == uuid.UUID(WITH_ERRORS)
    assert isinstance(job.id, uuid.UUID)
    assert job.company_id == uuid.UUID(seed.COMPANY_ID)
    assert isinstance(job.company_id, uuid.UUID)
    assert job.created_by == uuid.UUID(seed.USER_MARIA)
    assert isinstance(job.created_by, uuid.UUID)
    assert job.status is JobStatus.COMPLETED_WITH_ERRORS
    assert job.failure_reason_type is FailureType.VALIDATION_FAILURE
    assert job.failure_reason == "4 of 36 entries were rejected by the accounting system."
    for attribute, key in (
        ("created_at", "createdAt"),
        ("started_at", "startedAt"),
        ("last_updated_at", "lastUpdatedAt"),
        ("completed_at", "completedAt"),
    ):
        value = getattr(job, attribute)
        assert value.tzinfo is timezone.utc, attribute
        assert value == utc(payload[key]), attribute
    assert job.expired_at is None
    assert type(job.expires_in) is int
    assert job.expires_in == 3600
    assert type(job.number_of_items) is int
    assert job.number_of_items == 36
    assert job.is_interactive is True
    assert job.vendor_based_bookkeeping is True
    assert json.loads(job.raw_json) == payload


def test_an_unknown_status_and_failure_type_are_kept_raw(pleo, sandbox):
    sandbox.state.put_job({**sandbox.state.job(COMPLETED), "status": "archived", "failureReasonType": "quantum_flux"})

    job = pleo.get_export_job(uuid.UUID(COMPLETED))

    assert job.status == "archived"
    assert type(job.status) is str
    assert not job.status_known
    assert job.failure_reason_type == "quantum_flux"
    assert type(job.failure_reason_type) is str
    assert job.failure_type_value == "quantum_flux"


def test_a_job_with_every_nullable_field_null_parses(pleo, sandbox):
    payload = sandbox.state.job(ALL_NULL)
    assert all(payload[name] is None for name in NULLABLE)

    job = pleo.get_export_job(uuid.UUID(ALL_NULL))

    assert job.status is JobStatus.PENDING
    assert (job.created_by, job.started_at, job.last_updated_at, job.completed_at, job.expired_at) == (None,) * 5
    assert (job.failure_reason, job.failure_reason_type) == (None, None)
    assert job.created_at == utc(payload["createdAt"])


def test_a_job_with_every_nullable_field_absent_parses(pleo, sandbox):
    payload = {key: value for key, value in sandbox.state.job(WITH_ERRORS).items() if key not in NULLABLE}
    assert sorted(payload) == sorted(REQUIRED)
    sandbox.state.put_job(payload)

    job = pleo.get_export_job(uuid.UUID(WITH_ERRORS))

    assert job.status is JobStatus.COMPLETED_WITH_ERRORS
    assert (job.created_by, job.started_at, job.last_updated_at, job.completed_at, job.expired_at) == (None,) * 5
    assert (job.failure_reason, job.failure_reason_type) == (None, None)


def test_a_timestamp_with_an_offset_is_converted_to_utc(pleo, sandbox):
    sandbox.state.put_job({**sandbox.state.job(COMPLETED), "createdAt": "2026-03-01T12:00:00+02:00"})

    job = pleo.get_export_job(uuid.UUID(COMPLETED))

    assert job.created_at == datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    assert job.created_at.tzinfo is timezone.utc


# --- each outcome maps to its named error --------------------------------------


def test_a_missing_job_is_reported_not_found_after_one_attempt(pleo, sandbox):
    missing = seed.NOT_FOUND_EXAMPLE

    with pytest.raises(NotFound) as caught:
        pleo.get_export_job(uuid.UUID(missing))

    assert caught.value.status == 404
    assert sandbox.state.calls(missing) == 1


def test_a_404_of_another_kind_is_a_bad_response_not_a_missing_job(pleo, sandbox):
    sandbox.state.add_fault(
        COMPLETED, "body", status=404, payload={"type": "NOT_FOUND", "message": "No such endpoint."}
    )

    with pytest.raises(PleoBadResponse, match="NOT_FOUND"):
        pleo.get_export_job(uuid.UUID(COMPLETED))


def test_a_401_is_an_auth_error_that_says_401(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "401")

    with pytest.raises(PleoAuthError) as caught:
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert "401" in str(caught.value)
    assert caught.value.status == 401
    assert sandbox.state.calls(COMPLETED) == 1


def test_a_wrong_token_is_an_auth_error(sandbox):
    client = PleoClient(sandbox.url, token="not-the-token", timeout=TIMEOUT)

    with pytest.raises(PleoAuthError, match="401"):
        client.get_export_job(uuid.UUID(COMPLETED))


def test_a_403_is_an_auth_error_that_names_the_missing_scope(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "403")

    with pytest.raises(PleoAuthError) as caught:
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert "403" in str(caught.value)
    assert "scope" in str(caught.value)
    assert caught.value.status == 403
    assert sandbox.state.calls(COMPLETED) == 1


def test_a_429_is_reported_rate_limited_with_itsretry_after_seconds(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "429", retry_after=30)

    with pytest.raises(PleoRateLimited) as caught:
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert caught.value.retry_after == 30
    assert caught.value.status == 429
    assert sandbox.state.calls(COMPLETED) == 1


def test_a_429_with_an_http_date_retry_after_becomes_seconds(pleo, sandbox):
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    sandbox.state.add_fault(COMPLETED, "429", retry_after=format_datetime(when, usegmt=True))

    with pytest.raises(PleoRateLimited) as caught:
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert 115 <= caught.value.retry_after <= 120


def test_a_500_is_reported_unavailable_without_a_retry(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "500")

    with pytest.raises(PleoUnavailable) as caught:
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert caught.value.status == 500
    assert sandbox.state.calls(COMPLETED) == 1


@pytest.mark.parametrize("status", [502, 503])
def test_a_gateway_error_is_retried_twice_then_reported_unavailable(pleo, sandbox, status):
    sandbox.state.add_fault(COMPLETED, str(status))

    with pytest.raises(PleoUnavailable) as caught:
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert caught.value.status == status
    assert sandbox.state.calls(COMPLETED) == 3


def test_a_single_503_is_retried_and_the_job_comes_back(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "503", times=1)

    job = pleo.get_export_job(uuid.UUID(COMPLETED))

    assert job.id == uuid.UUID(COMPLETED)
    assert job.status is JobStatus.COMPLETED
    assert sandbox.state.calls(COMPLETED) == 2


def test_a_dropped_connection_is_retried_twice_then_reported_unavailable(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "drop")

    with pytest.raises(PleoUnavailable):
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert sandbox.state.calls(COMPLETED) == 3


def test_a_refused_connection_is_reported_unavailable():
    client = PleoClient(closed_port_url(), token=SANDBOX_TOKEN, timeout=TIMEOUT)

    result = fetch(client, COMPLETED)

    assert isinstance(result, PleoUnavailable)


def test_a_server_that_never_answers_is_reported_as_a_timeout(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "hang")

    result = fetch(pleo, COMPLETED)

    assert isinstance(result, PleoTimeout)
    assert sandbox.state.calls(COMPLETED) == 1


@pytest.mark.parametrize(
    ("kind", "error", "attempts"),
    [
        ("502", PleoUnavailable, 3),
        ("503", PleoUnavailable, 3),
        ("504", PleoUnavailable, 3),
        ("drop", PleoUnavailable, 3),
        ("500", PleoUnavailable, 1),
        ("401", PleoAuthError, 1),
        ("403", PleoAuthError, 1),
        ("429", PleoRateLimited, 1),
        ("malformed_json", PleoBadResponse, 1),
        ("html", PleoBadResponse, 1),
        ("missing_fields", PleoBadResponse, 1),
    ],
)
def test_only_gateway_errors_and_dropped_connections_are_retried(pleo, sandbox, kind, error, attempts):
    sandbox.state.add_fault(COMPLETED, kind)

    result = fetch(pleo, COMPLETED)

    assert type(result) is error
    assert sandbox.state.calls(COMPLETED) == attempts


# --- bad payloads --------------------------------------------------------------


def test_malformed_json_is_a_bad_response(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "malformed_json")

    with pytest.raises(PleoBadResponse, match="not JSON"):
        pleo.get_export_job(uuid.UUID(COMPLETED))


def test_an_html_page_is_a_bad_response_that_names_its_content_type(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "html")

    with pytest.raises(PleoBadResponse, match="text/html"):
        pleo.get_export_job(uuid.UUID(COMPLETED))


@pytest.mark.parametrize(
    "body",
    [[], None, "job", {"job": {}}, {"data": []}, {"data": "job"}, {"data": None}],
    ids=["list", "null", "string", "no-data", "data-list", "data-string", "data-null"],
)
def test_a_body_without_a_job_object_is_a_bad_response(pleo, sandbox, body):
    sandbox.state.add_fault(COMPLETED, "body", payload=body)

    with pytest.raises(PleoBadResponse):
        pleo.get_export_job(uuid.UUID(COMPLETED))


@pytest.mark.parametrize("field", REQUIRED)
def test_a_missing_required_field_is_a_bad_response_that_names_it(pleo, sandbox, field):
    sandbox.state.add_fault(COMPLETED, "missing_fields", fields=[field])

    with pytest.raises(PleoBadResponse) as caught:
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert repr(field) in str(caught.value)


@pytest.mark.parametrize("field", REQUIRED)
def test_a_required_field_sent_as_null_is_a_bad_response_that_names_it(pleo, sandbox, field):
    sandbox.state.add_fault(COMPLETED, "body", payload={"data": {**sandbox.state.job(COMPLETED), field: None}})

    with pytest.raises(PleoBadResponse, match=repr(field)):
        pleo.get_export_job(uuid.UUID(COMPLETED))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", 42),
        ("id", "not-a-uuid"),
        ("companyId", "f0a5c6d2"),
        ("status", 5),
        ("createdAt", "yesterday"),
        ("createdAt", 1700000000),
        ("expiresIn", "3600"),
        ("expiresIn", True),
        ("expiresIn", 3600.5),
        ("numberOfItems", "12"),
        ("numberOfItems", False),
        ("isInteractive", "true"),
        ("isInteractive", 1),
        ("vendorBasedBookkeeping", 0),
        ("createdBy", 7),
        ("startedAt", "2026-13-45T99:00:00Z"),
        ("failureReason", ["no"]),
        ("failureReasonType", 3),
    ],
)
def test_a_field_of_the_wrong_type_is_a_bad_response_that_names_it(pleo, sandbox, field, value):
    sandbox.state.add_fault(COMPLETED, "body", payload={"data": {**sandbox.state.job(COMPLETED), field: value}})

    with pytest.raises(PleoBadResponse) as caught:
        pleo.get_export_job(uuid.UUID(COMPLETED))

    assert repr(field) in str(caught.value)
    assert sandbox.state.calls(COMPLETED) == 1


# --- the deadline ----------------------------------------------------------------
# How long a call may take is a number the client computes and arms (a timer that cuts the socket), not
# something these tests time: they check the number, and that a server that would hold the call for
# ever is given up on all the same.


@pytest.fixture
def armed() -> list[float]:
    """The time each attempt had left when it started (``deadline - now``), as the client armed it."""
    from exportjobs.pleo import client as client_module

    seen: list[float] = []
    real = client_module._arm_deadline

    def arm(conn) -> None:
        deadline = getattr(client_module._watch, "deadline", None)
        if deadline is not None:
            seen.append(deadline - time.monotonic())
        real(conn)

    client_module._arm_deadline = arm
    yield seen
    client_module._arm_deadline = real


def test_a_call_arms_a_deadline_of_twice_the_timeout(pleo, sandbox, armed):
    pleo.get_export_job(uuid.UUID(COMPLETED))
    assert len(armed) == 1
    assert 0 < armed[0] <= 2 * TIMEOUT


def test_a_hanging_sandbox_is_given_up_on(pleo, sandbox):
    sandbox.state.add_fault(COMPLETED, "hang")  # would hold the answer for a minute

    result = fetch(pleo, COMPLETED)

    assert isinstance(result, PleoTimeout)
    assert sandbox.state.calls(COMPLETED) == 1  # a timeout is not retried


def test_a_socket_that_never_answers_is_given_up_on():
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:  # listens, never accepts
        client = PleoClient(f"http://127.0.0.1:{silent.getsockname()[1]}", token=SANDBOX_TOKEN, timeout=TIMEOUT)

        result = fetch(client, COMPLETED)

    assert isinstance(result, PleoTimeout)


@contextmanager
def trickling_server(first: bytes, drip: bytes, *, every: float = 0.1):
    """A server that answers with ``first``, then one ``drip`` every ``every`` s (less than the client's
    timeout, so no socket timeout ever fires) until the client hangs up or the test ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(first)
                while not stop.wait(every):  # the next drip, until the test stops the server
                    connection.sendall(drip)
            except OSError:  # the client cut the connection: what the test expects
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(HANG_GUARD)


@pytest.mark.parametrize(
    ("first", "drip"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n", b" "),
        (b"HTTP/1.1 200 OK\r\n", b"X-Slow: 1\r\n"),
    ],
    ids=["body", "headers"],
)
def test_a_server_that_trickles_its_answer_for_ever_is_cut_off_at_the_deadline(first, drip, armed):
    with trickling_server(first, drip) as url:
        client = PleoClient(url, token=SANDBOX_TOKEN, timeout=TIMEOUT)

        result = fetch(client, COMPLETED)

    # Only the armed deadline can end this call: every drip comes before a socket timeout would fire.
    assert isinstance(result, PleoTimeout)
    assert len(armed) == 1
    assert 0 < armed[0] <= 2 * TIMEOUT


class SteppedTime:
    """The client's clock, moved by the test: each answer "takes" ``answer`` seconds, each pause its length."""

    def __init__(self, answer: float) -> None:
        self.now = 1000.0
        self.answer = answer
        self.pauses: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def test_slow_gateway_errors_are_retried_only_while_the_deadline_allows(pleo, sandbox, monkeypatch):
    from exportjobs.pleo import client as client_module

    stepped = SteppedTime(answer=0.4)  # every answer takes 0.4 s of the call's 2 × 0.5 s
    real_get = pleo.session.get

    def slow_get(*args, **kwargs):
        response = real_get(*args, **kwargs)
        stepped.now += stepped.answer
        return response

    monkeypatch.setattr(client_module, "time", stepped)
    monkeypatch.setattr(client_module.random, "uniform", lambda low, high: 0.1)
    monkeypatch.setattr(pleo.session, "get", slow_get)
    sandbox.state.add_fault(COMPLETED, "503")

    result = fetch(pleo, COMPLETED)

    # 0.4 s, a pause of 0.1 s, 0.4 s: 0.9 s spent; another try cannot fit in the 0.1 s left.
    assert isinstance(result, PleoUnavailable)
    assert sandbox.state.calls(COMPLETED) == 2
    assert stepped.pauses == [0.1]


def test_gateway_errors_are_retried_twice_when_the_deadline_allows(pleo, sandbox, monkeypatch):
    from exportjobs.pleo import client as client_module

    stepped = SteppedTime(answer=0.0)
    monkeypatch.setattr(client_module, "time", stepped)
    monkeypatch.setattr(client_module.random, "uniform", lambda low, high: 0.1)
    sandbox.state.add_fault(COMPLETED, "503")

    result = fetch(pleo, COMPLETED)

    assert isinstance(result, PleoUnavailable)
    assert sandbox.state.calls(COMPLETED) == 3
    assert stepped.pauses == [0.1, 0.1]


# --- credentials never leak ------------------------------------------------------


def everything_said_about(errors: list[BaseException]) -> str:
    """str() and repr() of each error and of whatever it was raised from."""
    texts = []
    for error in errors:
        seen: BaseException | None = error
        while seen is not None:
            texts += [str(seen), repr(seen), repr(seen.args)]
            seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


def provoke_every_outcome(client: PleoClient, state) -> list[BaseException]:
    """One call per kind of answer; the errors raised."""
    errors: list[BaseException] = []
    client.get_export_job(uuid.UUID(COMPLETED))
    for kind in ("401", "403", "429", "500", "503", "drop", "malformed_json", "html", "missing_fields", "hang"):
        state.reset()
        state.add_fault(COMPLETED, kind)
        result = fetch(client, COMPLETED)
        assert isinstance(result, PleoError), kind
        errors.append(result)
    state.reset()
    errors.append(fetch(client, seed.NOT_FOUND_EXAMPLE))
    return errors


def assert_secret_absent(secret_forms: list[str], *texts: str) -> None:
    for text in texts:
        for secret in secret_forms:
            assert secret not in text


def test_the_bearer_token_never_appears_in_logs_errors_or_repr(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    client = PleoClient(sandbox.url, token=SANDBOX_TOKEN, timeout=TIMEOUT)
    refused = PleoClient(closed_port_url(), token=SANDBOX_TOKEN, timeout=TIMEOUT)

    errors = provoke_every_outcome(client, sandbox.state)
    errors.append(fetch(refused, COMPLETED))

    assert "Pleo GET" in caplog.text
    assert "Starting new HTTP connection" in caplog.text
    secret_part = SANDBOX_TOKEN.removeprefix("sandbox-")
    assert_secret_absent(
        [SANDBOX_TOKEN, secret_part],
        caplog.text,
        everything_said_about(errors),
        repr(client),
        str(client),
        repr(refused),
    )


@pytest.fixture
def keyed_sandbox():
    """A second sandbox that accepts only Basic auth with an API key."""
    key = "key-" + uuid.uuid4().hex
    server = SandboxServer(token="", api_key=key).start()
    try:
        yield server, key
    finally:
        server.stop()


def test_an_api_key_is_sent_as_basic_auth_and_accepted(keyed_sandbox):
    server, key = keyed_sandbox
    client = PleoClient(server.url, api_key=key, timeout=TIMEOUT)

    job = client.get_export_job(uuid.UUID(COMPLETED))

    assert job.id == uuid.UUID(COMPLETED)
    assert server.state.calls(COMPLETED) == 1


def test_a_wrong_api_key_is_an_auth_error(keyed_sandbox):
    server, _ = keyed_sandbox
    client = PleoClient(server.url, api_key="key-wrong", timeout=TIMEOUT)

    with pytest.raises(PleoAuthError, match="401"):
        client.get_export_job(uuid.UUID(COMPLETED))


def test_the_api_key_never_appears_in_logs_errors_or_repr(keyed_sandbox, caplog):
    server, key = keyed_sandbox
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    client = PleoClient(server.url, api_key=key, timeout=TIMEOUT)

    errors = provoke_every_outcome(client, server.state)

    assert "Pleo GET" in caplog.text
    basic = base64.b64encode(f"{key}:".encode()).decode()
    assert_secret_absent([key, basic], caplog.text, everything_said_about(errors), repr(client), str(client))


# --- what goes on the wire ---------------------------------------------------------


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        body = json.dumps({"data": self.server.payload}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def recorder():
    """A tiny Pleo stand-in that answers every GET with one job and records the request headers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    server.daemon_threads = True
    server.requests = []
    server.payload = seed.SAMPLES_BY_ID[COMPLETED].build(datetime.now(timezone.utc).replace(microsecond=0))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_request_asks_for_json_and_names_the_desk(recorder, settings):
    from exportjobs.pleo import get_client

    host, port = recorder.server_address[:2]
    settings.PLEO_API_BASE_URL, settings.PLEO_API_TOKEN = f"http://{host}:{port}/", SANDBOX_TOKEN
    client = get_client()  # as the desk configures it

    job = client.get_export_job(uuid.UUID(COMPLETED))

    assert job.id == uuid.UUID(COMPLETED)
    [(path, headers)] = recorder.requests
    assert path == f"/v2/export-jobs/{COMPLETED}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith(f"ExportJobDesk/{__version__}")
    assert headers["Authorization"] == f"Bearer {SANDBOX_TOKEN}"


def test_an_api_key_goes_out_as_basic_auth_with_an_empty_password(recorder):
    host, port = recorder.server_address[:2]
    client = PleoClient(f"http://{host}:{port}", api_key="key-123", timeout=TIMEOUT)

    client.get_export_job(uuid.UUID(COMPLETED))

    [(_, headers)] = recorder.requests
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"key-123:").decode()


# --- guards before any request ------------------------------------------------------


def test_a_job_id_that_is_not_a_uuid_never_reaches_pleo(pleo, sandbox):
    with pytest.raises(ValueError, match="hexadecimal UUID"):
        pleo.get_export_job("../../admin")

    assert sandbox.state.calls() == 0


@pytest.mark.parametrize("timeout", [0, -1])
def test_a_client_cannot_be_built_without_a_positive_timeout(sandbox, timeout):
    with pytest.raises(ValueError, match="positive timeout"):
        PleoClient(sandbox.url, token=SANDBOX_TOKEN, timeout=timeout)


def test_a_client_takes_a_token_or_an_api_key_not_both(sandbox):
    with pytest.raises(ValueError, match="not both"):
        PleoClient(sandbox.url, token=SANDBOX_TOKEN, api_key="key-123", timeout=TIMEOUT)


# --- items -------------------------------------------------------------------------


def test_walking_the_item_pages_returns_every_failed_item_once(pleo, sandbox):
    large = seed.job_uuid("large")
    seen: list[uuid.UUID] = []
    after = None
    pages = 0
    while True:
        page = pleo.get_export_job_items(uuid.UUID(large), status="failed", limit=100, after=after)
        pages += 1
        assert page.total == 250
        assert all(item.status is ItemStatus.FAILED and item.export_job_id == uuid.UUID(large) for item in page.items)
        assert all(item.failure_reason_type is not None and item.failure_reason for item in page.items)
        seen += [item.accounting_entry_id for item in page.items]
        if not page.has_next_page:
            break
        after = page.end_cursor

    assert pages == 3
    assert len(seen) == len(set(seen)) == 250
    assert sandbox.state.item_calls(large) == 3


# --- the list of jobs ----------------------------------------------------------------


def served_parameters(sandbox) -> dict[str, list[str]]:
    return sandbox.state.served_list_pages()[-1]["pagination"]["currentRequestPagination"]["parameters"]


def test_a_page_of_the_list_comes_back_typed_with_its_cursor(pleo, sandbox):
    page = pleo.list_export_jobs(statuses=["failed"], limit=10)

    assert len(page.jobs) == 10
    assert all(isinstance(job, ExportJob) and job.status is JobStatus.FAILED for job in page.jobs)
    assert page.skipped == 0
    assert page.has_next_page is True
    assert page.end_cursor
    assert page.total == len(sandbox.state.listing(statuses=["failed"], company=None, sort=None))
    assert page.jobs[0].payload == sandbox.state.job(str(page.jobs[0].id))  # kept as sent, to cache


def test_list_parameters_repeat_and_name_the_company_the_cursor_and_the_sort(pleo, sandbox):
    first = pleo.list_export_jobs(statuses=["failed"], limit=5)

    pleo.list_export_jobs(
        company_id=uuid.UUID(seed.COMPANY_SE),
        statuses=["failed", "completed_with_errors"],
        limit=5,
        after=first.end_cursor,
        sorting_keys=["createdAt"],
        sorting_order=["DESC"],
    )

    assert served_parameters(sandbox) == {
        "company_id": [seed.COMPANY_SE],
        "statuses": ["failed", "completed_with_errors"],
        "limit": ["5"],
        "after": [first.end_cursor],
        "sorting_keys": ["createdAt"],
        "sorting_order": ["DESC"],
    }


def test_jobs_in_a_page_that_do_not_parse_are_counted_and_the_others_kept(pleo, sandbox):
    sandbox.state.add_list_fault("bad_job", count=3)

    page = pleo.list_export_jobs(statuses=["failed"], limit=10)

    assert page.skipped == 3
    assert len(page.jobs) == 7


@pytest.mark.parametrize("kind", ["bad_page", "malformed_json", "html"])
def test_a_page_that_does_not_parse_is_a_bad_response(pleo, sandbox, kind):
    sandbox.state.add_list_fault(kind)
    with pytest.raises(PleoBadResponse):
        pleo.list_export_jobs(limit=10)


def test_a_refused_sort_is_a_bad_response_with_status_400(pleo, sandbox):
    sandbox.state.add_list_fault("refuse_sort")
    with pytest.raises(PleoBadResponse) as refused:
        pleo.list_export_jobs(limit=10, sorting_keys=["createdAt"], sorting_order=["DESC"])
    assert refused.value.status == 400
    assert len(pleo.list_export_jobs(limit=10).jobs) == 10


def test_a_list_call_ends_by_the_deadline_it_is_given(pleo, sandbox, armed):
    sandbox.state.add_list_fault("hang", seconds=60)
    with pytest.raises(PleoTimeout):
        pleo.list_export_jobs(limit=10, deadline=time.monotonic() + 0.2)
    assert len(armed) == 1
    assert 0 < armed[0] <= 0.2  # the caller's deadline, not the call's own 2 × timeout (1 s)


def test_list_errors_are_the_job_calls_errors(pleo, sandbox):
    for fault, error in (("401", PleoAuthError), ("429", PleoRateLimited), ("503", PleoUnavailable)):
        sandbox.state.clear_list_faults()
        sandbox.state.add_list_fault(fault)
        with pytest.raises(error):
            pleo.list_export_jobs(limit=10)
