"""Django admin: the audit trail, read-only, with filters, search and CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from .exports import csv_cell
from .models import AuditEvent

CSV_FIELDS = ("created_at", "username", "action", "job_id", "outcome", "source", "job_status", "error_code")


class _Echo:
    def write(self, value: str) -> str:
        return value


if TYPE_CHECKING:  # ModelAdmin is generic only in django-stubs
    _ModelAdmin = admin.ModelAdmin[AuditEvent]
else:
    _ModelAdmin = admin.ModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(_ModelAdmin):
    list_display = ("created_at", "username", "action", "job_id", "outcome", "source", "job_status")
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
        writer = csv.writer(_Echo())
        rows = queryset.order_by("created_at", "id").values_list(*CSV_FIELDS).iterator(chunk_size=2000)

        def stream() -> Iterator[Any]:
            yield writer.writerow(CSV_FIELDS)
            for row in rows:
                yield writer.writerow([csv_cell(value) for value in row])

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="export-job-desk-audit-{stamp}.csv"'
        return response
