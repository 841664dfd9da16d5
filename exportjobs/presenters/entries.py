"""A job's entries as the page shows them: counts by status, the failed entries grouped by what went wrong
(each group with who acts), one page of them, and what each failed entry is (Pleo's accounting entry)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone as dj_timezone

from .. import l10n, policy, wording
from ..pleo.models import AccountingEntry, ExportJob, ExportJobItem, FailureType, ItemFailureType, ItemStatus, JobStatus
from ..services.entries import ENTRIES_PER_PAGE, ITEM_STATUSES, EntryDetails, ItemsSummary
from ..wording import item_failure_wording
from .times import number_text

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text


@dataclass(frozen=True)
class EntryView:
    """What a failed entry is, as a person finds it in Pleo or on a receipt."""

    kind: str  # "Card purchase (online)"
    when: str  # the day (Pleo's value is a day, not a moment), in the desk's zone and the reader's language
    when_iso: str  # that day, 2026-11-28
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
        when=l10n.date(local),
        when_iso=local.date().isoformat(),
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
    whom = settings.DESK_CONTACT or str(wording.ADMINISTRATOR)
    notice = (
        str(wording.ENTRY_NOTICES[details.problem]) % {"whom": whom} if details.problem in wording.ENTRY_NOTICES else ""
    )
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
        "failed_listed": len(summary.failed),  # what the file of failed entries holds
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
    """Why the entries could not be loaded: the error's own title as it is written (never re-cased)."""
    return str(wording.ENTRIES_FAILED_NOTICE) % {"problem": policy.policy_of(error).words.title}


# --- money that did not reach the books ------------------------------------------------------------------


@dataclass(frozen=True)
class NotBooked:
    """What a job's failed entries amount to: the total per currency paid, of the entries whose amount the
    desk holds; how many entries that is, how many amounts it does not hold (yet), and whether Pleo has
    more failed entries than the desk lists. Entries Pleo says no longer exist are left out."""

    entries: int
    totals: tuple[tuple[str, int], ...]  # (currency, minors), by currency code
    unknown: int
    more: bool

    @property
    def complete(self) -> bool:
        return not self.unknown and not self.more

    @property
    def amounts(self) -> str:
        """``DKK 12,430.50 and EUR 84.50``, in the reader's language."""
        texts = [l10n.money(minors, currency) for currency, minors in self.totals]
        if len(texts) <= 1:
            return "".join(texts)
        return str(wording.PARTIES_JOINED) % {"some": ", ".join(texts[:-1]), "last": texts[-1]}

    @property
    def text(self) -> str:
        """``DKK 12,430.50 and EUR 84.50 (4 entries)``, or ``at least …`` with what is missing."""
        return wording.not_booked_text(
            amounts=self.amounts,
            count=self.entries,
            count_text=number_text(self.entries),
            unknown=self.unknown,
            unknown_text=number_text(self.unknown),
            more=self.more,
        )


def not_booked(
    failed: Iterable[ExportJobItem],
    held: Mapping[str, AccountingEntry | None],
    *,
    gone: Collection[str] = (),
    more: bool = False,
) -> NotBooked | None:
    """The money of ``failed`` entries not booked, from the details ``held`` (``entry_details_held``: None
    for an entry Pleo says no longer exists); None when no failed entry needs booking."""
    totals: Counter[str] = Counter()
    entries = unknown = 0
    for item in failed:
        entry_id = str(item.accounting_entry_id)
        if entry_id in gone or (entry_id in held and held[entry_id] is None):
            continue  # it no longer exists: nothing to book
        entries += 1
        entry = held.get(entry_id)
        if entry is None:
            unknown += 1
            continue
        paid = entry.transaction_value
        totals[paid.currency.upper()] += paid.minors
    if not entries:
        return None
    return NotBooked(entries=entries, totals=tuple(sorted(totals.items())), unknown=unknown, more=more)


# --- the file of a job's failed entries ------------------------------------------------------------------


def _entry_cells(entry: AccountingEntry, failure_type: str) -> list[object]:
    """Kind, date, amount, currency, booked amount and currency, note, category, receipt, review."""
    view = entry_view(entry, failure_type=failure_type)
    paid, booked = entry.transaction_value, entry.total_bill_value
    return [
        view.kind,
        view.when_iso,  # the day, as a spreadsheet reads a date
        l10n.plain_amount(paid.minors, paid.currency),
        paid.currency.upper(),
        l10n.plain_amount(booked.minors, booked.currency) if booked else "",
        booked.currency.upper() if booked else "",
        view.note,
        view.category or view.category_words,
        view.receipt_text,
        view.review,
    ]


def entries_csv_rows(summary: ItemsSummary, details: EntryDetails) -> Iterable[list[object]]:
    """One row per failed entry the desk holds (in Pleo's order), who acts named as a file read elsewhere
    names them; an entry without details says why; a last row says so when Pleo has more."""
    without = str(wording.ENTRY_DETAILS["waiting"])
    for item in summary.failed:
        row = _failed_entry(item)
        entry = details.found.get(row.entry_id)
        gone = row.entry_id in details.gone
        who = wording.ENTRY_DETAILS["nobody_gone"] if gone else wording.PARTY_NAMES.get(row.actor, "")
        if entry is not None:
            cells = _entry_cells(entry, row.type_value)
        else:
            cells = [str(wording.ENTRY_DETAILS["gone"]) if gone else without, *[""] * 9]
        yield [row.label, row.type_value, who, *cells, row.reason, row.entry_id, row.external_url]
    if summary.more:
        yield [str(wording.ENTRIES_MORE) % {"shown": number_text(len(summary.failed))}]
