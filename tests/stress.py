"""Run the timing-sensitive test files again and again while one core is kept busy; print the pass count.

``make test-stress`` (``STRESS_RUNS=10`` by default). A test that passes only on an idle machine shows up
here before it turns red for a newcomer. Each run is a fresh pytest run over the same files, in as many
processes as ``make test`` uses (``--workers``, from ``TEST_WORKERS``), so the files meet the same neighbours.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "var" / "stress"  # the whole output of each failed run, to read the failure afterwards
FILES = [
    "tests/test_faults.py",  # gunicorn with its own PostgreSQL and Redis, broken mid-load
    "tests/test_resilience.py",  # the breaker, the bulkhead, single flight
    "tests/test_services.py",  # the cache, its lifetimes, single flight across processes
    "tests/test_cache.py",  # Django's cache on the real Redis, what is stored and for how long
    "tests/test_entry_details.py",  # details within the page's time, trouble remembered
    "tests/test_hardening.py",  # budgets, mail sent in the background
    "tests/test_attention.py",  # list walks within their deadline
    "tests/test_client.py",  # the client's deadline and retries
    "tests/test_bulk.py",  # calls at most eight at a time
    "tests/test_browser.py",  # auto-refresh in Chromium
    "tests/test_team.py",  # two hosts behind nginx: one killed, a rolling deploy, under load
    "tests/test_alerts_worker.py",  # the alerts worker as a process, killed mid-delivery
]
HOG = "while True:\n    pass\n"  # keeps one core busy, as `yes > /dev/null` would


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="how many runs (default 10)")
    parser.add_argument("--no-hog", action="store_true", help="do not keep a core busy")
    parser.add_argument("--workers", type=int, default=2, help="test processes, as make test's -n (default 2)")
    parser.add_argument("files", nargs="*", help=f"test files (default: {len(FILES)} timing-sensitive files)")
    options = parser.parse_args()
    files = options.files or FILES
    hog = None if options.no_hog else subprocess.Popen([sys.executable, "-c", HOG])
    results = []
    try:
        for run in range(1, options.runs + 1):
            started = time.monotonic()
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-n",
                    str(options.workers),
                    *files,
                ],
                cwd=ROOT,
                env=os.environ.copy(),
                capture_output=True,
                text=True,
                check=False,
            )
            minutes = (time.monotonic() - started) / 60
            summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
            results.append(result.returncode == 0)
            print(f"run {run}/{options.runs}: {'passed' if results[-1] else 'FAILED'} in {minutes:.1f} min: {summary}")
            if result.returncode != 0:
                LOGS.mkdir(parents=True, exist_ok=True)
                log = LOGS / f"run-{run}.log"
                log.write_text(result.stdout + result.stderr)
                print(f"    whole output: {log.relative_to(ROOT)}")
                failures = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
                print("\n".join(f"    {line}" for line in failures[:20]) or result.stdout[-3000:])
            sys.stdout.flush()
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    hogged = "" if options.no_hog else ", one core kept busy"
    print(f"{sum(results)} of {len(results)} runs passed ({len(files)} files, {options.workers} processes{hogged})")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
