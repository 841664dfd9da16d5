"""The sandbox's sample jobs: deterministic ids, times relative to the sandbox's start.

Every payload follows Pleo's ``ExportJob`` schema exactly (camelCase keys, ``Z``
timestamps); ``tests/test_sandbox.py`` validates each one against the contract.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any


def gettext_noop(message: str) -> str:
    """Marks a sample's title or group for translation (``makemessages`` finds it by this name); the pages
    translate it where they show it. Not Django's own: the sandbox also runs on its own, without Django's
    settings (``python -m exportjobs.sandbox``, as ``make bench`` starts it)."""
    return message


NAMESPACE = uuid.UUID("6f1c1a52-3b0e-4c55-9a39-6a4c2b1d7e10")
COMPANY_ID = "f0a5c6d2-7b1e-4f3a-9c8d-2e4b6a8c0d1e"  # the sample jobs' company
COMPANY_SE = "8b2e4d6f-1a3c-4e5b-9d7f-0c2e4a6b8d9f"
COMPANY_NO = "3d5f7a9c-2b4e-4c6d-8e0f-1a3b5c7d9e2f"
# The sandbox's companies and the names `make run` shows for them (PLEO_COMPANY_LABELS).
COMPANIES: tuple[tuple[str, str], ...] = (
    (COMPANY_ID, "Nordlys ApS"),
    (COMPANY_SE, "Nordlys AB"),
    (COMPANY_NO, "Nordlys AS"),
)
USER_MARIA = "7d3b8e21-5c4f-4a6b-8d9e-1f2a3b4c5d6e"
USER_OLE = "2b9c4d6e-8f1a-4c3b-9e5d-7a6b8c9d0e1f"


def job_uuid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def ts(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Sample:
    """A sample job: a title for people and a payload built from the sandbox's clock."""

    id: str
    title: str
    group: str
    build: Callable[[datetime], dict[str, Any]]
    faults: tuple[dict[str, Any], ...] = ()
    timeline: tuple[tuple[int, dict[str, Any]], ...] = field(default=())
    entry_faults: tuple[dict[str, Any], ...] = ()  # for the accounting entries of this job's items


def _job(
    job_id: str,
    now: datetime,
    *,
    status: str,
    created: int,
    started: int | None = None,
    updated: int | None = None,
    completed: int | None = None,
    expired: int | None = None,
    items: int = 12,
    created_by: str | None = USER_MARIA,
    interactive: bool = True,
    vendor: bool = False,
    expires_in: int = 3600,
    failure_type: str | None = None,
    failure_reason: str | None = None,
    company: str = COMPANY_ID,
) -> dict[str, Any]:
    """A payload; times are minutes before ``now``."""

    def at(minutes: int | None) -> str | None:
        return None if minutes is None else ts(now - timedelta(minutes=minutes))

    return {
        "id": job_id,
        "companyId": company,
        "status": status,
        "createdAt": at(created),
        "createdBy": created_by,
        "isInteractive": interactive,
        "numberOfItems": items,
        "vendorBasedBookkeeping": vendor,
        "startedAt": at(started),
        "lastUpdatedAt": at(updated),
        "completedAt": at(completed),
        "expiredAt": at(expired),
        "expiresIn": expires_in,
        "failureReason": failure_reason,
        "failureReasonType": failure_type,
    }


FAILURES: tuple[tuple[str, str], ...] = (
    ("invalid_configuration", "Tax code 'S25' does not exist in the Accounting System."),
    ("missing_configuration", "Journal PLEO missing: provide journal PLEO in the configurations."),
    ("authentication_failure", "Pleo could not authenticate to the integration service (webhook answered 401)."),
    (
        "accounting_system_authentication_failure",
        "Login to the accounting system failed: the refresh token has expired.",
    ),
    ("pleo_rate_limit", "Pleo API answered 429 Too Many Requests five times in a row."),
    ("accounting_system_rate_limit", "The accounting system's API limit of 60 requests per minute was exceeded."),
    ("service_unreachable", "The integration service could not be reached."),
    ("accounting_system_unreachable", "Failed to reach the Accounting System."),
    ("validation_failure", "Entry 4711 has no amount in the company's currency."),
    (
        "authorization_failure",
        "The connected user no longer has access to company 'Nordlys ApS' in the accounting system.",
    ),
    ("integration_unusable", "The integration is blocked for this company."),
    ("job_expired", "The export job was not updated within 3600 seconds."),
    ("service_timeout", "The integration service did not answer within 30 seconds."),
    ("accounting_system_timeout", "The accounting system did not answer within 60 seconds while posting entries."),
    ("canceled_by_user", "Export cancelled by a user."),
)

FAILURE_TITLES = {
    "invalid_configuration": gettext_noop("Failed: wrong accounting settings"),
    "missing_configuration": gettext_noop("Failed: accounting settings incomplete"),
    "authentication_failure": gettext_noop("Failed: Pleo could not reach the integration's login"),
    "accounting_system_authentication_failure": gettext_noop("Failed: accounting system login rejected"),
    "pleo_rate_limit": gettext_noop("Failed: Pleo rate limit"),
    "accounting_system_rate_limit": gettext_noop("Failed: accounting system rate limit"),
    "service_unreachable": gettext_noop("Failed: integration service unreachable"),
    "accounting_system_unreachable": gettext_noop("Failed: accounting system unreachable"),
    "validation_failure": gettext_noop("Failed: entries did not pass validation"),
    "authorization_failure": gettext_noop("Failed: access revoked in accounting system"),
    "integration_unusable": gettext_noop("Failed: integration blocked"),
    "job_expired": gettext_noop("Failed: expired after an hour without progress"),
    "service_timeout": gettext_noop("Failed: integration service timed out"),
    "accounting_system_timeout": gettext_noop("Failed: accounting system timed out"),
    "canceled_by_user": gettext_noop("Cancelled by a user (Pleo reports it as failed)"),
}

# The job from Pleo's own documentation sample, kept as a failed job: tickets quote it.
DOC_SAMPLE_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
# The sample whose failed entries carry notes with markup, a script and a formula (``HOSTILE_NOTES``): kept apart,
# so every other sample reads as real data would.
HOSTILE_SAMPLE = "hostile:notes"


def _samples() -> list[Sample]:
    samples: list[Sample] = [
        Sample(
            job_uuid("pending"),
            gettext_noop("Waiting to start"),
            gettext_noop("Active"),
            partial(_job, job_uuid("pending"), status="pending", created=3, updated=3, items=42),
        ),
        Sample(
            job_uuid("in_progress"),
            gettext_noop("Exporting now"),
            gettext_noop("Active"),
            partial(
                _job,
                job_uuid("in_progress"),
                status="in_progress",
                created=9,
                started=8,
                updated=1,
                items=1280,
                vendor=True,
            ),
        ),
        Sample(
            job_uuid("near_expiry"),
            gettext_noop("Exporting, close to expiry (possibly stuck)"),
            gettext_noop("Active"),
            partial(_job, job_uuid("near_expiry"), status="in_progress", created=70, started=69, updated=55, items=310),
        ),
        Sample(
            job_uuid("overdue"),
            gettext_noop("Waiting, past its expiry time"),
            gettext_noop("Active"),
            partial(
                _job,
                job_uuid("overdue"),
                status="pending",
                created=75,
                updated=75,
                items=8,
                interactive=False,
                created_by=None,
            ),
        ),
        Sample(
            job_uuid("completed"),
            gettext_noop("Exported"),
            gettext_noop("Finished"),
            partial(
                _job,
                job_uuid("completed"),
                status="completed",
                created=180,
                started=179,
                updated=171,
                completed=171,
                items=2350,
            ),
        ),
        Sample(
            job_uuid("completed_with_errors"),
            gettext_noop("Exported with some failed entries"),
            gettext_noop("Finished"),
            partial(
                _job,
                job_uuid("completed_with_errors"),
                status="completed_with_errors",
                created=1500,
                started=1499,
                updated=1490,
                completed=1490,
                items=36,
                vendor=True,
                failure_type="validation_failure",
                failure_reason="4 of 36 entries were rejected by the accounting system.",
            ),
        ),
        Sample(
            job_uuid("large"),
            gettext_noop("10,000 entries, some failed"),
            gettext_noop("Finished"),
            partial(
                _job,
                job_uuid("large"),
                status="completed_with_errors",
                created=2900,
                started=2899,
                updated=2850,
                completed=2850,
                items=10_000,
                interactive=False,
                created_by=None,
            ),
        ),
        Sample(
            job_uuid("all_null"),
            gettext_noop("Waiting, with no optional details"),
            gettext_noop("Active"),
            partial(
                _job, job_uuid("all_null"), status="pending", created=2, items=0, interactive=False, created_by=None
            ),
        ),
        Sample(
            job_uuid("live"),
            gettext_noop("Live: starts after 20 s, finishes after 45 s"),
            gettext_noop("Active"),
            partial(_job, job_uuid("live"), status="pending", created=0, updated=0, items=64),
            timeline=(
                (20, {"status": "in_progress", "startedAt": 20, "lastUpdatedAt": 20}),
                (45, {"status": "completed", "completedAt": 45, "lastUpdatedAt": 45}),
            ),
        ),
        Sample(
            job_uuid("live_fails"),
            gettext_noop("Live: starts after 20 s, fails after 60 s"),
            gettext_noop("Active"),
            partial(_job, job_uuid("live_fails"), status="pending", created=0, updated=0, items=18),
            timeline=(
                (20, {"status": "in_progress", "startedAt": 20, "lastUpdatedAt": 20}),
                (
                    60,
                    {
                        "status": "failed",
                        "completedAt": 60,
                        "lastUpdatedAt": 60,
                        "failureReasonType": "accounting_system_unreachable",
                        "failureReason": "Connection timed out while reaching the accounting system.",
                    },
                ),
            ),
        ),
    ]
    for index, (kind, reason) in enumerate(FAILURES):
        job_id = DOC_SAMPLE_ID if kind == "accounting_system_authentication_failure" else job_uuid(f"failed:{kind}")
        minutes = 60 * (index + 5)
        extra: dict[str, Any] = {}
        if kind == "job_expired":
            extra = {"started": minutes - 1, "updated": minutes - 2, "expired": minutes - 62}
        elif kind in ("authentication_failure", "service_unreachable", "integration_unusable"):
            extra = {"updated": minutes - 1}
        else:
            extra = {"started": minutes - 1, "updated": minutes - 3}
        completed = None if kind == "job_expired" else extra["updated"]
        samples.append(
            Sample(
                job_id,
                FAILURE_TITLES[kind],
                gettext_noop("Failed"),
                partial(
                    _job,
                    job_id,
                    status="failed",
                    created=minutes,
                    completed=completed,
                    items=17 + minutes % 50,
                    failure_type=kind,
                    failure_reason=reason,
                    **extra,
                ),
            )
        )
    entry_fault_samples: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("fault:entries-403", gettext_noop("Entries' details refused (403)"), {"kind": "403"}),
        ("fault:entries-404", gettext_noop("One failed entry no longer exists (404)"), {"kind": "404", "index": 8}),
        ("fault:entries-slow", gettext_noop("Entries' details too slow (no answer in time)"), {"kind": "hang"}),
    )
    for offset, (name, title, entry_fault) in enumerate(entry_fault_samples):
        job_id = job_uuid(name)
        created = 1503 + 2 * offset  # beside the other partly exported sample, each at its own time
        faults = (entry_fault,)
        samples.append(
            Sample(
                job_id,
                title,
                gettext_noop("Faults (sandbox only)"),
                partial(
                    _job,
                    job_id,
                    status="completed_with_errors",
                    created=created,
                    started=created - 1,
                    updated=created - 5,
                    completed=created - 5,
                    items=36,
                    failure_type="validation_failure",
                    failure_reason="4 of 36 entries were rejected by the accounting system.",
                ),
                entry_faults=faults,
            )
        )
    hostile = job_uuid(HOSTILE_SAMPLE)
    samples.append(
        Sample(
            hostile,
            gettext_noop("Hostile data: markup, a script and a formula in the notes"),
            gettext_noop("Faults (sandbox only)"),
            partial(
                _job,
                hostile,
                status="completed_with_errors",
                created=1510,
                started=1509,
                updated=1505,
                completed=1505,
                items=36,
                failure_type="validation_failure",
                failure_reason="4 of 36 entries were rejected by the accounting system.",
            ),
        )
    )
    for name, title, fault in (
        ("fault:503", gettext_noop("Pleo unavailable (503 every time)"), {"kind": "503"}),
        (
            "fault:429",
            gettext_noop("Pleo rate-limits Export Job Desk (429, retry after 30 s)"),
            {"kind": "429", "retry_after": 30},
        ),
        ("fault:timeout", gettext_noop("Pleo never answers (timeout)"), {"kind": "hang"}),
        ("fault:malformed", gettext_noop("Pleo sends a broken answer"), {"kind": "malformed_json"}),
        ("fault:401", gettext_noop("Pleo refuses Export Job Desk's access (401)"), {"kind": "401"}),
    ):
        job_id = job_uuid(name)
        samples.append(
            Sample(
                job_id,
                title,
                gettext_noop("Faults (sandbox only)"),
                partial(_job, job_id, status="completed", created=30, completed=29, updated=29),
                faults=(fault,),
            )
        )
    return samples


SAMPLES: tuple[Sample, ...] = tuple(_samples())
SAMPLES_BY_ID = {sample.id: sample for sample in SAMPLES}
NOT_FOUND_EXAMPLE = job_uuid("does-not-exist")


# --- more jobs for the list endpoint (``GET /v2/export-jobs``) ------------------------------

LISTED_COUNT = 160
LISTED_SPACING = 270  # minutes between two listed jobs' creation: 160 jobs over 30 days


def _listed(index: int, now: datetime) -> dict[str, Any]:
    """Listed job ``index``: every 4.5 hours over 30 days, in turn for each company; every status and
    failure type among them (active jobs only where they belong: in the last few hours)."""
    job_id = job_uuid(f"list:{index}")
    company = COMPANIES[index % len(COMPANIES)][0]
    created = 30 + index * LISTED_SPACING
    items = 3 + (index * 37) % 400
    user: dict[str, Any] = (
        {"created_by": (USER_MARIA, USER_OLE)[index % 2]} if index % 5 else {"created_by": None, "interactive": False}
    )
    kind = index % 4
    if kind == 1:  # failed, cycling through every failure type
        failure, reason = FAILURES[(index // 4) % len(FAILURES)]
        times: dict[str, Any] = {"started": created - 1, "updated": created - 4, "completed": created - 4}
        if failure == "job_expired":
            times = {"started": created - 1, "updated": created - 2, "expired": created - 62}
        elif failure in ("authentication_failure", "service_unreachable", "integration_unusable"):
            times = {"updated": created - 1, "completed": created - 1}
        return _job(
            job_id,
            now,
            status="failed",
            created=created,
            items=items,
            failure_type=failure,
            failure_reason=reason,
            company=company,
            **times,
            **user,
        )
    if kind == 3 and index % 3:  # partly exported, with and without a reason
        reason_given: dict[str, Any] = {
            "failure_type": "validation_failure",
            "failure_reason": "Some entries were rejected.",
        }
        return _job(
            job_id,
            now,
            status="completed_with_errors",
            created=created,
            started=created - 1,
            updated=created - 9,
            completed=created - 9,
            items=items,
            company=company,
            **(reason_given if index % 2 else {}),
            **user,
        )
    return _job(
        job_id,
        now,
        status="completed",
        created=created,
        started=created - 1,
        updated=created - 6,
        completed=created - 6,
        items=items,
        vendor=bool(index % 2),
        company=company,
        **user,
    )


def _listed_active() -> list[Sample]:
    """Active jobs of the other two companies: one overdue, one quiet for more than half its expiry."""
    overdue, quiet = job_uuid("list:active:overdue"), job_uuid("list:active:quiet")
    return [
        Sample(
            overdue,
            gettext_noop("Waiting for over two hours (Nordlys AB)"),
            gettext_noop("List"),
            partial(_job, overdue, status="pending", created=130, updated=130, items=77, company=COMPANY_SE),
        ),
        Sample(
            quiet,
            gettext_noop("Exporting, quiet for 40 minutes (Nordlys AS)"),
            gettext_noop("List"),
            partial(
                _job,
                quiet,
                status="in_progress",
                created=50,
                started=49,
                updated=40,
                items=410,
                company=COMPANY_NO,
            ),
        ),
    ]


def _listed_samples() -> list[Sample]:
    samples = [
        Sample(job_uuid(f"list:{index}"), f"Listed job {index}", "List", partial(_listed, index))
        for index in range(LISTED_COUNT)
    ]
    return samples + _listed_active()


# Jobs served by the job endpoint and the list endpoint alike, but not offered on the home page.
LISTED: tuple[Sample, ...] = tuple(_listed_samples())


def company_labels() -> str:
    """The sandbox's companies as a ``PLEO_COMPANY_LABELS`` value."""
    return ",".join(f"{company}={name}" for company, name in COMPANIES)


# --- generated jobs (benchmarks) ---------------------------------------------------


def generated_uuid(index: int) -> str:
    """The id of generated job ``index``: served by a sandbox started with ``generated > index``."""
    return job_uuid(f"bench-{index}")


def generated_job(job_id: str, index: int, now: datetime) -> dict[str, Any]:
    """A completed job, like the samples, for benchmarks that need many distinct jobs."""
    created = 60 + index % 1440
    return _job(
        job_id,
        now,
        status="completed",
        created=created,
        started=created - 1,
        updated=created - 5,
        completed=created - 5,
        items=1 + index % 5000,
    )


def bench_listed_uuid(index: int) -> str:
    """The id of bench list job ``index``: served (and listed) by a sandbox started with ``listed > index``."""
    return job_uuid(f"bench-list-{index}")


def bench_listed_job(index: int, now: datetime) -> dict[str, Any]:
    """A failed job created in the last 23 hours, for benchmarks of the list: many jobs in the default view."""
    job_id = bench_listed_uuid(index)
    created = 5 + index % 1380
    failure, reason = FAILURES[index % len(FAILURES)]
    if failure == "job_expired":
        failure, reason = FAILURES[0]
    return _job(
        job_id,
        now,
        status="failed",
        created=created,
        started=created - 1,
        updated=created - 2,
        completed=created - 2,
        items=1 + index % 900,
        failure_type=failure,
        failure_reason=reason,
        company=COMPANIES[index % len(COMPANIES)][0],
    )


# --- items -------------------------------------------------------------------


def failure_spacing(job: dict[str, Any]) -> int:
    """In a partly exported job, every n-th entry failed."""
    return 40 if job.get("numberOfItems", 0) > 1000 else 9


def item_status(job: dict[str, Any], index: int) -> str:
    """The status of item ``index`` of ``job``, derived from the job's status."""
    status = job.get("status")
    if status == "completed":
        return "successful"
    if status == "completed_with_errors":
        every = failure_spacing(job)
        return "failed" if index % every == every - 1 else "successful"
    if status == "failed":  # the job stopped: Pleo marks its entries abandoned, not failed
        return "abandoned"
    if status == "in_progress":
        done = job.get("numberOfItems", 0) // 2
        return "successful" if index < done else "in_progress" if index == done else "pending"
    return "pending"


def item_payload(job: dict[str, Any], index: int, now: datetime) -> dict[str, Any]:
    status = item_status(job, index)
    entry_id = str(uuid.uuid5(uuid.UUID(job["id"]), f"entry-{index}"))
    item: dict[str, Any] = {
        "accountingEntryId": entry_id,
        "exportJobId": job["id"],
        "status": status,
        "exportedAt": None,
        "externalId": None,
        "externalUrl": None,
        "failureReason": None,
        "failureReasonType": None,
    }
    if status == "successful":
        item["exportedAt"] = job.get("completedAt") or job.get("lastUpdatedAt") or ts(now)
        item["externalId"] = f"JE-{100000 + index}"
        item["externalUrl"] = f"https://accounting.example.com/journal/{100000 + index}"
    elif status == "failed":
        # The n-th failed entry gets the n-th failure type: small jobs show the first few
        # (the four that only v3 lists come first), the 10,000-entry job shows them all.
        kind, reason = ITEM_FAILURES[(index // failure_spacing(job)) % len(ITEM_FAILURES)]
        item["failureReasonType"] = kind
        item["failureReason"] = reason
    return item


def sample_links() -> list[tuple[str, list[tuple[str, str]]]]:
    """The sample jobs by group as ``(group, [(title, id), …])``: the home page lists them in sandbox mode."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for sample in SAMPLES:
        groups.setdefault(sample.group, []).append((sample.title, sample.id))
    return list(groups.items())


# --- accounting entries and companies (what a failed item points at) ---------------------------

# Each company's own currency: an entry paid in another is booked in this one.
COMPANY_CURRENCY = {COMPANY_ID: "DKK", COMPANY_SE: "SEK", COMPANY_NO: "NOK"}
COMPANY_DETAILS = {
    COMPANY_ID: {"registrationNumber": "DK-31415926", "locality": "København", "country": "DK"},
    COMPANY_SE: {"registrationNumber": "556677-8899", "locality": "Stockholm", "country": "SE"},
    COMPANY_NO: {"registrationNumber": "912 345 678", "locality": "Oslo", "country": "NO"},
}
LONG_NOTE = (
    "Train tickets, hotel and taxis for the customer workshop in Aarhus, paid privately because the card was "
    "blocked that week; the hotel invoice is split between two cost centres (see the attached booking "
    "confirmation), and the taxi from the station was paid in cash because the card terminal in the car was "
    "broken. Ask Maria in finance if anything is unclear about the split."
)


@dataclass(frozen=True)
class EntryProfile:
    """A failed entry a controller would believe: the failure, and an expense it belongs with (its kind,
    amount, note, category, receipts and review status)."""

    failure: str
    reason: str
    family: str
    sub_family: str | None
    currency: str
    minors: int  # in the currency's smallest unit (ISK and JPY have none, KWD has three decimals)
    note: str | None
    account: str | None  # the account code; UNKNOWN_ACCOUNT: "I don't know" was chosen; None: no category
    receipts: int
    review: str


UNKNOWN_ACCOUNT = "00000000-0000-0000-0000-000000000000"
# The n-th failed entry of a job is profile n (in turn): the partly exported sample shows the first four, the
# 10,000-entry sample every one. Each failure type once, with an expense it happens to.
ENTRY_PROFILES: tuple[EntryProfile, ...] = (
    EntryProfile("account_unknown", "Account 6810 is unknown in the accounting system.", "CARD_PURCHASE",
                 "IN_STORE", "DKK", 45000, "Team lunch", "6810", 1, "NOT_REQUIRED"),
    EntryProfile("tax_code_unknown", "Tax code 'I25' is unknown in the accounting system.", "OUT_OF_POCKET", None,
                 "EUR", 8450, "Hotel breakfast at the Hamburg trade fair", "7140", 1, "OK"),
    EntryProfile("vendor_unknown", "Vendor 'Kaffe & Co' has no account number in the accounting system.",
                 "BILL_INVOICE", None, "DKK", 1243050, "Coffee machine lease and beans, Q4 (invoice KC-2026-118)",
                 "6820", 1, "WAITING_FOR_REVIEWER"),
    EntryProfile("tag_unknown", "Tag 'Project Aurora' is unknown in the accounting system.", "CARD_PURCHASE",
                 "ONLINE", "SEK", 129900, "Figma seats for Project Aurora, December", "6300", 1, "OK"),
    EntryProfile("receipt_upload_failure", "Uploading receipt receipt-1187.pdf failed.", "CARD_PURCHASE", "ONLINE",
                 "GBP", 6580, "Ticket for the FinOps Summit, London", "7140", 1, "NOT_SET"),
    EntryProfile("receipt_download_failure", "Downloading the receipt from Pleo failed.", "CARD_PURCHASE",
                 "IN_STORE", "NOK", 49900, "Taxi from Oslo airport to the client", "7140", 1, "OK"),
    EntryProfile("receipt_file_size_limit_exceeded", "Receipt is 28 MB; the accounting system accepts at most 10 MB.",
                 "OUT_OF_POCKET", None, "KWD", 45000, "Hotel night in Kuwait City for the client audit", "7140", 1,
                 "WAITING_FOR_EXPENSE_OWNER"),
    EntryProfile("receipt_conversion_failure", "Converting the receipt from HEIC to PDF failed.", "CARD_PURCHASE",
                 "IN_STORE", "ISK", 3900, "Airport bus, Keflavík to Reykjavík", "7140", 1, "OK"),
    EntryProfile("unexpected_failure", "Unexpected error while exporting the entry.", "PER_DIEM", None, "DKK",
                 119600, "Daily allowance, Stockholm workshop (2 days)", "7150", 0, "OK"),
    EntryProfile("invalid_configuration", "Tax Code X does not exist in the Accounting System.", "MILEAGE", None,
                 "DKK", 55334, "Client visit, Aarhus to Vejle and back (146 km)", "7160", 0, "OK"),
    EntryProfile("missing_configuration", "Journal X missing: provide journal X in the configurations.",
                 "REIMBURSEMENT", None, "DKK", 234000, LONG_NOTE, None, 0, "WAITING_FOR_REVIEWER"),
    EntryProfile("accounting_system_authentication_failure", "The accounting system rejected the login.",
                 "CREDIT_NOTE", None, "DKK", 129900, "Credit note for two returned headsets (invoice NO-2026-087)",
                 "6820", 1, "NOT_REQUIRED"),
    EntryProfile("accounting_system_rate_limit", "The accounting system's rate limit was exceeded.",
                 "CARD_PURCHASE", "ATM", "JPY", 20000, "Cash for taxis in Tokyo", UNKNOWN_ACCOUNT, 1, "NOT_OK"),
    EntryProfile("accounting_system_unreachable", "The accounting system could not be reached.",
                 "BILL_INVOICE_PAYMENT", None, "DKK", 875000, "Payment of invoice 2026-131, Nordic Office Supply",
                 "2740", 0, "NOT_REQUIRED"),
    EntryProfile("validation_failure", "The entry has no date.", "CASHBACK", None, "DKK", 12550,
                 "Pleo cashback, November", None, 0, "NOT_REQUIRED"),
    EntryProfile("accounting_system_validation_failure",
                 "The accounting system rejected the entry: period 2026-10 is closed.", "BALANCE_AMENDMENT", None,
                 "DKK", 1000, None, None, 0, "NOT_REQUIRED"),
    EntryProfile("authorization_failure", "The integration's access to the accounting system was revoked.",
                 "PLEO_INVOICE", None, "DKK", 99900, "Pleo subscription, December", "6300", 1, "NOT_REQUIRED"),
    EntryProfile("accounting_system_timeout", "The accounting system did not answer within 60 seconds.",
                 "OVERDRAFT", None, "DKK", 4520, "Overdraft interest, November", "8400", 0, "NOT_REQUIRED"),
)  # fmt: skip
ITEM_FAILURES: tuple[tuple[str, str], ...] = tuple((p.failure, p.reason) for p in ENTRY_PROFILES)
# (family, subFamily) of the profiles: every kind the samples show.
ENTRY_KINDS: tuple[tuple[str, str | None], ...] = tuple(dict.fromkeys((p.family, p.sub_family) for p in ENTRY_PROFILES))
# Rough rates into each company currency, per unit of the currency paid (for totalBillValue).
TO_DKK = {"DKK": 1.0, "SEK": 0.65, "EUR": 7.46, "GBP": 8.6, "ISK": 0.05, "JPY": 0.046, "KWD": 22.4, "NOK": 0.64}
# Notes that a page must show as text, never run: only in the "hostile data" sample, never in the others.
HOSTILE_NOTES: tuple[str, ...] = (
    "<b>Client dinner</b> & drinks <img src=x onerror=alert(1)>",
    '<script>alert("note")</script> Printer paper',
    'Software licence (annual) — <a href="https://example.com">invoice</a>',
    '=HYPERLINK("https://example.com","Click");-2+3',
)


def entry_uuid(job_id: str, index: int) -> str:
    """The accounting entry id of item ``index`` of job ``job_id`` (as ``item_payload`` gives it)."""
    return str(uuid.uuid5(uuid.UUID(job_id), f"entry-{index}"))


def entry_payload(job: dict[str, Any], index: int, now: datetime) -> dict[str, Any]:
    """The ``AccountingEntryV1`` behind item ``index`` of ``job``: the n-th failed entry is the n-th of
    ``ENTRY_PROFILES`` in turn (its kind, amount, note, category, receipts and review status belong to its
    failure); the hostile-data sample's notes are ``HOSTILE_NOTES``."""
    entry_id = entry_uuid(job["id"], index)
    n = index // failure_spacing(job) if item_status(job, index) == "failed" else index
    profile = ENTRY_PROFILES[n % len(ENTRY_PROFILES)]
    company = str(job.get("companyId") or COMPANY_ID)
    home = COMPANY_CURRENCY.get(company, "DKK")
    receipts = [str(uuid.uuid5(uuid.UUID(entry_id), f"r{count}")) for count in range(profile.receipts)]
    performed = now - timedelta(days=2 + n % 20, hours=n % 9, minutes=(7 * n) % 60)
    entry: dict[str, Any] = {
        "id": entry_id,
        "companyId": company,
        "family": profile.family,
        "performedAt": ts(performed),
        "settledAt": ts(performed + timedelta(days=1)),
        "transactionValue": {"currency": profile.currency, "minors": profile.minors},
        "receiptIds": receipts,
        "status": "COMPLETED",
        "exportStatus": "NOT_EXPORTED",
        "reviewStatus": profile.review,
        "tags": [],
        "splitItems": [],
        "attendees": [],
        "createdAt": ts(performed),
        "updatedAt": ts(performed + timedelta(days=1)),
        "employeeId": USER_MARIA if n % 2 else USER_OLE,
    }
    if profile.sub_family:
        entry["subFamily"] = profile.sub_family
    if profile.currency != home:
        digits = {"ISK": 0, "JPY": 0, "KWD": 3}
        units = profile.minors / 10 ** digits.get(profile.currency, 2)
        booked = units * TO_DKK.get(profile.currency, 1.0) / TO_DKK.get(home, 1.0)
        entry["totalBillValue"] = {"currency": home, "minors": round(booked * 100)}
    else:
        entry["totalBillValue"] = {"currency": home, "minors": profile.minors}
    note = HOSTILE_NOTES[n % len(HOSTILE_NOTES)] if job["id"] == job_uuid(HOSTILE_SAMPLE) else profile.note
    if note is not None:
        entry["note"] = note
    if profile.account == UNKNOWN_ACCOUNT:
        entry["accountId"] = UNKNOWN_ACCOUNT
    elif profile.account is not None:
        entry["accountCode"] = profile.account
        entry["accountId"] = str(uuid.uuid5(NAMESPACE, f"account-{profile.account}"))
    return entry


def company_payload(company_id: str) -> dict[str, Any] | None:
    """The ``ExternalCompanyResponseModel`` of one of the sandbox's companies; None for any other id."""
    names = dict(COMPANIES)
    if company_id not in names:
        return None
    details = COMPANY_DETAILS[company_id]
    return {
        "id": company_id,
        "name": names[company_id],
        "registrationNumber": details["registrationNumber"],
        "address": {"addressLine1": "Havnegade 1", "locality": details["locality"], "country": details["country"]},
    }


def bench_failed_uuid(index: int) -> str:
    """The id of bench job ``index`` with 50 failed entries: served by a sandbox started with ``failed > index``."""
    return job_uuid(f"bench-failed-{index}")


BENCH_FAILED_ITEMS = 450  # every 9th entry fails: 50 failed entries, one page of the job page


def bench_failed_job(job_id: str, index: int, now: datetime) -> dict[str, Any]:
    """A partly exported job with 50 failed entries, for benchmarks of the failed entries' details."""
    created = 60 + index % 1440
    return _job(
        job_id,
        now,
        status="completed_with_errors",
        created=created,
        started=created - 1,
        updated=created - 5,
        completed=created - 5,
        items=BENCH_FAILED_ITEMS,
        failure_type="validation_failure",
        failure_reason="Some entries were rejected.",
    )
