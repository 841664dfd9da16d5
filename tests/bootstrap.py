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
