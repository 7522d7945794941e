from django.contrib import admin
from django.http import HttpRequest

from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Jobs are run from the import wizard or `leadloop import`; the admin only looks."""

    list_display = (
        "file_name", "created_by", "status", "rows_done", "rows_total", "created", "updated",
        "merged", "rejected", "created_at", "finished_at",
    )  # fmt: skip
    list_filter = ("status",)
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
