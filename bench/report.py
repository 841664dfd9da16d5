"""From a run's numbers to ``docs/benchmarks.md``: the goals table first, then every measurement.

Everything here is a pure function of the results dictionary that ``bench/run.py``
builds (and saves as ``bench/results/latest.json``), so it can be tested with
made-up numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

GOAL_LATENCY_RATIO = 1.3  # cached job page / home page, median and p95
GOAL_TRANSLATED_RATIO = 1.1  # cached job page in a translated language / in English, median and p95
GOAL_THROUGHPUT_RATIO = 0.8  # cached job page / home page, requests per second
GOAL_COLD_OVERHEAD_MS = 15.0  # cold job page minus a direct call to Pleo, median
GOAL_STAMPEDE_CALLS = 1
GOAL_SCALE_RATIO = 1.2  # cached latency with N jobs / with 1,000 jobs
GOAL_STAMPEDE_RATIO = 1.3  # p95 of a stampede against the upstream latency
GOAL_HUNG_REDIS_MS = 500.0  # home and cached job pages with Redis hung, p95
GOAL_SLOW_PLEO_MS = 100.0  # /healthz and cached job pages with Pleo slow, p95
GOAL_ATTENTION_RATIO = 1.5  # cached /attention/ with 500 jobs / home page, median
GOAL_ATTENTION_COLD_OVERHEAD_MS = 60.0  # cold /attention/ minus the sum of its upstream calls, median
GOAL_ENTRIES_ROUNDS = 2  # cold job page with 50 failed entries: at most this many entry latencies on top
GOAL_ENTRIES_OVERHEAD_MS = 30.0  # … and this much more, over the job and items calls, median
GOAL_ENTRIES_CACHED_RATIO = 1.1  # cached job page with details / without, median
GOAL_PARTLY_STAMPEDE_RATIO = 2.0  # stampede on a partly exported job: p95 against its calls asked directly
GOAL_RATIO_CHANGE = 1.1  # issue 20: a page's ratio to the home page, this code / the release compared, at most
GOAL_SOAK_MIB_PER_MINUTE = 0.1  # an untraced worker's growth between the soak's last two marks, per minute


@dataclass(frozen=True)
class Goal:
    number: str
    what: str
    value: str
    goal: str
    met: bool | None  # None: reported, no goal


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def _n(value: int | float) -> str:
    return f"{value:,.0f}"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def attention_cold(att: dict) -> dict:
    """The cold /attention/ samples summed up: medians of the page, of its upstream calls and of the difference."""
    cold = att["cold"]
    return {
        "ms": _median([c["ms"] for c in cold]),
        "upstream_ms": _median([c["upstream_ms"] for c in cold]),
        "calls": _median([c["upstream_calls"] for c in cold]),
        "overhead_ms": _median([c["ms"] - c["upstream_ms"] for c in cold]),
    }


def _attention_goals(att: dict) -> list[Goal]:
    jobs = att["jobs"]
    home, cached = att["home"], att["cached"]
    ratio = _ratio(cached["p50_ms"], home["p50_ms"])
    cold = attention_cold(att)
    stampede = att["stampede"]
    return [
        Goal(
            "7",
            f"Cached /attention/ ({_n(jobs)} jobs) / home page, median latency (1 connection)",
            f"{_ms(cached['p50_ms'])} / {_ms(home['p50_ms'])} = **{ratio:.2f}**",
            f"≤ {GOAL_ATTENTION_RATIO}",
            ratio <= GOAL_ATTENTION_RATIO,
        ),
        Goal(
            "8",
            f"Cold /attention/ ({_n(jobs)} jobs in {cold['calls']:.0f} pages of {att['page_size']}, fetched one "
            f"after another by cursor, {att['latency_ms']:.0f} ms each) minus the sum of its upstream calls, median",
            f"{_ms(cold['ms'])} − {_ms(cold['upstream_ms'])} = **{cold['overhead_ms']:.1f} ms**",
            f"≤ {GOAL_ATTENTION_COLD_OVERHEAD_MS:.0f} ms",
            cold["overhead_ms"] <= GOAL_ATTENTION_COLD_OVERHEAD_MS,
        ),
        Goal(
            "9",
            f"{stampede['requests']} simultaneous cold requests for one filter set: calls to Pleo's list",
            f"**{stampede['upstream_calls']}** (one walk of that view: {stampede['walk_calls']})",
            f"= {stampede['walk_calls']}",
            stampede["upstream_calls"] == stampede["walk_calls"],
        ),
    ]


def entries_cold(ent: dict) -> dict:
    """The cold job pages with 50 failed entries summed up: medians of the page, its job and items calls asked
    directly, and the difference."""
    cold = ent["cold"]
    return {
        "ms": _median([c["ms"] for c in cold]),
        "upstream_ms": _median([c["upstream_ms"] for c in cold]),
        "extra_ms": _median([c["ms"] - c["upstream_ms"] for c in cold]),
        "entry_calls": _median([c["entry_calls"] for c in cold]),
        "all_details": all(c["details"] == 50 and c["status"] == 200 for c in cold),
    }


def _entries_goals(ent: dict) -> list[Goal]:
    latency = ent["latency_ms"]
    cold = entries_cold(ent)
    allowed = GOAL_ENTRIES_ROUNDS * latency + GOAL_ENTRIES_OVERHEAD_MS
    cached, bare = ent["cached"], ent["cached_without"]
    ratio = _ratio(cached["p50_ms"], bare["p50_ms"])
    return [
        Goal(
            "10",
            f"Cold job page with 50 failed entries and their details (every answer {latency:.0f} ms, "
            f"{ent['concurrency']} entries at a time) minus its job and items calls asked directly, median",
            f"{_ms(cold['ms'])} − {_ms(cold['upstream_ms'])} = **{cold['extra_ms']:.0f} ms**",
            f"≤ {GOAL_ENTRIES_ROUNDS} × {latency:.0f} + {GOAL_ENTRIES_OVERHEAD_MS:.0f} = {allowed:.0f} ms",
            cold["extra_ms"] <= allowed,
        ),
        Goal(
            "10",
            "Every cold page showed all 50 entries with their details",
            f"**{'yes' if cold['all_details'] else 'no'}** ({cold['entry_calls']:.0f} entry calls per page)",
            "yes",
            cold["all_details"],
        ),
        Goal(
            "10",
            "Cached job page with 50 failed entries: with details / without (Pleo refusing them), median",
            f"{_ms(cached['p50_ms'])} / {_ms(bare['p50_ms'])} = **{ratio:.2f}**",
            f"≤ {GOAL_ENTRIES_CACHED_RATIO}",
            ratio <= GOAL_ENTRIES_CACHED_RATIO,
        ),
        Goal(
            "10",
            "Calls for entries when a cached page with details is viewed again",
            f"**{ent['cached_entry_calls']}**",
            "= 0",
            ent["cached_entry_calls"] == 0,
        ),
    ]


def _entries_lines(ent: dict) -> list[str]:
    lines = [
        f"A sandbox of its own adds {ent['latency_ms']:.0f} ms to every answer (the job, its items, each accounting "
        f"entry, the company). Each cold page is a job not asked before with 450 entries, 50 of them failed; the "
        f"desk asks for the 50 entries' details {ent['concurrency']} at a time (`ENTRY_CONCURRENCY`), while the "
        "company's name is asked beside them. The job and items calls are then asked again straight from the "
        "sandbox (the job, then the five counts and the failed entries at once) for the comparison. The cached "
        "page with details and the cached page without them (a job opened while the sandbox refuses the entries, "
        "so listed as before the details existed) are measured alternately, twice each; the quieter run of each "
        "counts.",
        "",
        "| job | HTTP | page | job and items asked directly | difference | entries with details | entry calls |"
        " company calls |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index, c in enumerate(ent["cold"]):
        lines.append(
            f"| {index} | {c['status']} | {_ms(c['ms'])} | {_ms(c['upstream_ms'])} | "
            f"{c['ms'] - c['upstream_ms']:.0f} ms | {c['details']} | {c['entry_calls']} | {c['company_calls']} |"
        )
    lines += [
        "",
        "| cached page (1 connection) | requests | median | p95 | bytes |",
        "| --- | --- | --- | --- | --- |",
        f"| {ent['cached']['label']} | {_n(ent['cached']['requests'])} | {_ms(ent['cached']['p50_ms'])} | "
        f"{_ms(ent['cached']['p95_ms'])} | {_n(ent['page_bytes'])} |",
        f"| {ent['cached_without']['label']} | {_n(ent['cached_without']['requests'])} | "
        f"{_ms(ent['cached_without']['p50_ms'])} | {_ms(ent['cached_without']['p95_ms'])} | {_n(ent['bare_bytes'])} |",
    ]
    return lines


def _render_alone(r: dict, title: str, written: str, sections: list[str]) -> str:
    """The report of one phase run alone: its title, how it was written, its goals, its sections, the notes."""
    lines = [
        f"# Benchmarks: {title}",
        "",
        written,
        "",
        "| # | measurement | value | goal | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {g.number} | {g.what} | {g.value} | {g.goal} | {_met(g)} |" for g in goals(r)]
    lines += ["", *sections]
    if r.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in r["notes"]]
    return "\n".join(lines).rstrip() + "\n"


def render_entries(r: dict) -> str:
    """The report of phase 10 run alone (``bench/run.py --only entries``)."""
    return _render_alone(
        r,
        "failed entries' details (phase 10 alone)",
        f"Written by `bench/run.py --only entries`; whole run {r.get('elapsed_s', 0):.0f} s. The dashboard runs under "
        "gunicorn as `make run` starts it (1 worker, gthread), signed in with a real session, local-memory cache.",
        ["## Failed entries' details", "", *_entries_lines(r["entries"])],
    )


def _soak_rss(soak: dict, minute: float) -> dict[str, int] | None:
    samples = [s for s in soak["samples"] if abs(s["minute"] - minute) <= 1.0]
    return min(samples, key=lambda s: abs(s["minute"] - minute))["rss_kib"] if samples else None


def _soak_marks(soak: dict) -> list[float]:
    """The minutes memory is reported at: 5, 15, 30 as far as the soak went, and its end."""
    run = soak["minutes_run"]
    marks = [m for m in soak["marks"] if m <= run + 0.5]
    if not marks or marks[-1] < run - 0.5:
        marks.append(run)
    return marks


def soak_growth(soak: dict) -> tuple[float, float, float] | None:
    """(from minute, to minute, the largest growth of an untraced worker per minute) between the last two marks."""
    marks = _soak_marks(soak)
    if len(marks) < 2:
        marks = [0.0, *marks]
    first, last = _soak_rss(soak, marks[-2]), _soak_rss(soak, marks[-1])
    if first is None or last is None:
        return None
    untraced = [pid for pid in soak["workers"] if pid != soak.get("traced_worker") and pid in first and pid in last]
    if not untraced or marks[-1] <= marks[-2]:
        return None
    worst = max((last[pid] - first[pid]) / 1024 for pid in untraced)
    return marks[-2], marks[-1], worst / (marks[-1] - marks[-2])


def _soak_goals(soak: dict) -> list[Goal]:
    out = [
        Goal(
            "12",
            f"Soak: errors in {_n(soak['requests'])} requests over {soak['minutes_run']:.1f} minutes",
            f"**{_n(soak['errors'])}**",
            "= 0",
            soak["errors"] == 0,
        )
    ]
    growth = soak_growth(soak)
    if growth:
        start, end, per_minute = growth
        out.append(
            Goal(
                "12",
                f"Soak: worker memory growth between minute {start:g} and minute {end:.0f} "
                "(the untraced worker that grew most), per minute",
                f"**{per_minute:+.3f} MiB/min**",
                f"≤ {GOAL_SOAK_MIB_PER_MINUTE} MiB/min",
                per_minute <= GOAL_SOAK_MIB_PER_MINUTE,
            )
        )
    return out


def _soak_lines(soak: dict) -> list[str]:
    traced = soak.get("traced_worker")
    planned, run = soak["minutes_planned"], soak["minutes_run"]
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(soak["statuses"].items()))
    lines = [
        f"3 gunicorn workers × 8 threads, a Redis of the bench's own as the cache, the sandbox as Pleo "
        f"({soak['latency_ms']:.0f} ms an answer). {soak['clients']} clients, each in a loop: a cached job page, "
        "the home page, a job not asked before (a miss: Pleo called, the answer cached, an audit row), `/healthz`, "
        f"`/attention/` every fifth round, then a {soak['pause_s'] * 1000:.0f} ms pause. Bounded by time "
        "(`--soak-minutes`, `SOAK_MINUTES`) and by a request count.",
        "",
        f"- Length: **{run:.1f} minutes** run of {planned:g} planned; {_n(soak['requests'])} requests, "
        f"{_n(soak['errors'])} not answered 200 ({answers}); "
        f"{_n(soak['uncached_jobs'])} distinct jobs asked for, {_n(soak['upstream_calls'])} calls to Pleo.",
        "- Memory: each worker's VmRSS, read every 30 s. The worker marked *traced* runs `tracemalloc` "
        "(`bench/soak_gunicorn.py`, 8 frames an allocation), which costs it memory and time; the others run as "
        "in production.",
        "",
    ]
    marks = [0.0, *_soak_marks(soak)]
    lines += [
        "| worker | " + " | ".join(f"minute {m:.0f}" if m else "start" for m in marks) + " |",
        "| --- | " + " | ".join("---" for _ in marks) + " |",
    ]
    for pid in soak["workers"]:
        cells = []
        for minute in marks:
            rss = _soak_rss(soak, minute)
            cells.append(_mib(rss[pid]) if rss and pid in rss else "—")
        lines.append(f"| {pid}{' (traced)' if pid == traced else ''} | " + " | ".join(cells) + " |")
    lat = soak.get("latency", {})
    if lat:
        lines += [
            "",
            "| page in the soak | median | p95 | p95, first minute | p95, last minute |",
            "| --- | --- | --- | --- | --- |",
        ]
        for kind, label in (("cached", "cached job page"), ("home", "home page"), ("uncached", "job not asked before")):
            if kind in lat:
                row = lat[kind]
                lines.append(
                    f"| {label} | {_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | {_ms(row['first_minute_p95_ms'])} | "
                    f"{_ms(row['last_minute_p95_ms'])} |"
                )
    for step in soak.get("growth", []):
        lines += [
            "",
            f"What grew in the traced worker between minute {step['from']} and minute {step['to']} "
            f"(traced memory {_mib(step['traced_before_kib'])} → {_mib(step['traced_after_kib'])}):",
            "",
            "| allocated at | from the desk's line | growth | blocks | now |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in step["top"]:
            lines.append(
                f"| `{row['line']}` | {('`' + row['desk_line'] + '`') if row['desk_line'] else '—'} | "
                f"{row['size_diff_kib']:+.1f} KiB | {row['count_diff']:+,} | {row['size_kib']:.1f} KiB |"
            )
    return lines


def render_soak(r: dict) -> str:
    """The report of phase 12 run alone (``bench/run.py --only soak``)."""
    return _render_alone(
        r,
        "the soak (phase 12 alone)",
        f"Written by `bench/run.py --only soak` on {r['started_at']}; code `{r.get('revision') or 'unknown'}`; whole "
        f"run {r.get('elapsed_s', 0):.0f} s.",
        ["## Soak", "", *_soak_lines(r["soak"])],
    )


def goals(r: dict) -> list[Goal]:
    out: list[Goal] = []
    lat = r.get("latency")
    if lat:
        home, job = lat["home"], lat["job"]
        median = _ratio(job["p50_ms"], home["p50_ms"])
        p95 = _ratio(job["p95_ms"], home["p95_ms"])
        out.append(
            Goal(
                "1",
                "Cached job page / home page, median latency (1 connection)",
                f"{_ms(job['p50_ms'])} / {_ms(home['p50_ms'])} = **{median:.2f}**",
                f"≤ {GOAL_LATENCY_RATIO}",
                median <= GOAL_LATENCY_RATIO,
            )
        )
        out.append(
            Goal(
                "1",
                "Cached job page / home page, p95 latency (1 connection)",
                f"{_ms(job['p95_ms'])} / {_ms(home['p95_ms'])} = **{p95:.2f}**",
                f"≤ {GOAL_LATENCY_RATIO}",
                p95 <= GOAL_LATENCY_RATIO,
            )
        )
        fresh = lat.get("home_new_user")
        if fresh:
            for key, name in (("p50_ms", "median"), ("p95_ms", "p95")):
                ratio = _ratio(job[key], fresh[key])
                out.append(
                    Goal(
                        "1",
                        f"Cached job page / home page **of a user with no history** (no recent-jobs list), {name}",
                        f"{_ms(job[key])} / {_ms(fresh[key])} = **{ratio:.2f}**",
                        f"≤ {GOAL_LATENCY_RATIO}",
                        ratio <= GOAL_LATENCY_RATIO,
                    )
                )
        translated = lat.get("job_translated")
        if translated:
            for key, name in (("p50_ms", "median"), ("p95_ms", "p95")):
                ratio = _ratio(translated[key], job[key])
                out.append(
                    Goal(
                        "1",
                        f"Cached job page in German / in English, {name} latency (1 connection)",
                        f"{_ms(translated[key])} / {_ms(job[key])} = **{ratio:.2f}**",
                        f"≤ {GOAL_TRANSLATED_RATIO}",
                        ratio <= GOAL_TRANSLATED_RATIO,
                    )
                )
    thr = r.get("throughput")
    if thr:
        home, job = thr["home"], thr["job"]
        ratio = _ratio(job["rps"], home["rps"])
        out.append(
            Goal(
                "2",
                f"Throughput, cached job page / home page ({job['connections']} connections)",
                f"{_n(job['rps'])} / {_n(home['rps'])} req/s = **{ratio:.2f}**",
                f"≥ {GOAL_THROUGHPUT_RATIO}",
                ratio >= GOAL_THROUGHPUT_RATIO,
            )
        )
    cold = r.get("cold")
    if cold:
        job, direct = cold["job"], cold["direct"]
        overhead = job["p50_ms"] - direct["p50_ms"]
        upstream = r["config"]["latency_s"] * 1000
        out.append(
            Goal(
                "3",
                f"Cold job page minus a direct call to the sandbox ({upstream:.0f} ms upstream), median",
                f"{_ms(job['p50_ms'])} − {_ms(direct['p50_ms'])} = **{overhead:.1f} ms**",
                f"≤ {GOAL_COLD_OVERHEAD_MS:.0f} ms",
                overhead <= GOAL_COLD_OVERHEAD_MS,
            )
        )
    for stampede in r.get("stampede", []):
        out.append(
            Goal(
                "4",
                f"Stampede, {stampede['requests']} simultaneous cold requests for one job,"
                f" {stampede['label']}: upstream calls",
                f"**{stampede['upstream_calls']}**",
                f"= {GOAL_STAMPEDE_CALLS}",
                stampede["upstream_calls"] == GOAL_STAMPEDE_CALLS,
            )
        )
        out.append(
            Goal(
                "4",
                f"Stampede, {stampede['label']}: p95 latency against the upstream latency",
                f"{_ms(stampede['p95_ms'])} = **{_ratio(stampede['p95_ms'], stampede['upstream_ms']):.2f} ×** "
                f"{stampede['upstream_ms']:.0f} ms",
                f"≤ {GOAL_STAMPEDE_RATIO}",
                _ratio(stampede["p95_ms"], stampede["upstream_ms"]) <= GOAL_STAMPEDE_RATIO,
            )
        )
    local = r.get("scale_locmem")
    if local:
        n = local["jobs"]
        rss = local["rss_kib"]
        growth = rss[f"after_{n}"] - rss["start"]
        out.append(
            Goal(
                "5",
                f"Worker memory growth after {_n(n)} distinct jobs,"
                f" local-memory cache (bounded: MAX_ENTRIES {local['max_entries']})",
                f"{_mib(rss['start'])} → {_mib(rss['after_1000'])} (1,000)"
                f" → {_mib(rss[f'after_{n}'])} = **+{_mib(growth)}**",
                "—",
                None,
            )
        )
        ratio = _ratio(local["latency_n"]["p50_ms"], local["latency_1000"]["p50_ms"])
        out.append(
            Goal(
                "5",
                f"Cached job page median after {_n(n)} / after 1,000 jobs, local memory (one hot job)",
                f"{_ms(local['latency_n']['p50_ms'])} / {_ms(local['latency_1000']['p50_ms'])} = **{ratio:.2f}**",
                f"≤ {GOAL_SCALE_RATIO}",
                ratio <= GOAL_SCALE_RATIO,
            )
        )
    shared = r.get("scale_redis")
    if shared:
        n = shared["jobs"]
        out.append(
            Goal(
                "5",
                f"Redis memory per job ({_n(n)} jobs, {_n(shared['keys'])} keys: job + stale copy each)",
                f"**{shared['bytes_per_job'] / 1024:.2f} KiB**"
                f" ({_mib((shared['used_memory'][f'after_{n}'] - shared['used_memory']['start']) / 1024)} in all)",
                "—",
                None,
            )
        )
        ratio = _ratio(shared["latency_n"]["p50_ms"], shared["latency_1000"]["p50_ms"])
        out.append(
            Goal(
                "5",
                f"Cached job page median, random of {_n(n)} / random of 1,000 jobs, Redis",
                f"{_ms(shared['latency_n']['p50_ms'])} / {_ms(shared['latency_1000']['p50_ms'])} = **{ratio:.2f}**",
                f"≤ {GOAL_SCALE_RATIO}",
                ratio <= GOAL_SCALE_RATIO,
            )
        )
    if r.get("attention"):
        out += _attention_goals(r["attention"])
    if r.get("entries"):
        out += _entries_goals(r["entries"])
    workers = r.get("workers")
    if workers:
        one, three = workers["1"], workers["3"]
        for page, name in (("job", "cached job page"), ("home", "home page")):
            ratio = _ratio(three[page]["rps"], one[page]["rps"])
            out.append(
                Goal(
                    "6",
                    f"Throughput, 3 workers / 1 worker sharing Redis, {name} ({one[page]['connections']} connections)",
                    f"{_n(three[page]['rps'])} / {_n(one[page]['rps'])} req/s = **{ratio:.2f}**",
                    "—",
                    None,
                )
            )
    return out + _later_goals(r)


def _later_goals(r: dict) -> list[Goal]:
    """The goals of the phases that compare with another release or run long: faults, before and after, soak."""
    out: list[Goal] = []
    faults = r.get("faults", {}).get("after")
    if faults:
        out.extend(_fault_goals(faults))
    if r.get("compare", {}).get("sides"):
        out.extend(_compare_goals(r["compare"]))
    if r.get("soak"):
        out.extend(_soak_goals(r["soak"]))
    return out


_RATIO_PAGES = (("job", "Cached job page"), ("attention", "Cached /attention/ (500 jobs)"))


def compare_ratios(ratios: dict) -> list[tuple[str, str, float, float]]:
    """(page label, statistic, ratio to the home page before, after) for issue 20's ratios."""
    rows = []
    for page, label in _RATIO_PAGES:
        for key, stat in (("p50_ms", "median"), ("p95_ms", "p95")):
            before = _ratio(ratios["before"][page][key], ratios["before"]["home"][key])
            after = _ratio(ratios["after"][page][key], ratios["after"]["home"][key])
            rows.append((label, stat, before, after))
    return rows


def _compare_goals(cmp: dict) -> list[Goal]:
    after = cmp["sides"]["after"]
    ref = cmp.get("before_ref") or "the release compared"
    out: list[Goal] = []
    if cmp.get("ratios"):
        for label, stat, before, now in compare_ratios(cmp["ratios"]):
            change = _ratio(now, before)
            out.append(
                Goal(
                    "11",
                    f"{label} / home page, {stat} (1 connection): this code against `{ref}` measured beside it",
                    f"{now:.2f} against {before:.2f} = **{change:.2f}**",
                    f"≤ {GOAL_RATIO_CHANGE}",
                    change <= GOAL_RATIO_CHANGE,
                )
            )
    healthy, slow = after["pleo_healthy"], after["pleo_slow"]
    for key, label in (("cached_job", "cached job page"), ("healthz", "/healthz")):
        out.append(
            Goal(
                "11",
                f"Pleo slow (3 s, 30 clients waiting on uncached jobs): {label} p95, against Pleo healthy",
                f"**{_ms(slow[key]['p95_ms'])}** = {_ratio(slow[key]['p95_ms'], healthy[key]['p95_ms']):.1f} × "
                f"{_ms(healthy[key]['p95_ms'])}",
                f"≤ {GOAL_SLOW_PLEO_MS:.0f} ms",
                slow[key]["p95_ms"] <= GOAL_SLOW_PLEO_MS,
            )
        )
    for key in ("stampede_1", "stampede_3"):
        s = after[key]
        ratio = _ratio(s["p95_ms"], s["upstream_ms"])
        out.append(
            Goal(
                "11",
                f"Stampede, {s['requests']} requests for one uncached completed job, {s['workers']} worker(s): "
                "p95 against the upstream latency (calls to Pleo)",
                f"{_ms(s['p95_ms'])} = **{ratio:.2f} ×** {s['upstream_ms']:.0f} ms ({s['upstream_calls']})",
                f"≤ {GOAL_STAMPEDE_RATIO} (1)",
                ratio <= GOAL_STAMPEDE_RATIO and s["upstream_calls"] == 1,
            )
        )
    for key in ("partly_1", "partly_3"):
        s = after[key]
        ratio = _ratio(s["p95_ms"], s["upstream_ms"])
        out.append(
            Goal(
                "11",
                f"Stampede, {s['requests']} requests for one uncached partly exported job (50 failed entries), "
                f"{s['workers']} worker(s): p95 against its calls asked directly (job calls)",
                f"{_ms(s['p95_ms'])} = **{ratio:.2f} ×** {_ms(s['upstream_ms'])} ({s['job_calls']})",
                f"≤ {GOAL_PARTLY_STAMPEDE_RATIO:.0f} (1)",
                ratio <= GOAL_PARTLY_STAMPEDE_RATIO and s["job_calls"] == 1,
            )
        )
    return out


def _compare_rows(side: dict) -> list[tuple[str, str, str]]:
    healthy, slow = side["pleo_healthy"], side["pleo_slow"]
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(slow["uncached_statuses"].items()))
    rows = []
    for key, label in (("cached_job", "cached job page"), ("healthz", "/healthz")):
        rows += [
            (
                "Pleo healthy, nothing else asked",
                f"{label} median / p95 / max",
                f"{_ms(healthy[key]['p50_ms'])} / {_ms(healthy[key]['p95_ms'])} / {_ms(healthy[key]['max_ms'])}",
            ),
            (
                "Pleo slow (3 s, timeout 2 s), 30 clients",
                f"{label} median / p95 / max",
                f"{_ms(slow[key]['p50_ms'])} / {_ms(slow[key]['p95_ms'])} / {_ms(slow[key]['max_ms'])}",
            ),
            ("Pleo slow / healthy", f"{label} p95", f"{_ratio(slow[key]['p95_ms'], healthy[key]['p95_ms']):.1f} ×"),
        ]
    rows.append(("Pleo slow (3 s, timeout 2 s), 30 clients", "answers to the 30 clients", answers))
    for key in ("stampede_1", "stampede_3"):
        s = side[key]
        rows.append(
            (
                f"Stampede, completed job, {s['workers']} worker(s)",
                "answers 200 · calls · median / p95 / max · p95 ÷ upstream",
                f"{s['ok']} · {s['upstream_calls']} · {_ms(s['p50_ms'])} / {_ms(s['p95_ms'])} / "
                f"{_ms(s.get('max_ms', 0.0))} · **{_ratio(s['p95_ms'], s['upstream_ms']):.2f} ×**",
            )
        )
    for key in ("partly_1", "partly_3"):
        s = side[key]
        rows.append(
            (
                f"Stampede, partly exported job, {s['workers']} worker(s)",
                "answers 200 · calls (job, items, entries, company) · median / p95 / max · p95 ÷ its calls",
                f"{s['ok']} · {s['job_calls']}, {s['item_calls']}, {s['entry_calls']}, {s['company_calls']} · "
                f"{_ms(s['p50_ms'])} / {_ms(s['p95_ms'])} / {_ms(s['max_ms'])} · "
                f"**{_ratio(s['p95_ms'], s['upstream_ms']):.2f} ×** {_ms(s['upstream_ms'])}",
            )
        )
    return rows


def _compare_lines(cmp: dict, latency_ms: float) -> list[str]:
    ref = cmp.get("before_ref") or "—"
    lines = [
        f"*Before* is `{ref}` (the release before one verdict per job, the bulkhead that waits while Pleo keeps its "
        "pace, /healthz before the session and the log throttle's own timer), *after* is the code above; both "
        "checked out side by side and served by the same virtualenv, in this run.",
        "",
    ]
    if cmp.get("ratios"):
        lines += [
            "**Pages against the home page** (issue 20). Both releases up at once, 1 gunicorn worker × 8 threads "
            "each, local-memory cache, the slow sandbox listing 500 failed jobs; wrk, 1 connection, the pages "
            "measured in turns (before, after) twice each; the quieter run of each counts.",
            "",
            "| page | before: median / p95 | after: median / p95 |",
            "| --- | --- | --- |",
        ]
        names = (("home", "home page"), ("job", "cached job page"), ("attention", "cached /attention/ (500 jobs)"))
        for page, label in names:
            b, a = cmp["ratios"]["before"][page], cmp["ratios"]["after"][page]
            lines.append(
                f"| {label} | {_ms(b['p50_ms'])} / {_ms(b['p95_ms'])} | {_ms(a['p50_ms'])} / {_ms(a['p95_ms'])} |"
            )
        lines += ["", "| ratio | before | after | after / before |", "| --- | --- | --- | --- |"]
        for label, stat, before, now in compare_ratios(cmp["ratios"]):
            lines.append(f"| {label} / home page, {stat} | {before:.2f} | {now:.2f} | {_ratio(now, before):.2f} |")
        lines.append("")
    if cmp.get("sides"):
        lines += [
            "**Pleo slow, stampedes.** Each release as a team runs it: 3 gunicorn workers × 8 threads, a Redis of "
            "its own, SQLite, `PLEO_API_TIMEOUT=2`, the sandbox as Pleo. *Pleo healthy*: the sandbox at "
            f"{latency_ms:.0f} ms, a probe asking for `/healthz` and a cached job page in turn every 50 ms, nothing "
            "else. *Pleo slow*: the sandbox at 3 s (beyond the timeout) while 30 clients ask for jobs not asked before "
            "(each a new connection, a 200 ms pause after a 503), the same probe meanwhile. *Stampede*: 50 requests "
            f"sent at the same instant for one uncached job, the sandbox at {latency_ms:.0f} ms; 1 worker with the "
            "local-memory cache, 3 workers sharing Redis. A completed job needs one call; a partly exported job with "
            "450 entries, 50 failed, needs the job, its counts and failed entries, then the 50 accounting entries "
            "(25 at a time) and the company: its p95 is set against those calls asked straight from the sandbox in "
            "the same order, right after, for another such job.",
            "",
            "| scenario | measurement | before | after |",
            "| --- | --- | --- | --- |",
        ]
        before_rows = _compare_rows(cmp["sides"]["before"]) if "before" in cmp["sides"] else []
        for index, (scenario, what, value) in enumerate(_compare_rows(cmp["sides"]["after"])):
            old = before_rows[index][2] if before_rows else "—"
            lines.append(f"| {scenario} | {what} | {old} | {value} |")
    return lines


def render_compare(r: dict) -> str:
    """The report of phase 11 run alone (``bench/run.py --only compare``)."""
    return _render_alone(
        r,
        "this code against an earlier release (phase 11 alone)",
        f"Written by `bench/run.py --only compare` on {r['started_at']}; code `{r.get('revision') or 'unknown'}`; "
        f"whole run {r.get('elapsed_s', 0):.0f} s.",
        [
            "## This code against an earlier release",
            "",
            *_compare_lines(r["compare"], 200.0),
            *_compare_profile_lines(r["compare"].get("profile", {})),
        ],
    )


def _fault_goals(faults: dict) -> list[Goal]:
    hung, slow, calls = faults["redis_hung"], faults["pleo_slow"], faults["calls_per_view"]
    hung_worst = max(hung["home"]["p95_ms"], hung["job"]["p95_ms"])
    slow_worst = max(slow["healthz"]["p95_ms"], slow["cached_job"]["p95_ms"])
    out = [
        Goal(
            "7",
            "Redis hung: home and cached job pages, p95 (3 workers, 8 clients)",
            f"**{_ms(hung_worst)}**",
            f"≤ {GOAL_HUNG_REDIS_MS:.0f} ms",
            hung_worst <= GOAL_HUNG_REDIS_MS,
        ),
        Goal(
            "7",
            "Pleo slow: /healthz and cached job pages while 30 clients wait on Pleo, p95",
            f"**{_ms(slow_worst)}**",
            f"≤ {GOAL_SLOW_PLEO_MS:.0f} ms",
            slow_worst <= GOAL_SLOW_PLEO_MS,
        ),
        Goal(
            "7",
            "Redis down: calls to Pleo per view, against the same with Redis",
            f"**{calls['ratio']:.1f} ×**",
            "a few times",
            None,
        ),
    ]
    for key in ("stampede_1", "stampede_3"):
        s = faults[key]
        ratio = _ratio(s["p95_ms"], s["upstream_ms"])
        out.append(
            Goal(
                "7",
                f"Stampede in the fault run, {s['workers']} worker(s): p95 against the upstream latency",
                f"{_ms(s['p95_ms'])} = **{ratio:.2f} ×**",
                f"≤ {GOAL_STAMPEDE_RATIO}",
                ratio <= GOAL_STAMPEDE_RATIO,
            )
        )
    return out


def _met(goal: Goal) -> str:
    return "—" if goal.met is None else ("yes" if goal.met else "**no**")


def _runs(r: dict) -> list[dict]:
    runs = []
    for section in ("latency", "throughput"):
        runs += [r[section][k] for k in ("home", "home_new_user", "job") if r.get(section) and k in r[section]]
    if r.get("cold"):
        cold = r["cold"]
        runs += [cold["job"], cold["direct"]]
        if cold.get("cached_after_pause"):
            runs.append(cold["cached_after_pause"])
        if cold.get("no_latency"):
            runs += [cold["no_latency"]["job"], cold["no_latency"]["direct"]]
    if r.get("attention"):
        runs += [r["attention"]["home"], r["attention"]["cached"]]
    if r.get("entries"):
        runs += [r["entries"]["cached"], r["entries"]["cached_without"]]
    for section in ("scale_locmem", "scale_redis"):
        if r.get(section):
            runs += [r[section]["latency_1000"], r[section]["latency_n"]]
    for count in ("1", "3"):
        if r.get("workers"):
            runs += [r["workers"][count]["home"], r["workers"][count]["job"]]
    return runs


def _cold_lines(r: dict) -> list[str]:
    cold = r["cold"]
    job, direct = cold["job"], cold["direct"]
    lines = [
        f"- {job['requests']} cold job-page requests caused {job.get('upstream_calls', '?')} calls to the sandbox "
        f"({cold['distinct_ids']} distinct ids available): every one was a real miss. "
        f"Overhead: median {job['p50_ms'] - direct['p50_ms']:.1f} ms, p95 {job['p95_ms'] - direct['p95_ms']:.1f} ms."
    ]
    latency = r.get("latency", {}).get("job")
    paused = cold.get("cached_after_pause")
    if latency and paused:
        lines.append(
            f"- The cached job page alone: {_ms(latency['p50_ms'])} back to back, but {_ms(paused['p50_ms'])} when "
            f"each request follows a {r['config']['latency_s'] * 1000:.0f} ms pause, as a cold page's rendering "
            "follows the wait for Pleo (CPU caches and branch predictors go cold while the worker sleeps: a cost of "
            "the machine, paid by any code after any wait)."
        )
    quick = cold.get("no_latency")
    if quick:
        lines.append(
            f"- With no upstream latency (no pause): cold job page {_ms(quick['job']['p50_ms'])} − direct call "
            f"{_ms(quick['direct']['p50_ms'])} = {quick['job']['p50_ms'] - quick['direct']['p50_ms']:.1f} ms: "
            "what the dashboard itself adds to a miss (HTTP client, parsing, cache writes, audit row, page)."
        )
    return lines


def _attention_lines(att: dict) -> list[str]:
    cold = attention_cold(att)
    stampede = att["stampede"]
    lines = [
        f"The slow sandbox lists {_n(att['jobs'])} failed jobs of the last day besides its own; the desk shows at most "
        f"{_n(att['jobs'])} (`ATTENTION_MAX_JOBS`), with its list cache lifetime raised to 10 minutes so that no "
        "measurement straddles an expiry.",
        "",
        "- **Cached**: the default view (7 days, every status) from the cache, side by side with the home page of the "
        f"same server: {_ms(att['cached']['p50_ms'])} against {_ms(att['home']['p50_ms'])} "
        f"({_n(att['page_bytes'])} bytes a page).",
        "- **Cold**: each view a filter set not asked before, failed (and partly exported) jobs only, so the answer is "
        f"one walk of {cold['calls']:.0f} pages of {att['page_size']}. The pages are fetched **one after another**: "
        "each needs the previous page's `endCursor`, so they cannot be asked for at once. (A view that includes "
        "active jobs walks them concurrently, one more call beside the pages.) The sum of the upstream calls is "
        "measured: the same pages asked straight from the sandbox right after, one after another "
        f"({att['latency_ms']:.0f} ms of latency each plus the sandbox's own work). Overhead above them: median "
        f"{cold['overhead_ms']:.1f} ms, for parsing {_n(att['jobs'])} jobs, storing each in its own cache entry, "
        "the audit row and the page.",
        "",
        "| view | answer | time | list calls | their sum | overhead |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in att["cold"]:
        lines.append(
            f"| `{c['path']}` | {c['status']}{'' if c['full'] else ' (not a full page)'} | {_ms(c['ms'])} | "
            f"{c['upstream_calls']} | {_ms(c['upstream_ms'])} | {c['ms'] - c['upstream_ms']:.1f} ms |"
        )
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(stampede["statuses"].items()))
    lines += [
        "",
        f"- **Stampede**: {stampede['requests']} requests for `{stampede['path']}` at the same instant: "
        f"{stampede['upstream_calls']} calls to Pleo's list (one walk of a view with every status is "
        f"{stampede['walk_calls']}: its pages plus the active jobs' page); answers {answers}; median "
        f"{_ms(stampede['p50_ms'])}, p95 {_ms(stampede['p95_ms'])}, max {_ms(stampede['max_ms'])}.",
    ]
    return lines


def _follower_lines(f: dict) -> list[str]:
    return [
        "",
        f"Stampede followers: {f['jobs']} jobs not asked before, {f['threads']} requests at once for each, in "
        f"threads of the profiling process (local-memory cache, the sandbox at {f['latency_ms']:.0f} ms), each "
        f"thread with its own profiler; the request that called Pleo (the leader) is left out: {f['followers']} "
        f"followers, median {_ms(f['median_ms'])}, p95 {_ms(f['p95_ms'])} (under the profiler).",
        "",
        "| part | calls / follower | ms / follower | share |",
        "| --- | --- | --- | --- |",
        *(
            f"| {row['part']} | {row['calls_per_request']:.1f} | {row['ms_per_request']:.2f} | "
            f"{row['share'] * 100:.0f} % |"
            for row in f["parts"]
            if row["calls_per_request"]
        ),
    ]


def _compare_profile_lines(profiles: dict) -> list[str]:
    """The profiles of both releases side by side: medians without the profiler, then the parts under it."""
    before, after = profiles.get("before"), profiles.get("after")
    if not before or not after:
        return []
    lines = [
        "",
        "**Profile, side by side.** `bench/profile_job.py` against each release in turn (in-process, Django's test "
        f"Client, {after['requests']} requests per page, local-memory cache; see the profile section above for the "
        "method). Medians without the profiler, then where a cached job page and a stampede follower spend their "
        "time under it (ms per request; parts a release does not have are 0).",
        "",
        "| | before | after |",
        "| --- | --- | --- |",
    ]
    for name in ("home", "job"):
        lines.append(
            f"| {name} page, median (no profiler) | {_ms(before['pages'][name]['median_ms'])} | "
            f"{_ms(after['pages'][name]['median_ms'])} |"
        )
        lines.append(
            f"| {name} page, SQL queries | {len(before['pages'][name]['queries'])} | "
            f"{len(after['pages'][name]['queries'])} |"
        )
    bf, af = before.get("followers") or {}, after.get("followers") or {}
    if bf and af:
        lines.append(
            f"| stampede follower, median / p95 (profiled) | {_ms(bf['median_ms'])} / {_ms(bf['p95_ms'])} | "
            f"{_ms(af['median_ms'])} / {_ms(af['p95_ms'])} |"
        )
    lines += [
        "",
        "| part | job page, before | job page, after | follower, before | follower, after |",
        "| --- | --- | --- | --- | --- |",
    ]
    tables = [
        {row["part"]: row for row in before["pages"]["job"]["parts"]},
        {row["part"]: row for row in after["pages"]["job"]["parts"]},
        {row["part"]: row for row in bf.get("parts", [])},
        {row["part"]: row for row in af.get("parts", [])},
    ]
    for row in after["pages"]["job"]["parts"]:
        cells = [f"{t[row['part']]['ms_per_request']:.2f}" if row["part"] in t else "—" for t in tables]
        lines.append(f"| {row['part']} | " + " | ".join(cells) + " |")
    return lines


def _profile_section(p: dict) -> list[str]:
    lines = ["## Profile of the cached job page", ""]
    facts = p.get("facts", {})
    lines.append(
        f"In-process with Django's test Client and cProfile, {p['requests']} requests per page after warming up; "
        "the database connection is closed after each request as under gunicorn "
        f"(`CONN_MAX_AGE={facts.get('conn_max_age')}`, {facts.get('database')}); cache {facts.get('cache_backend')}."
    )
    lines.append("")
    pages = p["pages"]
    lines += ["| page | median (no profiler) | mean | with cProfile | SQL queries |", "| --- | --- | --- | --- | --- |"]
    for name, page in pages.items():
        lines.append(
            f"| {name} `{page['path'][:20]}` | {_ms(page['median_ms'])} | {_ms(page['mean_ms'])} | "
            f"{_ms(page['profiled_ms_per_request'])} | {len(page['queries'])} |"
        )
    lines.append("")
    for name, page in pages.items():
        lines.append(f"SQL of one {name} page request:")
        lines.append("")
        lines += [f"{i}. `{sql}`" for i, sql in enumerate(page["queries"], 1)] or ["(none)"]
        lines.append("")
    lines += [
        "Where the time goes (cumulative, per request, under the profiler):",
        "",
        "| part | calls / request | job page ms | share | home page ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    home_parts = {row["part"]: row for row in pages.get("home", {}).get("parts", [])}
    for row in pages["job"]["parts"]:
        home = home_parts.get(row["part"])
        lines.append(
            f"| {row['part']} | {row['calls_per_request']:.1f} | {row['ms_per_request']:.2f} | "
            f"{row['share'] * 100:.0f} % | {home['ms_per_request']:.2f} |"
            if home
            else f"| {row['part']} | {row['calls_per_request']:.1f} | {row['ms_per_request']:.2f} | "
            f"{row['share'] * 100:.0f} % | — |"
        )
    if p.get("what_if"):
        names = [name for name in pages]
        lines += [
            "",
            "What if (medians without the profiler, avoidable costs switched off in the profiling process only; "
            "the app's code is unchanged):",
            "",
            "| variant | " + " | ".join(f"{name} page" for name in names) + " |",
            "| --- | " + " | ".join("---" for _ in names) + " |",
        ]
        base = p["what_if"][0]
        for row in p["what_if"]:
            cells = []
            for name in names:
                saved = base[name] - row[name]
                sign = "−" if saved >= 0 else "+"
                change = f" ({sign}{abs(saved):.2f} ms, {sign}{abs(saved) / base[name] * 100:.0f} %)"
                cells.append(_ms(row[name]) + (change if row is not base else ""))
            lines.append(f"| {row['variant']} | " + " | ".join(cells) + " |")
    total = pages["job"]["profiled_ms_per_request"]
    lines += [
        "",
        "Top functions of the job page by cumulative time (per request; the request's own call chain "
        "through the test client, middleware and decorators, above 80 % of the total, left out):",
        "",
        "| function | calls | own ms | cumulative ms |",
        "| --- | --- | --- | --- |",
    ]
    for row in [row for row in pages["job"]["top_cumulative"] if row["cumulative_ms_per_request"] < 0.8 * total][:20]:
        lines.append(
            f"| `{row['function']}` | {row['calls_per_request']:.1f} |"
            f" {row['own_ms_per_request']:.3f} | {row['cumulative_ms_per_request']:.2f} |"
        )
    lines += [
        "",
        "Top functions of the job page by own time (per request):",
        "",
        "| function | calls | own ms | cumulative ms |",
        "| --- | --- | --- | --- |",
    ]
    for row in pages["job"]["top_own"][:15]:
        lines.append(
            f"| `{row['function']}` | {row['calls_per_request']:.1f} |"
            f" {row['own_ms_per_request']:.3f} | {row['cumulative_ms_per_request']:.2f} |"
        )
    if p.get("followers"):
        lines += _follower_lines(p["followers"])
    lines.append("")
    return lines


def render(r: dict) -> str:
    c = r["config"]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `bench/run.py` on {r['started_at']}; every number below is from that one run"
        f"{' (a --quick trial run)' if c.get('quick') else ''}. Run it again with:",
        "",
        "```sh",
        r["command"],
        "```",
        "",
        f"Code measured: `{r.get('revision') or 'unknown'}`. Whole run: {r.get('elapsed_s', 0):.0f} s. "
        f"Raw numbers: `{r.get('json', 'bench/results/latest.json')}` (git-ignored).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
    ]
    lines += [f"| {key} | {value} |" for key, value in r.get("machine", {}).items()]
    if "cpu_busy_before" in r:
        lines.append(f"| CPU busy with other programs at the start | {r['cpu_busy_before'] * 100:.0f} % |")
    lines += [
        "",
        "## How it is measured",
        "",
        f"- The dashboard runs under gunicorn as `make run` starts it: gthread workers with {c['threads']} threads, "
        "`--no-control-socket`, static files collected (manifest storage, whitenoise), `DEBUG=0`, database: "
        f"{c.get('database', 'sqlite')};"
        f" every request signed in with a real session cookie (user in the Finance group).",
        f"- Pleo is the standalone sandbox (`python -m exportjobs.sandbox --latency {c['latency_s']} --generated N`) "
        f"adding {c['latency_s'] * 1000:.0f} ms to every answer; a second sandbox without latency serves the "
        "cache-filling runs (5), where only the cache is measured.",
        f"- Load: wrk with `--latency`; each measurement lasts {c['duration_s']:.0f} s. Latency is measured with one "
        "connection (no queueing); throughput with several. Percentiles are wrk's.",
        "- Cached job page: a finished job, already in the cache. Cold job page: a different job on every request. "
        f"Stampede: {c['stampede']} requests sent at the same instant from Python threads (connections opened first), "
        "upstream calls read from the sandbox's `/_sandbox/stats`.",
        "- Needs attention: the slow sandbox also lists 500 failed jobs of the last day (`--listed 500`); cold views "
        "are timed from Python one at a time, each on a fresh connection, and the calls to Pleo's list are read "
        "from the sandbox's `/_sandbox/stats` (`listCalls`).",
        f"- Scale: {c['jobs']:,} distinct jobs looked up once each from Python"
        f" (local memory: through 1 worker, 4 connections; "
        "Redis: through 3 workers, 8 connections);"
        " memory is the gunicorn worker's VmRSS (/proc/<pid>/status) and Redis's "
        "`INFO memory` used_memory"
        + (
            f" (database {c['redis_url'].rsplit('/', 1)[-1]}, flushed before and after)." if c.get("redis_url") else "."
        ),
        *_later_method(r),
        "",
        "## Results against the goals",
        "",
        "| # | measurement | value | goal | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {g.number} | {g.what} | {g.value} | {g.goal} | {_met(g)} |" for g in goals(r)]
    lines += [
        "",
        "## Every measurement",
        "",
        "| run | connections | requests | req/s | median | p95 | p99 | max | errors | other load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in _runs(r):
        errors = ", ".join(f"{k} {v}" for k, v in run["errors"].items()) or "0"
        other = f"{run['other_load'] * 100:.0f} %" if "other_load" in run else "?"
        lines.append(
            f"| {run['label']} | {run['connections']} | {_n(run['requests'])} | {_n(run['rps'])} |"
            f" {_ms(run['p50_ms'])} | "
            f"{_ms(run['p95_ms'])} | {_ms(run['p99_ms'])} | {_ms(run['max_ms'])} | {errors} | {other} |"
        )
    lines += [
        "",
        "*Other load*: the share of the machine's CPUs that programs other than the benchmark's own used "
        "during the run (from /proc/stat less the benchmark's processes); above 10 % the numbers are noisy.",
    ]
    if r.get("phases"):
        lines += ["", "| phase | took | other load meanwhile |", "| --- | --- | --- |"]
        lines += [f"| {p['phase']} | {p['seconds']:.0f} s | {p['other_load'] * 100:.0f} % |" for p in r["phases"]]
    if r.get("cold"):
        lines += ["", "## Where the cold overhead comes from", "", *_cold_lines(r)]
    if r.get("attention"):
        lines += ["", "## Needs attention (`/attention/`)", "", *_attention_lines(r["attention"])]
    if r.get("entries"):
        lines += ["", "## Failed entries' details (phase 10)", "", *_entries_lines(r["entries"])]
    if r.get("stampede"):
        lines += [
            "",
            "## Stampede",
            "",
            "| setup | requests | answers | upstream calls | median | p95 | max | upstream latency |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for s in r["stampede"]:
            answers = ", ".join(f"{k}: {v}" for k, v in sorted(s["statuses"].items()))
            lines.append(
                f"| {s['label']} | {s['requests']} | {answers} | {s['upstream_calls']} | {_ms(s['p50_ms'])} | "
                f"{_ms(s['p95_ms'])} | {_ms(s['max_ms'])} | {s['upstream_ms']:.0f} ms |"
            )
    if r.get("scale_locmem") or r.get("scale_redis"):
        lines += [
            "",
            "## Cache scale",
            "",
            "| cache | jobs looked up | worker RSS: start → 1,000 → all |"
            " Redis used_memory: start → 1,000 → all | lookups/s while filling |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, key in (("local memory, 1 worker", "scale_locmem"), ("Redis, 3 workers", "scale_redis")):
            s = r.get(key)
            if not s:
                continue
            n = s["jobs"]
            rss = (
                f"{_mib(s['rss_kib']['start'])} → {_mib(s['rss_kib']['after_1000'])}"
                f" → {_mib(s['rss_kib'][f'after_{n}'])}"
                if s.get("rss_kib")
                else "—"
            )
            used = s.get("used_memory")
            used_text = (
                f"{_mib(used['start'] / 1024)} → {_mib(used['after_1000'] / 1024)} → {_mib(used[f'after_{n}'] / 1024)}"
                if used
                else "—"
            )
            rate = sum(f["seconds"] for f in s["fills"])
            lines.append(
                f"| {name} | {_n(n)} | {rss} | {used_text} | {n / rate:.0f} |"
                if rate
                else f"| {name} | {_n(n)} | {rss} | {used_text} | — |"
            )
        if r.get("scale_locmem"):
            entries = r["scale_locmem"]["max_entries"]
            lines += [
                "",
                f"The local-memory cache keeps at most {_n(entries)} entries (`MAX_ENTRIES`, set in "
                "`dashboard/settings.py`) and culls a third when full. A job takes two entries (the job and its "
                f"7-day stale copy), so one worker keeps about {_n(entries // 2)} jobs: memory is bounded, and "
                "older jobs' stale copies are culled with them.",
            ]
    lines += _later_sections(r)
    if r.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in r["notes"]] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _later_method(r: dict) -> list[str]:
    """How phases 7, 11 and 12 are measured, in a line each (their sections say more)."""
    lines = []
    if r.get("faults"):
        lines.append(
            "- Faults (7): this code and an older release, each under 3 gunicorn workers with a Redis of its own that "
            "the bench hangs and stops, and the sandbox slowed to 3 s; see *Faults, before and after*."
        )
    if r.get("compare"):
        ref = r["compare"].get("before_ref") or "an earlier release"
        lines.append(
            f"- This code against `{ref}` (11), both checked out and served side by side in this run: the pages' "
            "ratios to the home page with both releases up at once and measured in turns; cached pages and "
            "`/healthz` while Pleo is slow against the same while it is healthy; stampedes on a completed and on a "
            "partly exported job; the profile of each. See the section of phase 11."
        )
    if r.get("soak"):
        soak = r["soak"]
        lines.append(
            f"- Soak (12): {soak['minutes_run']:.1f} minutes (of {soak['minutes_planned']:g} asked, `SOAK_MINUTES`) "
            "of low steady load on 3 workers; each worker's memory every 30 s, tracemalloc in one of them. See the "
            "section of phase 12."
        )
    return lines


def _later_sections(r: dict) -> list[str]:
    """Faults, the profile, the comparison with an earlier release and the soak."""
    c = r["config"]
    lines: list[str] = []
    if r.get("faults"):
        lines += ["", *_faults_section(r["faults"])]
    if r.get("profile"):
        lines += ["", *_profile_section(r["profile"])]
    if r.get("compare"):
        lines += [
            "",
            "## This code against an earlier release, side by side (phase 11)",
            "",
            *_compare_lines(r["compare"], c["latency_s"] * 1000),
            *_compare_profile_lines(r["compare"].get("profile", {})),
            "",
        ]
    if r.get("soak"):
        lines += ["", "## Soak: memory over time (phase 12)", "", *_soak_lines(r["soak"]), ""]
    return lines


def _fault_rows(f: dict) -> list[tuple[str, str, object]]:
    """(scenario, measurement, value) for one checkout's fault results."""
    hung, slow, calls = f["redis_hung"], f["pleo_slow"], f["calls_per_view"]
    hung_home = f"{_ms(hung['home']['p95_ms'])} / {_ms(hung['home']['max_ms'])}"
    hung_job = f"{_ms(hung['job']['p95_ms'])} / {_ms(hung['job']['max_ms'])}"
    slow_health = f"{_ms(slow['healthz']['p95_ms'])} / {_ms(slow['healthz']['max_ms'])}"
    slow_job = f"{_ms(slow['cached_job']['p95_ms'])} / {_ms(slow['cached_job']['max_ms'])}"
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(slow["uncached_statuses"].items()))
    slow_name = "Pleo slow (3 s, timeout 2 s)"
    rows: list[tuple[str, str, object]] = [
        ("Redis hung", "throughput (8 clients)", f"{hung['all']['rps']:.0f} req/s"),
        ("Redis hung", "home page p95 / max", hung_home),
        ("Redis hung", "cached job page p95 / max", hung_job),
        (slow_name, "/healthz p95 / max", slow_health),
        (slow_name, "cached job page p95 / max", slow_job),
        (slow_name, "answers to 30 clients asking for uncached jobs", answers),
        (
            "Redis down",
            "calls to Pleo per view, with Redis (fresh workers)",
            f"{calls['with_redis']['calls_per_view']:.3f}",
        ),
        (
            "Redis down",
            "calls to Pleo per view, Redis down (fresh workers)",
            f"{calls['redis_down']['calls_per_view']:.3f}",
        ),
        ("Redis down", "calls per view, down / with Redis", f"{calls['ratio']:.1f} ×"),
    ]
    for key in ("stampede_1", "stampede_3"):
        s = f[key]
        rows.append(
            (
                f"Stampede, {s['requests']} cold requests, {s['workers']} worker(s)",
                "p95 against the upstream latency (calls)",
                f"{_ms(s['p95_ms'])} = {_ratio(s['p95_ms'], s['upstream_ms']):.2f} × ({s['upstream_calls']})",
            )
        )
    return rows


def _faults_section(faults: dict) -> list[str]:
    after = faults["after"]
    before = faults.get("before")
    lines = [
        "## Faults, before and after",
        "",
        f"Both measured in this run, one after the other: *before* is `{faults.get('before_ref', '—')}` "
        "(the release before the breaker, local cache, bulkhead and waking waiters), *after* is the code above. "
        "3 gunicorn workers × 8 threads, a Redis of the bench's own (hung with SIGSTOP, then stopped), "
        "the sandbox as Pleo, SQLite.",
        "",
        "| fault | measurement | before | after |",
        "| --- | --- | --- | --- |",
    ]
    before_rows = _fault_rows(before) if before else []
    for index, (scenario, what, value) in enumerate(_fault_rows(after)):
        old = before_rows[index][2] if before_rows else "—"
        lines.append(f"| {scenario} | {what} | {old} | {value} |")
    return [*lines, ""]


def summary(r: dict) -> str:
    """The goals as plain text, for the terminal."""
    rows = goals(r)
    width = max((len(g.what) for g in rows), default=10)
    out = ["", "Results against the goals:"]
    for g in rows:
        met = "" if g.met is None else ("  OK" if g.met else "  NOT MET")
        out.append(f"  {g.number}. {g.what:<{width}}  {g.value.replace('**', '')}  (goal {g.goal}){met}")
    return "\n".join(out)
