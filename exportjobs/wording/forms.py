"""The lookup form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise as Text  # a string, or a lazily translated one


# --- forms --------------------------------------------------------------------------------------

LOOKUP_LABEL = _("Export job ID")
LOOKUP_PLACEHOLDER = _("e.g. 3c90c3cc-0d44-4b50-8888-8dd25736052a")
LOOKUP_ERRORS: dict[str, Text] = {
    "required": _("Paste an export job ID, a link to a job or the ticket text that contains it."),
    "max_length": _("That is too much text: paste just the part of the ticket that contains the job ID."),
    "no_id": _("No export job ID found in what you pasted. A job ID looks like 3c90c3cc-0d44-4b50-8888-8dd25736052a."),
    "several_ids": _("What you pasted contains %(count)d different IDs. Paste just the one job you want to see."),
}
