"""dashboard/gunicorn_conf.py: what the desk changes in gunicorn, checked on gunicorn's own Response."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.http.wsgi import Response

from dashboard import gunicorn_conf


class Socket:
    """A client socket that remembers each ``sendall``: one system call each."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.calls.append(bytes(data))


def sent(status: str, headers: list[tuple[str, str]], *bodies: bytes, method: str = "GET") -> list[bytes]:
    """What gunicorn's Response sends, one item per ``sendall``, for a response written as ``bodies``."""
    sock = Socket()
    request = SimpleNamespace(version=(1, 1), method=method, should_close=lambda: False)
    response = Response(request, sock, Config())
    response.start_response(status, headers)
    for body in bodies:
        response.write(body)
    response.close()
    return sock.calls


@pytest.fixture
def worker(monkeypatch):
    """A gunicorn worker after the desk's post_worker_init: the hook's changes undone after the test."""
    monkeypatch.setattr(Response, "write", Response.write)
    logged: list[str] = []
    worker = SimpleNamespace(pid=4242, log=SimpleNamespace(info=lambda message, *args: logged.append(message % args)))
    gunicorn_conf.post_worker_init(worker)
    assert logged == ["Worker ready (pid: 4242)"]
    return worker


def test_a_page_leaves_in_one_write_head_and_body_together(worker):
    """A host killed between two writes would leave nginx a head it has passed on and cannot retry."""
    body = b"<!doctype html>" + b"x" * 10_000
    calls = sent("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))], body)
    assert len(calls) == 1
    head, _, written = calls[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 10015" in head
    assert written == body


def test_gunicorns_own_rules_still_apply_no_more_than_the_length_and_no_body_for_head(worker):
    calls = sent("200 OK", [("Content-Length", "5")], b"12345 and more", b"and more")
    assert b"".join(calls).endswith(b"\r\n\r\n12345")

    calls = sent("200 OK", [("Content-Length", "5")], b"12345", method="HEAD")
    assert len(calls) == 1
    assert calls[0].endswith(b"Content-Length: 5\r\n\r\n")


def test_later_writes_and_empty_bodies_go_as_gunicorn_sends_them(worker):
    calls = sent("200 OK", [("Transfer-Encoding", "chunked")], b"first", b"second")
    assert calls[0].endswith(b"\r\n\r\n5\r\nfirst\r\n")
    assert calls[1:] == [b"6\r\nsecond\r\n", b"0\r\n\r\n"]

    calls = sent("204 No Content", [], b"")
    assert len(calls) == 1
    assert calls[0].startswith(b"HTTP/1.1 204 No Content\r\n")
