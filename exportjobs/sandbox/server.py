"""A real HTTP server that speaks Pleo's export-job contract: one job, its items, and the list; and the
accounting entry and the company an item points at.

Used by ``make run`` when no Pleo URL is configured, and by the tests, which
start it on a free port and drive it through ``SandboxState``: replace a job's
payload, add faults (delay, hang, 429, 5xx, malformed bodies, dropped
connections, a gate the test opens) to a job's calls or to the list's, and
count the requests each received and how many were answered at once.

Only the standard library: ``ThreadingHTTPServer`` with one thread per request.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import re
import socket
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

from . import seed

JSON_TYPE = "application/json;charset=UTF-8"
LIST_PATH = "/v2/export-jobs"
JOB_PATH = re.compile(r"^/v2/export-jobs/(?P<id>[^/]+)$")
ITEMS_PATH = re.compile(r"^/v2/export-jobs/(?P<id>[^/]+)/items$")
ENTRY_PATH = re.compile(r"^/v1/accounting-entries/(?P<id>[^/]+)$")
COMPANY_PATH = re.compile(r"^/v1/companies/(?P<id>[^/]+)$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ITEM_STATUSES = ("pending", "in_progress", "failed", "successful", "abandoned")
JOB_STATUSES = ("pending", "in_progress", "failed", "completed", "completed_with_errors")
SORTING_KEYS = ("createdAt",)  # what this sandbox sorts the list by (Pleo documents none)
PAGE_ORDERS = ("ASC", "ASC_NULLS_FIRST", "ASC_NULLS_LAST", "DESC", "DESC_NULLS_FIRST", "DESC_NULLS_LAST")
LIST_LIMIT = 1000  # the sandbox's largest page (Pleo documents none)
RECORDED_PAGES = 500  # list pages kept for the tests' contract check
MAX_ITEMS = 100_000  # entries the sandbox builds for one job at most
NOT_FOUND_BODY = {"type": "EXPORT_NOT_FOUND", "message": "Export job not found."}
# What Pleo answers with each error status a fault asks for.
ERROR_BODIES: dict[str, dict[str, str]] = {
    **{
        status: {"type": "SERVICE_UNAVAILABLE", "message": "Try again later."}
        for status in ("500", "502", "503", "504")
    },
    "401": {"type": "UNAUTHORIZED", "message": "JWT is expired."},
    "403": {"type": "ACCESS_DENIED", "message": "Access_Denied"},
    "404": {"type": "NOT_FOUND", "message": "Not found."},
}
ENTRY_NOT_FOUND_BODY = {"type": "NOT_FOUND", "message": "Accounting entry not found."}
COMPANY_NOT_FOUND_BODY = {"type": "NOT_FOUND", "message": "Company not found."}
ENTRIES = "entries"  # the fault key that applies to every accounting entry (add_fault(ENTRIES, ...))
COMPANIES = "companies"  # and to every company
ENTRIES_OF = "entries-of:"  # + a job id: the fault key for the accounting entries of that job's items


def encode_cursor(offset: int) -> str:
    return base64.b32encode(str(offset).encode()).decode()


def decode_cursor(cursor: str) -> int:
    return int(base64.b32decode(cursor.encode()).decode())


class Gate:
    """A door a test holds shut: requests that reach it wait there until the test opens it.

    A test learns that a request has arrived (``wait_for_arrivals``) instead of sleeping and hoping it
    has, and decides when Pleo answers (``open``). Stopping or resetting the sandbox opens every gate.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.arrived = 0
        self.is_open = False

    def pass_through(self) -> None:
        """For the server: count this request as arrived, then wait until the gate opens."""
        with self._changed:
            self.arrived += 1
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.is_open)

    def open(self) -> None:
        with self._changed:
            self.is_open = True
            self._changed.notify_all()

    def wait_for_arrivals(self, count: int = 1, *, timeout: float = 60.0) -> None:
        """Until ``count`` requests wait at this gate; AssertionError after ``timeout`` (a hang guard)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.arrived >= count, timeout):
                raise AssertionError(f"{self.arrived} of {count} requests reached the gate within {timeout} s")


class SandboxState:
    """The sandbox's jobs, faults and request counters; safe to use from any thread."""

    def __init__(
        self,
        *,
        now: datetime | None = None,
        latency: float = 0.0,
        generated: int = 0,
        listed: int = 0,
        failed: int = 0,
    ):
        self._lock = threading.Lock()
        self.latency = latency
        # Generated jobs 0 … generated-1 (``seed.generated_uuid``), built when asked for: for benchmarks.
        self.generated = {seed.generated_uuid(index): index for index in range(generated)}
        # Generated jobs with 50 failed entries each, ``seed.bench_failed_uuid(0 … failed-1)``: for benchmarks.
        self.failed_generated = {seed.bench_failed_uuid(index): index for index in range(failed)}
        # Failed jobs of the last day for the list, ``seed.bench_listed_uuid(0 … listed-1)``: for benchmarks.
        self.listed = listed
        self.reset(now=now)

    def reset(self, *, now: datetime | None = None) -> None:
        """Back to the seeded jobs, no faults, zeroed counters."""
        moment = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        with self._lock:
            self._release_locked()  # nothing stays stuck behind a gate or in a hang of the test before
            self.released = threading.Event()  # set to end every hang of this round at once
            self.gates: dict[str, Gate] = {}
            self.in_flight = 0  # API requests being answered right now
            self.most_in_flight = 0  # the most answered at once since the reset
            self.now = moment
            self.jobs: dict[str, dict[str, Any]] = {s.id: s.build(moment) for s in seed.SAMPLES + seed.LISTED}
            for index in range(self.listed):
                self.jobs[seed.bench_listed_uuid(index)] = seed.bench_listed_job(index, moment)
            self.faults: dict[str, list[dict[str, Any]]] = {
                s.id: [dict(f) for f in s.faults] for s in seed.SAMPLES if s.faults
            }
            for sample in seed.SAMPLES:  # faults of a job's entries: under ENTRIES_OF + the job's id
                if sample.entry_faults:
                    self.faults[ENTRIES_OF + sample.id] = [dict(f) for f in sample.entry_faults]
            self.timelines = {s.id: s.timeline for s in seed.SAMPLES if s.timeline}
            self.first_seen: dict[str, float] = {}
            self.hits: Counter[str] = Counter()
            self.item_hits: Counter[str] = Counter()
            self.list_faults: list[dict[str, Any]] = []
            self.list_hits = 0
            self.list_pages: list[dict[str, Any]] = []  # pages served without a fault or an edited job
            self.edited: set[str] = set()  # jobs a test replaced or changed: they may break the contract on purpose
            self.entries: dict[str, dict[str, Any] | None] = {}  # entries a test put (None: deleted)
            self.entry_index: dict[str, tuple[str, int]] = {}  # entry id → (job id, item index), as served
            self.entry_hits: Counter[str] = Counter()
            self.company_hits: Counter[str] = Counter()
            self.served_entries: list[dict[str, Any]] = []  # entries served as seeded, for the contract check

    # Test controls -------------------------------------------------------------

    def put_job(self, payload: dict[str, Any]) -> None:
        """Create or replace a job's ``data`` object (sent exactly as given)."""
        with self._lock:
            self.jobs[str(payload["id"]).lower()] = copy.deepcopy(payload)
            self.timelines.pop(str(payload["id"]).lower(), None)
            self.edited.add(str(payload["id"]).lower())

    def update_job(self, job_id: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            self.jobs[job_id].update(fields)
            self.timelines.pop(job_id, None)
            self.edited.add(job_id)
            return copy.deepcopy(self.jobs[job_id])

    def put_entry(self, entry_id: str, payload: dict[str, Any] | None) -> None:
        """Serve ``payload`` as this entry's ``data`` object; None: the entry no longer exists (404)."""
        with self._lock:
            self.entries[entry_id.lower()] = copy.deepcopy(payload)

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        """The entry as served: one a test put, else the one behind a seeded job's item; None if none."""
        with self._lock:
            if entry_id in self.entries:
                return copy.deepcopy(self.entries[entry_id])
            where = self.entry_index.get(entry_id) or self._find_entry(entry_id)
            if where is None:
                return None
            job = self.jobs.get(where[0])
            if job is None:
                index = self.generated.get(where[0])
                failed = self.failed_generated.get(where[0])
                if failed is not None:
                    job = seed.bench_failed_job(where[0], failed, self.now)
                elif index is not None:
                    job = seed.generated_job(where[0], index, self.now)
                else:
                    return None
            return seed.entry_payload(job, where[1], self.now)

    def _find_entry(self, entry_id: str) -> tuple[str, int] | None:
        """Where a failed entry of a seeded partly exported job lives (not yet served as an item); under the lock."""
        for job_id, job in self.jobs.items():
            if job.get("status") != "completed_with_errors":
                continue
            total = max(0, min(int(job.get("numberOfItems") or 0), MAX_ITEMS))
            every = seed.failure_spacing(job)
            for index in range(every - 1, total, every):
                if seed.entry_uuid(job_id, index) == entry_id:
                    self.entry_index[entry_id] = (job_id, index)
                    return job_id, index
        return None

    def entry_fault_of_job(self, entry_id: str) -> dict[str, Any] | None:
        """The fault for the entries of the job this entry belongs to (``index``: only that item's entry)."""
        with self._lock:
            where = self.entry_index.get(entry_id) or self._find_entry(entry_id)
        if where is None:
            return None
        with self._lock:
            queue = self.faults.get(ENTRIES_OF + where[0]) or []
            fault = next((f for f in queue if f.get("index") in (None, where[1])), None)
        return None if fault is None else dict(fault)

    def remember_items(self, job_id: str, indices: list[int]) -> None:
        with self._lock:
            for index in indices:
                self.entry_index[seed.entry_uuid(job_id, index)] = (job_id, index)

    def record_entry(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if str(entry.get("id")) not in self.entries:
                self.served_entries.append(copy.deepcopy(entry))
                del self.served_entries[:-RECORDED_PAGES]

    def entry_calls(self, entry_id: str | None = None) -> int:
        with self._lock:
            return sum(self.entry_hits.values()) if entry_id is None else self.entry_hits[entry_id]

    def company_calls(self, company_id: str | None = None) -> int:
        with self._lock:
            return sum(self.company_hits.values()) if company_id is None else self.company_hits[company_id]

    def job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.jobs[job_id])

    def add_fault(self, job_id: str, kind: str, *, times: int | None = None, **options: Any) -> None:
        """Make the next ``times`` requests for ``job_id`` (all, if None) misbehave."""
        with self._lock:
            self.faults.setdefault(job_id, []).append({"kind": kind, "times": times, **options})

    def gate(self, name: str = "gate") -> Gate:
        """The gate called ``name`` (shut until opened); requests meet it through a ``gate`` fault:
        ``add_fault(job_id, "gate", name=name)`` (or ``add_list_fault("gate", name=name)``)."""
        with self._lock:
            return self.gates.setdefault(name, Gate())

    def release(self) -> None:
        """Open every gate and end every hang now (a test's end, the sandbox's stop)."""
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        for gate in getattr(self, "gates", {}).values():
            gate.open()
        released = getattr(self, "released", None)
        if released is not None:
            released.set()

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def clear_faults(self, job_id: str | None = None) -> None:
        with self._lock:
            if job_id is None:
                self.faults.clear()
            else:
                self.faults.pop(job_id, None)

    def add_list_fault(self, kind: str, *, times: int | None = None, page: int | None = None, **options: Any) -> None:
        """Make the next ``times`` list requests (all, if None) misbehave; ``page``: only requests for that page;
        ``statuses`` (an option): only requests asking for one of these statuses.

        Besides the job faults (delay, hang, drop, 429, 5xx, 401, 403, malformed_json, html, body, raw): ``bad_job``
        (``count`` jobs in the page break the contract), ``bad_page`` (the envelope does), ``refuse_sort``
        (400 when a sort is asked for) and ``ignore_sort`` (the page comes in the default order).
        """
        with self._lock:
            self.list_faults.append({"kind": kind, "times": times, "page": page, **options})

    def clear_list_faults(self) -> None:
        with self._lock:
            self.list_faults.clear()

    def list_calls(self) -> int:
        with self._lock:
            return self.list_hits

    def served_list_pages(self) -> list[dict[str, Any]]:
        """The list pages served without a fault or an edited job (the last ``RECORDED_PAGES``), for the tests."""
        with self._lock:
            return copy.deepcopy(self.list_pages)

    def calls(self, job_id: str | None = None) -> int:
        with self._lock:
            return sum(self.hits.values()) if job_id is None else self.hits[job_id]

    def item_calls(self, job_id: str | None = None) -> int:
        with self._lock:
            return sum(self.item_hits.values()) if job_id is None else self.item_hits[job_id]

    # Serving -----------------------------------------------------------------

    def take_fault(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            queue = self.faults.get(job_id)
            if not queue:
                return None
            fault = queue[0]
            if fault.get("times") is not None:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    queue.pop(0)
            return dict(fault)

    def take_list_fault(self, page: int, statuses: list[str] | None = None) -> dict[str, Any] | None:
        with self._lock:
            for fault in self.list_faults:
                if fault.get("page") not in (None, page):
                    continue
                if fault.get("statuses") is not None and not set(fault["statuses"]) & set(statuses or []):
                    continue
                if fault.get("times") is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self.list_faults.remove(fault)
                return dict(fault)
            return None

    def current(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                failed = self.failed_generated.get(job_id)
                if failed is not None:
                    return seed.bench_failed_job(job_id, failed, self.now)
                index = self.generated.get(job_id)
                return None if index is None else seed.generated_job(job_id, index, self.now)
            self._follow_timeline(job_id, job)
            return copy.deepcopy(job)

    def _follow_timeline(self, job_id: str, job: dict[str, Any]) -> None:
        """Move a job with a timeline (the "live" sample) to where it is by now; under the lock."""
        timeline = self.timelines.get(job_id)
        if not timeline:
            return
        first = self.first_seen.setdefault(job_id, time.time())
        elapsed = time.time() - first
        start = datetime.fromtimestamp(first, timezone.utc).replace(microsecond=0)
        job["createdAt"] = seed.ts(start)
        job["lastUpdatedAt"] = seed.ts(start)
        for after, patch in timeline:
            if elapsed >= after:
                for key, value in patch.items():
                    job[key] = seed.ts(start + timedelta(seconds=value)) if isinstance(value, int) else value

    def listing(self, *, statuses: list[str], company: str | None, sort: str | None) -> list[dict[str, Any]]:
        """The jobs the list endpoint matches, in its order: by ``createdAt`` when ``sort`` is ASC or DESC,
        else by id (Pleo's default order is undocumented). Not copied: callers copy the page they send."""
        with self._lock:
            found = []
            for job_id, job in self.jobs.items():
                self._follow_timeline(job_id, job)
                if statuses and job.get("status") not in statuses:
                    continue
                if company is not None and str(job.get("companyId", "")).lower() != company:
                    continue
                found.append(job)
        found.sort(key=lambda job: str(job.get("id")))
        if sort is not None:
            found.sort(key=lambda job: str(job.get("createdAt") or ""), reverse=sort.startswith("DESC"))
        return found

    def record_list_page(self, page: dict[str, Any]) -> None:
        with self._lock:
            if any(str(job.get("id", "")).lower() in self.edited for job in page["data"]):
                return
            self.list_pages.append(copy.deepcopy(page))
            del self.list_pages[:-RECORDED_PAGES]

    def count_list(self) -> None:
        with self._lock:
            self.list_hits += 1

    def count(self, job_id: str, *, items: bool = False) -> None:
        with self._lock:
            (self.item_hits if items else self.hits)[job_id] += 1

    def count_entry(self, entry_id: str) -> None:
        with self._lock:
            self.entry_hits[entry_id] += 1

    def count_company(self, company_id: str) -> None:
        with self._lock:
            self.company_hits[company_id] += 1


class Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "PleoSandbox/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # Responses ---------------------------------------------------------------

    def _send(
        self, status: int, body: bytes, content_type: str = JSON_TYPE, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._leave()
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if self.server.token and header == f"Bearer {self.server.token}":
            return True
        if self.server.api_key:
            expected = base64.b64encode(f"{self.server.api_key}:".encode()).decode()
            if header == f"Basic {expected}":
                return True
        return False

    # Routing -----------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_sandbox/health":
            return self._json(200, {"status": "ok"})
        if url.path == "/_sandbox/stats":
            state = self.server.state
            return self._json(
                200,
                {
                    "calls": state.calls(),
                    "itemCalls": state.item_calls(),
                    "listCalls": state.list_calls(),
                    "entryCalls": state.entry_calls(),
                    "companyCalls": state.company_calls(),
                    "jobs": dict(state.hits),
                },
            )
        self.server.state.enter()
        self._in_flight = True
        try:
            self._api(url)
        finally:
            self._leave()

    def _leave(self) -> None:
        """This request no longer counts as in flight: called before its answer's body is written, so a
        client holding the whole answer never sees its request still counted (and at the end, for those
        that write none)."""
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            self.server.state.leave()

    def _api(self, url: SplitResult) -> None:
        if self.server.state.latency:
            time.sleep(self.server.state.latency)
        if not self._authorised():
            return self._json(401, {"type": "UNAUTHORIZED", "message": "Full authentication is required."})
        if url.path == LIST_PATH:
            return self._list(parse_qs(url.query, keep_blank_values=True))
        match = JOB_PATH.match(url.path)
        if match:
            return self._job(match["id"].lower())
        match = ITEMS_PATH.match(url.path)
        if match:
            return self._items(match["id"].lower(), parse_qs(url.query))
        match = ENTRY_PATH.match(url.path)
        if match:
            return self._entry(match["id"].lower())
        match = COMPANY_PATH.match(url.path)
        if match:
            return self._company(match["id"].lower())
        return self._json(404, {"type": "NOT_FOUND", "message": "No such endpoint."})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_sandbox/reset":
            self.server.state.reset()
            return self._json(200, {"status": "reset"})
        if url.path == "/_sandbox/latency":  # a slower (or faster) Pleo from now on, for benchmarks
            try:
                self.server.state.latency = max(0.0, float(parse_qs(url.query)["seconds"][0]))
            except (KeyError, ValueError):
                return self._json(400, {"type": "BAD_REQUEST", "message": "seconds= is required."})
            return self._json(200, {"latency": self.server.state.latency})
        if url.path in ("/_sandbox/jobs", "/_sandbox/jobs/update"):  # many jobs put or changed at once (benchmarks)
            return self._control_jobs(url.path.endswith("/update"))
        if url.path == "/_sandbox/entries":  # every accounting entry refused (403) from now on, or no longer
            refuse = parse_qs(url.query).get("refuse", ["1"])[0] == "1"
            self.server.state.clear_faults(ENTRIES)
            if refuse:
                self.server.state.add_fault(ENTRIES, "403")
            return self._json(200, {"refuse": refuse})
        return self._json(405, {"type": "METHOD_NOT_ALLOWED", "message": "Only GET is served."})

    def _control_jobs(self, update: bool) -> None:
        """``/_sandbox/jobs``: ``{"jobs": [payload, …]}`` put as they are; ``/_sandbox/jobs/update``:
        ``{"ids": [...], "fields": {...}}`` the same fields changed on each."""
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if update:
                for job_id in body["ids"]:
                    self.server.state.update_job(str(job_id).lower(), **body["fields"])
                count = len(body["ids"])
            else:
                for payload in body["jobs"]:
                    self.server.state.put_job(payload)
                count = len(body["jobs"])
        except (ValueError, KeyError, TypeError):
            return self._json(400, {"type": "BAD_REQUEST", "message": "A JSON body with jobs, or ids and fields."})
        return self._json(200, {"jobs": count})

    def _job(self, job_id: str) -> None:
        state = self.server.state
        state.count(job_id)
        if not UUID_RE.match(job_id):
            return self._json(400, {"type": "BAD_REQUEST", "message": "jobId must be a UUID."})
        fault = state.take_fault(job_id)
        if fault and self._fault(fault, job_id):
            return
        job = state.current(job_id)
        if job is None:
            return self._json(404, NOT_FOUND_BODY)
        if fault and fault["kind"] == "missing_fields":
            for name in fault.get("fields", ("status",)):
                job.pop(name, None)
        self._json(200, {"data": job})

    def _fault(self, fault: dict[str, Any], job_id: str) -> bool:
        """Act out ``fault``; True when the response has been dealt with."""
        kind = fault["kind"]
        if fault.get("delay"):  # any fault can come late: delay=seconds
            time.sleep(float(fault["delay"]))
        if fault.get("gate"):  # or once the test opens a gate: gate=name
            self.server.state.gate(str(fault["gate"])).pass_through()
        if kind == "delay":
            time.sleep(float(fault.get("seconds", 1.0)))
            return False
        if kind == "gate":  # wait until the test opens the gate, then answer as usual
            self.server.state.gate(str(fault.get("name", "gate"))).pass_through()
            return False
        if kind == "hang":
            self.server.state.released.wait(float(fault.get("seconds", 60.0)))
            self.close_connection = True
            return True
        if kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if kind == "429":
            retry_after = str(fault.get("retry_after", 30))
            self._json(
                429, {"type": "TOO_MANY_REQUESTS", "message": "Rate limit exceeded."}, {"Retry-After": retry_after}
            )
            return True
        if kind in ERROR_BODIES:
            self._json(int(kind), ERROR_BODIES[kind])
            return True
        if kind == "malformed_json":
            self._send(200, b'{"data": {"id": "' + job_id.encode() + b'", "status": ')
            return True
        if kind == "html":
            self._send(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html; charset=utf-8")
            return True
        if kind == "redirect":  # Pleo's API never redirects; the desk must not follow one
            self._send(int(fault.get("status", 302)), b"", headers={"Location": str(fault.get("location", "/"))})
            return True
        if kind == "body":
            self._send(int(fault.get("status", 200)), json.dumps(fault["payload"]).encode())
            return True
        if kind == "raw":  # bytes as given, with their headers (an oversized body, a compression bomb)
            self._send(int(fault.get("status", 200)), fault["data"], headers=fault.get("headers"))
            return True
        return False  # missing_fields is applied to the normal answer

    def _items(self, job_id: str, query: dict[str, list[str]]) -> None:
        state = self.server.state
        state.count(job_id, items=True)
        fault = state.take_fault(job_id)
        if fault and fault["kind"] != "missing_fields" and self._fault(fault, job_id):
            return
        job = state.current(job_id)
        if job is None:
            return self._json(404, NOT_FOUND_BODY)
        status = query["status"][0] if query.get("status") else None
        if status is not None and status not in ITEM_STATUSES:
            return self._json(400, {"type": "BAD_REQUEST", "message": "Unknown item status."})
        try:
            limit = max(0, min(int((query.get("limit") or ["100"])[0]), 1000))
            after = query["after"][0] if query.get("after") else None
            offset = decode_cursor(after) if after else int((query.get("offset") or ["0"])[0])
        except ValueError:
            return self._json(400, {"type": "BAD_REQUEST", "message": "Bad paging parameters."})
        # A job claiming more entries than MAX_ITEMS (a test's extreme value) has MAX_ITEMS in the sandbox.
        total_items = max(0, min(int(job.get("numberOfItems") or 0), MAX_ITEMS))
        indices = [i for i in range(total_items) if status is None or seed.item_status(job, i) == status]
        page = indices[offset : offset + limit]
        data = [seed.item_payload(job, i, state.now) for i in page]
        state.remember_items(job_id, page)
        end = offset + len(page)
        params = {key: values for key, values in query.items()}
        pagination: dict[str, Any] = {
            "currentRequestPagination": {"parameters": params, "limit": limit, **({"after": after} if after else {})},
            "hasNextPage": end < len(indices),
            "hasPreviousPage": offset > 0,
            "total": len(indices),
        }
        if page:
            pagination["startCursor"] = encode_cursor(offset)
            pagination["endCursor"] = encode_cursor(end)
        self._json(200, {"data": data, "pagination": pagination})

    def _entry(self, entry_id: str) -> None:
        """``GET /v1/accounting-entries/{id}``: faults for this entry, then for all entries (``ENTRIES``)."""
        state = self.server.state
        state.count_entry(entry_id)
        if not UUID_RE.match(entry_id):
            return self._json(400, {"type": "BAD_REQUEST", "message": "accountingEntryId must be a UUID."})
        fault = state.take_fault(entry_id) or state.entry_fault_of_job(entry_id) or state.take_fault(ENTRIES)
        if fault and self._fault(fault, entry_id):
            return
        entry = state.entry(entry_id)
        if entry is None:
            return self._json(404, ENTRY_NOT_FOUND_BODY)
        state.record_entry(entry)
        self._json(200, {"data": entry})

    def _company(self, company_id: str) -> None:
        """``GET /v1/companies/{id}``: faults for this company, then for all companies (``COMPANIES``)."""
        state = self.server.state
        state.count_company(company_id)
        if not UUID_RE.match(company_id):
            return self._json(400, {"type": "BAD_REQUEST", "message": "companyId must be a UUID."})
        fault = state.take_fault(company_id) or state.take_fault(COMPANIES)
        if fault and self._fault(fault, company_id):
            return
        company = seed.company_payload(company_id)
        if company is None:
            return self._json(404, COMPANY_NOT_FOUND_BODY)
        self._json(200, {"data": company})

    def _bad_request(self, message: str) -> None:
        self._json(400, {"type": "BAD_REQUEST", "message": message})

    def _list(self, query: dict[str, list[str]]) -> None:
        """``GET /v2/export-jobs``: filters, cursor pages (``after``/``before`` or ``offset``), ``limit`` and a sort
        on ``createdAt`` either way, answered as ``{data, pagination}`` with ``total``."""
        state = self.server.state
        state.count_list()
        company = (query.get("company_id") or [""])[0].lower() or None
        if company is not None and not UUID_RE.match(company):
            return self._bad_request("company_id must be a UUID.")
        statuses = list(query.get("statuses", [])) + [value for value in query.get("status", []) if value]
        if any(status not in JOB_STATUSES for status in statuses):
            return self._bad_request("Unknown export job status.")
        keys, orders = query.get("sorting_keys", []), query.get("sorting_order", [])
        if any(key not in SORTING_KEYS for key in keys):
            return self._bad_request("Unknown sorting key.")
        if len(orders) > len(keys) or any(order not in PAGE_ORDERS for order in orders):
            return self._bad_request("sorting_order needs one known order per sorting key.")
        try:
            limit = max(0, min(int((query.get("limit") or ["100"])[0]), LIST_LIMIT))
            after = (query.get("after") or [""])[0] or None
            before = (query.get("before") or [""])[0] or None
            if (after or before) and query.get("offset"):
                return self._bad_request("offset cannot be combined with a cursor.")
            if after and before:
                return self._bad_request("after and before cannot be combined.")
            if before:
                end = decode_cursor(before)
                start = max(0, end - limit)
            else:
                start = decode_cursor(after) if after else max(0, int((query.get("offset") or ["0"])[0]))
                end = start + limit
        except ValueError:
            return self._bad_request("Bad paging parameters.")
        page_number = start // limit + 1 if limit else 1
        fault = state.take_list_fault(page_number, statuses)
        kind = fault["kind"] if fault else None
        if fault and kind not in ("bad_job", "bad_page", "refuse_sort", "ignore_sort") and self._fault(fault, "list"):
            return
        if kind == "refuse_sort" and keys:
            return self._bad_request("Sorting by these keys is not supported.")
        sort = None if kind == "ignore_sort" or not keys else (orders[0] if orders else "ASC")
        matching = state.listing(statuses=statuses, company=company, sort=sort)
        data = [copy.deepcopy(job) for job in matching[start:end]]
        pagination: dict[str, Any] = {
            "currentRequestPagination": {
                "parameters": {key: list(values) for key, values in query.items()},
                "limit": limit,
                **({"after": after} if after else {}),
                **({"before": before} if before else {}),
                **({"offset": start} if query.get("offset") else {}),
                **({"sortingKeys": keys} if keys else {}),
                **({"sortingOrder": orders} if orders else {}),
            },
            "hasNextPage": end < len(matching),
            "hasPreviousPage": start > 0,
            "total": len(matching),
        }
        if data:
            pagination["startCursor"] = encode_cursor(start)
            pagination["endCursor"] = encode_cursor(min(end, len(matching)))
        page: dict[str, Any] = {"data": data, "pagination": pagination}
        if kind == "bad_job":
            for job in data[: int(fault.get("count", 1)) if fault else 1]:
                job["createdAt"] = "yesterday"
                job.pop("status", None)
        elif kind == "bad_page":
            page = {"data": "not a list of jobs", "pagination": pagination}
        else:
            state.record_list_page(page)
        self._json(200, page)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int] = ("127.0.0.1", 0),
        *,
        token: str = "",
        api_key: str = "",
        state: SandboxState | None = None,
        verbose: bool = False,
    ):
        if not token and not api_key:
            raise ValueError("the sandbox needs a token or an API key to check")
        self.token = token
        self.api_key = api_key
        self.state = state or SandboxState()
        self.verbose = verbose
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a desk that gave up waiting) is how Pleo's callers behave, not a fault of
        # the sandbox: no traceback on stderr for it.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        """Serve from a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="pleo-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.release()
        self.shutdown()
        self.server_close()
