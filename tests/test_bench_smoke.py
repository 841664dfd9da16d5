"""The benchmark machinery (``bench/``, run by ``make bench``) in miniature: wrk is driven and read back,
the report is written from numbers, and the sandbox's generated jobs keep to the contract."""

from __future__ import annotations

import pytest
import requests

from bench import report, wrk
from exportjobs.sandbox import SandboxServer, SandboxState, seed
from tests.helpers import HANG_GUARD, JOB_SCHEMA, SANDBOX_TOKEN, list_page_problems, need, problems


@pytest.fixture
def generated_sandbox():
    server = SandboxServer(token=SANDBOX_TOKEN, state=SandboxState(generated=20)).start()
    yield server
    server.stop()


def _run(label: str, p50: float, p95: float, rps: float, connections: int = 1) -> dict:
    return {
        "label": label,
        "requests": int(rps * 5),
        "seconds": 5.0,
        "rps": rps,
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p95 * 1.2,
        "mean_ms": p50,
        "max_ms": p95 * 2,
        "bytes_per_request": 9000.0,
        "errors": {},
        "connections": connections,
        "threads": 1,
    }


def made_up_results() -> dict:
    return {
        "started_at": "2026-01-01 12:00:00 UTC",
        "command": "make bench",
        "revision": "abc1234",
        "elapsed_s": 240.0,
        "machine": {
            "CPU": "Test CPU @ 2.0GHz",
            "Cores": "2 usable",
            "Memory": "4.0 GiB",
            "Python": "3.11.7",
            "Django": "5.2.19",
        },
        "config": {
            "latency_s": 0.2,
            "duration_s": 5.0,
            "concurrency": 8,
            "workers_concurrency": 16,
            "jobs": 10_000,
            "stampede": 50,
            "threads": 8,
            "redis_url": "redis://127.0.0.1:6379/13",
            "quick": False,
            "database": "sqlite",
        },
        "latency": {"home": _run("home", 5.0, 6.0, 190), "job": _run("job", 5.5, 9.0, 170)},
        "throughput": {"home": _run("home c8", 60, 90, 130, 8), "job": _run("job c8", 70, 100, 100, 8)},
        "cold": {
            "job": {**_run("cold", 214.0, 220.0, 4.6), "upstream_calls": 23},
            "direct": _run("direct", 200.5, 201.0, 4.9),
            "distinct_ids": 100,
            "cached_after_pause": _run("paused", 9.0, 12.0, 4.8),
            "no_latency": {"job": _run("cold 0", 9.0, 12.0, 110), "direct": _run("direct 0", 0.1, 0.2, 7000)},
        },
        "stampede": [
            {
                "label": "1 worker, local-memory cache",
                "requests": 50,
                "upstream_calls": 1,
                "statuses": {"200": 50},
                "p50_ms": 400.0,
                "p95_ms": 560.0,
                "max_ms": 580.0,
                "upstream_ms": 200.0,
                "workers": 1,
            }
        ],
        "scale_locmem": {
            "jobs": 10_000,
            "max_entries": 300,
            "rss_kib": {"start": 65_000, "after_1000": 67_000, "after_10000": 67_500},
            "fills": [{"seconds": 10.0, "failures": 0}, {"seconds": 90.0, "failures": 0}],
            "latency_1000": _run("1k", 6.0, 8.0, 160),
            "latency_n": _run("10k", 6.1, 8.2, 158),
        },
        "attention": {
            "jobs": 500,
            "latency_ms": 200.0,
            "page_size": 100,
            "page_bytes": 412_000,
            "home": _run("home beside attention", 3.0, 4.0, 300),
            "cached": _run("cached attention", 4.2, 5.5, 220),
            "cold": [
                {
                    "path": f"/attention/?period={period}&status=failed",
                    "status": 200,
                    "ms": ms,
                    "upstream_calls": 5,
                    "upstream_ms": 1000.0,
                    "full": True,
                }
                for period, ms in (("24h", 1040.0), ("7d", 1052.5), ("30d", 1090.0))
            ],
            "stampede": {
                "path": "/attention/",
                "requests": 50,
                "upstream_calls": 6,
                "walk_calls": 6,
                "statuses": {"200": 50},
                "p50_ms": 1300.0,
                "p95_ms": 2100.0,
                "max_ms": 2300.0,
            },
        },
        "notes": ["a made-up note"],
    }


def test_the_report_states_each_goal_and_whether_it_was_met():
    text = report.render(made_up_results())

    assert text.startswith("# Benchmarks")
    assert "make bench" in text
    assert "2026-01-01 12:00:00 UTC" in text
    assert "Test CPU @ 2.0GHz" in text
    assert (
        "| 1 | Cached job page / home page, median latency (1 connection) "
        "| 5.50 ms / 5.00 ms = **1.10** | ≤ 1.3 | yes |" in text
    )
    assert "= **1.50** | ≤ 1.3 | **no** |" in text  # p95 9.0 / 6.0
    assert "100 / 130 req/s = **0.77** | ≥ 0.8 | **no** |" in text
    assert "**13.5 ms** | ≤ 15 ms | yes |" in text
    assert "| **1** | = 1 | yes |" in text
    assert "+2.4 MiB" in text
    assert "MAX_ENTRIES 300" in text
    assert "- a made-up note" in text
    assert (
        "| 7 | Cached /attention/ (500 jobs) / home page, median latency (1 connection) "
        "| 4.20 ms / 3.00 ms = **1.40** | ≤ 1.5 | yes |" in text
    )
    assert "fetched one after another by cursor, 200 ms each) minus the sum of its upstream calls, median" in text
    assert "| 1052.5 ms − 1000.0 ms = **52.5 ms** | ≤ 60 ms | yes |" in text
    assert "| **6** (one walk of that view: 6) | = 6 | yes |" in text
    assert "## Needs attention (`/attention/`)" in text
    assert "| `/attention/?period=30d&status=failed` | 200 | 1090.0 ms | 5 | 1000.0 ms | 90.0 ms |" in text
    assert "Results against the goals" in report.summary(made_up_results())


def test_wrk_output_is_read_back_in_milliseconds():
    line = (
        'BENCH_JSON {"requests":200,"duration_us":2000000,"bytes":1800000,"p50_us":4500,"p95_us":9000,"p99_us":12000,'
        '"mean_us":5000.0,"max_us":30000,"connect":0,"read":0,"write":0,"status":3,"timeout":0}'
    )

    result = wrk.parse_output("Running 2s test\n" + line + "\n", label="x", connections=8, threads=2)

    assert (result.requests, result.rps, result.p50_ms, result.p95_ms) == (200, 100.0, 4.5, 9.0)
    assert result.bytes_per_request == 9000
    assert result.errors == {"status": 3}


def test_generated_jobs_keep_to_the_contract(generated_sandbox):
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    for index in (0, 7, 19):
        response = requests.get(
            f"{generated_sandbox.url}/v2/export-jobs/{seed.generated_uuid(index)}", headers=headers, timeout=HANG_GUARD
        )
        assert response.status_code == 200
        job = response.json()["data"]
        assert problems(JOB_SCHEMA, job) == []
        assert job["id"] == seed.generated_uuid(index)
        assert job["status"] == "completed"

    beyond = requests.get(
        f"{generated_sandbox.url}/v2/export-jobs/{seed.generated_uuid(20)}", headers=headers, timeout=HANG_GUARD
    )
    assert beyond.status_code == 404


@pytest.mark.slow
def test_wrk_measures_the_sandbox_for_one_second(generated_sandbox):
    need(wrk.available(), "wrk is not installed (apt-get install -y wrk), so the benchmarks cannot run")
    paths = [f"/v2/export-jobs/{seed.generated_uuid(i)}" for i in range(20)]

    result = wrk.run(
        generated_sandbox.url,
        paths=paths,
        duration=1,
        connections=2,
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        label="smoke",
    )
    refused = wrk.run(
        generated_sandbox.url, paths=paths[:2], duration=1, connections=1, headers={"Authorization": "Bearer wrong"}
    )

    assert result.requests > 10
    assert result.errors == {}
    assert 0 < result.p50_ms <= result.p95_ms <= result.max_ms
    assert result.bytes_per_request > 500  # a whole job, not an error body
    assert generated_sandbox.state.calls() >= result.requests
    assert refused.errors == {"status": refused.requests}


def made_up_faults(*, hung_ms: float, health_ms: float, ratio_calls: float, stampede_ms: float) -> dict:
    summary = {"requests": 100, "rps": 50.0, "p50_ms": hung_ms / 2, "p95_ms": hung_ms, "max_ms": hung_ms * 2}
    health = {"requests": 80, "rps": 10.0, "p50_ms": health_ms / 2, "p95_ms": health_ms, "max_ms": health_ms * 3}
    stampede = {
        "requests": 50,
        "upstream_calls": 1,
        "ok": 50,
        "p50_ms": stampede_ms * 0.8,
        "p95_ms": stampede_ms,
        "upstream_ms": 200.0,
    }
    return {
        "redis_hung": {"seconds": 8.0, "home": summary, "job": summary, "all": summary, "errors": 0},
        "pleo_slow": {
            "healthz": health,
            "cached_job": health,
            "probe_errors": 0,
            "uncached_statuses": {"503": 40, "504": 12},
            "uncached_max_ms": 3100.0,
        },
        "calls_per_view": {
            "with_redis": {"views": 600, "calls": 150, "calls_per_view": 0.25, "errors": 0},
            "redis_down": {
                "views": 600,
                "calls": int(150 * ratio_calls),
                "calls_per_view": 0.25 * ratio_calls,
                "errors": 0,
            },
            "ratio": ratio_calls,
        },
        "stampede_1": {**stampede, "workers": 1},
        "stampede_3": {**stampede, "workers": 3},
    }


def test_the_report_shows_the_fault_figures_before_and_after_side_by_side():
    results = made_up_results()
    results["faults"] = {
        "before_ref": "0a0f9e5",
        "before": made_up_faults(hung_ms=5000.0, health_ms=3800.0, ratio_calls=4.0, stampede_ms=480.0),
        "after": made_up_faults(hung_ms=20.0, health_ms=8.0, ratio_calls=1.7, stampede_ms=250.0),
    }
    text = report.render(results)
    assert "## Faults, before and after" in text
    assert "`0a0f9e5`" in text
    assert "| Redis hung | home page p95 / max | 5000.0 ms / 10000.0 ms | 20.0 ms / 40.0 ms |" in text
    assert "| Redis down | calls per view, down / with Redis | 4.0 × | 1.7 × |" in text
    assert "Stampede in the fault run, 1 worker(s): p95 against the upstream latency | 250.0 ms = **1.25 ×**" in text
    assert (
        "| Pleo slow: /healthz and cached job pages while 30 clients wait on Pleo, p95 | **8.00 ms** | ≤ 100 ms | yes |"
        in text
    )


def test_the_jobs_listed_for_the_benchmark_fill_five_pages_of_the_default_view():
    server = SandboxServer(token=SANDBOX_TOKEN, state=SandboxState(listed=500)).start()
    try:
        headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
        params = {"statuses": ["failed", "completed_with_errors"], "sorting_keys": "createdAt", "limit": 100}
        params["sorting_order"] = "DESC"
        pages = []
        after = None
        while len(pages) < 5:
            answer = requests.get(
                f"{server.url}/v2/export-jobs",
                headers=headers,
                params={**params, **({"after": after} if after else {})},
                timeout=HANG_GUARD,
            ).json()
            assert list_page_problems(answer) == []
            pages.append(answer)
            after = answer["pagination"]["endCursor"]
        newest = [job for page in pages for job in page["data"]]
        assert len(newest) == 500
        ids = {seed.bench_listed_uuid(index) for index in range(500)}
        assert sum(job["id"] in ids for job in newest) > 450  # nearly all of them the benchmark's, all of the last day
        requests.get(
            f"{server.url}/v2/export-jobs/{seed.bench_listed_uuid(499)}", headers=headers, timeout=HANG_GUARD
        ).raise_for_status()
    finally:
        server.stop()


def test_the_benchmark_times_a_walk_of_the_list_straight_from_the_sandbox(tmp_path):
    from bench import servers

    sandbox = servers.Sandbox(latency=0.05, generated=0, listed=250, log_dir=tmp_path, name="smoke").start()
    try:
        seconds = sandbox.walk_list(["failed"], 3)
        assert seconds >= 3 * 0.05  # three pages, each answered after the sandbox's 50 ms
        assert sandbox.stats()["listCalls"] == 3
    finally:
        sandbox.stop()


def _measured(label: str, p50: float) -> dict:
    return {
        "label": label,
        "connections": 1,
        "requests": 1000,
        "rps": 1000 / p50,
        "p50_ms": p50,
        "p95_ms": p50 * 1.5,
        "p99_ms": p50 * 2,
        "max_ms": p50 * 3,
        "errors": {},
    }


def entries_results(*, cold_ms: float, with_ms: float) -> dict:
    cold = [
        {"status": 200, "ms": cold_ms, "upstream_ms": 210.0, "details": 50, "entry_calls": 50, "company_calls": 0}
        for _ in range(4)
    ]
    return {
        "entries": {
            "latency_ms": 100.0,
            "concurrency": 25,
            "cold": cold,
            "cached": _measured("cached job page, 50 failed entries with details", with_ms),
            "cached_without": _measured("cached job page, 50 failed entries without details", 2.4),
            "cached_entry_calls": 0,
            "page_bytes": 102_000,
            "bare_bytes": 69_000,
        },
        "elapsed_s": 60,
    }


def test_phase_10_alone_states_its_goals_and_whether_they_were_met():
    met = report.render_entries(entries_results(cold_ms=430.0, with_ms=2.5))
    assert "Cold job page with 50 failed entries" in met
    assert "430.0 ms − 210.0 ms = **220 ms** | ≤ 2 × 100 + 30 = 230 ms | yes" in met
    assert "2.50 ms / 2.40 ms = **1.04** | ≤ 1.1 | yes" in met
    missed = report.render_entries(entries_results(cold_ms=470.0, with_ms=3.0))
    assert "= **260 ms** | ≤ 2 × 100 + 30 = 230 ms | **no**" in missed
    assert "= **1.25** | ≤ 1.1 | **no**" in missed


def _probe(cached_p95: float, health_p95: float) -> dict:
    return {
        "healthz": {"requests": 80, "rps": 10.0, "p50_ms": health_p95 / 2, "p95_ms": health_p95, "max_ms": health_p95},
        "cached_job": {"requests": 80, "rps": 10.0, "p50_ms": cached_p95 / 2, "p95_ms": cached_p95, "max_ms": 99.0},
        "probe_errors": 0,
    }


def _side(*, slow_ms: float, stampede_ms: float, partly_ms: float) -> dict:
    stampede = {"requests": 50, "upstream_calls": 1, "ok": 50, "p50_ms": stampede_ms * 0.8, "upstream_ms": 200.0}
    partly = {
        "requests": 50,
        "job_calls": 1,
        "item_calls": 6,
        "entry_calls": 50,
        "company_calls": 1,
        "ok": 50,
        "p50_ms": partly_ms * 0.8,
        "max_ms": partly_ms * 1.1,
        "latency_ms": 200.0,
        "upstream_ms": 850.0,
    }
    return {
        "pleo_healthy": _probe(8.0, 4.0),
        "pleo_slow": {**_probe(slow_ms, slow_ms / 2), "uncached_statuses": {"503": 10, "504": 40}},
        "stampede_1": {**stampede, "workers": 1, "p95_ms": stampede_ms, "max_ms": stampede_ms},
        "stampede_3": {**stampede, "workers": 3, "p95_ms": stampede_ms, "max_ms": stampede_ms},
        "partly_1": {**partly, "workers": 1, "p95_ms": partly_ms},
        "partly_3": {**partly, "workers": 3, "p95_ms": partly_ms},
    }


def test_the_comparison_with_an_earlier_release_states_its_goals_side_by_side():
    results = made_up_results()
    ratios = {
        "before": {"home": _measured("home", 4.0), "job": _measured("job", 2.0), "attention": _measured("att", 6.0)},
        "after": {"home": _measured("home", 4.0), "job": _measured("job", 2.4), "attention": _measured("att", 6.0)},
    }
    results["compare"] = {
        "before_ref": "082a706",
        "ratios": ratios,
        "sides": {
            "before": _side(slow_ms=250.0, stampede_ms=500.0, partly_ms=4000.0),
            "after": _side(slow_ms=40.0, stampede_ms=240.0, partly_ms=1600.0),
        },
    }
    text = report.render(results)
    assert "## This code against an earlier release, side by side (phase 11)" in text
    assert "| Cached job page / home page, median (1 connection): this code against `082a706`" in text
    assert "| 0.60 against 0.50 = **1.20** | ≤ 1.1 | **no** |" in text  # 2.4/4.0 against 2.0/4.0
    assert "| 1.50 against 1.50 = **1.00** | ≤ 1.1 | yes |" in text  # /attention/ unchanged
    assert "cached job page p95, against Pleo healthy | **40.0 ms** = 5.0 × 8.00 ms | ≤ 100 ms | yes |" in text
    assert (
        "p95 against the upstream latency (calls to Pleo) | 240.0 ms = **1.20 ×** 200 ms (1) | ≤ 1.3 (1) | yes |"
        in text
    )
    assert "(job calls) | 1600.0 ms = **1.88 ×** 850.0 ms (1) | ≤ 2 (1) | yes |" in text
    assert "| Pleo slow / healthy | cached job page p95 | 31.2 × | 5.0 × |" in text
    assert render_alone_is_a_page(report.render_compare({**results, "notes": []}))


def render_alone_is_a_page(text: str) -> bool:
    return text.startswith("# Benchmarks") and text.endswith("\n") and "| # | measurement |" in text


def made_up_soak(*, last_kib: int) -> dict:
    def sample(minute: float, kib: int) -> dict:
        return {"minute": minute, "rss_kib": {"101": 300_000, "102": kib, "103": kib - 1000}}

    return {
        "minutes_planned": 30,
        "minutes_run": 30.0,
        "clients": 3,
        "pause_s": 0.2,
        "latency_ms": 50.0,
        "requests": 40_000,
        "errors": 0,
        "statuses": {"200": 40_000},
        "uncached_jobs": 9_000,
        "upstream_calls": 9_001,
        "workers": ["101", "102", "103"],
        "traced_worker": "101",
        "samples": [sample(0.0, 90_000), sample(5.0, 110_000), sample(15.1, 115_000), sample(30.0, last_kib)],
        "marks": [5.0, 15.0, 30.0],
        "traced_kib": {"1": 20_000, "30": 24_000},
        "growth": [
            {
                "from": "15",
                "to": "30",
                "traced_before_kib": 23_000.0,
                "traced_after_kib": 24_000.0,
                "top": [
                    {
                        "line": "exportjobs/views/jobs.py:175",
                        "desk_line": "exportjobs/views/jobs.py:175",
                        "size_diff_kib": 512.0,
                        "count_diff": 30,
                        "size_kib": 900.0,
                    }
                ],
            }
        ],
        "latency": {},
    }


def test_the_soak_reports_memory_per_worker_at_its_marks_and_whether_it_levelled_off():
    results = made_up_results()
    results["soak"] = made_up_soak(last_kib=115_000 + 15 * 1024)  # 1 MiB a minute between minute 15 and 30
    text = report.render(results)
    assert "## Soak: memory over time (phase 12)" in text
    assert "| worker | start | minute 5 | minute 15 | minute 30 |" in text
    assert "| 101 (traced) | 293.0 MiB | 293.0 MiB | 293.0 MiB | 293.0 MiB |" in text
    assert "| 102 | 87.9 MiB | 107.4 MiB | 112.3 MiB | 127.3 MiB |" in text
    assert (
        "between minute 15 and minute 30 (the untraced worker that grew most), per minute | **+1.000 MiB/min** |"
        in text
    )
    assert "| `exportjobs/views/jobs.py:175` | `exportjobs/views/jobs.py:175` | +512.0 KiB | +30 | 900.0 KiB |" in text
    levelled = made_up_results()
    levelled["soak"] = made_up_soak(last_kib=115_500)
    assert "**+0.033 MiB/min** | ≤ 0.1 MiB/min | yes |" in report.render(levelled)
    assert render_alone_is_a_page(report.render_soak(levelled))


def test_the_soak_names_the_line_whose_memory_grew(tmp_path):
    import tracemalloc

    from bench import soak

    tracemalloc.start(8)
    try:
        tracemalloc.take_snapshot().dump(str(tmp_path / "first"))
        kept = [bytearray(1000) for _ in range(500)]  # this line grows by about 500 KB
        tracemalloc.take_snapshot().dump(str(tmp_path / "second"))
    finally:
        tracemalloc.stop()
    growth = soak.compare(tmp_path / "first", tmp_path / "second", top=3)
    assert len(kept) == 500
    assert growth["top"][0]["line"].endswith("test_bench_smoke.py:" + str(_line_of("kept = [bytearray")))
    assert growth["top"][0]["size_diff_kib"] > 450


def _line_of(text: str) -> int:
    from pathlib import Path

    lines = Path(__file__).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)
