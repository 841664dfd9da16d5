"""What an alert says: the job page's own verdict in words (state, what happened, who acts, next step),
the company by name, the money not booked when the desk holds it, and a link to the job; for several
jobs that reached the same state for the same reason, one line each (at most ``MAX_LINES``, then how many
more, with a link to /attention/ filtered to them). In the rule's language, as plain text and HTML."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from .. import wording
from ..pleo import ExportJob
from ..presenters.companies import company_name, short_id
from ..presenters.entries import not_booked
from ..presenters.times import local_minutes
from ..presenters.verdicts import VerdictWords, verdict_words
from ..services.attention import STATUSES
from ..services.companies import company_names_get
from ..services.entries import entries_known_many, entry_details_held
from ..verdict import State, verdict_of
from .channels import Message

MAX_LINES = 20
# The /attention/ status filter that shows the jobs of a state.
ATTENTION_STATUS = {
    State.FAILED: "failed",
    State.CANCELLED: "cancelled",
    State.PARTLY_EXPORTED: "completed_with_errors",
}


@dataclass(frozen=True)
class JobLine:
    job: ExportJob
    words: VerdictWords
    company: str
    link: str
    created: str
    not_booked: str


def job_link(job_id: uuid.UUID | str) -> str:
    return f"{settings.DESK_BASE_URL}/jobs/{job_id}/"


def attention_link(state: State, jobs: list[ExportJob]) -> str:
    """/attention/ filtered to these jobs: their state's status, and their company when they share one."""
    params = [("period", "30d")]
    status = ATTENTION_STATUS.get(state)
    if status in STATUSES:
        params.append(("status", status))
    else:
        params += [("status", "pending"), ("status", "in_progress")]
    companies = {job.company_id for job in jobs}
    if len(companies) == 1:
        params.append(("company", str(next(iter(companies)))))
    return f"{settings.DESK_BASE_URL}/attention/?{urlencode(params)}"


def _line(job: ExportJob, names: dict[str, str], seen_at: datetime) -> JobLine:
    verdict = verdict_of(job, now=seen_at)
    known = entries_known_many([job]).get(job.id)
    money = ""
    if known is not None:
        held = entry_details_held(entry_ids=[item.accounting_entry_id for item in known.failed])
        total = not_booked(known.failed, held, gone=known.gone, more=known.more)
        money = total.text if total is not None else ""
    name = company_name(job.company_id, names)
    return JobLine(
        job=job,
        words=verdict_words(verdict, job, seen_at),
        company=name or short_id(job.company_id),
        link=job_link(job.id),
        created=local_minutes(job.created_at),
        not_booked=money,
    )


def _details(line: JobLine) -> list[tuple[str, str]]:
    rows = [
        (wording.ALERT_LABELS["state"], line.words.state),
        (wording.ALERT_LABELS["what"], line.words.what),
        (wording.ALERT_LABELS["company"], line.company),
        (wording.ALERT_LABELS["who"], line.words.who_named),
        (wording.ALERT_LABELS["next"], line.words.next_step),
    ]
    if line.not_booked:
        rows.append((wording.ALERT_LABELS["not_booked"], line.not_booked))
    rows.append((wording.ALERT_LABELS["link"], line.link))
    return [(str(label), value) for label, value in rows]


def _group_details(line: JobLine) -> list[tuple[str, str]]:
    """What the jobs of a group share: their state, what happened, who acts and the next step."""
    shared = ("state", "what", "who", "next")
    return [(str(wording.ALERT_LABELS[key]), value) for key, value in zip(shared, _shared_values(line), strict=True)]


def _shared_values(line: JobLine) -> tuple[str, str, str, str]:
    return line.words.state, line.words.what, line.words.who_named, line.words.next_step


def render(*, kind: str, jobs: list[dict[str, Any]], seen_at: datetime, language: str, rule_name: str) -> Message:
    """The message for a notification, in ``language``: ``kind`` is jobs (a rule's), digest, watch (a
    watcher's, ``rule_name`` empty) or test."""
    with translation.override(language):
        footer = str(wording.ALERT_FOOTER) % {"name": rule_name} if rule_name else str(wording.ALERT_WATCH_FOOTER)
        if kind == "test":
            text = str(wording.ALERT_TEST_BODY) % {"name": rule_name}
            subject = str(wording.ALERT_SUBJECT_TEST)
            context: dict[str, Any] = {"subject": subject, "intro": text, "details": [], "lines": [], "footer": ""}
            return _message(subject, context)
        parsed = [ExportJob.from_payload(entry["payload"]) for entry in jobs]
        names = company_names_get(company_ids=[job.company_id for job in parsed])
        lines = [_line(job, names, seen_at) for job in parsed]
        first = lines[0]
        state = first.words.verdict.state
        if kind == "watch":
            subject = str(wording.ALERT_WATCH_SUBJECT) % {"state": first.words.state, "firm": first.company}
        elif kind == "digest":
            subject = str(wording.ALERT_SUBJECT_DIGEST % {"count": len(lines)})
        elif len(lines) == 1:
            subject = str(wording.ALERT_SUBJECT_ONE) % {
                "state": first.words.state,
                "what": first.words.what,
                "firm": first.company,
            }
        else:
            many = wording.ALERT_SUBJECT_MANY.get(state, wording.ALERT_SUBJECT_MANY[State.FAILED])
            subject = str(many % {"count": len(lines), "what": first.words.what})
        context = {
            "subject": subject,
            "intro": "",
            "details": _details(first) if len(lines) == 1 else [],
            "group": [] if len(lines) == 1 else _group_details(first),
            "lines": [
                str(wording.ALERT_LINE) % {"firm": line.company, "created": line.created, "link": line.link}
                + (f" ({line.words.state}: {line.words.what})" if kind == "digest" else "")
                for line in lines[:MAX_LINES]
            ]
            if len(lines) > 1
            else [],
            "more": str(
                wording.ALERT_MORE
                % {"count": len(lines) - MAX_LINES, "link": attention_link(state, [line.job for line in lines])}
            )
            if len(lines) > MAX_LINES
            else "",
            "footer": footer,
        }
        return _message(subject, context)


def _message(subject: str, context: dict[str, Any]) -> Message:
    context.setdefault("group", [])
    context.setdefault("more", "")
    rows = [*context["details"], *context["group"]]
    context["rows"] = [str(wording.LABEL_VALUE % {"label": label, "value": value}) for label, value in rows]
    text = render_to_string("exportjobs/alerts/message.txt", context)
    html = render_to_string("exportjobs/alerts/message.html", context)
    return Message(subject=subject, text=text.strip() + "\n", html=html)
