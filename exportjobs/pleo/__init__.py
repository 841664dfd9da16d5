"""Everything that knows Pleo: its errors (``errors``), its data (``models``) and HTTP to it (``client``).

A leaf: nothing here imports the rest of the desk. What the desk needs around each call is handed in
(``client.configure``)."""

from .client import PleoClient, configure, get_client
from .errors import (
    NotFound,
    PleoAuthError,
    PleoBadResponse,
    PleoError,
    PleoRateLimited,
    PleoTimeout,
    PleoUnavailable,
)
from .models import (
    AccountingEntry,
    Company,
    EntryFamily,
    EntryStatus,
    ExportJob,
    ExportJobItem,
    FailureType,
    ItemFailureType,
    ItemPage,
    ItemStatus,
    JobPage,
    JobStatus,
    Money,
    ReviewStatus,
    known_or_raw,
)

__all__ = [
    "AccountingEntry",
    "Company",
    "EntryFamily",
    "EntryStatus",
    "ExportJob",
    "ExportJobItem",
    "FailureType",
    "ItemFailureType",
    "ItemPage",
    "ItemStatus",
    "JobPage",
    "JobStatus",
    "Money",
    "NotFound",
    "PleoAuthError",
    "PleoBadResponse",
    "PleoClient",
    "PleoError",
    "PleoRateLimited",
    "PleoTimeout",
    "PleoUnavailable",
    "ReviewStatus",
    "configure",
    "get_client",
    "known_or_raw",
]
