"""Pleo's export job, its items, and pages of either, as typed, frozen values (pydantic v2, strict).

Field names follow Pleo's camelCase through aliases. Every time is an aware UTC datetime, every id a
``UUID``; ``expiresIn`` must fit Pleo's ``int32``. Pleo's enums grow between API versions, so an enum
field holds either a known member or the raw string Pleo sent (``known_or_raw``): nothing here fails
on a value Pleo adds later. A payload that does not fit raises ``PleoBadResponse`` naming the field.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, PrivateAttr, ValidationError
from pydantic.alias_generators import to_camel

from .errors import PleoBadResponse

INT32 = 2**31


class JobStatus(str, enum.Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"


ACTIVE_STATUSES = frozenset({JobStatus.PENDING, JobStatus.IN_PROGRESS})
FINAL_STATUSES = frozenset({JobStatus.FAILED, JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS})
STUCK_FRACTION = 0.5  # an active job untouched for half its expiry window may be stuck


class FailureType(str, enum.Enum):
    INVALID_CONFIGURATION = "invalid_configuration"
    MISSING_CONFIGURATION = "missing_configuration"
    AUTHENTICATION_FAILURE = "authentication_failure"
    ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE = "accounting_system_authentication_failure"
    PLEO_RATE_LIMIT = "pleo_rate_limit"
    ACCOUNTING_SYSTEM_RATE_LIMIT = "accounting_system_rate_limit"
    SERVICE_UNREACHABLE = "service_unreachable"
    ACCOUNTING_SYSTEM_UNREACHABLE = "accounting_system_unreachable"
    VALIDATION_FAILURE = "validation_failure"
    AUTHORIZATION_FAILURE = "authorization_failure"
    INTEGRATION_UNUSABLE = "integration_unusable"
    JOB_EXPIRED = "job_expired"
    SERVICE_TIMEOUT = "service_timeout"
    ACCOUNTING_SYSTEM_TIMEOUT = "accounting_system_timeout"
    CANCELED_BY_USER = "canceled_by_user"


class ItemStatus(str, enum.Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    SUCCESSFUL = "successful"
    ABANDONED = "abandoned"


class ItemFailureType(str, enum.Enum):
    RECEIPT_UPLOAD_FAILURE = "receipt_upload_failure"
    RECEIPT_DOWNLOAD_FAILURE = "receipt_download_failure"
    RECEIPT_FILE_SIZE_LIMIT_EXCEEDED = "receipt_file_size_limit_exceeded"
    RECEIPT_CONVERSION_FAILURE = "receipt_conversion_failure"
    UNEXPECTED_FAILURE = "unexpected_failure"
    INVALID_CONFIGURATION = "invalid_configuration"
    MISSING_CONFIGURATION = "missing_configuration"
    ACCOUNTING_SYSTEM_AUTHENTICATION_FAILURE = "accounting_system_authentication_failure"
    ACCOUNTING_SYSTEM_RATE_LIMIT = "accounting_system_rate_limit"
    ACCOUNTING_SYSTEM_UNREACHABLE = "accounting_system_unreachable"
    VALIDATION_FAILURE = "validation_failure"
    ACCOUNTING_SYSTEM_VALIDATION_FAILURE = "accounting_system_validation_failure"
    AUTHORIZATION_FAILURE = "authorization_failure"
    ACCOUNTING_SYSTEM_TIMEOUT = "accounting_system_timeout"
    VENDOR_UNKNOWN = "vendor_unknown"
    ACCOUNT_UNKNOWN = "account_unknown"
    TAX_CODE_UNKNOWN = "tax_code_unknown"
    TAG_UNKNOWN = "tag_unknown"


E = TypeVar("E", bound=enum.Enum)


def known_or_raw(enum_cls: type[E], value: str) -> E | str:
    """The member of ``enum_cls`` for ``value``, or ``value`` itself when Pleo sent something new."""
    try:
        return enum_cls(value)
    except ValueError:
        return value


def enum_value(value: enum.Enum | str) -> str:
    """The string Pleo sent, whether or not the desk knows it."""
    return str(value.value) if isinstance(value, enum.Enum) else value


# --- field types ------------------------------------------------------------------------


def _known_or_raw_validator(enum_cls: type[E]) -> Callable[[object], E | str]:
    def validate(value: object) -> E | str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        return known_or_raw(enum_cls, value)

    return validate


def _uuid(value: object) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a UUID string, got {type(value).__name__}")
    return uuid.UUID(value)


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant as an aware UTC datetime; a time without offset is taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _instant(value: object) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    if not isinstance(value, str):
        raise ValueError(f"expected a date-time string, got {type(value).__name__}")
    try:
        return parse_instant(value)
    except (ValueError, OverflowError):
        raise ValueError("not a date and time") from None


def _pending_when_null(value: object) -> object:
    # Pleo leaves an item's status null until someone tries to process it: that is "pending".
    return "pending" if value is None else value


PleoUUID = Annotated[uuid.UUID, PlainValidator(_uuid)]
Instant = Annotated[datetime, PlainValidator(_instant)]
Int32 = Annotated[int, Field(ge=-INT32, le=INT32 - 1)]
JobStatusValue = Annotated[JobStatus | str, PlainValidator(_known_or_raw_validator(JobStatus))]
FailureTypeValue = Annotated[FailureType | str, PlainValidator(_known_or_raw_validator(FailureType))]
ItemStatusValue = Annotated[
    ItemStatus | str, PlainValidator(_known_or_raw_validator(ItemStatus)), BeforeValidator(_pending_when_null)
]
ItemFailureTypeValue = Annotated[ItemFailureType | str, PlainValidator(_known_or_raw_validator(ItemFailureType))]


class PleoModel(BaseModel):
    """Strict, frozen, camelCase on the wire; fields Pleo adds later are ignored."""

    model_config = ConfigDict(strict=True, frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")


M = TypeVar("M", bound=BaseModel)
K = TypeVar("K", bound="KeptAsSent")


def validate(model: type[M], payload: object, *, what: str) -> M:
    """``model`` built from ``payload``, or ``PleoBadResponse`` naming the first field that does not fit."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise bad_response(error, what=what) from None


def bad_response(error: ValidationError, *, what: str) -> PleoBadResponse:
    first = error.errors(include_url=False, include_input=False)[0]
    names = [part for part in first["loc"] if isinstance(part, str)]
    if not names:
        return PleoBadResponse(f"Pleo's answer is not a JSON object of the expected shape ({what}).")
    field = names[-1]
    if first["type"] == "missing":
        return PleoBadResponse(f"Pleo's answer has no {field!r} in the {what}.")
    return PleoBadResponse(f"Pleo's answer has {field!r} that does not fit the contract in the {what}: {first['msg']}.")


# --- the export job ---------------------------------------------------------------------


class KeptAsSent(PleoModel):
    """A model that keeps Pleo's object as it came: to show (raw JSON) and to cache without a round trip."""

    WHAT: ClassVar[str]  # what the object is, in a bad answer's message

    _payload: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_payload(cls: type[K], data: object) -> K:
        """The object in Pleo's ``data``, validated, with the object kept as sent."""
        model = validate(cls, data, what=cls.WHAT)
        model._payload = dict(data) if isinstance(data, Mapping) else {}
        return model

    @property
    def payload(self) -> dict[str, Any]:
        """Pleo's object, as sent."""
        return self._payload


class ExportJob(KeptAsSent):
    """One export job exactly as Pleo described it, with types checked."""

    id: PleoUUID
    company_id: PleoUUID
    status: JobStatusValue
    created_at: Instant
    expires_in: Int32
    is_interactive: bool
    number_of_items: int
    vendor_based_bookkeeping: bool
    created_by: PleoUUID | None = None
    started_at: Instant | None = None
    last_updated_at: Instant | None = None
    completed_at: Instant | None = None
    expired_at: Instant | None = None
    failure_reason: str | None = None
    failure_reason_type: FailureTypeValue | None = None

    WHAT = "export job"

    @property
    def raw_json(self) -> str:
        return json.dumps(self._payload, indent=2, sort_keys=True, ensure_ascii=False)

    @property
    def status_value(self) -> str:
        return enum_value(self.status)

    @property
    def status_known(self) -> bool:
        return isinstance(self.status, JobStatus)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def failure_type_value(self) -> str | None:
        return None if self.failure_reason_type is None else enum_value(self.failure_reason_type)

    @property
    def has_failure(self) -> bool:
        return bool(self.failure_reason_type) or bool(self.failure_reason)

    @property
    def expiry_base(self) -> datetime:
        """The instant Pleo counts ``expiresIn`` from: the last update, else creation."""
        return self.last_updated_at or self.created_at

    @property
    def expires_at(self) -> datetime | None:
        """When the job expires if nothing happens; None when Pleo's numbers leave the calendar."""
        try:
            return self.expiry_base + timedelta(seconds=self.expires_in)
        except OverflowError:
            return None

    def may_be_stuck(self, now: datetime) -> bool:
        """An active job past its expiry, or quiet for half its ``expiresIn`` (at least a minute), may be stuck."""
        if not self.is_active:
            return False
        deadline = self.expires_at
        if deadline is not None and deadline <= now:
            return True
        return (now - self.expiry_base).total_seconds() >= max(60, self.expires_in * STUCK_FRACTION)


class _Envelope(PleoModel):
    data: dict[str, Any]


def parse_data_response(model: type[K], payload: object) -> K:
    """The object in a ``{"data": {...}}`` answer (a job, an accounting entry, a company)."""
    return model.from_payload(validate(_Envelope, payload, what="answer").data)


def parse_job_response(payload: object) -> ExportJob:
    """The job in a ``{"data": {...}}`` answer."""
    return parse_data_response(ExportJob, payload)


# --- items ------------------------------------------------------------------------------


class ExportJobItem(KeptAsSent):
    """One accounting entry inside an export job."""

    accounting_entry_id: PleoUUID
    export_job_id: PleoUUID
    status: ItemStatusValue = ItemStatus.PENDING
    exported_at: Instant | None = None
    external_id: str | None = None
    external_url: str | None = None
    failure_reason: str | None = None
    failure_reason_type: ItemFailureTypeValue | None = None

    WHAT = "export job item"

    @property
    def status_value(self) -> str:
        return enum_value(self.status)

    @property
    def failure_type_value(self) -> str | None:
        return None if self.failure_reason_type is None else enum_value(self.failure_reason_type)


CURSOR = re.compile(r"[A-Z2-7=~]{1,200}\Z")  # Pleo's cursors (``\Z``: not even a trailing newline more)


class CursorPageInfo(PleoModel):
    has_next_page: bool
    end_cursor: str | None = None
    total: int | None = None


class ItemPage(PleoModel):
    """One page of a job's items, with the cursor to the next one."""

    data: Annotated[tuple[ExportJobItem, ...], Field(strict=False)]
    pagination: CursorPageInfo

    _payload: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: object) -> ItemPage:
        """A ``{"data": [...], "pagination": {...}}`` answer; keeps it to cache as it came."""
        page = validate(cls, payload, what="page of export job items")
        page._payload = dict(payload) if isinstance(payload, Mapping) else {}
        raw_items = page._payload.get("data")
        if isinstance(raw_items, list):
            for item, raw in zip(page.data, raw_items, strict=False):
                item._payload = dict(raw) if isinstance(raw, Mapping) else {}
        return page

    @property
    def payload(self) -> dict[str, Any]:
        return self._payload

    @property
    def items(self) -> tuple[ExportJobItem, ...]:
        return self.data

    @property
    def has_next_page(self) -> bool:
        return self.pagination.has_next_page

    @property
    def end_cursor(self) -> str | None:
        return self.pagination.end_cursor

    @property
    def total(self) -> int | None:
        return self.pagination.total


# --- pages of jobs (the list endpoint) -----------------------------------------------------


class _JobListEnvelope(PleoModel):
    data: Annotated[list[Any], Field(strict=False)]
    pagination: CursorPageInfo


class JobPage(PleoModel):
    """One page of ``GET /v2/export-jobs``: the jobs that parsed, how many did not, and the cursor on.

    A job in ``data`` that does not fit the contract is counted in ``skipped`` instead of spoiling
    the page; a page whose envelope does not fit raises ``PleoBadResponse``.
    """

    jobs: tuple[ExportJob, ...]
    skipped: int = 0
    pagination: CursorPageInfo

    @classmethod
    def from_payload(cls, payload: object) -> JobPage:
        envelope = validate(_JobListEnvelope, payload, what="page of export jobs")
        jobs: list[ExportJob] = []
        skipped = 0
        for data in envelope.data:
            try:
                jobs.append(ExportJob.from_payload(data))
            except PleoBadResponse:
                skipped += 1
        return cls(jobs=tuple(jobs), skipped=skipped, pagination=envelope.pagination)

    @property
    def has_next_page(self) -> bool:
        return self.pagination.has_next_page

    @property
    def end_cursor(self) -> str | None:
        return self.pagination.end_cursor

    @property
    def total(self) -> int | None:
        return self.pagination.total


# --- an accounting entry and a company (what a failed item points at) --------------------------

INT64 = 2**63


class EntryFamily(str, enum.Enum):
    """``family`` of an ``AccountingEntryV1``: what kind of money movement it is."""

    BALANCE_AMENDMENT = "BALANCE_AMENDMENT"
    BILL_INVOICE = "BILL_INVOICE"
    CARD_PURCHASE = "CARD_PURCHASE"
    CASHBACK = "CASHBACK"
    CREDIT_NOTE = "CREDIT_NOTE"
    MILEAGE = "MILEAGE"
    OUT_OF_POCKET = "OUT_OF_POCKET"
    OVERDRAFT = "OVERDRAFT"
    PER_DIEM = "PER_DIEM"
    PLEO_INVOICE = "PLEO_INVOICE"
    REIMBURSEMENT = "REIMBURSEMENT"
    WALLET = "WALLET"
    BILL_INVOICE_PAYMENT = "BILL_INVOICE_PAYMENT"


class EntryStatus(str, enum.Enum):
    DRAFT = "DRAFT"
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    COMPLETED_EXTERNALLY = "COMPLETED_EXTERNALLY"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    ERROR = "ERROR"


class ReviewStatus(str, enum.Enum):
    NOT_OK = "NOT_OK"
    NOT_REQUIRED = "NOT_REQUIRED"
    NOT_SET = "NOT_SET"
    OK = "OK"
    WAITING_FOR_EXPENSE_OWNER = "WAITING_FOR_EXPENSE_OWNER"
    WAITING_FOR_REVIEWER = "WAITING_FOR_REVIEWER"
    WAITING_FOR_COMPANY_REVIEWER = "WAITING_FOR_COMPANY_REVIEWER"
    WAITING_FOR_TEAM_REVIEWER = "WAITING_FOR_TEAM_REVIEWER"
    WAITING_FOR_TAG_REVIEWER = "WAITING_FOR_TAG_REVIEWER"


EntryFamilyValue = Annotated[EntryFamily | str, PlainValidator(_known_or_raw_validator(EntryFamily))]
EntryStatusValue = Annotated[EntryStatus | str, PlainValidator(_known_or_raw_validator(EntryStatus))]
ReviewStatusValue = Annotated[ReviewStatus | str, PlainValidator(_known_or_raw_validator(ReviewStatus))]
CURRENCY = re.compile(r"[A-Za-z]{3}\Z")


def _currency(value: object) -> str:
    if not isinstance(value, str) or not CURRENCY.match(value):
        raise ValueError("expected a three-letter ISO 4217 currency code")
    return value.upper()


class Money(PleoModel):
    """An amount in a currency's smallest unit: ``{"currency": "GBP", "minors": 6580}`` is £65.80."""

    currency: Annotated[str, PlainValidator(_currency)]
    minors: Annotated[int, Field(ge=-INT64, le=INT64 - 1)]


class AccountingEntry(KeptAsSent):
    """The accounting entry behind an export item (``AccountingEntryV1``), the fields the desk shows."""

    id: PleoUUID
    company_id: PleoUUID
    family: EntryFamilyValue
    sub_family: str | None = None
    performed_at: Instant
    transaction_value: Money
    total_bill_value: Money | None = None
    note: str | None = None
    account_code: str | None = None
    receipt_ids: Annotated[tuple[str, ...], Field(strict=False)]
    status: EntryStatusValue
    review_status: ReviewStatusValue

    WHAT = "accounting entry"

    @property
    def family_value(self) -> str:
        return enum_value(self.family)

    @property
    def review_status_value(self) -> str:
        return enum_value(self.review_status)

    @property
    def has_receipt(self) -> bool:
        return bool(self.receipt_ids)


class Company(KeptAsSent):
    """A Pleo company (``ExternalCompanyResponseModel``): its name is what people know it by."""

    id: PleoUUID
    name: str
    registration_number: str | None = None

    WHAT = "company"


def parse_entry_response(payload: object) -> AccountingEntry:
    """The entry in a ``{"data": {...}}`` answer."""
    return parse_data_response(AccountingEntry, payload)


def parse_company_response(payload: object) -> Company:
    """The company in a ``{"data": {...}}`` answer."""
    return parse_data_response(Company, payload)
