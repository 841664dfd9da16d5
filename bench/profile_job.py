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
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

# (label, dotted path of a function): parts of a request whose cumulative cost is reported.
PARTS: list[tuple[str, str]] = [
    ("Sign-in check: session + user (auth.get_user)", "django.contrib.auth.get_user"),
    ("  of which the session SELECT (SessionStore.load)", "django.contrib.sessions.backends.db.SessionStore.load"),
    ("Session save (a write)", "django.contrib.sessions.backends.db.SessionStore.save"),
    ("Permission check (has_perm: 2 SELECTs)", "django.contrib.auth.models.PermissionsMixin.has_perm"),
    ("Audit row INSERT (exportjobs.views._audit)", "exportjobs.views._audit"),
    ("Recent jobs on the home page (views._recent)", "exportjobs.views._recent"),
    ("Cache read + parse (services.job_get)", "exportjobs.services.job_get"),
    ("Page context (presenters.job_page_context)", "exportjobs.presenters.job_page_context"),
    ("  of which the ticket text (_ticket_text)", "exportjobs.presenters._ticket_text"),
    ("  of which Timestamp.of", "exportjobs.presenters.Timestamp.of"),
    ("Template rendering (shortcuts.render)", "django.shortcuts.render"),
    ("  of which {% include %} (IncludeNode.render)", "django.template.loader_tags.IncludeNode.render"),
    ("CSP header (CSPMiddleware.process_response)", "csp.middleware.CSPMiddleware.process_response"),
    ("CSRF token (get_token)", "django.middleware.csrf.get_token"),
    ("URL reversing (reverse)", "django.urls.base.reverse"),
    ("All SQL, across the above (CursorWrapper.execute)", "django.db.backends.utils.CursorWrapper.execute"),
    ("Opening the DB connection (connect)", "django.db.backends.base.base.BaseDatabaseWrapper.connect"),
]


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
    for label, dotted in PARTS:
        key = _code_key(dotted)
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
    from django.contrib.auth.models import PermissionsMixin
    from django.db import connection

    import exportjobs.views as views

    original_audit, original_has_perm = views._audit, PermissionsMixin.has_perm
    original_age = connection.settings_dict.get("CONN_MAX_AGE", 0)
    remembered: dict = {}

    def remembered_has_perm(user, perm, obj=None):
        key = (user.pk, perm, obj)
        if key not in remembered:
            remembered[key] = original_has_perm(user, perm, obj)
        return remembered[key]

    def switch(audit: bool, perm: bool, conn: bool) -> None:
        views._audit = original_audit if audit else (lambda *args, **kwargs: None)
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


def profile(job_id: str, count: int = 300, top: int = 45) -> dict:
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
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job-id", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args(argv)
    print("PROFILE_JSON " + json.dumps(profile(args.job_id, args.requests, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
