"""gunicorn settings that belong with the code; `make run` (``manage.py rundesk``) passes the rest.

Used as ``gunicorn -c dashboard/gunicorn_conf.py dashboard.wsgi``.
"""

from __future__ import annotations

import os
from typing import Any

# The access log line ends with the request id (the reference the 500 page shows) and the time taken.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


def child_exit(server: Any, worker: Any) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """A worker that ends leaves its metrics files for the others to sum (gauges of live workers only)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call] # untyped in prometheus-client


def post_worker_init(worker: Any) -> None:
    """Said once a worker has loaded the desk and takes requests: a restart in place
    (deploy/team.py) waits for this line from every new worker before it stops the old ones."""
    worker.log.info("Worker ready (pid: %s)", worker.pid)
