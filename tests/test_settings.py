"""Settings come from the environment; a malformed value stops start-up naming the variable."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'DEBUG': s.DEBUG, 'ALLOWED_HOSTS': s.ALLOWED_HOSTS, 'DB': s.DATABASES['default']['ENGINE'], "
    "'DB_NAME': str(s.DATABASES['default']['NAME']), 'CACHE': s.CACHES['default']['BACKEND'], "
    "'TIMEOUT': s.PLEO_API_TIMEOUT, 'TTL_ACTIVE': s.JOB_CACHE_TTL_ACTIVE, 'TTL_FINAL': s.JOB_CACHE_TTL_FINAL, "
    "'SECURE': s.SESSION_COOKIE_SECURE, 'HSTS': s.SECURE_HSTS_SECONDS, 'REDIRECT': s.SECURE_SSL_REDIRECT}))"
)


def start(**env_vars: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "JOB_CACHE", "DATABASE_URL", "CACHE_URL"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "READ_DOT_ENV": "0",
            "SECRET_KEY": "settings-test-" + "abcdefghij" * 5,
        }
    )
    for key, value in env_vars.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def settings_of(**env_vars: str) -> dict:
    result = start(**env_vars)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_defaults_are_safe_and_local():
    values = settings_of(DEBUG=None, ALLOWED_HOSTS=None)
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert values["DB"] == "django.db.backends.sqlite3"
    assert values["DB_NAME"] == str(ROOT / "var" / "db.sqlite3")
    assert values["CACHE"].endswith("LocMemCache")
    assert values["TIMEOUT"] == 5.0
    assert (values["TTL_ACTIVE"], values["TTL_FINAL"]) == (10, 86400)
    assert values["SECURE"] is False
    assert values["REDIRECT"] is False


def test_typed_values_are_read_from_the_environment():
    values = settings_of(
        ALLOWED_HOSTS="desk.example.com,desk2.example.com",
        DATABASE_URL="postgres://u@db.example.com:5432/desk",
        CACHE_URL="redis://127.0.0.1:6379/3",
        PLEO_API_TIMEOUT="2.5",
        JOB_CACHE_TTL_ACTIVE="7",
    )
    assert values["ALLOWED_HOSTS"] == ["desk.example.com", "desk2.example.com"]
    assert values["DB"] == "django.db.backends.postgresql"
    assert values["CACHE"] == "django.core.cache.backends.redis.RedisCache"
    assert values["TIMEOUT"] == 2.5
    assert values["TTL_ACTIVE"] == 7


@pytest.mark.parametrize(
    ("env_vars", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"PLEO_API_TIMEOUT": "abc"}, "PLEO_API_TIMEOUT"),
        ({"PLEO_API_TIMEOUT": "0"}, "PLEO_API_TIMEOUT"),
        ({"PLEO_API_TOKEN": "t", "PLEO_API_KEY": "k"}, "PLEO_API_TOKEN and PLEO_API_KEY"),
        ({"PLEO_API_BASE_URL": "external.pleo.io"}, "PLEO_API_BASE_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"HTTPS": "sometimes"}, "HTTPS"),
        ({"JOB_CACHE_TTL_FINAL": "a day"}, "JOB_CACHE_TTL_FINAL"),
        ({"CACHE_URL": "locmem://"}, "CACHE_URL"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"ATTENTION_MAX_JOBS": "0"}, "ATTENTION_MAX_JOBS"),
        ({"ATTENTION_MAX_JOBS": "lots"}, "ATTENTION_MAX_JOBS"),
        ({"ATTENTION_CACHE_TTL": "-5"}, "ATTENTION_CACHE_TTL"),
        ({"PLEO_COMPANY_LABELS": "Acme ApS"}, "PLEO_COMPANY_LABELS"),
        ({"PLEO_COMPANY_LABELS": "not-a-uuid=Acme ApS"}, "PLEO_COMPANY_LABELS"),
        ({"PLEO_COMPANY_LABELS": "f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e="}, "PLEO_COMPANY_LABELS"),
        (
            {"PLEO_COMPANY_LABELS": "f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e=A,F0A5C6D2-7B1E-4F3A-9C8D-2E4B6A8C0D1E=B"},
            "PLEO_COMPANY_LABELS",
        ),
        ({"TRUSTED_PROXIES": "10.0.0.300"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "127.0.0.1,nginx.internal"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "10.0.0.5/8"}, "TRUSTED_PROXIES"),  # host bits set: a typo, in a trust decision
        ({"TRUSTED_PROXIES": "0.0.0.0/0"}, "TRUSTED_PROXIES"),  # trusting everyone is trusting no proxy
        ({"TRUSTED_PROXY_COUNT": "1", "TRUSTED_PROXIES": ""}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXY_COUNT": "-1", "TRUSTED_PROXIES": "127.0.0.1"}, "TRUSTED_PROXY_COUNT"),
        ({"AUTH_REMOTE_USER_HEADER": "X-Forwarded-User", "TRUSTED_PROXIES": ""}, "TRUSTED_PROXIES"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(env_vars, named):
    result = start(**env_vars)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def test_trusted_proxies_are_addresses_and_networks_and_one_hop_is_peeled_by_default():
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.TRUSTED_PROXIES, s.TRUSTED_PROXY_COUNT]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTED_")}
    env.update(DJANGO_SETTINGS_MODULE="dashboard.settings", READ_DOT_ENV="0", SECRET_KEY="settings-test-" + "k" * 50)
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[], 0]
    env["TRUSTED_PROXIES"] = " 127.0.0.1, 10.1.2.0/24 ,::1"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [["127.0.0.1", "10.1.2.0/24", "::1"], 1]


def test_https_turns_on_secure_cookies_hsts_and_redirect():
    values = settings_of(HTTPS="1")
    assert values["SECURE"] is True
    assert values["HSTS"] >= 31536000
    assert values["REDIRECT"] is True


def test_the_env_example_lists_every_setting_the_code_reads():
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    source = (ROOT / "dashboard" / "settings.py").read_text()
    import re

    names = set(re.findall(r'(?:_read|_bool|_positive|env\.\w+)\(\s*"([A-Z_]+)"', source))
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CACHE_URL", "PLEO_API_BASE_URL"} <= names
    for name in names | {"WEB_CONCURRENCY", "PORT"}:
        assert re.search(rf"^#?\s*{name}=", example, re.M), f"{name} missing from .env.example"
        assert f"`{name}`" in readme, f"{name} missing from the README's settings table"


def test_company_labels_and_the_lists_bounds_are_read_from_the_environment():
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.PLEO_COMPANY_LABELS, s.ATTENTION_MAX_JOBS, s.ATTENTION_CACHE_TTL]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "ATTENTION_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        READ_DOT_ENV="0",
        SECRET_KEY="settings-test-" + "abcdefghij" * 5,
        PLEO_COMPANY_LABELS=" F0A5C6D2-7B1E-4F3A-9C8D-2E4B6A8C0D1E = Acme ApS ,"
        "8b2e4d6f-1a3c-4e5b-9d7f-0c2e4a6b8d9f=Acme AB,",
        ATTENTION_MAX_JOBS="200",
        ATTENTION_CACHE_TTL="45",
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert out.returncode == 0, out.stderr[-2000:]
    labels, max_jobs, ttl = json.loads(out.stdout.strip().splitlines()[-1])
    assert labels == {
        "f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e": "Acme ApS",
        "8b2e4d6f-1a3c-4e5b-9d7f-0c2e4a6b8d9f": "Acme AB",
    }
    assert (max_jobs, ttl) == (200, 45)


def test_without_settings_there_are_no_labels_and_the_list_has_its_defaults():
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.PLEO_COMPANY_LABELS, s.ATTENTION_MAX_JOBS, s.ATTENTION_CACHE_TTL]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLEO_", "ATTENTION_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings", READ_DOT_ENV="0", SECRET_KEY="settings-test-" + "abcdefghij" * 5
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [{}, 500, 30]
