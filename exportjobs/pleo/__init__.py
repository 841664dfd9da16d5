"""Everything that knows Pleo: its errors (``errors``), its data (``models``) and HTTP to it (``client``)."""

from .client import PleoClient, get_client
from .errors import (
    JobNotFound,
    OverBudget,
    PleoAuthError,
    PleoBadResponse,
    PleoBusy,
    PleoError,
    PleoRateLimited,
    PleoTimeout,
    PleoUnavailable,
)
from .models import (
    ExportJob,
    ExportJobItem,
    FailureType,
    ItemFailureType,
    ItemPage,
    ItemStatus,
    JobPage,
    JobStatus,
    known_or_raw,
)

__all__ = [
    "ExportJob",
    "ExportJobItem",
    "FailureType",
    "ItemFailureType",
    "ItemPage",
    "ItemStatus",
    "JobNotFound",
    "JobPage",
    "JobStatus",
    "OverBudget",
    "PleoAuthError",
    "PleoBadResponse",
    "PleoBusy",
    "PleoClient",
    "PleoError",
    "PleoRateLimited",
    "PleoTimeout",
    "PleoUnavailable",
    "get_client",
    "known_or_raw",
]
