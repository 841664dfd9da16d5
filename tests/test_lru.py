"""The desk's in-process cache (``exportjobs.lru.LRU``): bounded by entries and bytes, and values that have run
out do not stay in a worker's memory until pushed out."""

from __future__ import annotations

from exportjobs.lru import LRU


def test_values_that_ran_out_are_dropped_when_the_next_one_is_kept(clock):
    pages: LRU[str, str] = LRU(1000, max_bytes=10_000_000)
    for number in range(50):
        pages.put(f"page-{number}", "x" * 10_000, 10)
    held = pages.bytes

    clock.shift(11)
    pages.put("page-new", "y" * 10_000, 10)

    assert len(pages) == 1
    assert pages.bytes < held / 40
    assert pages.get("page-new") == "y" * 10_000


def test_values_still_alive_are_kept_and_so_are_those_after_them(clock):
    pages: LRU[str, str] = LRU(1000)
    pages.put("old", "a", 5)
    clock.shift(3)
    pages.put("young", "b", 60)
    pages.put("kept for good", "c")
    clock.shift(3)  # "old" has run out, "young" has not

    pages.put("newest", "d", 60)

    assert len(pages) == 3
    assert [pages.get(key) for key in ("old", "young", "kept for good", "newest")] == [None, "b", "c", "d"]


def test_a_value_without_a_lifetime_at_the_oldest_end_does_not_hide_nor_lose_anything(clock):
    pages: LRU[str, str] = LRU(1000)
    pages.put("for good", "a")
    pages.put("short", "b", 1)
    clock.shift(2)

    pages.put("next", "c", 60)

    assert pages.get("for good") == "a"
    assert pages.get("short") is None  # run out: never answered, dropped when asked for
    assert pages.get("next") == "c"
