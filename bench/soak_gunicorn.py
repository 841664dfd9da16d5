"""gunicorn configuration for the soak (``bench/soak.py``): the first worker traces its allocations.

Loaded with ``gunicorn -c bench/soak_gunicorn.py`` when ``SOAK_TRACE_DIR`` is set. The first worker
(age 1) starts ``tracemalloc`` right after the fork and writes a snapshot whenever the bench drops a
file ``want-<name>`` into that directory (``<name>.snapshot``, then ``<name>.done``). The other workers
run untraced, so their memory is what a worker uses in production.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

FRAMES = 8  # frames kept per allocation: enough to see which of the desk's functions asked for it


def _serve_snapshots(directory: Path) -> None:
    while True:
        for wanted in sorted(directory.glob("want-*")):
            name = wanted.name.removeprefix("want-")
            wanted.unlink(missing_ok=True)
            ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib.*")]
            snapshot = tracemalloc.take_snapshot().filter_traces(ignore)
            snapshot.dump(str(directory / f"{name}.snapshot"))
            (directory / f"{name}.done").write_text(str(tracemalloc.get_traced_memory()[0]))
        time.sleep(0.5)


def post_fork(server: Any, worker: Any) -> None:  # noqa: ARG001 - gunicorn's hook signature
    directory = os.environ.get("SOAK_TRACE_DIR")
    if not directory or worker.age != 1:
        return
    tracemalloc.start(FRAMES)
    path = Path(directory)
    (path / "traced-pid").write_text(str(os.getpid()))
    threading.Thread(target=_serve_snapshots, args=(path,), name="soak-snapshots", daemon=True).start()
