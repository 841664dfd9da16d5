"""The export job as the dashboard understands it: typed values and their meaning.

Pleo's enums grow between API versions, so every enum field holds either a known
member or the raw string Pleo sent. Nothing here raises on an unknown value.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta


class JobStatus(str, enum.Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"


ACTIVE_STATUSES = frozenset({JobStatus.PENDING, JobStatus.IN_PROGRESS})
FINAL_STATUSES = frozenset({JobStatus.FAILED, JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_ERRORS})


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


def coerce_enum(enum_cls: type[enum.Enum], value: str) -> enum.Enum | str:
    """The enum member for ``value``, or ``value`` itself when Pleo sent something new."""
    try:
        return enum_cls(value)
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class ExportJob:
    """One export job exactly as Pleo described it, with types checked."""

    id: uuid.UUID
    company_id: uuid.UUID
    status: JobStatus | str
    created_at: datetime
    expires_in: int
    is_interactive: bool
    number_of_items: int
    vendor_based_bookkeeping: bool
    created_by: uuid.UUID | None = None
    started_at: datetime | None = None
    last_updated_at: datetime | None = None
    completed_at: datetime | None = None
    expired_at: datetime | None = None
    failure_reason: str | None = None
    failure_reason_type: FailureType | str | None = None
    raw_json: str = "{}"

    @property
    def status_value(self) -> str:
        return self.status.value if isinstance(self.status, JobStatus) else self.status

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
        value = self.failure_reason_type
        return value.value if isinstance(value, FailureType) else value

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


@dataclass(frozen=True, slots=True)
class ExportJobItem:
    """One accounting entry inside an export job."""

    accounting_entry_id: uuid.UUID
    export_job_id: uuid.UUID
    status: ItemStatus | str
    exported_at: datetime | None = None
    external_id: str | None = None
    external_url: str | None = None
    failure_reason: str | None = None
    failure_reason_type: ItemFailureType | str | None = None

    @property
    def status_value(self) -> str:
        return self.status.value if isinstance(self.status, ItemStatus) else self.status

    @property
    def failure_type_value(self) -> str | None:
        value = self.failure_reason_type
        return value.value if isinstance(value, ItemFailureType) else value


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of a job's items, with the cursor to the next one."""

    items: tuple[ExportJobItem, ...]
    has_next_page: bool
    end_cursor: str | None
    total: int | None
