from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(HistoryAdmin):
    """Jobs are run from the import wizard or `leadloop import`; the admin only looks (each
    submission a job made points to it)."""

    list_display = (
        "file_name", "created_by", "status", "rows_done", "rows_total", "created", "updated",
        "merged", "rejected", "created_at", "finished_at",
    )  # fmt: skip
    list_filter = ("status",)
