"""Loaded before Django (``-p tests.bootstrap`` in pytest.ini): a clean, known environment.

The suite never reads the developer's ``.env`` and never talks to a real Pleo:
every test points the dashboard at the sandbox it starts itself.
"""

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

os.environ["READ_DOT_ENV"] = "0"
os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(50))
for name in ("PLEO_API_BASE_URL", "PLEO_API_TOKEN", "PLEO_API_KEY", "PLEO_SANDBOX", "DEBUG", "HTTPS", "TIME_ZONE"):
    os.environ.pop(name, None)
# Playwright's sync API runs an event loop in the test thread; Django's ORM must still work there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# whitenoise serves STATIC_ROOT; on a fresh clone `collectstatic` has not made it yet.
os.makedirs(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "static"), exist_ok=True)


def own_redis_database(url: str, worker_id: str) -> str:
    """With pytest-xdist (``make test`` runs two processes) each worker is a test run of its own: worker N > 0
    moves a shared Redis database the suite uses (CACHE_URL's, TEST_REDIS_URL's) down by 2 N, so one worker's
    ``cache.clear()`` (a FLUSHDB) never empties what another worker's test has just cached."""
    parts = urlsplit(url)
    worker = int(worker_id[2:]) if worker_id.startswith("gw") and worker_id[2:].isdigit() else 0
    if worker == 0 or not parts.scheme.startswith("redis"):
        return url
    database = int(parts.path.strip("/") or 0) - 2 * worker
    if database < 0:
        raise SystemExit(f"{url}: too many test processes for Redis's 16 databases (use fewer, e.g. -n 2)")
    return urlunsplit(parts._replace(path=f"/{database}"))


for _name, _default in (("CACHE_URL", ""), ("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")):
    if _url := os.environ.get(_name, _default):
        os.environ[_name] = own_redis_database(_url, os.environ.get("PYTEST_XDIST_WORKER", ""))
