"""Turns a ``JobResult`` into what the job page shows: words, times and durations.

Templates only lay this out; every decision (which sentence, which warning,
which time zone) is made here, where it can be tested without HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone as dj_timezone

from .client import parse_timestamp
from .jobs import ExportJob, ItemStatus, JobStatus
from .services import ITEM_STATUSES, ItemsSummary, JobResult
from .wording import ITEM_STATUS_LABELS, failure_wording, item_failure_wording, status_wording

STUCK_FRACTION = 0.5
FAILURE_HEADINGS = {
    JobStatus.FAILED: "Why it failed",
    JobStatus.COMPLETED_WITH_ERRORS: "Why some entries were not exported",
}  # an active job untouched for half its expiry window may be stuck


def duration_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 days 4 h``."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    unit = "day" if days == 1 else "days"
    return f"{days} {unit} {hours} h" if hours else f"{days} {unit}"


def relative_text(moment: datetime, now: datetime) -> str:
    delta = (now - moment).total_seconds()
    if abs(delta) < 30:
        return "just now"
    return f"{duration_text(delta)} ago" if delta > 0 else f"in {duration_text(delta)}"


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def zone_name() -> str:
    return dj_timezone.get_current_timezone_name()


def local_text(moment: datetime, *, with_date: bool = True) -> str:
    local = dj_timezone.localtime(moment)
    zone = local.tzname() or zone_name()
    if with_date:
        return f"{local.day} {local:%b %Y, %H:%M:%S} {zone}"
    return f"{local:%H:%M} {zone}"


def utc_text(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc)
    return f"{utc.day} {utc:%b %Y, %H:%M:%S} UTC"


@dataclass(frozen=True)
class Timestamp:
    """A moment as the page shows it, or why there is none."""

    label: str
    iso: str = ""
    display: str = ""
    utc: str = ""
    relative: str = ""
    missing: str = ""
    help: str = ""

    @classmethod
    def of(cls, label: str, moment: datetime | None, now: datetime, *, missing: str = "", help: str = "") -> "Timestamp":
        if moment is None:
            return cls(label=label, missing=missing or "not reported", help=help)
        return cls(
            label=label,
            iso=iso_utc(moment),
            display=local_text(moment),
            utc=utc_text(moment),
            relative=relative_text(moment, now),
            help=help,
        )


def _missing_reasons(job: ExportJob) -> dict[str, str]:
    active = job.is_active
    return {
        "started": "not started yet" if job.status == JobStatus.PENDING else "Pleo did not record a start",
        "completed": "still running" if active else "did not complete" if job.status == JobStatus.FAILED else "not reported",
        "expired": "has not expired" if not active else "not expired (yet)",
        "updated": "no update since it was created",
    }


@dataclass(frozen=True)
class Step:
    label: str
    stamp: Timestamp
    state: str  # done, current, todo, failed


def _timeline(job: ExportJob, now: datetime) -> tuple[list[Step], list[tuple[str, str]]]:
    """Created → started → finished or expired, and the waited / ran / total durations."""
    created, started = job.created_at, job.started_at
    finished = job.completed_at or job.expired_at
    steps = [Step("Created", Timestamp.of("Created", created, now), "done")]
    if started:
        steps.append(Step("Started", Timestamp.of("Started", started, now), "done"))
    elif job.is_active:
        steps.append(Step("Started", Timestamp.of("Started", None, now, missing="waiting to start"), "current"))
    else:
        steps.append(Step("Started", Timestamp.of("Started", None, now, missing="never started"), "skipped"))
    if job.expired_at and not job.completed_at:
        steps.append(Step("Expired", Timestamp.of("Expired", job.expired_at, now), "failed"))
    elif finished:
        state = "failed" if job.status == JobStatus.FAILED else "done"
        label = "Stopped" if job.status == JobStatus.FAILED else "Finished"
        steps.append(Step(label, Timestamp.of(label, finished, now), state))
    elif job.is_active:
        steps.append(Step("Finished", Timestamp.of("Finished", None, now, missing="not finished yet"), "todo"))
    else:
        steps.append(Step("Finished", Timestamp.of("Finished", None, now, missing="finish time not reported"), "skipped"))

    durations: list[tuple[str, str]] = []
    end = finished or (now if job.is_active else None)
    so_far = "" if finished else " so far"
    if started:
        durations.append(("Waited before starting", duration_text((started - created).total_seconds())))
        if end:
            durations.append((f"Ran for{so_far}", duration_text((end - started).total_seconds())))
    elif job.is_active:
        durations.append(("Waiting so far", duration_text((now - created).total_seconds())))
    if end:
        durations.append((f"Total{so_far}", duration_text((end - created).total_seconds())))
    return steps, durations


@dataclass(frozen=True)
class Expiry:
    stamp: Timestamp
    text: str
    overdue: bool


def _expiry(job: ExportJob, now: datetime) -> Expiry | None:
    if not job.is_active:
        return None
    deadline = job.expires_at
    if deadline is None:
        return None
    remaining = (deadline - now).total_seconds()
    text = f"expires in about {duration_text(remaining)}" if remaining > 0 else f"overdue by about {duration_text(remaining)}"
    return Expiry(Timestamp.of("Expires (approx.)", deadline, now), text, remaining <= 0)


def _stuck(job: ExportJob, now: datetime) -> str:
    if not job.is_active:
        return ""
    quiet = (now - job.expiry_base).total_seconds()
    if quiet < max(60, job.expires_in * STUCK_FRACTION):
        return ""
    return (
        f"Nothing has happened to this job for {duration_text(quiet)}. It may be stuck: "
        "if it does not move soon it will expire. Ask the Pleo admin who owns the accounting integration to check it."
    )


def _permalink(request: HttpRequest, job: ExportJob) -> str:
    return request.build_absolute_uri(reverse("job_detail", args=[str(job.id)]))


def seen_link(permalink: str, result: JobResult) -> str:
    """The permalink with the status and time seen, so a later reader sees what changed."""
    return f"{permalink}?{urlencode({'seen': result.job.status_value, 'at': iso_utc(result.fetched_at)})}"


def _ticket_text(job: ExportJob, result: JobResult, permalink: str, now: datetime) -> str:
    wording = status_wording(job.status)
    lines = [
        f"Pleo export job {job.id}",
        f"Status: {wording.label} ({job.status_value}) — {wording.meaning}",
    ]
    for label, moment in (
        ("Created", job.created_at),
        ("Started", job.started_at),
        ("Finished", job.completed_at),
        ("Expired", job.expired_at),
        ("Last update", job.last_updated_at),
    ):
        if moment is not None:
            local = local_text(moment)
            utc = utc_text(moment)
            lines.append(f"{label}: {utc}" + (f" ({local})" if local != utc else ""))
    lines.append(f"Entries: {job.number_of_items:,}")
    if job.has_failure:
        failure = failure_wording(job.failure_reason_type)
        lines.append(f"Failure: {failure.label} ({job.failure_type_value or 'no type'}) — {failure.meaning}")
        lines.append(f"Who must act: {failure.actor_label}. Next step: {failure.next_step}")
        if job.failure_reason:
            lines.append(f"Pleo's message: {job.failure_reason}")
    lines.append(f"Link: {seen_link(permalink, result)}")
    lines.append(f"Data as of {utc_text(result.fetched_at)} ({'stale copy' if result.source == 'stale' else 'from Pleo'})")
    return "\n".join(lines)


def job_page_context(request: HttpRequest, result: JobResult, *, now: datetime | None = None) -> dict:
    job = result.job
    now = now or datetime.now(timezone.utc)
    reasons = _missing_reasons(job)
    steps, durations = _timeline(job, now)
    permalink = _permalink(request, job)
    if not job.is_interactive:
        started_by = "Started automatically by Pleo"
    elif job.created_by:
        started_by = f"A person pressed Export (Pleo user ID {job.created_by})"
    else:
        started_by = "A person pressed Export (user not recorded)"
    return {
        "job": job,
        "result": result,
        "status": status_wording(job.status),
        "failure": failure_wording(job.failure_reason_type) if job.has_failure else None,
        "failure_heading": FAILURE_HEADINGS.get(job.status, "Problem reported"),
        "failure_partial": job.status == JobStatus.COMPLETED_WITH_ERRORS,
        "timestamps": [
            Timestamp.of("Created", job.created_at, now, help="When someone pressed Export in Pleo"),
            Timestamp.of("Started", job.started_at, now, missing=reasons["started"], help="When the integration began sending entries"),
            Timestamp.of("Completed", job.completed_at, now, missing=reasons["completed"], help="When the job finished"),
            Timestamp.of("Expired", job.expired_at, now, missing=reasons["expired"], help="When Pleo gave up waiting for the job"),
            Timestamp.of("Last update", job.last_updated_at, now, missing=reasons["updated"], help="The last time anything happened to the job"),
        ],
        "steps": steps,
        "durations": durations,
        "expiry": _expiry(job, now),
        "stuck": _stuck(job, now),
        "started_by": started_by,
        "fetched": Timestamp.of("Fetched", result.fetched_at, now),
        "fetched_time": local_text(result.fetched_at, with_date=False),
        "permalink": permalink,
        "seen_link": seen_link(permalink, result),
        "ticket_text": _ticket_text(job, result, permalink, now),
        "auto_refresh": job.is_active,
        "zone": zone_name(),
        "is_utc": zone_name() in ("UTC", "Etc/UTC"),
    }



# --- entries (items) ----------------------------------------------------------------


@dataclass(frozen=True)
class FailedEntry:
    entry_id: str
    type_value: str
    label: str
    meaning: str
    actor_label: str
    reason: str
    external_url: str


def _safe_url(url: str | None) -> str:
    """Only http(s) links from Pleo become links: never ``javascript:`` or the like."""
    return url if url and url.lower().startswith(("https://", "http://")) else ""


def items_context(summary: ItemsSummary) -> dict:
    counts = [
        (ITEM_STATUS_LABELS[ItemStatus(status)], summary.counts.get(status, 0), status) for status in ITEM_STATUSES
    ]
    failed = []
    for item in summary.failed.items:
        wording = item_failure_wording(item.failure_reason_type)
        failed.append(
            FailedEntry(
                entry_id=str(item.accounting_entry_id),
                type_value=item.failure_type_value or "",
                label=wording.label,
                meaning=wording.meaning,
                actor_label=wording.actor_label,
                reason=item.failure_reason or "",
                external_url=_safe_url(item.external_url),
            )
        )
    return {
        "counts": counts,
        "total": summary.total,
        "failed_total": summary.counts.get("failed") or 0,
        "failed": failed,
        "next_cursor": summary.failed.end_cursor if summary.failed.has_next_page else "",
    }


# --- what changed since the link was shared ------------------------------------------------

WAS = {
    JobStatus.PENDING: "waiting to start",
    JobStatus.IN_PROGRESS: "exporting",
    JobStatus.COMPLETED: "exported",
    JobStatus.COMPLETED_WITH_ERRORS: "partly exported",
    JobStatus.FAILED: "failed",
}
NOW = {
    JobStatus.PENDING: "is waiting to start",
    JobStatus.IN_PROGRESS: "is exporting",
    JobStatus.COMPLETED: "has been exported",
    JobStatus.COMPLETED_WITH_ERRORS: "has been partly exported",
    JobStatus.FAILED: "has failed",
}


def _status_phrase(table: dict, value: str) -> str:
    try:
        return table[JobStatus(value)]
    except ValueError:
        return f"“{value}”"


def seen_change(job: ExportJob, seen: str | None, at: str | None) -> dict | None:
    """The sentence for a link that carries ``?seen=<status>&at=<time>``, or None without one."""
    if not seen or len(seen) > 64:
        return None
    when = ""
    if at:
        try:
            when = local_text(parse_timestamp(at[:40]), with_date=True)
        except (ValueError, OverflowError):
            when = ""
    shared = f"When this link was shared ({when})" if when else "When this link was shared"
    if seen == job.status_value:
        text = f"{shared} the job was already {_status_phrase(WAS, seen)}; it has not changed since."
        changed = False
    else:
        text = f"{shared} the job was {_status_phrase(WAS, seen)}; now it {_status_phrase(NOW, job.status_value)}."
        changed = True
    return {"text": text, "changed": changed}


# --- bulk lookup --------------------------------------------------------------------------


def bulk_row(row, error_page) -> dict:
    """One row of the bulk table: the job's status and finish, or the error in its own words."""
    if row.result is None:
        return {"job_id": row.job_id, "error": error_page}
    job = row.result.job
    now = datetime.now(timezone.utc)
    finished = job.completed_at or job.expired_at
    return {
        "job_id": row.job_id,
        "status": status_wording(job.status),
        "finished": Timestamp.of("Finished", finished, now, missing="still running" if job.is_active else "not reported"),
        "failure": failure_wording(job.failure_reason_type).label if job.has_failure else "",
        "failure_type": job.failure_type_value or "",
        "stale": row.result.source == "stale",
    }
