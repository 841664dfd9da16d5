"""Django admin: the audit trail, read-only, with filters, search and CSV export."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.html import format_html

from .downloads import csv_download
from .models import AlertRule, AuditEvent, OIDCIdentity
from .presenters.recent import recent_wording

CSV_FIELDS = (
    "created_at",
    "username",
    "action",
    "job_id",
    "outcome",
    "source",
    "job_status",
    "failure_type",
    "job_created_at",
    "job_entries",
    "error_code",
    "filters",
    "job_count",
    "signin_method",
)

# The trail is read on a laptop: the whole width goes to the list, not to the admin's app sidebar.
admin.site.enable_nav_sidebar = False


if TYPE_CHECKING:  # ModelAdmin is generic only in django-stubs
    _ModelAdmin = admin.ModelAdmin[AuditEvent]
    _IdentityAdmin = admin.ModelAdmin[OIDCIdentity]
else:
    _ModelAdmin = _IdentityAdmin = admin.ModelAdmin


EMPTY = "—"


@admin.register(AuditEvent)
class AuditEventAdmin(_ModelAdmin):
    """Read-only, readable on a laptop: times to the second, job ids on one line, one sign for "none"."""

    list_display = ("when", "who", "action", "job", "outcome", "from_where", "status_seen")
    empty_value_display = EMPTY
    list_filter = ("action", "outcome", "source", "signin_method", "created_at")
    search_fields = ("username", "job_id", "job_status", "failure_type", "error_code")
    date_hierarchy = "created_at"
    actions = ("export_csv",)
    list_per_page = 100

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("exportjobs/admin.css",)}

    @admin.display(description="Time", ordering="created_at")
    def when(self, event: AuditEvent) -> str:
        return timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="User", ordering="username")
    def who(self, event: AuditEvent) -> str:
        return event.username or EMPTY

    @admin.display(description="Export job", ordering="job_id")
    def job(self, event: AuditEvent) -> str:
        """The job's id; for a view of the needs-attention list, how many jobs it showed."""
        if event.job_id:
            return format_html('<code class="job-id">{}</code>', event.job_id)
        if event.job_count is not None:
            return format_html("List of {} job{}", event.job_count, "" if event.job_count == 1 else "s")
        return EMPTY

    @admin.display(description="Data from", ordering="source")
    def from_where(self, event: AuditEvent) -> str:
        return str(event.get_source_display()) if event.source else EMPTY

    @admin.display(description="Status seen", ordering="job_status")
    def status_seen(self, event: AuditEvent) -> str:
        """The status in the desk's words (a cancelled job reads as cancelled); Pleo's values on hover."""
        if not event.job_status:
            return EMPTY
        raw = " · ".join(value for value in (event.job_status, event.failure_type) if value)
        label = recent_wording(event.job_status, event.failure_type).label
        return format_html('<span title="{}">{}</span>', raw, label)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    @admin.action(description="Export selected events as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> StreamingHttpResponse:
        events = queryset.order_by("created_at", "id").values_list(*CSV_FIELDS).iterator(chunk_size=2000)
        rows = ([json.dumps(v) if isinstance(v, (dict, list)) else v for v in event] for event in events)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return csv_download(filename=f"export-job-desk-audit-{stamp}.csv", header=CSV_FIELDS, rows=rows)


@admin.register(OIDCIdentity)
class OIDCIdentityAdmin(_IdentityAdmin):
    """Which desk user each person at the identity provider is. Deleting a row lets that person's next
    sign-in make (or take over by verified e-mail) an account again."""

    list_display = ("user", "sub", "issuer", "last_sign_in")
    search_fields = ("user__username", "sub")
    readonly_fields = ("user", "issuer", "sub", "created_at", "last_sign_in")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


if TYPE_CHECKING:
    _RuleAdmin = admin.ModelAdmin[AlertRule]
else:
    _RuleAdmin = admin.ModelAdmin


@admin.register(AlertRule)
class AlertRuleAdmin(_RuleAdmin):
    """Alert rules, their channel only masked: a channel URL holds secrets and is never shown again.
    New rules are added at /alerts/ or with ``manage.py alerts add-rule``."""

    list_display = ("name", "channel_masked", "states", "language", "mode", "digest_at")
    fields = ("name", "channel_masked", "states", "companies", "language", "mode", "digest_at")
    readonly_fields = ("channel_masked", "mode")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
