"""A job's entries as the page shows them: counts by status, the failed entries grouped by what went wrong
(each group with who acts), one page of them, and what each failed entry is (Pleo's accounting entry)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.utils import timezone as dj_timezone

from .. import l10n, policy, wording
from ..pleo.models import AccountingEntry, ExportJob, ExportJobItem, FailureType, ItemFailureType, ItemStatus, JobStatus
from ..services.entries import ENTRIES_PER_PAGE, ITEM_STATUSES, EntryDetails, ItemsSummary
from ..wording import item_failure_wording
from .times import iso_utc, number_text, zone_name

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text


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
    actor: str  # who fixes it (verdict.PARTIES); "" once Pleo says the entry no longer exists
    actor_label: Text
    reason: str
    external_url: str
    details: EntryView | None = None
    gone: bool = False  # Pleo says the entry no longer exists: nobody acts on it
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
        actor=words.actor,
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
        elif row.entry_id in details.gone:  # nobody can act on an entry that no longer exists
            rows.append(replace(row, gone=True, actor="", actor_label=wording.ENTRY_DETAILS["nobody_gone"]))
        else:
            rows.append(replace(row, waiting=details.problem != "refused"))
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
    notes = []
    if job.status == JobStatus.FAILED:
        if summary.failed:
            notes.append(wording.ENTRIES_OWN_FAILURES)
        elif job.failure_reason_type == FailureType.CANCELED_BY_USER:
            notes.append(wording.ENTRIES_CANCELLED)
        else:
            notes.append(wording.ENTRIES_ABANDONED)
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


def entries_error_notice(error: Exception) -> str:
    problem = str(policy.policy_of(error).words.title).lower()
    return str(wording.ENTRIES_FAILED_NOTICE) % {"problem": problem}
