"""Settings for Export Job Desk, read from the environment (and an optional ``.env``).

Every variable is listed in ``.env.example`` and in the README. A malformed value
stops start-up with a message that names the variable.
"""

from __future__ import annotations

import ipaddress
import os
import uuid
import zoneinfo
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if os.environ.get("READ_DOT_ENV", "1") != "0" and (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")


def _read(name: str, reader: Callable[..., Any], default: Any, what: str) -> Any:
    """``reader(name, default=default)``, turning a malformed value into a message naming ``name``."""
    try:
        return reader(name, default=default)
    except (ValueError, TypeError, KeyError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"{name}={os.environ.get(name, '')!r} is not {what}: {exc}") from None


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off")


def _positive(name: str, reader: Callable[..., Any], default: Any, what: str) -> Any:
    value = _read(name, reader, default, what)
    if value <= 0:
        raise ImproperlyConfigured(f"{name}={value!r} must be greater than zero")
    return value


# --- core --------------------------------------------------------------------

DEBUG = _bool("DEBUG", False)
HTTPS = _bool("HTTPS", False)
# Django's debug page (DEBUG=1, `make dev`) lists the settings and the environment: every password in a
# URL there (EMAIL_URL, CACHE_URL, DATABASE_URL, ...) is masked too, not only settings named like secrets.
DEFAULT_EXCEPTION_REPORTER_FILTER = "exportjobs.debugging.PasswordsInURLsFilter"

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Put a long random value in the environment or in .env "
        "(`make run` writes one to .env on first start)."
    )
# As `manage.py check --deploy` judges a key: it signs sessions, the permission memo and entries links.
if not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak: use at least 50 random characters (for example: python -c "
        "'import secrets; print(secrets.token_urlsafe(50))'), or delete it from .env and `make run` writes one."
    )

ALLOWED_HOSTS = _read("ALLOWED_HOSTS", env.list, ["127.0.0.1", "localhost"], "a comma-separated list of host names")
if "*" in ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the dashboard's host names; '*' is refused with DEBUG off")
CSRF_TRUSTED_ORIGINS = _read("CSRF_TRUSTED_ORIGINS", env.list, [], "a comma-separated list of origins")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "exportjobs",
]

MIDDLEWARE = [
    "exportjobs.middleware.DisallowedHostMiddleware",  # first: with DEBUG on, no debug page for a stranger
    "exportjobs.middleware.RequestIdMiddleware",  # every log line of a request carries its id
    "exportjobs.middleware.TrustedProxyMiddleware",  # before anything reads a proxy's headers
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "exportjobs.middleware.PrivatePagesMiddleware",  # after whitenoise: static files keep their own headers
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "exportjobs.middleware.HealthzMiddleware",  # /healthz: before the session, the language and the user
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the language cookie, else Accept-Language
    "exportjobs.middleware.UserLanguageMiddleware",  # else: the signed-in reader's own choice first
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "exportjobs.oidc_views.SessionRenewal",  # a provider's sign-in is checked again every OIDC_RENEW_SECONDS
    "axes.middleware.AxesMiddleware",  # last of the app's own, as django-axes asks
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "exportjobs.context_processors.desk",
                "exportjobs.oidc_views.sign_in_context",
            ],
        },
    },
]

DATABASES = {
    "default": _read(
        "DATABASE_URL",
        env.db_url,
        f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        "a database URL (sqlite:///… or postgres://…)",
    )
}
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured(f"DATABASE_URL={os.environ.get('DATABASE_URL')!r} names no database engine Django knows")
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)  # reuse connections: SQLite re-reads its schema on each
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers go on while the audit trail writes; IMMEDIATE takes the write lock up front.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", transaction_mode="IMMEDIATE"
    )
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

CACHES = {
    "default": _read(
        "CACHE_URL", env.cache_url, "locmemcache://export-job-desk", "a cache URL (locmemcache://, redis://…)"
    )
}
CACHES["default"]["KEY_PREFIX"] = "ejd"  # django-environ ignores a key_prefix in a Redis URL
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # Each job takes two entries (the answer and its stale copy); Django's default of 300 would
    # keep the stale copies of only the last ~150 jobs.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 5000)
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # Redis answers in well under a millisecond: a call that takes a quarter of a second means it is
    # hung, and the breaker (exportjobs/cache.py) then skips it. Values are JSON, so nothing read from
    # Redis is ever unpickled.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_connect_timeout=0.25, socket_timeout=0.25, serializer="exportjobs.cache.JSONSerializer"
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The desk speaks these languages; each reader gets their saved choice (header menu, kept on their
# profile), else their browser's Accept-Language, else LANGUAGE_CODE. URLs never change with it.
LANGUAGES = [
    ("en", "English"),
    ("da", "Dansk"),
    ("sv", "Svenska"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
]
LANGUAGE_CODE = _read("LANGUAGE_CODE", env.str, "en", "a language code").strip().lower()
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(
        f"LANGUAGE_CODE={LANGUAGE_CODE!r} is not one of the desk's languages: {', '.join(dict(LANGUAGES))}"
    )
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "desk_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = _read("TIME_ZONE", env.str, "UTC", "a time zone name")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE={TIME_ZONE!r} is not a time zone name such as UTC or Europe/Copenhagen"
    ) from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- sign-in -------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-in during a lock-out
    "exportjobs.signin.PasswordBackend",  # Django's ModelBackend; with OIDC_ONLY, break-glass users only
]

# The proxies in front of the desk (nginx, a load balancer), by address or network: only a connection
# from one of them may say who the client is (X-Forwarded-For), that it came over TLS (X-Forwarded-Proto),
# the request's id (X-Request-ID) or, with single sign-on, who signed in. From anywhere else those headers
# are dropped before anything reads them (exportjobs/middleware.py, TrustedProxyMiddleware).
TRUSTED_PROXIES = [
    item.strip()
    for item in _read("TRUSTED_PROXIES", env.list, [], "a comma-separated list of addresses or networks")
    if item.strip()
]
try:
    _proxy_networks = [ipaddress.ip_network(item) for item in TRUSTED_PROXIES]
except ValueError as exc:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXIES={TRUSTED_PROXIES!r} is not a list of addresses or networks such as 127.0.0.1 or "
        f"10.0.0.0/24: {exc}"
    ) from None
if any(network.prefixlen == 0 for network in _proxy_networks):
    raise ImproperlyConfigured(
        f"TRUSTED_PROXIES={TRUSTED_PROXIES!r} trusts every address: name the proxies' own addresses"
    )
# How many proxies (load balancer, TLS terminator) append to X-Forwarded-For in front of the dashboard.
TRUSTED_PROXY_COUNT = _read("TRUSTED_PROXY_COUNT", env.int, 1 if TRUSTED_PROXIES else 0, "a whole number")
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT!r} must be 0 or more")
if TRUSTED_PROXY_COUNT and not TRUSTED_PROXIES:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT} needs TRUSTED_PROXIES: X-Forwarded-For is read only from "
        "connections of those addresses (e.g. TRUSTED_PROXIES=127.0.0.1 for an nginx on the same host)"
    )

# Optional single sign-on: the name of a header (e.g. X-Forwarded-User) that the SSO proxy sets to the
# signed-in user's name. Read only from TRUSTED_PROXIES; from anywhere else it is refused (400).
AUTH_REMOTE_USER_HEADER = _read("AUTH_REMOTE_USER_HEADER", env.str, "", "an HTTP header name").strip()
if AUTH_REMOTE_USER_HEADER:
    if not all(c.isalnum() or c == "-" for c in AUTH_REMOTE_USER_HEADER):
        raise ImproperlyConfigured(f"AUTH_REMOTE_USER_HEADER={AUTH_REMOTE_USER_HEADER!r} is not an HTTP header name")
    if not TRUSTED_PROXIES:
        raise ImproperlyConfigured(
            f"AUTH_REMOTE_USER_HEADER={AUTH_REMOTE_USER_HEADER} needs TRUSTED_PROXIES, the SSO proxy's address: "
            "the header is accepted only from there"
        )
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "exportjobs.middleware.ProxyRemoteUserMiddleware",
    )
    AUTHENTICATION_BACKENDS.append("exportjobs.signin.RemoteUserWithoutRights")

# Sign-in with the company's identity provider (OpenID Connect, exportjobs/oidc.py), off while OIDC_ISSUER
# is unset. The provider's endpoints and keys come from its discovery document, read when first needed.


def _issuer(raw: str) -> str:
    """An issuer URL: https, or http on this machine's loopback only (a provider started for tests)."""
    if not raw:
        return ""
    parts = urlsplit(raw)
    host = parts.hostname or ""
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if (
        host
        and (parts.scheme == "https" or (parts.scheme == "http" and loopback))
        and not (parts.query or parts.fragment)
    ):
        return raw
    raise ImproperlyConfigured(
        f"OIDC_ISSUER={raw!r} is not an issuer URL: use the provider's https:// address exactly as its "
        "discovery document names it (e.g. https://login.microsoftonline.com/<tenant id>/v2.0), without ? or #"
    )


OIDC_ISSUER = _issuer(_read("OIDC_ISSUER", env.str, "", "a URL").strip())
OIDC_CLIENT_ID = _read("OIDC_CLIENT_ID", env.str, "", "a client id").strip()
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = _read("OIDC_PROVIDER_NAME", env.str, "", "a name such as Microsoft").strip()
OIDC_EXTRA_SCOPES = _read("OIDC_EXTRA_SCOPES", env.list, [], "a comma-separated list of scopes")
OIDC_GROUPS_CLAIM = _read("OIDC_GROUPS_CLAIM", env.str, "groups", "a claim name").strip()
OIDC_FINANCE_GROUPS = _read("OIDC_FINANCE_GROUPS", env.list, [], "a comma-separated list of groups")
OIDC_ALERT_ADMIN_GROUPS = _read("OIDC_ALERT_ADMIN_GROUPS", env.list, [], "a comma-separated list of groups")
OIDC_RENEW_SECONDS = _positive("OIDC_RENEW_SECONDS", env.int, 900, "a whole number of seconds")
OIDC_TIMEOUT = 5.0  # seconds for each call to the provider (discovery, keys, token, userinfo)
OIDC_ONLY = _bool("OIDC_ONLY", False)
BREAK_GLASS_USERS = _read("BREAK_GLASS_USERS", env.list, [], "a comma-separated list of user names")
if OIDC_ISSUER and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "OIDC_ISSUER is set, so OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be too: the desk's application "
        "registration at the identity provider"
    )
if not all(scope and scope.isprintable() and " " not in scope and '"' not in scope for scope in OIDC_EXTRA_SCOPES):
    raise ImproperlyConfigured(f"OIDC_EXTRA_SCOPES={OIDC_EXTRA_SCOPES!r}: each scope is one word without spaces")
if OIDC_ISSUER and not OIDC_GROUPS_CLAIM:
    raise ImproperlyConfigured("OIDC_GROUPS_CLAIM must name a claim (default: groups)")
if OIDC_ONLY and not OIDC_ISSUER:
    raise ImproperlyConfigured("OIDC_ONLY=1 turns passwords off, so OIDC_ISSUER must name the identity provider")
if OIDC_ISSUER:
    AUTHENTICATION_BACKENDS.append("exportjobs.oidc.OIDCBackend")

# Brute force (django-axes): 5 failed sign-ins for one user name from one address lock that user name
# on that address for 15 minutes (not on the colleague's own machine); an address on its own is locked
# after SIGNIN_ADDRESS_FAILURE_LIMIT failures (password spraying). See exportjobs/signin.py.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "exportjobs.signin.AddressAwareHandler"
SIGNIN_ADDRESS_FAILURE_LIMIT = _positive("SIGNIN_ADDRESS_FAILURE_LIMIT", env.int, 50, "a whole number")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "exportjobs.addresses.client_ip"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# --- mail (only for password reset; without EMAIL_URL the reset pages do not exist) ---------------

EMAIL_URL = _read("EMAIL_URL", env.str, "", "a mail server URL such as smtp+tls://user:password@host:587")
if EMAIL_URL:
    globals().update(
        _read("EMAIL_URL", env.email_url, None, "a mail server URL such as smtp+tls://user:password@host:587")
    )
PASSWORD_RESET_ENABLED = bool(EMAIL_URL)
DEFAULT_FROM_EMAIL = _read("DEFAULT_FROM_EMAIL", env.str, "export-job-desk@localhost", "an e-mail address")
PASSWORD_RESET_TIMEOUT = 3600  # a reset link works for an hour

# Whom people should ask when the desk cannot help (no access, locked out, Pleo refused the desk):
# "#finance-tools on Slack", an e-mail address (shown as a mailto link) or a web address.
DESK_CONTACT = _read("DESK_CONTACT", env.str, "", "a contact (text, an e-mail address or a web address)").strip()

# --- audit trail ----------------------------------------------------------------

AUDIT_RETENTION_DAYS = _positive("AUDIT_RETENTION_DAYS", env.int, 365, "a whole number of days")

# --- Content-Security-Policy (django-csp): no inline script, no eval, nothing from elsewhere --------

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

if OIDC_ISSUER:
    # Signing out of the provider is the header's form, redirected by /oidc/logout/ to the provider's
    # end-session endpoint (on the issuer's origin): form-action must allow that redirect.
    _origin = urlsplit(OIDC_ISSUER)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(f"{_origin.scheme}://{_origin.netloc}")

# --- sessions, cookies and security headers ----------------------------------------

SESSION_COOKIE_AGE = _positive("SESSION_COOKIE_AGE", env.int, 8 * 3600, "a whole number of seconds")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Behind TLS (HTTPS=1): secure cookies, HSTS, redirect to https, trust X-Forwarded-Proto (only from TRUSTED_PROXIES).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # load balancers and Prometheus over plain HTTP
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None

# --- Pleo ------------------------------------------------------------------------

PLEO_API_BASE_URL = _read("PLEO_API_BASE_URL", env.str, "", "a URL").rstrip("/")
if PLEO_API_BASE_URL and not PLEO_API_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"PLEO_API_BASE_URL={PLEO_API_BASE_URL!r} must start with https:// (or http://)")
PLEO_API_TOKEN = env.str("PLEO_API_TOKEN", default="")
PLEO_API_KEY = env.str("PLEO_API_KEY", default="")
if PLEO_API_TOKEN and PLEO_API_KEY:
    raise ImproperlyConfigured("PLEO_API_TOKEN and PLEO_API_KEY are both set: set only one (Bearer token or API key)")
PLEO_API_TIMEOUT = _positive("PLEO_API_TIMEOUT", env.float, 5.0, "a number of seconds")
# Set by `make run` when it starts the sandbox: every page then says "Sandbox".
PLEO_SANDBOX = _bool("PLEO_SANDBOX", False)
# In sandbox mode the home page lists the sandbox's sample jobs from this function (a dotted path).
SANDBOX_SAMPLES = "exportjobs.sandbox.seed.sample_links"

# How much one user may make the desk ask Pleo (every worker counts together): calls per window.
PLEO_USER_BUDGET = _positive("PLEO_USER_BUDGET", env.int, 200, "a whole number of calls")
PLEO_USER_BUDGET_WINDOW = _positive("PLEO_USER_BUDGET_WINDOW", env.int, 600, "a whole number of seconds")

# --- caching of Pleo's answers (seconds) ------------------------------------------

# The breaker: after a failing call the shared cache is skipped this long, then probed again.
CACHE_BREAKER_SECONDS = _positive("CACHE_BREAKER_SECONDS", env.float, 5.0, "a number of seconds")
# Each worker's own small cache in front of the shared one: at most this long, at most this many answers.
LOCAL_CACHE_TTL = _positive("LOCAL_CACHE_TTL", env.float, 60.0, "a number of seconds")
LOCAL_CACHE_MAX_ENTRIES = _positive("LOCAL_CACHE_MAX_ENTRIES", env.int, 1000, "a whole number")

JOB_CACHE_TTL_ACTIVE = _positive("JOB_CACHE_TTL_ACTIVE", env.int, 10, "a whole number of seconds")
JOB_CACHE_TTL_FINAL = _positive("JOB_CACHE_TTL_FINAL", env.int, 86400, "a whole number of seconds")
JOB_CACHE_TTL_NOT_FOUND = _positive("JOB_CACHE_TTL_NOT_FOUND", env.int, 30, "a whole number of seconds")
ENTRY_CACHE_TTL = _positive("ENTRY_CACHE_TTL", env.int, 600, "a whole number of seconds")
JOB_CACHE_STALE_TTL = _positive("JOB_CACHE_STALE_TTL", env.int, 7 * 86400, "a whole number of seconds")

# --- serving ---------------------------------------------------------------------

GUNICORN_THREADS = _positive("GUNICORN_THREADS", env.int, 8, "a whole number")
# The bulkhead: how many threads of one worker may wait on Pleo at once. The other two stay free for
# health checks and cached pages when Pleo is slow.
PLEO_BULKHEAD = _positive("PLEO_BULKHEAD", env.int, max(1, GUNICORN_THREADS - 2), "a whole number")
# With every place taken, a request waits for one while the oldest call has waited under this many
# seconds (Pleo answers at its pace); beyond it Pleo counts as slow and the request is "busy" at once.
PLEO_SLOW_AFTER = _positive("PLEO_SLOW_AFTER", env.float, 2.0, "a number of seconds")

# --- metrics (/metrics, Prometheus' format) ------------------------------------------

METRICS_ALLOWED_IPS = _read(
    "METRICS_ALLOWED_IPS", env.list, ["127.0.0.1", "::1"], "a comma-separated list of addresses or networks"
)
try:
    METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(item, strict=False) for item in METRICS_ALLOWED_IPS]
except ValueError as exc:
    raise ImproperlyConfigured(
        f"METRICS_ALLOWED_IPS={METRICS_ALLOWED_IPS!r} is not a list of addresses: {exc}"
    ) from None
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")  # a scraper may also send "Authorization: Bearer <token>"
# --- companies ------------------------------------------------------------------


def _company_labels(raw: str) -> dict[str, str]:
    """``"<uuid>=Acme ApS,<uuid>=Acme AB"`` as ``{uuid: label}``; anything else stops start-up."""
    labels: dict[str, str] = {}
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        company, sep, label = part.partition("=")
        try:
            key = str(uuid.UUID(company.strip()))
        except ValueError:
            key = ""
        if not sep or not key or not label.strip():
            raise ImproperlyConfigured(
                f"PLEO_COMPANY_LABELS has {part!r}: each entry must be <company uuid>=<label>, "
                "entries separated by commas (e.g. 2f6c…=Acme ApS,9a1d…=Acme AB)"
            )
        if key in labels:
            raise ImproperlyConfigured(f"PLEO_COMPANY_LABELS names company {key} twice")
        labels[key] = label.strip()
    return labels


# Names shown instead of bare Pleo company ids, wherever a company appears.
PLEO_COMPANY_LABELS = _company_labels(_read("PLEO_COMPANY_LABELS", env.str, "", "a list of <uuid>=<label>"))

# --- needs attention: the list across jobs ------------------------------------------

# At most this many jobs per view of /attention/, fetched from Pleo in pages of 100.
ATTENTION_MAX_JOBS = _positive("ATTENTION_MAX_JOBS", env.int, 500, "a whole number of jobs")
# Seconds one list answer (per filter set) is served from the cache.
ATTENTION_CACHE_TTL = _positive("ATTENTION_CACHE_TTL", env.int, 30, "a whole number of seconds")

# --- alerts: rules, the poll and the worker -----------------------------------------------

# The worker runs Django's tasks API (the django-tasks backport) on the database: `manage.py alerts worker`
# (make run starts one beside the web server); any number may run, on PostgreSQL.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Seconds between polls of Pleo for alerts: one poll per interval, however many workers run.
ALERT_POLL_SECONDS = _positive("ALERT_POLL_SECONDS", env.float, 60.0, "a number of seconds")
# Watched jobs (by a user or Pleo's webhook) asked for one by one per poll, at most.
ALERT_WATCH_MAX = _positive("ALERT_WATCH_MAX", env.int, 50, "a whole number of jobs")
# Attempts to deliver one message; between them 1, 4, 10, 20 and 30 × ALERT_RETRY_SECONDS (about an hour).
ALERT_DELIVERY_ATTEMPTS = _positive("ALERT_DELIVERY_ATTEMPTS", env.int, 6, "a whole number")
ALERT_RETRY_SECONDS = _positive("ALERT_RETRY_SECONDS", env.float, 60.0, "a number of seconds")
# A worker that took a message and died: another takes it after this many seconds.
ALERT_DELIVERY_LEASE_SECONDS = _positive("ALERT_DELIVERY_LEASE_SECONDS", env.float, 120.0, "a number of seconds")
# Seconds each channel may take to accept a message.
ALERT_SEND_TIMEOUT = _positive("ALERT_SEND_TIMEOUT", env.float, 10.0, "a number of seconds")
# The desk's address as its readers open it, for the links in messages (https://desk.example.com).
DESK_BASE_URL = _read("DESK_BASE_URL", env.str, "http://127.0.0.1:8000", "a URL").rstrip("/")
# Pleo's webhook (POST /webhooks/pleo/), verified with this Standard Webhooks secret (whsec_…); off when empty.
PLEO_WEBHOOK_SECRET = env.str("PLEO_WEBHOOK_SECRET", default="")

# --- logging -------------------------------------------------------------------

LOG_LEVEL = _read("LOG_LEVEL", env.str, "INFO", "a log level").upper()
LOG_FORMAT = _read("LOG_FORMAT", env.str, "plain", "plain or json").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "exportjobs.logs.RequestIdFilter"},
        "skip_logged_server_errors": {"()": "exportjobs.logs.SkipLoggedServerErrors"},
        "repeats": {"()": "exportjobs.logs.RepeatFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "skip_logged_server_errors", "repeats"],
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    # Propagate to the root handler, so a single handler sees every line (and tests can capture them).
    "loggers": {"exportjobs": {"level": LOG_LEVEL}},
}
