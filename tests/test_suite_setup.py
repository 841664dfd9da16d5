"""The suite's own set-up: what keeps its test processes (pytest-xdist) out of each other's way."""

from __future__ import annotations

import pytest

from tests.bootstrap import own_redis_database


def test_each_test_process_beyond_the_first_has_redis_databases_of_its_own():
    assert own_redis_database("redis://127.0.0.1:6379/15", "") == "redis://127.0.0.1:6379/15"  # no xdist
    assert own_redis_database("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert own_redis_database("redis://127.0.0.1:6379/15", "gw1") == "redis://127.0.0.1:6379/13"
    assert own_redis_database("redis://127.0.0.1:6379/14", "gw1") == "redis://127.0.0.1:6379/12"
    assert own_redis_database("redis://:secret@cache:6380/14", "gw2") == "redis://:secret@cache:6380/10"
    assert own_redis_database("locmem://", "gw1") == "locmem://"
    with pytest.raises(SystemExit, match="too many test processes"):
        own_redis_database("redis://127.0.0.1:6379/15", "gw8")
