"""What the desk asks Pleo for, through the cache engine: one module per kind of answer.

``jobs`` (a job, jobs from a list, many at once), ``entries`` (how a job's entries fared and what the failed
ones are), ``companies`` (names), ``attention`` (the list across jobs), ``answers`` (how Pleo's answers are
kept and how a call can fail, for the cache engine) and ``marks`` (what Pleo refused or was too slow for,
remembered for a while). Keyword-only functions named ``<thing>_<action>``; no request objects, no HTTP.
"""

from .answers import page_budget
from .companies import company_names_get, company_names_later
from .entries import ENTRIES_PER_PAGE, ITEM_STATUSES, EntryDetails, ItemsSummary, entry_details_get, job_items_get
from .jobs import BULK_CONCURRENCY, BULK_LIMIT, JobResult, job_cache_keys, job_get, jobs_get_many, jobs_store

__all__ = [
    "BULK_CONCURRENCY",
    "BULK_LIMIT",
    "ENTRIES_PER_PAGE",
    "ITEM_STATUSES",
    "EntryDetails",
    "ItemsSummary",
    "JobResult",
    "company_names_get",
    "company_names_later",
    "entry_details_get",
    "job_cache_keys",
    "job_get",
    "job_items_get",
    "jobs_get_many",
    "jobs_store",
    "page_budget",
]
