"""Many jobs at once (the bulk table): every row with the same columns, each job's verdict in words."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .. import policy, wording
from ..pleo.models import JobStatus
from ..services.jobs import BulkRow
from ..verdict import EntriesKnown, verdict_of
from .companies import company_name
from .job import end_label
from .times import Timestamp
from .verdicts import badge, verdict_words


def bulk_row(
    row: BulkRow,
    *,
    now: datetime,
    company_names: Mapping[str, str] | None = None,
    known: Mapping[uuid.UUID, EntriesKnown] | None = None,
) -> dict[str, Any]:
    """One row of the bulk table: its status badge, what happened and who acts (the job's verdict, with its
    failed entries when the desk has them, ``known``), and how it ended; a job Pleo gave no answer about
    says why, and who acts on that."""
    if row.result is None:
        rule = policy.policy_of(row.error) if row.error is not None else policy.GENERIC
        return {
            "job_id": row.job_id,
            "error": rule.words,
            "status": wording.BULK_NO_STATUS,
            "what": rule.words.title,
            "who": rule.bulk_who,
            "state": "",
            "parties": "",
            "ended": Timestamp.of(wording.TIME_LABELS["finished"], None, now, missing=wording.MISSING["unknown"]),
        }
    job = row.result.value
    verdict = verdict_of(job, now=now, entries=(known or {}).get(job.id))
    words = verdict_words(verdict, job, now)
    label = end_label(verdict)
    if verdict.end is not None:
        missing = wording.MISSING["not_reported"]
    else:
        missing = wording.MISSING["waiting_to_start" if job.status == JobStatus.PENDING else "not_finished_yet"]
    return {
        "job_id": row.job_id,
        "company": company_name(job.company_id, company_names),
        "company_id": str(job.company_id),
        "status": badge(verdict, job),
        "what": words.what,
        "failure_type": job.failure_type_value or "" if words.panel is not None else "",
        "who": words.who,
        "state": verdict.state.value,
        "parties": words.party_keys,
        "ended": Timestamp.of(label, verdict.end.when if verdict.end else None, now, missing=missing),
        "stale": row.result.source == "stale",
    }
