"""Loaded before Django (``-p tests.bootstrap`` in pytest.ini): a clean, known environment.

The suite never reads the developer's ``.env`` and never talks to a real Pleo:
every test points the dashboard at the sandbox it starts itself.
"""

import os
import secrets

os.environ["READ_DOT_ENV"] = "0"
os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(50))
for name in ("PLEO_API_BASE_URL", "PLEO_API_TOKEN", "PLEO_API_KEY", "PLEO_SANDBOX", "DEBUG", "HTTPS", "TIME_ZONE"):
    os.environ.pop(name, None)
# Playwright's sync API runs an event loop in the test thread; Django's ORM must still work there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# whitenoise serves STATIC_ROOT; on a fresh clone `collectstatic` has not made it yet.
os.makedirs(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "static"), exist_ok=True)

# With pytest-xdist (``make test`` runs two processes), each worker is a test run of its own: worker N > 0
# moves the shared Redis databases the suite uses (CACHE_URL's, TEST_REDIS_URL's) down by 2 N, so one
# worker's ``cache.clear()`` (a FLUSHDB) never empties what another worker's test has just cached.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and _worker[2:].isdigit() and int(_worker[2:]) > 0:
    from urllib.parse import urlsplit, urlunsplit

    def _own_database(url: str, worker: int) -> str:
        parts = urlsplit(url)
        if not parts.scheme.startswith("redis"):
            return url
        database = int(parts.path.strip("/") or 0) - 2 * worker
        if database < 0:
            raise SystemExit(f"{url}: too many test workers for Redis's 16 databases (use fewer, e.g. -n 2)")
        return urlunsplit(parts._replace(path=f"/{database}"))

    for _name, _default in (("CACHE_URL", ""), ("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")):
        _url = os.environ.get(_name, _default)
        if _url:
            os.environ[_name] = _own_database(_url, int(_worker[2:]))
