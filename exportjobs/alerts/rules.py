"""Alert rules: made, listed, removed and tried, by /alerts/ and by ``manage.py alerts``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import time

from django.conf import settings
from django.db import transaction

from .. import clock
from ..models import AlertNotification, AlertRule
from .channels import channel_problem, mask
from .poll import RULE_STATES

STATE_VALUES = tuple(state.value for state in RULE_STATES)
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)


class RuleInvalid(Exception):
    """A rule that cannot be saved; ``code`` keys its words (``wording.ALERT_FORM_ERRORS``)."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


def rule_create(
    *,
    name: str,
    channel: str,
    states: Iterable[str],
    companies: Iterable[str] = (),
    language: str = "en",
    digest_at: time | None = None,
) -> AlertRule:
    """A new rule; ``RuleInvalid`` when a part of it cannot be used. The channel is kept as given and from
    now on shown masked."""
    name, channel = name.strip(), channel.strip()
    problem = channel_problem(channel)
    if problem is not None:
        raise RuleInvalid(problem, "channel")
    chosen = [state for state in STATE_VALUES if state in set(states)]
    if not chosen:
        raise RuleInvalid("no_states", "states")
    try:
        company_ids = [str(uuid.UUID(str(company).strip())) for company in companies if str(company).strip()]
    except ValueError:
        raise RuleInvalid("company", "companies") from None
    if language not in LANGUAGES:
        language = settings.LANGUAGE_CODE
    if not name or AlertRule.objects.filter(name=name).exists():
        raise RuleInvalid("name_taken", "name")
    return AlertRule.objects.create(
        name=name[:100],
        channel=channel,
        channel_masked=mask(channel)[:300],
        states=chosen,
        companies=company_ids,
        language=language,
        mode=AlertRule.Mode.DIGEST if digest_at is not None else AlertRule.Mode.AT_ONCE,
        digest_at=digest_at,
    )


def rule_remove(*, name: str) -> bool:
    deleted, _by_model = AlertRule.objects.filter(name=name).delete()
    return bool(deleted)


def rule_test(*, rule: AlertRule) -> AlertNotification:
    """A sample message for ``rule``, in the outbox like any other (a worker delivers it)."""
    now = clock.now()
    with transaction.atomic():
        return AlertNotification.objects.create(
            rule=rule, language=rule.language, state="test", kind="test", jobs=[], seen_at=now, next_attempt_at=now
        )


def parse_digest(text: str) -> time | None:
    """``HH:MM`` → a time of day; "" → None (at once); ``RuleInvalid`` otherwise."""
    text = text.strip()
    if not text:
        return None
    hours, _colon, minutes = text.partition(":")
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise RuleInvalid("digest_time", "digest") from None
