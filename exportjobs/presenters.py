"""Turns answers into what the pages show: times, durations and which words apply (job page, list).

Templates only lay this out; every decision (which sentence, which warning, which time zone) is
made here, where it can be tested without HTML. The words themselves come from ``wording``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone as dj_timezone
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from . import clock, l10n, wording
from .attention import Filters, ListResult
from .pleo.errors import PleoError
from .pleo.models import (
    AccountingEntry,
    ExportJob,
    ExportJobItem,
    FailureType,
    ItemFailureType,
    ItemStatus,
    JobStatus,
    known_or_raw,
    parse_instant,
)
from .services import ENTRIES_PER_PAGE, ITEM_STATUSES, BulkRow, EntryDetails, ItemsSummary, JobResult
from .wording import duration_words, failure_wording, item_failure_wording, status_wording

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text


def relative_text(moment: datetime, now: datetime) -> str:
    delta = (now - moment).total_seconds()
    if abs(delta) < 30:
        return str(wording.JUST_NOW)
    template = wording.AGO if delta > 0 else wording.IN_FUTURE
    return str(template) % {"duration": duration_words(delta)}


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def zone_name() -> str:
    return dj_timezone.get_current_timezone_name()


def local_text(moment: datetime, *, with_date: bool = True) -> str:
    try:
        local = dj_timezone.localtime(moment)
    except OverflowError:  # an instant at the calendar's edge has no local time east of UTC: show it in UTC
        local = moment.astimezone(timezone.utc)
    zone = local.tzname() or zone_name()
    if with_date:
        return f"{l10n.date_time(local)} {zone}"
    return f"{l10n.time_of_day(local)} {zone}"


def utc_text(moment: datetime) -> str:
    return f"{l10n.date_time(moment.astimezone(timezone.utc))} UTC"


@dataclass(frozen=True)
class Timestamp:
    """A moment as the page shows it, or why there is none."""

    label: Text
    iso: str = ""
    display: str = ""
    utc: str = ""
    relative: str = ""
    missing: Text = ""
    help: Text = ""

    @classmethod
    def of(
        cls, label: Text, moment: datetime | None, now: datetime, *, missing: Text = "", help: Text = ""
    ) -> Timestamp:
        if moment is None:
            return cls(label=label, missing=missing or wording.MISSING["not_reported"], help=help)
        return cls(
            label=label,
            iso=iso_utc(moment),
            display=local_text(moment),
            utc=utc_text(moment),
            relative=relative_text(moment, now),
            help=help,
        )


def _missing_reasons(job: ExportJob) -> dict[str, Text]:
    words = wording.MISSING
    if job.is_active:
        completed = words["still_running"]
    elif job.status == JobStatus.FAILED:
        completed = words["did_not_complete"]
    else:
        completed = words["not_reported"]
    return {
        "started": words["not_started_yet"] if job.status == JobStatus.PENDING else words["no_start_recorded"],
        "completed": completed,
        "expired": words["not_expired_yet"] if job.is_active else words["has_not_expired"],
        "updated": words["no_update"],
    }


@dataclass(frozen=True)
class Step:
    label: Text
    stamp: Timestamp
    state: str  # done, current, todo, failed, cancelled, skipped


def _timeline(job: ExportJob, now: datetime) -> tuple[list[Step], list[tuple[Text, str]]]:
    """Created → started → finished or expired, and the waited / ran / total durations."""
    labels, missing = wording.TIME_LABELS, wording.MISSING
    created, started = job.created_at, job.started_at
    finished = job.completed_at or job.expired_at
    steps = [Step(labels["created"], Timestamp.of(labels["created"], created, now), "done")]
    if started:
        steps.append(Step(labels["started"], Timestamp.of(labels["started"], started, now), "done"))
    elif job.is_active:
        stamp = Timestamp.of(labels["started"], None, now, missing=missing["waiting_to_start"])
        steps.append(Step(labels["started"], stamp, "current"))
    else:
        stamp = Timestamp.of(labels["started"], None, now, missing=missing["never_started"])
        steps.append(Step(labels["started"], stamp, "skipped"))
    if job.expired_at and not job.completed_at:
        steps.append(Step(labels["expired"], Timestamp.of(labels["expired"], job.expired_at, now), "failed"))
    elif finished:
        failed = job.status == JobStatus.FAILED
        label = labels["stopped"] if failed else labels["finished"]
        state = "done"
        if failed:
            state = "cancelled" if job.failure_reason_type == FailureType.CANCELED_BY_USER else "failed"
        steps.append(Step(label, Timestamp.of(label, finished, now), state))
    elif job.is_active:
        stamp = Timestamp.of(labels["finished"], None, now, missing=missing["not_finished_yet"])
        steps.append(Step(labels["finished"], stamp, "todo"))
    else:
        stamp = Timestamp.of(labels["finished"], None, now, missing=missing["finish_not_reported"])
        steps.append(Step(labels["finished"], stamp, "skipped"))

    names = wording.DURATION_LABELS
    durations: list[tuple[Text, str]] = []
    end = finished or (now if job.is_active else None)
    so_far = not finished
    if started:
        durations.append((names["waited"], duration_words((started - created).total_seconds())))
        if end:
            durations.append(
                (names["ran_so_far" if so_far else "ran"], duration_words((end - started).total_seconds()))
            )
    elif job.is_active:
        durations.append((names["waiting_so_far"], duration_words((now - created).total_seconds())))
    if end:
        durations.append(
            (names["total_so_far" if so_far else "total"], duration_words((end - created).total_seconds()))
        )
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
    template = wording.EXPIRES_IN if remaining > 0 else wording.OVERDUE_BY
    text = str(template) % {"duration": duration_words(remaining)}
    return Expiry(Timestamp.of(wording.TIME_LABELS["expires"], deadline, now), text, remaining <= 0)


def _stuck(job: ExportJob, now: datetime) -> str:
    if not job.may_be_stuck(now):
        return ""
    return str(wording.STUCK) % {"duration": duration_words((now - job.expiry_base).total_seconds())}


def _permalink(request: HttpRequest, job: ExportJob) -> str:
    return request.build_absolute_uri(reverse("job_detail", args=[str(job.id)]))


def seen_link(permalink: str, result: JobResult) -> str:
    """The permalink with the status and time seen, so a later reader sees what changed."""
    return f"{permalink}?{urlencode({'seen': result.job.status_value, 'at': iso_utc(result.fetched_at)})}"


def _ticket_text(job: ExportJob, result: JobResult, permalink: str, company: str = "") -> str:
    words = wording.TICKET
    status = status_wording(job.status, job.failure_reason_type)
    lines = [
        str(words["title"]) % {"id": job.id},
        str(words["status"]) % {"label": status.label, "value": job.status_value, "meaning": status.meaning},
    ]
    labels = wording.TIME_LABELS
    for key, moment in (
        ("created", job.created_at),
        ("started", job.started_at),
        ("finished", job.completed_at),
        ("expired", job.expired_at),
        ("updated", job.last_updated_at),
    ):
        if moment is not None:
            local = local_text(moment)
            utc = utc_text(moment)
            moment_text = utc + (f" ({local})" if local != utc else "")
            lines.append(wording.LABEL_VALUE % {"label": labels[key], "value": moment_text})
    lines.append(str(words["entries"]) % {"count": number_text(job.number_of_items)})
    lines.append(str(words["company"]) % {"name": company or short_id(job.company_id), "id": job.company_id})
    if job.has_failure:
        failure = failure_words(job)[0]
        value = job.failure_type_value or words["no_type"]
        lines.append(str(words["failure"]) % {"label": failure.label, "value": value, "meaning": failure.meaning})
        lines.append(str(words["actor"]) % {"actor": failure.actor_label, "next_step": failure.next_step})
        if job.failure_reason:
            lines.append(str(words["message"]) % {"message": job.failure_reason})
    lines.append(str(words["link"]) % {"link": seen_link(permalink, result)})
    source = words["stale"] if result.source == "stale" else words["fresh"]
    lines.append(str(words["as_of"]) % {"when": utc_text(result.fetched_at), "source": source})
    return "\n".join(lines)


def _ticket_texts(job: ExportJob, result: JobResult, permalink: str, company: str) -> dict[str, str]:
    """The summary in the page's language and in English for Pleo support (written once when they are one)."""
    text = _ticket_text(job, result, permalink, company)
    if translation.get_language() == "en":
        return {"ticket_text": text, "ticket_text_en": text}
    with translation.override("en"):
        return {"ticket_text": text, "ticket_text_en": _ticket_text(job, result, permalink, company)}


def _started_by(job: ExportJob) -> dict[str, str]:
    """Who started the job, in words; the Pleo user's id apart, as a technical detail."""
    words = wording.STARTED_BY_PERSON if job.is_interactive else wording.STARTED_AUTOMATICALLY
    return {"words": str(words), "user_id": str(job.created_by or "")}


def short_local_text(moment: datetime, now: datetime) -> str:
    """``28 Nov 15:31`` (with the year when it is not this year's), in the desk's zone."""
    try:
        local = dj_timezone.localtime(moment)
        this_year = dj_timezone.localtime(now).year
    except OverflowError:
        local, this_year = moment.astimezone(timezone.utc), now.year
    return l10n.short_date_time(local, with_year=local.year != this_year)


def job_title(job: ExportJob, now: datetime) -> str:
    """What a person recognises: "Export of 36 entries, started 28 Nov 15:31 by a person in Pleo"."""
    who = wording.BY_PERSON if job.is_interactive else wording.BY_SYSTEM
    return wording.JOB_TITLE % {
        "number": job.number_of_items,
        "count": number_text(job.number_of_items),
        "when": short_local_text(job.created_at, now),
        "who": who,
    }


def failure_words(job: ExportJob) -> tuple[Any, Text, str]:
    """The failure panel: its words (for a failed or a partly exported job), heading and tone."""
    partial = job.status == JobStatus.COMPLETED_WITH_ERRORS
    words = failure_wording(job.failure_reason_type, partial=partial)
    if job.status == JobStatus.FAILED and job.failure_reason_type == FailureType.CANCELED_BY_USER:
        return words, wording.CANCELLED_HEADING, "neutral"
    heading = (
        wording.FAILURE_HEADINGS.get(job.status, wording.FAILURE_HEADING_OTHER)
        if isinstance(job.status, JobStatus)
        else wording.FAILURE_HEADING_OTHER
    )
    return words, heading, "warning" if partial else "danger"


def job_page_context(
    request: HttpRequest,
    result: JobResult,
    *,
    now: datetime | None = None,
    company_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The job page's words and times; ``company_names``: Pleo's names of companies (``company_name``)."""
    job = result.job
    company = company_name(job.company_id, company_names)
    now = now or clock.now()
    reasons = _missing_reasons(job)
    steps, durations = _timeline(job, now)
    permalink = _permalink(request, job)
    labels, helps = wording.TIME_LABELS, wording.TIME_HELP
    fetched = Timestamp.of(labels["fetched"], result.fetched_at, now)
    fetched_time = local_text(result.fetched_at, with_date=False)
    failure, heading, tone = failure_words(job)
    return {
        "title": job_title(job, now),
        "job": job,
        "result": result,
        "status": status_wording(job.status, job.failure_reason_type),
        "failure": failure if job.has_failure else None,
        "failure_heading": heading,
        "failure_tone": tone,
        "timestamps": [
            Timestamp.of(labels["created"], job.created_at, now, help=helps["created"]),
            Timestamp.of(labels["started"], job.started_at, now, missing=reasons["started"], help=helps["started"]),
            Timestamp.of(
                labels["completed"], job.completed_at, now, missing=reasons["completed"], help=helps["completed"]
            ),
            Timestamp.of(labels["expired"], job.expired_at, now, missing=reasons["expired"], help=helps["expired"]),
            Timestamp.of(
                labels["updated"], job.last_updated_at, now, missing=reasons["updated"], help=helps["updated"]
            ),
        ],
        "steps": steps,
        "durations": durations,
        "expiry": _expiry(job, now),
        "stuck": _stuck(job, now),
        "started_by": _started_by(job),
        "company_name": company,
        "fetched": fetched,
        "fetched_time": fetched_time,
        "stale_banner": str(wording.STALE_BANNER) % {"time": fetched_time, "relative": fetched.relative},
        "words": {
            "stale_more": wording.STALE_BANNER_MORE,
            "entries_failed_more": wording.ENTRIES_FAILED_MORE,
            "none_failed": wording.ENTRIES_NONE_FAILED,
            "unknown_count": wording.ENTRIES_UNKNOWN_COUNT,
            "company": wording.JOB_COMPANY["label"],
            "company_hint": wording.JOB_COMPANY["hint"],
        },
        "permalink": permalink,
        "seen_link": seen_link(permalink, result),
        **_ticket_texts(job, result, permalink, company),
        "auto_refresh": job.is_active,
        "zone": zone_name(),
        "is_utc": zone_name() in ("UTC", "Etc/UTC"),
    }


# --- entries (items) ----------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    """What a failed entry is, as a person finds it in Pleo or on a receipt."""

    kind: str  # "Card purchase (online)"
    when: str  # in the reader's zone and language
    when_iso: str
    paid: str  # in the currency paid
    booked: str  # in the company's currency; "" when the same currency (or not given)
    note: str  # as written (escaped when shown)
    note_short: str  # the note cut to NOTE_SHORT characters; "" when it is short enough to show whole
    category: str  # the account code, as Pleo sent it
    category_words: str  # without a code: "no category chosen", or that "I don't know" was picked
    receipts: int
    receipt_text: str
    receipt_matters: bool  # the entry failed over its receipt
    review: str


@dataclass(frozen=True)
class FailedEntry:
    entry_id: str
    type_value: str
    label: Text
    meaning: Text
    actor_label: Text
    reason: str
    external_url: str
    details: EntryView | None = None
    gone: bool = False  # Pleo says the entry no longer exists
    waiting: bool = False  # Pleo did not say in time (or could not): listed without details


def safe_url(url: str | None) -> str:
    """Only http(s) links from Pleo become links: never ``javascript:`` or the like."""
    return url if url and url.lower().startswith(("https://", "http://")) else ""


@dataclass(frozen=True)
class FailureGroup:
    """The failed entries of one failure type: how many, who acts, what to do, and a link to list only them."""

    type_value: str
    label: Text
    meaning: Text
    actor: str
    actor_label: Text
    next_step: Text
    count: int
    link: str
    selected: bool


@dataclass(frozen=True)
class Pager:
    text: str  # "51–100 of 250"
    previous: str  # links, "" when there is none
    next: str


def _entries_link(failure_type: str, page: int) -> str:
    query = {"entries": "1"}
    if failure_type:
        query["type"] = failure_type
    if page > 1:
        query["page"] = str(page)
    return f"?{urlencode(query)}#entries"


def _failed_entry(item: ExportJobItem) -> FailedEntry:
    words = item_failure_wording(item.failure_reason_type)
    return FailedEntry(
        entry_id=str(item.accounting_entry_id),
        type_value=item.failure_type_value or "",
        label=words.label,
        meaning=words.meaning,
        actor_label=words.actor_label,
        reason=item.failure_reason or "",
        external_url=safe_url(item.external_url),
    )


RECEIPT_FAILURES = frozenset(
    {
        ItemFailureType.RECEIPT_UPLOAD_FAILURE.value,
        ItemFailureType.RECEIPT_DOWNLOAD_FAILURE.value,
        ItemFailureType.RECEIPT_FILE_SIZE_LIMIT_EXCEEDED.value,
        ItemFailureType.RECEIPT_CONVERSION_FAILURE.value,
    }
)
NOTE_SHORT = 80  # characters of a note shown before "Show the whole note"
UNKNOWN_ACCOUNT = "00000000-0000-0000-0000-000000000000"  # Pleo's "I don't know" category


def _short_note(note: str) -> str:
    one_line = " ".join(note.split())
    if len(one_line) <= NOTE_SHORT and "\n" not in note.strip():
        return ""
    cut = one_line[:NOTE_SHORT].rsplit(" ", 1)[0] if " " in one_line[:NOTE_SHORT] else one_line[:NOTE_SHORT]
    return cut.rstrip(" ,.;:") + "…"


def entry_view(entry: AccountingEntry, *, failure_type: str = "") -> EntryView:
    """One accounting entry in words: kind, when, how much, note, category, receipts, review."""
    paid = entry.transaction_value
    booked = entry.total_bill_value
    note = (entry.note or "").strip()
    account = entry.payload.get("accountId")
    try:
        local = dj_timezone.localtime(entry.performed_at)
    except OverflowError:
        local = entry.performed_at
    receipts = len(entry.receipt_ids)
    return EntryView(
        kind=wording.entry_kind(entry.family, entry.sub_family),
        when=f"{l10n.date_time(local, seconds=False)} {local.tzname() or zone_name()}",
        when_iso=iso_utc(entry.performed_at),
        paid=l10n.money(paid.minors, paid.currency),
        booked=l10n.money(booked.minors, booked.currency) if booked and booked.currency != paid.currency else "",
        note=note,
        note_short=_short_note(note) if note else "",
        category=entry.account_code or "",
        category_words=str(wording.ENTRY_DETAILS["unknown_category" if account == UNKNOWN_ACCOUNT else "no_category"]),
        receipts=receipts,
        receipt_text=wording.receipt_words(receipts),
        receipt_matters=failure_type in RECEIPT_FAILURES,
        review=wording.review_status_words(entry.review_status),
    )


def page_entry_ids(entries: Mapping[str, Any]) -> list[uuid.UUID]:
    """The ids of the failed entries one page of the entries panel lists (``items_context``'s ``failed``)."""
    return [uuid.UUID(row.entry_id) for row in entries.get("failed", [])]


def with_details(entries: dict[str, Any], details: EntryDetails) -> dict[str, Any]:
    """The entries panel with what Pleo said about each listed entry, and one notice when some are missing."""
    rows = []
    for row in entries["failed"]:
        entry = details.found.get(row.entry_id)
        if entry is not None:
            rows.append(replace(row, details=entry_view(entry, failure_type=row.type_value)))
        else:
            gone = row.entry_id in details.gone
            rows.append(replace(row, gone=gone, waiting=not gone and details.problem != "refused"))
    notice = str(wording.ENTRY_NOTICES[details.problem]) if details.problem in wording.ENTRY_NOTICES else ""
    return {**entries, "failed": rows, "details_notice": notice, "details_complete": details.complete}


def items_context(summary: ItemsSummary, *, job: ExportJob, failure_type: str = "", page: int = 1) -> dict[str, Any]:
    """The entries panel: counts by status, the failed entries grouped by failure type, one page of them.

    ``failure_type`` lists only the entries of that type (ignored when none has it); ``page`` counts
    from 1, ``ENTRIES_PER_PAGE`` at a time.
    """
    # "Not exported (job stopped)" only where a job stopped, or Pleo counts such entries anyway.
    counts = [
        (wording.ITEM_STATUS_LABELS[ItemStatus(status)], summary.counts.get(status, 0), status)
        for status in ITEM_STATUSES
        if status != ItemStatus.ABANDONED or job.status == JobStatus.FAILED or summary.counts.get(status, 0) != 0
    ]
    by_type: dict[str, list[ExportJobItem]] = {}
    for item in summary.failed:
        by_type.setdefault(item.failure_type_value or "", []).append(item)
    if failure_type not in by_type:
        failure_type = ""
    groups = []
    for value, items in sorted(by_type.items(), key=lambda pair: (-len(pair[1]), pair[0])):
        words = item_failure_wording(items[0].failure_reason_type)
        groups.append(
            FailureGroup(
                type_value=value,
                label=words.label,
                meaning=words.meaning,
                actor=words.actor,
                actor_label=words.actor_label,
                next_step=words.next_step,
                count=len(items),
                link=_entries_link(value, 1),
                selected=value == failure_type,
            )
        )
    listed = by_type[failure_type] if failure_type else list(summary.failed)
    pages = max(1, -(-len(listed) // ENTRIES_PER_PAGE))
    page = min(max(1, page), pages)
    first = (page - 1) * ENTRIES_PER_PAGE
    rows = [_failed_entry(item) for item in listed[first : first + ENTRIES_PER_PAGE]]
    pager = None
    if listed:
        text = str(wording.ENTRIES_RANGE) % {
            "first": number_text(first + 1),
            "last": number_text(first + len(rows)),
            "of": number_text(len(listed)),
        }
        pager = Pager(
            text=text,
            previous=_entries_link(failure_type, page - 1) if page > 1 else "",
            next=_entries_link(failure_type, page + 1) if page < pages else "",
        )
    failed_total = summary.counts.get("failed")
    panel_actor = failure_words(job)[0].actor if job.has_failure else None
    notes = []
    if job.status == JobStatus.FAILED:
        if summary.failed:
            notes.append(wording.ENTRIES_OWN_FAILURES)
        elif job.failure_reason_type == FailureType.CANCELED_BY_USER:
            notes.append(wording.ENTRIES_CANCELLED)
        else:
            notes.append(wording.ENTRIES_ABANDONED)
    elif panel_actor and any(group.actor != panel_actor for group in groups):
        notes.append(wording.ENTRIES_OWN_ACTORS)
    return {
        "counts": counts,
        "total": summary.total,
        "failed_total": failed_total if failed_total is not None else len(summary.failed),
        "groups": groups,
        "filtered": failure_type,
        "all_link": _entries_link("", 1),
        "failed": rows,
        "pager": pager,
        "more": str(wording.ENTRIES_MORE) % {"shown": number_text(len(summary.failed))} if summary.more else "",
        "notes": notes,
        "detail_words": wording.ENTRY_DETAILS,
        "details_notice": "",
        "details_complete": True,
    }


def number_text(value: int) -> str:
    return l10n.number(value)


def entries_error_notice(error: PleoError) -> str:
    problem = str(wording.error_wording(error.code).title).lower()
    return str(wording.ENTRIES_FAILED_NOTICE) % {"problem": problem}


# --- what changed since the link was shared ------------------------------------------------


def _status_phrase(table: dict[JobStatus, Text], value: str) -> str:
    status = known_or_raw(JobStatus, value)
    return str(table[status]) if isinstance(status, JobStatus) else f"“{value}”"


def seen_change(job: ExportJob, seen: str | None, at: str | None) -> dict[str, Any] | None:
    """The sentence for a link that carries ``?seen=<status>&at=<time>``, or None without one."""
    if not seen or len(seen) > 64:
        return None
    when = ""
    if at:
        try:
            when = local_text(parse_instant(at[:40]), with_date=True)
        except (ValueError, OverflowError):
            when = ""
    shared = str(wording.SEEN_SHARED_AT) % {"when": when} if when else str(wording.SEEN_SHARED)
    was = _status_phrase(wording.STATUS_WAS, seen)
    if seen == job.status_value:
        return {"text": str(wording.SEEN_UNCHANGED) % {"shared": shared, "was": was}, "changed": False}
    now = _status_phrase(wording.STATUS_NOW, job.status_value)
    return {"text": str(wording.SEEN_CHANGED) % {"shared": shared, "was": was, "now": now}, "changed": True}


# --- bulk lookup --------------------------------------------------------------------------


def what_happened(job: ExportJob) -> tuple[Text, Text]:
    """A job in a few words, and who acts on it: the failure's label and actor, else its status's."""
    if job.has_failure and job.status in (JobStatus.FAILED, JobStatus.COMPLETED_WITH_ERRORS):
        words = failure_words(job)[0]
        return words.label, words.actor_label
    key = job.status_value if job.status_value in wording.JOB_IN_SHORT else "unknown"
    what, who = wording.JOB_IN_SHORT[key]
    return what, who


def bulk_row(row: BulkRow, company_names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One row of the bulk table: every row has the same columns, with words in each cell; the job's
    company by name when it has one (``company_name``)."""
    now = clock.now()
    if row.result is None:
        code = row.error.code if row.error else "pleo_error"
        return {
            "job_id": row.job_id,
            "error": wording.error_wording(code),
            "status": wording.BULK_NO_STATUS,
            "what": wording.error_wording(code).title,
            "who": wording.BULK_ERROR_WHO.get(code, wording.BULK_ERROR_WHO["unavailable"]),
            "finished": Timestamp.of(wording.TIME_LABELS["finished"], None, now, missing=wording.MISSING["unknown"]),
        }
    job = row.result.job
    finished = job.completed_at or job.expired_at
    if job.status == JobStatus.PENDING:
        missing = wording.MISSING["waiting_to_start"]
    elif job.is_active:
        missing = wording.MISSING["not_finished_yet"]
    else:
        missing = wording.MISSING["not_reported"]
    what, who = what_happened(job)
    return {
        "job_id": row.job_id,
        "company": company_name(job.company_id, company_names),
        "company_id": str(job.company_id),
        "status": status_wording(job.status, job.failure_reason_type),
        "what": what,
        "failure_type": job.failure_type_value or "",
        "who": who,
        "finished": Timestamp.of(wording.TIME_LABELS["finished"], finished, now, missing=missing),
        "stale": row.result.source == "stale",
    }


def recent_wording(status: str, failure_type: str = "") -> wording.StatusWording:
    """The badge for a status as the audit trail recorded it."""
    return status_wording(known_or_raw(JobStatus, status), known_or_raw(FailureType, failure_type) or None)


def recent_line(event: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A recent job told apart: its badge, what happened (the failure, or how many entries), and when it
    was created, from what the audit trail recorded when it was looked at."""
    status, failure = event["job_status"], event.get("failure_type") or ""
    what: Text = ""
    if failure:
        kind = known_or_raw(FailureType, failure)
        what = failure_wording(kind, partial=status == JobStatus.COMPLETED_WITH_ERRORS).label
    elif event.get("job_entries") is not None:
        count = event["job_entries"]
        what = wording.ENTRIES_COUNT % {"number": count, "count": number_text(count)}
    created = event.get("job_created_at")
    return {
        "job_id": event["job_id"],
        "wording": recent_wording(status, failure),
        "what": what,
        "created": short_local_text(created, now) if created else "",
        "created_iso": iso_utc(created) if created else "",
        "seen": relative_text(event["created_at"], now),
    }


# --- companies ----------------------------------------------------------------------------


def company_name(company_id: uuid.UUID | str, names: Mapping[str, str] | None = None) -> str:
    """A company's name: the one ``PLEO_COMPANY_LABELS`` gives it, else Pleo's (``names``, from
    ``services.company_names_get``); "" when it has neither."""
    labels: dict[str, str] = settings.PLEO_COMPANY_LABELS
    key = str(company_id).lower()
    return labels.get(key, "") or (names or {}).get(key, "")


# --- the needs-attention list ------------------------------------------------------------------


def short_id(value: uuid.UUID | str) -> str:
    return str(value)[:8]


@dataclass(frozen=True)
class AttentionRow:
    """One job of the list, as the page and the CSV show it."""

    section: str
    job: ExportJob
    status: wording.StatusWording
    what: str  # the failure in plain words, or how an active job is doing
    actor: str  # who must act; "" when nobody needs to
    stuck: bool
    created: Timestamp
    company: str  # the company's name, else its short id
    company_known: bool
    url: str
    job_id: str
    company_id: str

    @property
    def short_id(self) -> str:
        return short_id(self.job_id)

    @property
    def who_acts(self) -> str:
        return str(wording.ATTENTION_ROW["who_acts"]) % {"actor": self.actor}

    @property
    def link_label(self) -> str:
        return str(wording.ATTENTION["open_job"]) % {"id": self.job_id}


@dataclass(frozen=True)
class AttentionSection:
    key: str
    words: wording.SectionWording
    intro: str
    empty: str
    rows: list[AttentionRow]
    shown: bool  # False: the status filter leaves this section out

    @property
    def rows_html(self) -> SafeString:
        return attention_rows_html(self.rows)


SECTION_OF = {"failed": "failed", "completed_with_errors": "partly", "pending": "active", "in_progress": "active"}


def _attention_what(job: ExportJob, now: datetime) -> tuple[str, str, bool]:
    """What happened to ``job`` and who must act, in the list's words; and whether it may be stuck."""
    words = wording.ATTENTION_ROW
    if job.is_active:
        if job.may_be_stuck(now):
            deadline = job.expires_at
            if deadline is not None and deadline <= now:
                what = str(words["stuck_overdue"]) % {"duration": duration_words((now - deadline).total_seconds())}
            else:
                quiet = (now - job.expiry_base).total_seconds()
                what = str(words["stuck_quiet"]) % {"duration": duration_words(quiet)}
            return what, str(wording.ACTORS["integration_owner"]), True
        expiry = _expiry(job, now)
        return (
            str(words["active_ok"])
            % {"relative": relative_text(job.expiry_base, now), "expiry": expiry.text if expiry else ""},
            "",
            False,
        )
    if job.status == JobStatus.COMPLETED_WITH_ERRORS and not job.has_failure:
        return str(words["no_reason"]), "", False
    failure = failure_words(job)[0]
    return str(failure.label), str(failure.actor_label), False


def _local_minutes(moment: datetime) -> str:
    """``3 Nov 2026, 14:02 CET``: a list's times, to the minute."""
    local = dj_timezone.localtime(moment)
    return f"{l10n.date_time(local, seconds=False)} {local.tzname() or zone_name()}"


_SOME_ID = "00000000-0000-0000-0000-000000000000"


def attention_row(
    job: ExportJob, now: datetime, *, job_url: str | None = None, company_names: Mapping[str, str] | None = None
) -> AttentionRow:
    """One job as the list shows it; ``job_url`` is the job page's URL with ``{}`` for the id (from
    ``attention_sections``, which reverses it once for all rows); ``company_names``: Pleo's names."""
    what, actor, stuck = _attention_what(job, now)
    job_id, company_id = str(job.id), str(job.company_id)
    name = company_name(company_id, company_names)
    created = job.created_at
    return AttentionRow(
        section=SECTION_OF.get(job.status_value, ""),
        job=job,
        status=status_wording(job.status, job.failure_reason_type),
        what=what,
        actor=actor,
        stuck=stuck,
        created=Timestamp(
            label=wording.TIME_LABELS["created"],
            iso=iso_utc(created),
            display=_local_minutes(created),
            utc=utc_text(created),
            relative=relative_text(created, now),
        ),
        company=name or short_id(company_id),
        company_known=bool(name),
        url=(job_url or reverse("job_detail", args=[_SOME_ID]).replace(_SOME_ID, "{}")).format(job_id),
        job_id=job_id,
        company_id=company_id,
    )


def attention_rows_html(rows: Iterable[AttentionRow]) -> SafeString:
    """The ``<tr>`` of each row, every value escaped.

    Built here rather than in the template because of the numbers: 500 rows through the template engine
    take about 70 ms, which a cold list pays on top of Pleo's pages; this takes a few. The markup is the
    one ``_attention_sections.html`` describes (cells labelled for phones, as the other tables).
    """
    words = {key: escape(str(value)) for key, value in wording.ATTENTION.items()}
    out = []
    for row in rows:
        job = row.job
        status = row.status
        what = f"<strong>{escape(row.what)}</strong>" if row.stuck else escape(row.what)
        if row.actor:
            what += f'<br><span class="hint">{escape(row.who_acts)}</span>'
        company_id = escape(row.company_id)
        company = (
            f'<span translate="no" title="{company_id}">{escape(row.company)}</span>'
            if row.company_known
            else f'<code title="{company_id}">{escape(row.company)}…</code>'
        )
        created = row.created
        out.append(
            ('<tr class="stuck">' if row.stuck else "<tr>")
            + f'<td data-label="{words["col_status"]}"><span class="badge badge-{escape(status.tone)}">'
            f'<span class="badge-icon" aria-hidden="true">{escape(status.icon)}</span> {escape(str(status.label))}'
            "</span></td>"
            f'<td data-label="{words["col_what"]}">{what}</td>'
            f'<td data-label="{words["col_created"]}"><time datetime="{escape(created.iso)}" '
            f'title="{escape(created.utc)}" data-local>{escape(created.display)}</time>'
            f'<br><span class="relative">{escape(created.relative)}</span></td>'
            f'<td data-label="{words["col_entries"]}" class="number">{escape(number_text(job.number_of_items))}</td>'
            f'<td data-label="{words["col_company"]}">{company}</td>'
            f'<td data-label="{words["col_job"]}"><a href="{escape(row.url)}" aria-label="{escape(row.link_label)}">'
            f"<code>{escape(row.short_id)}…</code></a></td>"
            "</tr>"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


def attention_sections(
    jobs: Iterable[ExportJob], filters: Filters, *, now: datetime, company_names: Mapping[str, str] | None = None
) -> list[AttentionSection]:
    """The three sections in order, each with its rows: failed and partly exported newest first; active
    jobs that may be stuck first, then the others (the answer is already newest first)."""
    rows: dict[str, list[AttentionRow]] = {"failed": [], "partly": [], "active": []}
    job_url = reverse("job_detail", args=[_SOME_ID]).replace(_SOME_ID, "{}")
    for job in jobs:
        row = attention_row(job, now, job_url=job_url, company_names=company_names)
        if row.section:
            rows[row.section].append(row)
    rows["active"].sort(key=lambda row: not row.stuck)  # stable: newest first within each group
    period = str(wording.PERIOD_PHRASES[filters.period])
    wanted = {SECTION_OF[status] for status in filters.statuses}
    return [
        AttentionSection(
            key=key,
            words=words,
            intro=str(words.intro) % {"period": period},
            empty=str(words.empty) % {"period": period},
            rows=rows[key],
            shown=key in wanted,
        )
        for key, words in wording.SECTIONS.items()
    ]


def attention_companies(
    jobs: Iterable[ExportJob], selected: uuid.UUID | None, company_names: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """The company filter's choices: every labelled company, every company seen in the answer and the
    one selected, by name (unnamed ones by id, after the named)."""
    found: dict[str, str] = dict(settings.PLEO_COMPANY_LABELS)
    for company in [job.company_id for job in jobs] + ([selected] if selected else []):
        found.setdefault(str(company), company_name(company, company_names))
    named = sorted(((key, name) for key, name in found.items() if name), key=lambda choice: choice[1].lower())
    unknown = str(wording.ATTENTION_ROW["unknown_company"])
    return named + [(key, unknown % {"id": key}) for key in sorted(key for key, name in found.items() if not name)]


def attention_notices(result: ListResult) -> list[str]:
    """What the page must say about how complete the list is."""
    jobs = result.jobs
    notices = []
    if jobs.capped:
        notices.append(wording.attention_capped(len(jobs.jobs), sorted_by_pleo=jobs.sorted_by_pleo))
    if jobs.cut_short:
        notices.append(wording.attention_cut_short(jobs.cut_short, jobs.pages))
    if jobs.skipped:
        notices.append(wording.attention_skipped(jobs.skipped))
    return notices


def attention_freshness(result: ListResult, now: datetime) -> dict[str, str]:
    fetched = Timestamp.of(wording.TIME_LABELS["fetched"], result.fetched_at, now)
    time_text = local_text(result.fetched_at, with_date=False)
    return {
        "iso": fetched.iso,
        "text": str(wording.ATTENTION_FRESHNESS[result.source]) % {"time": time_text, "relative": fetched.relative},
        "stale_banner": str(wording.STALE_BANNER) % {"time": time_text, "relative": fetched.relative},
    }


def attention_csv_rows(sections: Iterable[AttentionSection], base_url: str) -> Iterator[list[object]]:
    """One row per job the page shows, in the page's order; times in UTC ISO 8601."""
    yes, no = str(wording.ATTENTION_ROW["yes"]), str(wording.ATTENTION_ROW["no"])
    for section in sections:
        if not section.shown:
            continue
        for row in section.rows:
            job = row.job
            yield [
                str(section.words.title),
                row.job_id,
                str(row.status.label),
                job.status_value,
                row.what,
                job.failure_type_value or "",
                row.actor,
                yes if row.stuck else no,
                iso_utc(job.created_at),
                iso_utc(job.last_updated_at) if job.last_updated_at else "",
                job.number_of_items,
                row.company if row.company_known else "",
                row.company_id,
                base_url + row.url,
            ]
