"""A job's entries: counts, the failed entries, and what each failed entry is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext, ngettext, ngettext_lazy, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from ..pleo.models import EntryFamily, ReviewStatus

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text  # a string, or a lazily translated one


ENTRIES_UNKNOWN_COUNT = _("unknown")
ENTRIES_RANGE = _("%(first)s–%(last)s of %(of)s")
ENTRIES_MORE = _(
    "Pleo has more failed entries than Export Job Desk lists: these are the first %(shown)s. Fix these and "
    "export again to see the rest."
)
ENTRIES_ABANDONED = _(
    "None of the entries failed on its own: the export stopped before exporting them. Once the problem above "
    "is fixed, pressing Export again in Pleo exports them."
)
ENTRIES_CANCELLED = _(
    "None of the entries failed: the export was cancelled before exporting them. If they still need to reach "
    "the accounting system, press Export again in Pleo."
)
ENTRIES_OWN_FAILURES = _(
    "The export stopped (see above), and Pleo also reports entries that failed on their own before it did: each "
    "row below says what went wrong with that entry and who fixes it."
)
ENTRIES_NONE_FAILED = _("No entry failed.")


ENTRIES_COUNT = ngettext_lazy("%(count)s entry", "%(count)s entries", "number")
# --- what each failed entry is (Pleo's accounting entry) ------------------------------------------

ENTRY_FAMILY: dict[EntryFamily, Text] = {
    EntryFamily.BALANCE_AMENDMENT: _("Balance adjustment"),
    EntryFamily.BILL_INVOICE: _("Supplier invoice"),
    EntryFamily.CARD_PURCHASE: _("Card purchase"),
    EntryFamily.CASHBACK: _("Cashback"),
    EntryFamily.CREDIT_NOTE: _("Credit note"),
    EntryFamily.MILEAGE: _("Mileage"),
    EntryFamily.OUT_OF_POCKET: _("Out-of-pocket expense"),
    EntryFamily.OVERDRAFT: _("Overdraft fee or interest"),
    EntryFamily.PER_DIEM: _("Daily allowance (per diem)"),
    EntryFamily.PLEO_INVOICE: _("Pleo invoice"),
    EntryFamily.REIMBURSEMENT: _("Reimbursement"),
    EntryFamily.WALLET: _("Wallet top-up or withdrawal"),
    EntryFamily.BILL_INVOICE_PAYMENT: _("Supplier invoice paid from the wallet"),
}

# A card purchase's ``subFamily`` in words; other families (and other sub-families) show the family alone.
CARD_PURCHASE_KIND: dict[str, Text] = {
    "ONLINE": _("Card purchase (online)"),
    "IN_STORE": _("Card purchase (in store)"),
    "ATM": _("Cash withdrawal (ATM)"),
}

REVIEW_STATUS: dict[ReviewStatus, Text] = {
    ReviewStatus.NOT_OK: _("Rejected in review"),
    ReviewStatus.NOT_REQUIRED: _("No review needed"),
    ReviewStatus.NOT_SET: _("Not reviewed"),
    ReviewStatus.OK: _("Approved in review"),
    ReviewStatus.WAITING_FOR_EXPENSE_OWNER: _("Waiting for the employee who made the expense"),
    ReviewStatus.WAITING_FOR_REVIEWER: _("Waiting for a reviewer"),
    ReviewStatus.WAITING_FOR_COMPANY_REVIEWER: _("Waiting for the company's reviewer"),
    ReviewStatus.WAITING_FOR_TEAM_REVIEWER: _("Waiting for the team's reviewer"),
    ReviewStatus.WAITING_FOR_TAG_REVIEWER: _("Waiting for the tag's reviewer"),
}


def entry_kind(family: EntryFamily | str, sub_family: str | None) -> str:
    """ "Card purchase (online)", "Mileage", …; a family the desk does not know yet is shown as Pleo sent it."""
    if family == EntryFamily.CARD_PURCHASE and sub_family in CARD_PURCHASE_KIND:
        return str(CARD_PURCHASE_KIND[sub_family])
    if isinstance(family, EntryFamily):
        return str(ENTRY_FAMILY[family])
    return gettext("Pleo's kind “%(kind)s”") % {"kind": family}


def review_status_words(status: ReviewStatus | str) -> str:
    if isinstance(status, ReviewStatus):
        return str(REVIEW_STATUS[status])
    return gettext("Review status “%(status)s”") % {"status": status}


ENTRY_DETAILS: dict[str, Text] = {
    "booked": _("Amount booked"),
    "booked_hint": _("in the company's currency"),
    "no_note": _("No note"),
    "whole_note": _("Show the whole note"),
    "category": _("Category (account)"),
    "no_category": _("No category chosen"),
    "unknown_category": _("“I don't know” was chosen"),
    "receipt": _("Receipt"),
    "review": _("Review"),
    "entry_id": _("Pleo accounting entry ID"),
    "copy": _("Copy"),
    "gone": _("This entry no longer exists in Pleo."),
    "nobody_gone": _("Nobody: the entry no longer exists in Pleo"),
    "waiting": _("Details not available yet."),
}


def receipt_words(count: int) -> str:
    """ "1 receipt attached", "No receipt attached"."""
    if count == 0:
        return gettext("No receipt attached")
    return ngettext("%(count)s receipt attached", "%(count)s receipts attached", count) % {"count": count}


# Why failed entries are listed without what they are: one notice per page, keyed by the problem. Each says
# what the reader can do, and whom to ask (``%(whom)s``: DESK_CONTACT, else Export Job Desk's administrator).
ENTRY_NOTICES: dict[str, Text] = {
    "refused": _(
        "Pleo does not let Export Job Desk see what these entries are, so they are listed without their kind, "
        "amount and note. Open them in Pleo to see those, and ask %(whom)s to let Export Job Desk read accounting "
        "entries in Pleo."
    ),
    "over_budget": _(
        "You have opened many jobs in the last few minutes, so the entries are listed without their details for "
        "now. Open this page again in a few minutes to see them."
    ),
    "busy": _(
        "Export Job Desk is busy asking Pleo for other people, so the entries are listed without their details. "
        "Open this page again in a minute to see them."
    ),
    "from_link": _(
        "This page was opened from a link on another site, so Export Job Desk did not ask Pleo what these "
        "entries are. Use “Show the whole page” above to see them."
    ),
    "unavailable": _(
        "Pleo could not say what these entries are right now, so some are listed without their details. Open "
        "this page again in a few minutes; if it lasts, tell %(whom)s."
    ),
    "timeout": _(
        "Pleo took too long to say what some entries are, so they are listed without their details. They will "
        "show when you open this page again."
    ),
}
# Whom to ask when DESK_CONTACT names nobody, inside a sentence.
ADMINISTRATOR = pgettext_lazy("whom to ask, inside a sentence", "Export Job Desk's administrator")


# --- money that did not reach the books -----------------------------------------------------------

NOT_BOOKED_LABEL = _("Not booked")


def not_booked_text(*, amounts: str, count: int, count_text: str, unknown: int, unknown_text: str, more: bool) -> str:
    """What the failed entries of a job amount to: "DKK 12,430.50 and EUR 84.50 (4 entries)"; "at least …"
    with how many amounts are not known yet; only the count when no amount is known. The numbers come
    written the reader's way (``count_text``, ``unknown_text``); ``count`` and ``unknown`` choose the plural."""
    entries = ngettext("%(count)s entry", "%(count)s entries", count) % {"count": count_text}
    if not amounts:
        return gettext("%(counted)s; their amounts are not known yet") % {"counted": entries}
    parts = [entries]
    if unknown:
        parts.append(
            ngettext(
                "the amount of %(count)s entry is not known yet",
                "the amounts of %(count)s entries are not known yet",
                unknown,
            )
            % {"count": unknown_text}
        )
    if more:
        parts.append(gettext("Pleo has more failed entries than Export Job Desk lists"))
    if unknown or more:
        amounts = gettext("at least %(amounts)s") % {"amounts": amounts}
    return gettext("%(amounts)s (%(details)s)") % {"amounts": amounts, "details": "; ".join(parts)}


# The file of a job's failed entries (``/jobs/<id>/entries.csv``): its columns, in order.
ENTRIES_CSV_HEADER: tuple[Text, ...] = (
    _("What went wrong"),
    _("Failure type (Pleo's value)"),
    _("Who acts"),
    _("Kind"),
    _("Date"),
    _("Amount"),
    _("Currency"),
    _("Amount booked"),
    _("Currency booked"),
    _("Note"),
    _("Category (account)"),
    _("Receipt"),
    _("Review"),
    _("Message from the integration"),
    _("Pleo accounting entry ID"),
    _("Link in the accounting system"),
)
