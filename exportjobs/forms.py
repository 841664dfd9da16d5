"""The forms: the lookup (finds the one export job id in whatever was pasted), the list's filters and an
alert rule."""

from __future__ import annotations

import re
import uuid

from django import forms
from django.conf import settings

from . import wording
from .services.attention import DEFAULT_PERIOD, PERIODS, STATUSES, Filters

# 32 hex digits with the usual hyphens optional; not part of a longer hex run.
UUID_IN_TEXT = re.compile(
    r"(?<![0-9a-f])[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?![0-9a-f])",
    re.IGNORECASE,
)
MAX_INPUT = 20_000


def find_job_ids(text: str) -> list[uuid.UUID]:
    """Every distinct UUID in ``text``, in order of first appearance."""
    found: dict[uuid.UUID, None] = {}
    for match in UUID_IN_TEXT.finditer(text):
        found.setdefault(uuid.UUID(match.group(0).replace("-", "")), None)
    return list(found)


class LookupForm(forms.Form):
    job_id = forms.CharField(
        label=wording.LOOKUP_LABEL,
        max_length=MAX_INPUT,
        strip=True,
        error_messages={
            "required": wording.LOOKUP_ERRORS["required"],
            "max_length": wording.LOOKUP_ERRORS["max_length"],
        },
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": wording.LOOKUP_PLACEHOLDER,
                "aria-describedby": "job-id-help",
            }
        ),
    )

    found_ids: list[uuid.UUID]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type] # Form's own signature, passed through
        self.found_ids = []

    def clean_job_id(self) -> uuid.UUID:
        ids = find_job_ids(self.cleaned_data["job_id"])
        self.found_ids = ids
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise forms.ValidationError(wording.LOOKUP_ERRORS["no_id"], code="no_id")
        raise forms.ValidationError(
            wording.LOOKUP_ERRORS["several_ids"], code="several_ids", params={"count": len(ids)}
        )


class AttentionForm(forms.Form):
    """The filters of /attention/, from the URL: a link keeps them. Anything unknown is an error."""

    period = forms.ChoiceField(
        label=wording.ATTENTION["period"],
        choices=[(key, wording.PERIOD_LABELS[key]) for key in PERIODS],
        required=False,
        error_messages={"invalid_choice": wording.ATTENTION_FORM_ERRORS["period"]},
    )
    status = forms.MultipleChoiceField(
        label=wording.ATTENTION["status"],
        choices=[(key, wording.STATUS_FILTER_LABELS[key]) for key in STATUSES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": wording.ATTENTION_FORM_ERRORS["status"]},
    )
    company = forms.CharField(label=wording.ATTENTION["company"], required=False, max_length=200, strip=True)
    format = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def clean_company(self) -> uuid.UUID | None:
        raw = self.cleaned_data["company"]
        if not raw:
            return None
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise forms.ValidationError(
                wording.ATTENTION_FORM_ERRORS["company"], code="invalid", params={"value": raw[:60]}
            ) from None

    def clean_format(self) -> str:
        value = str(self.cleaned_data["format"]).lower()
        if value not in ("", "html", "csv"):
            raise forms.ValidationError(
                wording.ATTENTION_FORM_ERRORS["format"], code="invalid", params={"value": value[:60]}
            )
        return value

    def filters(self) -> Filters:
        """The filters of a valid form; left-out fields take the defaults (7 days, every status, all companies)."""
        chosen = set(self.cleaned_data["status"] or STATUSES)
        return Filters(
            period=self.cleaned_data["period"] or DEFAULT_PERIOD,
            statuses=tuple(status for status in STATUSES if status in chosen),
            company=self.cleaned_data["company"],
        )


class AlertRuleForm(forms.Form):
    """A new alert rule, as /alerts/ asks for it (``alerts.rules.rule_create`` decides whether it can be used)."""

    name = forms.CharField(max_length=100, strip=True)
    channel = forms.CharField(max_length=2000, strip=True, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    states = forms.MultipleChoiceField(
        choices=[(state.value, label) for state, label in wording.ALERT_STATES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    companies = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    digest = forms.CharField(required=False, max_length=5, widget=forms.TextInput(attrs={"placeholder": "08:00"}))

    def company_list(self) -> list[str]:
        return [part for part in re.split(r"[\s,;]+", self.cleaned_data.get("companies") or "") if part]
