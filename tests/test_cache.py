"""What the cache holds is data: entries an older (or newer) release wrote are misses, never 500s, and
nothing the desk writes to Redis is anything but JSON."""

from __future__ import annotations

import json
import os
import pickle
import uuid
from pathlib import Path

import pytest
import redis
from django.core.cache import cache, caches

from exportjobs import cache as desk_cache
from exportjobs import services
from exportjobs.sandbox import seed
from tests.helpers import job_payload, log_as_written

JOB = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c"
JOB_ID = uuid.UUID(JOB)


class Exploit:
    """Unpickling this runs code: it creates the file it names."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.path}",))


def entry(**changes: object) -> dict[str, object]:
    good = {"schema": 1, "fetched_at": 1_700_000_000, "data": job_payload(JOB, status="in_progress")}
    good.update(changes)
    return good


def older_entries(tmp_path: Path) -> dict[str, object]:
    """Entries as another release might have written them (none of them valid for this one)."""
    data = job_payload(JOB, status="in_progress")
    del data["status"]
    return {
        "missing field": entry(data=data),
        "extra field": {**entry(), "etag": "W/1"},
        "unknown schema": entry(schema=99),
        "no fetch time": {k: v for k, v in entry().items() if k != "fetched_at"},
        "not a dict": ["schema", 1],
        "a pickled object": Exploit(str(tmp_path / "pwned")),
    }


@pytest.fixture
def redis_cache(settings, redis_url):
    """Django's cache on the real Redis, configured as settings.py does for CACHE_URL=redis://…."""
    prefix = "ejd-test-" + uuid.uuid4().hex[:8]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "serializer": "exportjobs.cache.JSONSerializer",
            },
        }
    }
    desk_cache.reset()  # nothing this process held from the previous cache
    client = redis.Redis.from_url(redis_url)
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def raw_key(key: str) -> str:
    return caches["default"].make_and_validate_key(key)


@pytest.mark.parametrize(
    "kind", ["missing field", "extra field", "unknown schema", "no fetch time", "not a dict", "a pickled object"]
)
def test_an_entry_another_release_wrote_to_local_memory_is_fetched_again(desk, sandbox, settings, tmp_path, kind):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "older"}}
    desk_cache.reset()
    sandbox.state.put_job(job_payload(JOB, status="in_progress"))
    cache.set(services.job_cache_keys(JOB_ID).value, older_entries(tmp_path)[kind], 600)

    response = desk.get(f"/jobs/{JOB}/")

    assert response.status_code == 200
    assert "Fetched from Pleo just now" in response.content.decode()
    assert sandbox.state.calls(JOB) == 1


@pytest.mark.redis
@pytest.mark.parametrize(
    "kind", ["missing field", "extra field", "unknown schema", "no fetch time", "not a dict", "a pickled object"]
)
def test_an_entry_another_release_wrote_to_redis_is_fetched_again_and_never_unpickled(
    desk, sandbox, tmp_path, redis_cache, kind
):
    client, _prefix = redis_cache
    sandbox.state.put_job(job_payload(JOB, status="in_progress"))
    value = older_entries(tmp_path)[kind]
    raw = pickle.dumps(value) if kind == "a pickled object" else json.dumps(value).encode()
    for key in (services.job_cache_keys(JOB_ID).value, services.job_cache_keys(JOB_ID).stale):
        client.set(raw_key(key), raw, ex=600)

    response = desk.get(f"/jobs/{JOB}/")

    assert response.status_code == 200
    assert "Fetched from Pleo just now" in response.content.decode()
    assert sandbox.state.calls(JOB) == 1
    assert not (tmp_path / "pwned").exists(), "a value read from Redis was unpickled"


@pytest.mark.redis
def test_a_stale_copy_another_release_wrote_is_not_shown_and_the_outage_page_is(desk, sandbox, tmp_path, redis_cache):
    client, _prefix = redis_cache
    sandbox.state.put_job(job_payload(JOB))
    sandbox.state.add_fault(JOB, "503")
    client.set(raw_key(services.job_cache_keys(JOB_ID).stale), pickle.dumps(Exploit(str(tmp_path / "pwned"))))

    assert desk.get(f"/jobs/{JOB}/").status_code == 503
    assert not (tmp_path / "pwned").exists()


@pytest.mark.redis
def test_every_key_the_desk_writes_to_redis_is_json(desk, sandbox, settings, redis_cache):
    client, prefix = redis_cache
    partial = seed.job_uuid("completed_with_errors")
    assert desk.get(f"/jobs/{partial}/").status_code == 200  # a job view with its entries
    assert desk.get(f"/jobs/{seed.job_uuid('completed')}/?entries=1").status_code == 200  # entries on request
    assert desk.get(f"/jobs/{seed.NOT_FOUND_EXAMPLE}/").status_code == 404  # a not-found answer
    sandbox.state.put_job(job_payload(JOB))
    assert desk.get(f"/jobs/{JOB}/").status_code == 200
    desk_cache.forget(services.job_cache_keys(JOB_ID))
    sandbox.state.add_fault(JOB, "503")
    stale = desk.get(f"/jobs/{JOB}/")  # a stale view (and its error mark)
    assert stale.status_code == 200
    assert "An older copy" in stale.content.decode()

    keys = list(client.scan_iter(f"{prefix}:*"))
    kinds = {key.decode().split(":")[3] for key in keys}
    assert {"job", "job-stale", "job-error", "items", "items-stale", "may-view", "perm-version"} <= kinds, kinds
    for key in keys:
        raw = client.get(key)
        assert raw is not None
        json.loads(raw)  # raises on anything but JSON: no pickles
        assert not raw.startswith(b"\x80"), key


def test_a_cached_entry_is_plain_json_data_with_its_schema_and_fetch_time(sandbox):
    sandbox.state.put_job(job_payload(JOB))
    services.job_get(job_id=JOB_ID)

    stored = cache.get(services.job_cache_keys(JOB_ID).value)

    assert set(stored) == {"schema", "fetched_at", "data"}
    assert stored["data"] == job_payload(JOB)
    assert json.loads(json.dumps(stored)) == stored


def test_an_entry_that_does_not_parse_is_logged_once_not_per_request(desk, sandbox, settings):
    settings.JOB_CACHE_TTL_FINAL = 1
    sandbox.state.put_job(job_payload(JOB))
    with log_as_written() as written:
        for _ in range(3):
            cache.set(services.job_cache_keys(JOB_ID).value, entry(schema=99), 600)
            desk_cache.clear_local()
            assert desk.get(f"/jobs/{JOB}/").status_code == 200
    lines = [r for r in written if "does not parse" in r.getMessage()]
    assert len(lines) == 1
