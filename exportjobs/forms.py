"""The lookup form: finds the one export job id in whatever was pasted."""

from __future__ import annotations

import re
import uuid

from django import forms

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
        label="Export job ID",
        max_length=MAX_INPUT,
        strip=True,
        error_messages={
            "required": "Paste an export job ID, a link to a job or the ticket text that contains it.",
            "max_length": "That is too much text: paste just the part of the ticket that contains the job ID.",
        },
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "e.g. 3c90c3cc-0d44-4b50-8888-8dd25736052a",
                "aria-describedby": "job-id-help",
            }
        ),
    )

    error_messages = {
        "no_id": "No export job ID found in what you pasted. A job ID looks like 3c90c3cc-0d44-4b50-8888-8dd25736052a.",
        "several_ids": "What you pasted contains %(count)d different IDs. Paste just the one job you want to see.",
    }

    def clean_job_id(self) -> uuid.UUID:
        ids = find_job_ids(self.cleaned_data["job_id"])
        self.found_ids = ids
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise forms.ValidationError(self.error_messages["no_id"], code="no_id")
        raise forms.ValidationError(self.error_messages["several_ids"], code="several_ids", params={"count": len(ids)})
