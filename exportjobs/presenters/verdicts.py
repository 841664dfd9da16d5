"""A job's verdict in words, the same on every surface: what happened, who acts, what to do next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .. import l10n, wording
from ..pleo.models import ExportJob, FailureType, ItemFailureType, known_or_raw
from ..verdict import Oddity, State, Step, Verdict
from ..wording import FailureWording, duration_words, failure_wording, item_failure_wording, status_wording

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text

PANEL_STATES = (State.FAILED, State.CANCELLED, State.PARTLY_EXPORTED)


@dataclass(frozen=True)
class Party:
    key: str  # verdict.PARTIES
    label: str  # as the page addresses them ("You (the finance team)")
    name: str  # as a text read elsewhere names them ("The finance team")
    entries: int | None  # their share of the failed entries; None: the job as a whole


@dataclass(frozen=True)
class VerdictWords:
    verdict: Verdict
    state: str  # the state's name
    what: str  # what happened, in a few words
    who: str  # who acts, as the page says it (or why nobody does)
    who_named: str  # the same, as a ticket, a file or a message says it
    parties: tuple[Party, ...]
    next_step: str
    panel: FailureWording | None  # the failure panel's words, for a failed, cancelled or partly exported job
    heading: Text
    tone: str  # the panel's: danger, neutral, warning
    also_reported: str  # Pleo's failure fields on a job whose status says otherwise, in a sentence; or ""

    @property
    def party_keys(self) -> str:
        return " ".join(party.key for party in self.parties)


# Articles a party's name may start with; inside a list they are written in lower case ("and the Pleo admin …").
ARTICLES = frozenset({"The", "El", "La", "Los", "Las", "Le", "Les", "Der", "Die", "Das", "Den", "Dem"})


def _inside(text: str) -> str:
    """A party's name after the first of a list: its leading article in lower case; any other start (a name
    such as Pleo, or a pronoun the language capitalises) as it is."""
    first, _space, rest = text.partition(" ")
    elided = first[:2] in ("L'", "L’")  # French: l'administrateur
    if first in ARTICLES or elided:
        return first[0].lower() + first[1:] + (" " + rest if rest else "")
    return text


def _joined(texts: list[str]) -> str:
    if len(texts) <= 1:
        return "".join(texts)
    inside = [texts[0], *(_inside(text) for text in texts[1:])]
    return str(wording.PARTIES_JOINED) % {"some": ", ".join(inside[:-1]), "last": inside[-1]}


def _party_text(label: str, entries: int | None) -> str:
    if entries is None:
        return label
    return str(wording.SHARE % {"party": label, "count": l10n.number(entries), "number": entries})


def _what(verdict: Verdict, job: ExportJob, now: datetime) -> str:
    state = verdict.state
    if state == State.POSSIBLY_STUCK:
        return str(wording.STUCK_QUIET) % {"duration": duration_words((now - job.expiry_base).total_seconds())}
    if state == State.OVERDUE:
        overdue = (now - job.expires_at).total_seconds() if job.expires_at is not None else 0
        return str(wording.STUCK_OVERDUE) % {"duration": duration_words(overdue)}
    if state in (State.FAILED, State.CANCELLED) and job.failure_reason_type:
        return str(failure_wording(job.failure_reason_type).label)
    if state == State.PARTLY_EXPORTED:
        if job.failure_reason_type:
            return str(failure_wording(job.failure_reason_type, partial=True).label)
        if verdict.entry_failure:
            return str(item_failure_wording(known_or_raw(ItemFailureType, verdict.entry_failure)).label)
    return str(wording.STATE_IN_SHORT.get(state, wording.STATE_IN_SHORT[State.UNKNOWN]))


def _next_step(verdict: Verdict, job: ExportJob) -> str:
    if verdict.step == Step.JOB_FAILURE:
        return str(failure_wording(job.failure_reason_type).next_step)
    if verdict.step == Step.PARTLY_SUMMARY:
        return str(failure_wording(job.failure_reason_type, partial=True).next_step)
    if verdict.step == Step.ENTRY_FAILURE and verdict.entry_failure is not None:
        return str(item_failure_wording(known_or_raw(ItemFailureType, verdict.entry_failure)).next_step)
    return str(wording.NEXT_STEP.get(verdict.step, wording.NEXT_STEP[Step.FIX_ENTRIES]))


def _panel(verdict: Verdict, job: ExportJob) -> tuple[FailureWording | None, Text, str]:
    state = verdict.state
    if state not in PANEL_STATES:
        return None, "", ""
    partial = state == State.PARTLY_EXPORTED
    if partial and not job.failure_reason_type:
        status = status_wording(job.status)
        words = FailureWording(wording.STATE_IN_SHORT[state], status.meaning, "", "")
    else:
        words = failure_wording(job.failure_reason_type, partial=partial)
    if state == State.CANCELLED:
        return words, wording.CANCELLED_HEADING, "neutral"
    heading = wording.FAILURE_HEADINGS.get(job.status, wording.FAILURE_HEADING_OTHER)  # type: ignore[call-overload]
    return words, heading, "warning" if partial else "danger"


def _also_reported(verdict: Verdict, job: ExportJob) -> str:
    if Oddity.ALSO_REPORTED not in verdict.oddities:
        return ""
    label = str(failure_wording(job.failure_reason_type).label)
    return str(wording.ODDITIES[Oddity.ALSO_REPORTED]) % {"status": status_wording(job.status).label, "label": label}


def verdict_words(verdict: Verdict, job: ExportJob, now: datetime) -> VerdictWords:
    """The verdict on ``job`` in the reader's language."""
    parties = tuple(
        Party(share.party, str(wording.ACTORS[share.party]), str(wording.PARTY_NAMES[share.party]), share.entries)
        for share in verdict.parties
    )
    nobody = str(wording.NOBODY.get(verdict.step, wording.NOBODY[Step.NOTHING]))
    panel, heading, tone = _panel(verdict, job)
    return VerdictWords(
        verdict=verdict,
        state=str(wording.STATE_LABELS[verdict.state]),
        what=_what(verdict, job, now),
        who=_joined([_party_text(p.label, p.entries) for p in parties]) or nobody,
        who_named=_joined([_party_text(p.name, p.entries) for p in parties]) or nobody,
        parties=parties,
        next_step=_next_step(verdict, job),
        panel=panel,
        heading=heading,
        tone=tone,
        also_reported=_also_reported(verdict, job),
    )


def badge(verdict: Verdict, job: ExportJob) -> wording.StatusWording:
    """The status badge: Pleo's status (a cancelled job's own grey badge), whatever else the verdict says."""
    return status_wording(job.status, FailureType.CANCELED_BY_USER if verdict.state == State.CANCELLED else None)
