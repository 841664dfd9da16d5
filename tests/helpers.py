"""Helpers shared by the test modules: constants, service checks, payload builders, contract schemas.

Fixtures live in ``conftest.py``; everything a test module imports lives here, so no test module
imports another.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from exportjobs.sandbox import seed

ROOT = Path(__file__).resolve().parent.parent
IN_CI = bool(os.environ.get("CI"))
SANDBOX_TOKEN = "sandbox-" + secrets.token_urlsafe(16)
API_KEY = "apikey-" + secrets.token_urlsafe(16)  # for tests of Basic auth
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CONTRACT = Path(__file__).parent / "contract"


def need(available: bool, reason: str) -> None:
    """Skip with ``reason`` on a machine that lacks a service; fail instead in CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def job_url(name_or_id: str) -> str:
    job_id = name_or_id if len(name_or_id) == 36 else seed.job_uuid(name_or_id)
    return f"/jobs/{job_id}/"


def job_payload(job_id: str = "5b0e7c1a-8d2f-4e6a-9b3c-1d2e3f4a5b6c", **fields: Any) -> dict[str, Any]:
    """A contract-shaped ``data`` object; keyword arguments override or add fields (camelCase)."""
    payload: dict[str, Any] = {
        "id": job_id,
        "companyId": seed.COMPANY_ID,
        "status": "completed",
        "createdAt": "2026-11-03T14:02:00Z",
        "createdBy": seed.USER_MARIA,
        "isInteractive": True,
        "numberOfItems": 1234,
        "vendorBasedBookkeeping": False,
        "startedAt": "2026-11-03T14:05:30Z",
        "lastUpdatedAt": "2026-11-03T14:20:00Z",
        "completedAt": "2026-11-03T14:20:00Z",
        "expiredAt": None,
        "expiresIn": 3600,
        "failureReason": None,
        "failureReasonType": None,
    }
    payload.update(fields)
    return payload


def text_of(page: str) -> str:
    """The visible words of an HTML page, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def at_once(count: int, call: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``call`` from ``count`` threads released together; return (results, exceptions)."""
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        try:
            results.append(call())
        except Exception as exc:  # handed back to the test to assert on
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results, errors


# --- Pleo's contract as JSON Schemas ---------------------------------------------------------


def _format_checker() -> FormatChecker:
    checker = FormatChecker()  # uuid is checked by jsonschema itself; date-time needs an extra package, so:

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if isinstance(value, str):
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")  # a real calendar date and time, not just the shape
        return True

    return checker


def contract_validator(name: str) -> Draft202012Validator:
    schema = json.loads((CONTRACT / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


JOB_SCHEMA = contract_validator("export_job.schema.json")
ITEM_SCHEMA = contract_validator("export_job_item.schema.json")
PAGE_SCHEMA = contract_validator("item_page.schema.json")
JOB_PAGE_SCHEMA = contract_validator("job_page.schema.json")


def problems(validator: Draft202012Validator, instance: object) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def list_page_problems(page: object) -> list[str]:
    """What in a page of ``GET /v2/export-jobs`` breaks the contract: the envelope, then each job."""
    found = problems(JOB_PAGE_SCHEMA, page)
    if not found and isinstance(page, dict):
        for index, job in enumerate(page["data"]):
            found += [f"data/{index}/{problem}" for problem in problems(JOB_SCHEMA, job)]
    return found
