"""The job page: its title, badge, the verdict's panel, the timeline, every time Pleo reported, the
"what changed" sentence of a shared link and the ticket summary. Every decision is the verdict's
(``exportjobs.verdict``); this module only puts it into words and times."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation

from .. import clock, policy, wording
from ..pleo.models import ExportJob, JobStatus, known_or_raw, parse_instant
from ..services.jobs import JobResult
from ..verdict import State, Verdict
from ..wording import duration_words
from .companies import company_name, short_id
from .times import Timestamp, both_zones_text, iso_utc, local_text, number_text, short_local_text, zone_name
from .verdicts import VerdictWords, badge, verdict_words

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text


@dataclass(frozen=True)
class Step:
    label: Text
    stamp: Timestamp
    state: str  # done, current, todo, failed, cancelled, skipped


def end_label(verdict: Verdict) -> Text:
    """How the end of the job is named: by its state ("Failed", "Exported"), or "Finished" while it runs."""
    if verdict.end is None:
        return wording.TIME_LABELS["finished"]
    return wording.END_LABELS[verdict.end.kind]


def _end_step_state(verdict: Verdict) -> str:
    return {State.FAILED: "failed", State.CANCELLED: "cancelled"}.get(verdict.state, "done")


def _start(job: ExportJob, now: datetime) -> tuple[Text, Timestamp]:
    """The start, never called "started" when the job did not start: its label and time."""
    labels = wording.TIME_LABELS
    if job.started_at is not None:
        return labels["started"], Timestamp.of(
            labels["started"], job.started_at, now, help=wording.TIME_HELP["started"]
        )
    label = labels["not_started"] if job.is_active else labels["never_started"]
    return label, Timestamp(label=label, help=wording.TIME_HELP["started"])  # no time, and nothing to explain


def _timeline(job: ExportJob, verdict: Verdict, now: datetime) -> tuple[list[Step], list[tuple[Text, str]]]:
    """Created → started → ended (named by its state), and the waited / ran / total durations."""
    labels, missing = wording.TIME_LABELS, wording.MISSING
    created, started = job.created_at, job.started_at
    finished = verdict.end.when if verdict.end is not None else None
    steps = [Step(labels["created"], Timestamp.of(labels["created"], created, now), "done")]
    start_label, start = _start(job, now)
    steps.append(Step(start_label, start, "done" if started else "current" if job.is_active else "skipped"))
    end = end_label(verdict)
    if finished is not None:
        steps.append(Step(end, Timestamp.of(end, finished, now), _end_step_state(verdict)))
    elif job.is_active:
        steps.append(Step(end, Timestamp.of(end, None, now, missing=missing["not_finished_yet"]), "todo"))
    else:
        steps.append(Step(end, Timestamp.of(end, None, now, missing=missing["finish_not_reported"]), "skipped"))

    names = wording.DURATION_LABELS
    durations: list[tuple[Text, str]] = []
    until = finished or (now if job.is_active else None)
    so_far = finished is None
    if started:
        durations.append((names["waited"], duration_words((started - created).total_seconds())))
        if until:
            durations.append(
                (names["ran_so_far" if so_far else "ran"], duration_words((until - started).total_seconds()))
            )
    elif job.is_active:
        durations.append((names["waiting_so_far"], duration_words((now - created).total_seconds())))
    if until:
        durations.append(
            (names["total_so_far" if so_far else "total"], duration_words((until - created).total_seconds()))
        )
    return steps, durations


def _times(job: ExportJob, verdict: Verdict, now: datetime) -> list[Timestamp]:
    """Every time Pleo reported, each named as the verdict names it."""
    labels, helps, words = wording.TIME_LABELS, wording.TIME_HELP, wording.MISSING
    ended = verdict.end.when if verdict.end is not None else None
    if job.is_active:
        expired_missing = words["overdue"] if verdict.state == State.OVERDUE else words["not_expired_yet"]
        end_missing = words["still_running"]
    else:
        expired_missing, end_missing = words["did_not_expire"], words["not_reported"]
    return [
        Timestamp.of(labels["created"], job.created_at, now, help=helps["created"]),
        _start(job, now)[1],
        Timestamp.of(end_label(verdict), ended, now, missing=end_missing, help=wording.END_HELP if verdict.end else ""),
        Timestamp.of(labels["expired"], job.expired_at, now, missing=expired_missing, help=helps["expired"]),
        Timestamp.of(labels["updated"], job.last_updated_at, now, missing=words["no_update"], help=helps["updated"]),
    ]


@dataclass(frozen=True)
class Expiry:
    stamp: Timestamp
    text: str
    overdue: bool
    limit: str  # how long Pleo lets a job go without an update, in words


def _expiry(job: ExportJob, now: datetime) -> Expiry | None:
    if not job.is_active:
        return None
    deadline = job.expires_at
    if deadline is None:
        return None
    remaining = (deadline - now).total_seconds()
    template = wording.EXPIRES_IN if remaining > 0 else wording.OVERDUE_BY
    text = str(template) % {"duration": duration_words(remaining)}
    stamp = Timestamp.of(wording.TIME_LABELS["expires"], deadline, now)
    return Expiry(stamp, text, remaining <= 0, wording.duration_phrase(job.expires_in))


def _stuck(job: ExportJob, verdict: Verdict, now: datetime) -> str:
    if verdict.state not in (State.POSSIBLY_STUCK, State.OVERDUE):
        return ""
    return str(wording.STUCK) % {"duration": duration_words((now - job.expiry_base).total_seconds())}


def _permalink(request: HttpRequest, job: ExportJob) -> str:
    return request.build_absolute_uri(reverse("job_detail", args=[str(job.id)]))


def seen_link(permalink: str, result: JobResult) -> str:
    """The permalink with the status and time seen, so a later reader sees what changed."""
    return f"{permalink}?{urlencode({'seen': result.value.status_value, 'at': iso_utc(result.fetched_at)})}"


def entries_text(count: int | None) -> str:
    return number_text(count) if count is not None else str(wording.ENTRIES_UNKNOWN_COUNT)


def _ticket_entries(entries: Mapping[str, Any] | None) -> list[str]:
    """The failed entries by what went wrong, each with how many and who acts (named as a text read elsewhere
    names them), and the money not booked."""
    if not entries:
        return []
    lines = []
    groups = entries.get("groups") or []
    if groups:
        lines.append(str(wording.TICKET["failed_by_type"]))
        for group in groups:
            lines.append(
                wording.TICKET_FAILED_GROUP
                % {
                    "label": group.label,
                    "number": group.count,
                    "count": number_text(group.count),
                    "who": wording.PARTY_NAMES.get(group.actor, wording.PARTY_NAMES["pleo_support"]),
                }
            )
    total = entries.get("not_booked")
    if total is not None:
        lines.append(wording.LABEL_VALUE % {"label": wording.NOT_BOOKED_LABEL, "value": total.text})
    return lines


def _ticket_text(
    job: ExportJob,
    words_: VerdictWords,
    result: JobResult,
    permalink: str,
    company: str,
    entries: Mapping[str, Any] | None = None,
) -> str:
    words = wording.TICKET
    status = badge(words_.verdict, job)
    lines = [
        str(words["title"]) % {"id": job.id},
        str(words["status"]) % {"label": status.label, "value": job.status_value, "meaning": status.meaning},
        str(words["state"]) % {"state": words_.state},
    ]
    labels = wording.TIME_LABELS
    for label, moment in (
        (labels["created"], job.created_at),
        (labels["started"], job.started_at),
        (end_label(words_.verdict), words_.verdict.end.when if words_.verdict.end else None),
        (labels["expired"], job.expired_at),
        (labels["updated"], job.last_updated_at),
    ):
        if moment is not None:
            lines.append(wording.LABEL_VALUE % {"label": label, "value": both_zones_text(moment)})
    lines.append(str(words["entries"]) % {"count": entries_text(words_.verdict.entries)})
    lines.extend(_ticket_entries(entries))
    lines.append(str(words["company"]) % {"name": company or short_id(job.company_id), "id": job.company_id})
    if words_.panel is not None:
        value = job.failure_type_value or words["no_type"]
        panel = words_.panel
        lines.append(str(words["failure"]) % {"label": panel.label, "value": value, "meaning": panel.meaning})
    lines.append(str(words["actor"]) % {"actor": words_.who_named, "next_step": words_.next_step})
    if job.failure_reason:
        lines.append(str(words["message"]) % {"message": job.failure_reason})
    lines.append(str(words["link"]) % {"link": seen_link(permalink, result)})
    source = words["stale"] if result.source == "stale" else words["fresh"]
    lines.append(str(words["as_of"]) % {"when": both_zones_text(result.fetched_at), "source": source})
    return "\n".join(lines)


def _ticket_texts(
    job: ExportJob,
    verdict: Verdict,
    result: JobResult,
    permalink: str,
    company: str,
    entries: Mapping[str, Any] | None,
) -> dict[str, str]:
    """The summary in the page's language and in English for Pleo support (written once when they are one)."""
    now = clock.now()
    text = _ticket_text(job, verdict_words(verdict, job, now), result, permalink, company, entries)
    if translation.get_language() == "en":
        return {"ticket_text": text, "ticket_text_en": text}
    with translation.override("en"):
        english = _ticket_text(job, verdict_words(verdict, job, now), result, permalink, company, entries)
    return {"ticket_text": text, "ticket_text_en": english}


def _started_by(job: ExportJob) -> dict[str, str]:
    """Who asked for the job, in words; the Pleo user's id apart, as a technical detail."""
    words = wording.STARTED_BY_PERSON if job.is_interactive else wording.STARTED_AUTOMATICALLY
    return {"words": str(words), "user_id": str(job.created_by or "")}


def job_title(job: ExportJob, verdict: Verdict, now: datetime) -> str:
    """What a person recognises: "Export of 36 entries, created 28 Nov 15:31 by a person in Pleo"."""
    who = wording.BY_PERSON if job.is_interactive else wording.BY_SYSTEM
    when = short_local_text(job.created_at, now)
    if verdict.entries is None:
        return str(wording.JOB_TITLE_UNKNOWN_COUNT) % {"when": when, "who": who}
    return wording.JOB_TITLE % {
        "number": verdict.entries,
        "count": number_text(verdict.entries),
        "when": when,
        "who": who,
    }


def job_page_context(
    request: HttpRequest,
    result: JobResult,
    verdict: Verdict,
    *,
    now: datetime | None = None,
    company_names: Mapping[str, str] | None = None,
    entries: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The job page's words and times for ``verdict``; ``company_names``: Pleo's names of companies;
    ``entries``: the entries panel (its failed entries by type and the money not booked go into the ticket)."""
    job = result.value
    company = company_name(job.company_id, company_names)
    now = now or clock.now()
    steps, durations = _timeline(job, verdict, now)
    permalink = _permalink(request, job)
    fetched = Timestamp.of(wording.TIME_LABELS["fetched"], result.fetched_at, now)
    fetched_time = local_text(result.fetched_at, with_date=False)
    words = verdict_words(verdict, job, now)
    return {
        "title": job_title(job, verdict, now),
        "job": job,
        "result": result,
        "verdict": words,
        "status": badge(verdict, job),
        "failure": words.panel,
        "failure_heading": words.heading,
        "failure_tone": words.tone,
        "timestamps": _times(job, verdict, now),
        "steps": steps,
        "durations": durations,
        "expiry": _expiry(job, now),
        "stuck": _stuck(job, verdict, now),
        "started_by": _started_by(job),
        "entries_count": entries_text(verdict.entries),
        "company_name": company,
        "fetched": fetched,
        "fetched_time": fetched_time,
        "stale_banner": str(policy.stale_banner(result.error)) % {"time": fetched_time, "relative": fetched.relative},
        "words": {
            "stale_more": wording.STALE_BANNER_MORE,
            "entries_failed_more": wording.ENTRIES_FAILED_MORE,
            "none_failed": wording.ENTRIES_NONE_FAILED,
            "unknown_count": wording.ENTRIES_UNKNOWN_COUNT,
            "company": wording.JOB_COMPANY["label"],
            "company_hint": wording.JOB_COMPANY["hint"],
            "not_booked": wording.NOT_BOOKED_LABEL,
        },
        "permalink": permalink,
        "seen_link": seen_link(permalink, result),
        **_ticket_texts(job, verdict, result, permalink, company, entries),
        "auto_refresh": job.is_active,
        "zone": zone_name(),
        "is_utc": zone_name() in ("UTC", "Etc/UTC"),
    }


# --- what changed since the link was shared ------------------------------------------------


def seen_status(value: str | None) -> str:
    """A ``?seen=`` value the desk wrote: one of Pleo's job statuses; anything else is ignored ("")."""
    return value if value in {status.value for status in JobStatus} else ""


def seen_moment(value: str | None) -> datetime | None:
    """A ``?at=`` value as a moment (to the second), or None when it is not one."""
    if not value:
        return None
    try:
        return parse_instant(value[:40]).replace(microsecond=0)
    except (ValueError, OverflowError):
        return None


def _status_phrase(table: dict[JobStatus, Text], value: str) -> str:
    status = known_or_raw(JobStatus, value)
    return str(table[status]) if isinstance(status, JobStatus) else f"“{value}”"


def seen_change(job: ExportJob, seen: str | None, at: str | None) -> dict[str, Any] | None:
    """The sentence for a link that carries ``?seen=<status>&at=<time>``, or None without one (or with a
    ``seen`` the desk did not write: only Pleo's statuses are read, never free text)."""
    status = seen_status(seen)
    if not status:
        return None
    moment = seen_moment(at)
    when = ""
    if moment is not None:
        try:
            when = local_text(moment, with_date=True)
        except OverflowError:
            when = ""
    shared = str(wording.SEEN_SHARED_AT) % {"when": when} if when else str(wording.SEEN_SHARED)
    was = _status_phrase(wording.STATUS_WAS, status)
    if status == job.status_value:
        return {"text": str(wording.SEEN_UNCHANGED) % {"shared": shared, "was": was}, "changed": False}
    now = _status_phrase(wording.STATUS_NOW, job.status_value)
    return {"text": str(wording.SEEN_CHANGED) % {"shared": shared, "was": was, "now": now}, "changed": True}
