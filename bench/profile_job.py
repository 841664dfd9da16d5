"""Profile the cached job page in-process (cProfile, Django's test Client), next to the home page.

Run by ``bench/run.py`` in its own process with the benchmark's environment
(``python -m bench.profile_job --job-id ID``); prints one JSON object: time per
request with and without the profiler, the SQL each page runs, the functions
that cost the most, and the cost of the parts that are candidates for removal.

Like gunicorn, and unlike the test Client on its own, database connections are
closed at the end of each request (``close_old_connections``), so per-request
connection set-up is counted as it is in production.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The code profiled: this checkout, or another one (PROFILE_CODE, a checkout of an earlier release).
sys.path.insert(0, os.environ.get("PROFILE_CODE") or str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

# (label, dotted paths of the function, the first that exists counts): parts of a request whose cumulative
# cost is reported. Two layouts: one module per kind (views.py, services.py, ...) and packages of modules.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("Sign-in check: session + user (auth.get_user)", ("django.contrib.auth.get_user",)),
    (
        "  of which the session SELECT (SessionStore.load)",
        ("django.contrib.sessions.backends.db.SessionStore.load",),
    ),
    ("Session save (a write)", ("django.contrib.sessions.backends.db.SessionStore.save",)),
    ("Permission check (has_perm: 2 SELECTs)", ("django.contrib.auth.models.PermissionsMixin.has_perm",)),
    ("Permission answer (access.may_view)", ("exportjobs.access.may_view",)),
    ("Audit row INSERT (_audit_look)", ("exportjobs.views.jobs._audit_look", "exportjobs.views._audit_look")),
    ("Recent jobs on the home page", ("exportjobs.views.pages._recent", "exportjobs.views._recent")),
    ("Cache read + parse (job_get)", ("exportjobs.services.jobs.job_get", "exportjobs.services.job_get")),
    ("Verdict (verdict_of)", ("exportjobs.verdict.verdict_of",)),
    ("The job's article (render or reuse)", ("exportjobs.views.jobs._job_article",)),
    (
        "Page context (job_page_context)",
        ("exportjobs.presenters.job.job_page_context", "exportjobs.presenters.job_page_context"),
    ),
    (
        "  of which the ticket text (_ticket_text)",
        ("exportjobs.presenters.job._ticket_text", "exportjobs.presenters._ticket_text"),
    ),
    ("Template rendering (shortcuts.render)", ("django.shortcuts.render",)),
    ("  of which {% include %} (IncludeNode.render)", ("django.template.loader_tags.IncludeNode.render",)),
    ("CSP header (CSPMiddleware.process_response)", ("csp.middleware.CSPMiddleware.process_response",)),
    ("CSRF token (get_token)", ("django.middleware.csrf.get_token",)),
    ("URL reversing (reverse)", ("django.urls.base.reverse",)),
    ("Waiting for the leader (single flight, this process)", ("exportjobs.cache._follow",)),
    ("Waiting for another process (single flight, shared)", ("exportjobs.cache._wait_for_other_process",)),
    ("The call to Pleo (requests.Session.send)", ("requests.sessions.Session.send",)),
    ("All SQL, across the above (CursorWrapper.execute)", ("django.db.backends.utils.CursorWrapper.execute",)),
    ("Opening the DB connection (connect)", ("django.db.backends.base.base.BaseDatabaseWrapper.connect",)),
]
# Where the audit row of a job page is written, in either layout: (module, function) patched by the what-ifs.
AUDIT_HOOKS = (("exportjobs.views.jobs", "_audit_look"), ("exportjobs.views", "_audit_look"))


def _code_key(dotted: str) -> tuple[str, int, str] | None:
    """The (file, first line, name) key that cProfile uses for the function at ``dotted``."""
    import importlib
    import inspect

    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for name in parts[split:]:
                target = getattr(target, name)
        except AttributeError:
            return None
        function = inspect.unwrap(getattr(target, "__func__", target))
        code = getattr(function, "__code__", None)
        return (code.co_filename, code.co_firstlineno, code.co_name) if code else None
    return None


def _setup():
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    user = get_user_model().objects.get(username=os.environ.get("BENCH_USER", "bench"))
    client.force_login(user)
    return client


def _get(client, path: str):
    from django.db import close_old_connections

    response = client.get(path)
    close_old_connections()  # what the WSGI server's request_finished does after each request
    return response


def _time_requests(client, path: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = _get(client, path)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
    return times


def _queries(client, path: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    return [" ".join(q["sql"].split())[:160] for q in captured.captured_queries]


def _parts(stats: pstats.Stats, count: int, total: float) -> list[dict]:
    rows = []
    for label, candidates in PARTS:
        key = next((found for found in map(_code_key, candidates) if found is not None), None)
        _cc, calls, _tt, cumulative, _callers = (
            stats.stats.get(key, (0, 0, 0.0, 0.0, {})) if key else (0, 0, 0.0, 0.0, {})
        )
        rows.append(
            {
                "part": label,
                "calls_per_request": calls / count,
                "ms_per_request": cumulative / count * 1000,  # cProfile counts recursion once
                "share": cumulative / total if total else 0.0,
            }
        )
    return rows


def _top(stats: pstats.Stats, count: int, key: int, limit: int) -> list[dict]:
    rows = []
    for (filename, line, function), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append((filename, line, function, nc, tt, ct))
    rows.sort(key=lambda row: row[key], reverse=True)
    out = []
    for filename, line, function, nc, tt, ct in rows[:limit]:
        short = filename
        for marker in ("site-packages/", str(ROOT) + "/"):
            if marker in short:
                short = short.split(marker, 1)[1]
        out.append(
            {
                "function": f"{short}:{line}({function})",
                "calls_per_request": nc / count,
                "own_ms_per_request": tt / count * 1000,
                "cumulative_ms_per_request": ct / count * 1000,
            }
        )
    return out


def _facts() -> dict:
    from django.conf import settings

    cache = settings.CACHES["default"]
    return {
        "cache_backend": cache["BACKEND"].rsplit(".", 1)[-1],
        "cache_max_entries": (cache.get("OPTIONS") or {}).get("MAX_ENTRIES", "300 (Django's default)"),
        "conn_max_age": settings.DATABASES["default"].get("CONN_MAX_AGE"),
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "session_engine": settings.SESSION_ENGINE,
        "session_save_every_request": settings.SESSION_SAVE_EVERY_REQUEST,
    }


def _what_if(client, pages: dict[str, str], count: int) -> list[dict]:
    """Medians with avoidable costs switched off, in this process only (the app's code is unchanged):
    no audit INSERT; the permission answer remembered per user; a persistent DB connection."""
    import importlib

    from django.contrib.auth.models import PermissionsMixin
    from django.db import connection

    views, audit_name = next(
        (module, name)
        for module, name in ((importlib.import_module(m), n) for m, n in AUDIT_HOOKS if _importable(m))
        if hasattr(module, name)
    )
    original_audit, original_has_perm = getattr(views, audit_name), PermissionsMixin.has_perm
    original_age = connection.settings_dict.get("CONN_MAX_AGE", 0)
    remembered: dict = {}

    def remembered_has_perm(user, perm, obj=None):
        key = (user.pk, perm, obj)
        if key not in remembered:
            remembered[key] = original_has_perm(user, perm, obj)
        return remembered[key]

    def switch(audit: bool, perm: bool, conn: bool) -> None:
        setattr(views, audit_name, original_audit if audit else (lambda *args, **kwargs: None))
        PermissionsMixin.has_perm = original_has_perm if perm else remembered_has_perm
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = original_age if conn else 60

    variants = [
        ("as is", (True, True, True)),
        ("without the audit INSERT", (False, True, True)),
        ("permission answer remembered (no has_perm SELECTs)", (True, False, True)),
        ("persistent DB connection (CONN_MAX_AGE=60)", (True, True, False)),
        ("all three", (False, False, False)),
    ]
    rows = []
    try:
        for label, flags in variants:
            switch(*flags)
            row = {"variant": label}
            for name, path in pages.items():
                for _ in range(5):
                    _get(client, path)
                row[name] = statistics.median(_time_requests(client, path, count)) * 1000
            rows.append(row)
    finally:
        switch(True, True, True)
    return rows


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _sandbox_latency(seconds: float) -> None:
    import requests

    url = os.environ["PLEO_API_BASE_URL"] + "/_sandbox/latency"
    requests.post(url, params={"seconds": seconds}, timeout=5).raise_for_status()


def _clients(client, count: int) -> list:
    """``count`` test clients signed in as ``client`` is, each with its middleware already loaded (a new
    client loads it on its first request: whitenoise then scans the static files, which no request does)."""
    from django.test import Client

    clients = []
    for _ in range(count):
        mine = Client(HTTP_HOST="127.0.0.1")
        mine.cookies = client.cookies
        _get(mine, "/healthz")
        clients.append(mine)
    return clients


def _stampede_once(clients: list, job_id: str) -> list[tuple[cProfile.Profile, float, int]]:
    """One request per client for one job at once, each profiled in its own thread: (profiler, seconds, status)."""
    import threading

    threads = len(clients)
    barrier = threading.Barrier(threads)
    done: list[tuple[cProfile.Profile, float, int]] = []
    lock = threading.Lock()

    def one(mine) -> None:
        profiler = cProfile.Profile()
        barrier.wait()
        profiler.enable()
        started = time.perf_counter()
        response = _get(mine, f"/jobs/{job_id}/")
        wall = time.perf_counter() - started
        profiler.disable()
        with lock:
            done.append((profiler, wall, response.status_code))

    pool = [threading.Thread(target=one, args=(mine,)) for mine in clients]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    return done


def followers(client, job_ids: list[str], *, threads: int, latency: float) -> dict:
    """Stampede followers profiled: for each job (not asked before) ``threads`` requests at once, each thread
    with its own profiler; the one request that called Pleo (the leader) is left out of the sums."""
    clients = _clients(client, threads)
    _sandbox_latency(latency)
    follower_stats: list[pstats.Stats] = []
    walls: list[float] = []
    leaders = 0
    try:
        for job_id in job_ids:
            done = _stampede_once(clients, job_id)
            send = _code_key("requests.sessions.Session.send")
            for profiler, wall, _status in done:
                stats = pstats.Stats(profiler)
                if send in stats.stats:
                    leaders += 1
                    continue
                follower_stats.append(stats)
                walls.append(wall)
    finally:
        _sandbox_latency(0.0)
    if not follower_stats:
        return {}
    merged = follower_stats[0]
    for stats in follower_stats[1:]:
        merged.add(stats)
    total = sum(walls)
    return {
        "jobs": len(job_ids),
        "threads": threads,
        "latency_ms": latency * 1000,
        "followers": len(walls),
        "leaders": leaders,
        "median_ms": statistics.median(walls) * 1000,
        "p95_ms": sorted(walls)[max(0, int(len(walls) * 0.95) - 1)] * 1000,
        "parts": _parts(merged, len(walls), total),
        "top_own": _top(merged, len(walls), 4, 25),
    }


def profile(
    job_id: str, count: int = 300, top: int = 45, follower_jobs: list[str] | None = None, latency: float = 0.2
) -> dict:
    client = _setup()
    pages = {"home": "/", "job": f"/jobs/{job_id}/"}
    for path in pages.values():  # warm: imports, template cache, the job in the cache
        for _ in range(5):
            _get(client, path)
    result: dict = {"requests": count, "facts": _facts(), "pages": {}}
    for name, path in pages.items():
        plain = _time_requests(client, path, count)
        profiler = cProfile.Profile()
        profiler.enable()
        started = time.perf_counter()
        for _ in range(count):
            _get(client, path)
        total = time.perf_counter() - started
        profiler.disable()
        stats = pstats.Stats(profiler)
        result["pages"][name] = {
            "path": path,
            "median_ms": statistics.median(plain) * 1000,
            "mean_ms": statistics.fmean(plain) * 1000,
            "profiled_ms_per_request": total / count * 1000,
            "queries": _queries(client, path),
            "parts": _parts(stats, count, total),
            "top_cumulative": _top(stats, count, 5, top),
            "top_own": _top(stats, count, 4, top),
        }
    result["what_if"] = _what_if(client, pages, count)
    if follower_jobs:
        result["followers"] = followers(client, follower_jobs, threads=20, latency=latency)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job-id", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--follower-jobs", nargs="*", default=[], help="jobs not asked before, one stampede each")
    parser.add_argument("--latency", type=float, default=0.2, help="the sandbox's latency while followers wait")
    args = parser.parse_args(argv)
    result = profile(args.job_id, args.requests, args.top, args.follower_jobs, args.latency)
    print("PROFILE_JSON " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
