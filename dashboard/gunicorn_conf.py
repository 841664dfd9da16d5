"""gunicorn settings that belong with the code; `make run` (``manage.py rundesk``) passes the rest.

Used as ``gunicorn -c dashboard/gunicorn_conf.py dashboard.wsgi``.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.http.wsgi import Response

# The access log line ends with the request id (the reference the 500 page shows) and the time taken.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


def child_exit(server: Any, worker: Any) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """A worker that ends leaves its metrics files for the others to sum (gauges of live workers only)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call] # untyped in prometheus-client


class _Gathered:
    """Stands in for the client socket while gunicorn writes a response's head and first body bytes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.parts.append(bytes(data))


_gunicorn_write = Response.write


def write_head_with_body(response: Any, data: bytes) -> None:
    """Response.write that sends the status line and headers in the same ``sendall`` as the first body bytes.

    gunicorn writes the head and the body in two system calls. A host that dies between them (SIGKILL, the
    machine lost) leaves nginx with a head it has already passed to the reader and no body: a response it
    can no longer send to the other host, and a broken page. In one write the kernel takes both or neither,
    so nginx either has the whole page or nothing and tries the other host. gunicorn has no setting for
    this, hence the wrapper: gunicorn's own write runs unchanged (length checks, no-body statuses) against
    a stand-in socket, and what it wrote goes out at once.
    """
    if response.headers_sent or not data:
        _gunicorn_write(response, data)
        return
    client, gathered = response.sock, _Gathered()
    response.sock = gathered
    try:
        _gunicorn_write(response, data)
    finally:
        response.sock = client
    client.sendall(b"".join(gathered.parts))


def post_worker_init(worker: Any) -> None:
    """Said once a worker has loaded the desk and takes requests: a restart in place
    (deploy/team.py) waits for this line from every new worker before it stops the old ones."""
    Response.write = write_head_with_body  # see write_head_with_body
    worker.log.info("Worker ready (pid: %s)", worker.pid)
