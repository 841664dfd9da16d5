"""Django admin: the audit trail, read-only, with filters, search and CSV export."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from .downloads import csv_download
from .models import AuditEvent

CSV_FIELDS = (
    "created_at",
    "username",
    "action",
    "job_id",
    "outcome",
    "source",
    "job_status",
    "error_code",
    "filters",
    "job_count",
)


if TYPE_CHECKING:  # ModelAdmin is generic only in django-stubs
    _ModelAdmin = admin.ModelAdmin[AuditEvent]
else:
    _ModelAdmin = admin.ModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(_ModelAdmin):
    list_display = ("created_at", "username", "action", "job_id", "outcome", "source", "job_status", "job_count")
    list_filter = ("action", "outcome", "source", "created_at")
    search_fields = ("username", "job_id", "job_status", "error_code")
    date_hierarchy = "created_at"
    actions = ("export_csv",)
    list_per_page = 100

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
