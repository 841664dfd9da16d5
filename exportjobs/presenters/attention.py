"""The needs-attention list as the page and its CSV show it: a section per state (failed, cancelled, partly
exported, active and possibly stuck), each job's row with its verdict in words."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone as dj_timezone

from .. import policy, wording
from ..pleo.models import AccountingEntry, ExportJob
from ..services.attention import Filters, ListResult
from ..verdict import ACTIVE_STATES, EntriesKnown, State, verdict_of
from ..wording import duration_words
from .companies import company_name, short_id
from .entries import NotBooked, not_booked
from .job import entries_text
from .times import Timestamp, iso_utc, local_minutes, local_text, relative_text, utc_text, zone_name
from .verdicts import VerdictWords, badge, verdict_words


@dataclass(frozen=True)
class AttentionRow:
    """One job of the list, as the page and the CSV show it."""

    section: str
    job: ExportJob
    status: wording.StatusWording  # the badge
    words: VerdictWords  # the verdict: state, what happened, who acts
    what: str  # what happened; for a job running as it should, when it last moved and when it expires
    created: Timestamp
    company: str  # the company's name, else its short id
    company_known: bool
    url: str
    job_id: str
    company_id: str
    not_booked: NotBooked | None = None  # the failed entries' money, when the desk holds them
    failed: int | None = None  # failed entries the desk holds (None: it holds none for this job)

    @property
    def stuck(self) -> bool:
        return self.words.verdict.state in (State.POSSIBLY_STUCK, State.OVERDUE)

    @property
    def short_id(self) -> str:
        return short_id(self.job_id)

    @property
    def entries(self) -> str:
        return entries_text(self.words.verdict.entries)

    @property
    def who_acts(self) -> str:
        return str(wording.ATTENTION_ROW["who_acts"]) % {"actor": self.words.who}

    @property
    def not_booked_line(self) -> str:
        """``Not booked: DKK 450.00 (4 entries)``, or "" when the desk holds no failed entry of the job."""
        if self.not_booked is None:
            return ""
        return str(wording.LABEL_VALUE % {"label": wording.NOT_BOOKED_LABEL, "value": self.not_booked.text})

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


def section_of(state: State) -> str:
    """The list's section for a verdict's state ("" for a job the list does not show)."""
    if state in ACTIVE_STATES:
        return "active"
    return {State.FAILED: "failed", State.CANCELLED: "cancelled", State.PARTLY_EXPORTED: "partly"}.get(state, "")


# The section each status filter value shows.
SECTION_OF_FILTER = {
    "failed": "failed",
    "cancelled": "cancelled",
    "completed_with_errors": "partly",
    "pending": "active",
    "in_progress": "active",
}
_SOME_ID = "00000000-0000-0000-0000-000000000000"


def attention_row(
    job: ExportJob,
    now: datetime,
    *,
    job_url: str | None = None,
    company_names: Mapping[str, str] | None = None,
    known: Mapping[uuid.UUID, EntriesKnown] | None = None,
    held: Mapping[str, AccountingEntry | None] | None = None,
) -> AttentionRow:
    """One job as the list shows it; ``job_url`` is the job page's URL with ``{}`` for the id (from
    ``attention_sections``, which reverses it once for all rows); ``company_names``: Pleo's names;
    ``known``: the failed entries the desk holds, by job; ``held``: the details it holds of them."""
    failed = (known or {}).get(job.id)
    verdict = verdict_of(job, now=now, entries=failed)
    words = verdict_words(verdict, job, now)
    job_id, company_id = str(job.id), str(job.company_id)
    name = company_name(company_id, company_names)
    created = job.created_at
    what = words.what
    if verdict.state in (State.WAITING, State.EXPORTING) and job.expires_at is not None:
        expiry = str(wording.EXPIRES_IN) % {"duration": duration_words((job.expires_at - now).total_seconds())}
        what = str(wording.ATTENTION_ROW["active_ok"]) % {
            "relative": relative_text(job.expiry_base, now),
            "expiry": expiry,
        }
    return AttentionRow(
        section=section_of(verdict.state),
        job=job,
        status=badge(verdict, job),
        words=words,
        what=what,
        created=Timestamp(
            label=wording.TIME_LABELS["created"],
            iso=iso_utc(created),
            display=local_minutes(created),
            utc=utc_text(created),
            relative=relative_text(created, now),
        ),
        company=name or short_id(company_id),
        company_known=bool(name),
        url=(job_url or reverse("job_detail", args=[_SOME_ID]).replace(_SOME_ID, "{}")).format(job_id),
        job_id=job_id,
        company_id=company_id,
        not_booked=not_booked(failed.failed, held or {}, gone=failed.gone, more=failed.more) if failed else None,
        failed=len(failed.failed) if failed else None,
    )


def attention_sections(
    jobs: Iterable[ExportJob],
    filters: Filters,
    *,
    now: datetime,
    company_names: Mapping[str, str] | None = None,
    known: Mapping[uuid.UUID, EntriesKnown] | None = None,
    held: Mapping[str, AccountingEntry | None] | None = None,
) -> list[AttentionSection]:
    """The four sections in order, each with its rows: failed, cancelled and partly exported newest first;
    active jobs that may be stuck first, then the others (the answer is already newest first)."""
    rows: dict[str, list[AttentionRow]] = {key: [] for key in wording.SECTIONS}
    job_url = reverse("job_detail", args=[_SOME_ID]).replace(_SOME_ID, "{}")
    for job in jobs:
        row = attention_row(job, now, job_url=job_url, company_names=company_names, known=known, held=held)
        if row.section:
            rows[row.section].append(row)
    rows["active"].sort(key=lambda row: not row.stuck)  # stable: newest first within each group
    period = str(wording.PERIOD_PHRASES[filters.period])
    wanted = {SECTION_OF_FILTER[status] for status in filters.statuses}
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
    jobs = result.value
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
        "stale_banner": str(policy.stale_banner(result.error)) % {"time": time_text, "relative": fetched.relative},
    }


def local_iso(moment: datetime | None) -> str:
    """``2026-12-06 12:26``: a moment in the desk's zone, the way a spreadsheet reads a date and time."""
    if moment is None:
        return ""
    try:
        return dj_timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    except OverflowError:
        return ""


def attention_csv_header() -> list[str]:
    """The CSV's column names, the desk's zone named in those of its local times."""
    zone = zone_name()
    return [
        str(title) % {"zone": zone} if "%(zone)s" in str(title) else str(title)
        for title in wording.ATTENTION_CSV_HEADER
    ]


def attention_csv_rows(sections: Iterable[AttentionSection], base_url: str) -> Iterator[list[object]]:
    """One row per job the page shows, in the page's order; times as moments (UTC ISO 8601, and in the desk's
    zone), never relative; who acts as a file read elsewhere names them; the failed entries the desk holds
    and their money not booked; Pleo's message as sent."""
    yes, no = str(wording.ATTENTION_ROW["yes"]), str(wording.ATTENTION_ROW["no"])
    for section in sections:
        if not section.shown:
            continue
        for row in section.rows:
            job, words = row.job, row.words
            yield [
                str(section.words.title),
                row.job_id,
                str(row.status.label),
                job.status_value,
                words.state,
                words.what,
                job.failure_type_value or "",
                job.failure_reason or "",
                words.who_named,
                yes if row.stuck else no,
                iso_utc(job.created_at),
                local_iso(job.created_at),
                iso_utc(job.last_updated_at) if job.last_updated_at else "",
                local_iso(job.last_updated_at),
                words.verdict.entries if words.verdict.entries is not None else "",
                row.failed if row.failed is not None else "",
                row.not_booked.text if row.not_booked is not None else "",
                row.company if row.company_known else "",
                row.company_id,
                base_url + row.url,
            ]
