"""Companies by name: ``PLEO_COMPANY_LABELS`` first, else Pleo's name; the id stays as the detail."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.conf import settings


def company_name(company_id: uuid.UUID | str, names: Mapping[str, str] | None = None) -> str:
    """A company's name: the one ``PLEO_COMPANY_LABELS`` gives it, else Pleo's (``names``, from
    ``services.company_names_get``); "" when it has neither."""
    labels: dict[str, str] = settings.PLEO_COMPANY_LABELS
    key = str(company_id).lower()
    return labels.get(key, "") or (names or {}).get(key, "")


def short_id(value: uuid.UUID | str) -> str:
    return str(value)[:8]
