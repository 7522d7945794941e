from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import Assignment


@admin.register(Assignment)
class AssignmentAdmin(HistoryAdmin):
    """Who was given each lead: shown, never added, changed or deleted here (routing's
    services write it with the hand-over it records)."""

    list_display = ("assigned_at", "lead", "summary", "assigned_by", "how", "reason")
    list_filter = ("how",)
    list_select_related = ("lead", "from_owner", "to_owner", "from_team", "to_team", "assigned_by")
    search_fields = ("lead__email",)
    date_hierarchy = "assigned_at"
    # An import adds a row per routed lead: no count of the whole table on every page.
    show_full_result_count = False

    @admin.display(description="assignment")
    def summary(self, obj: Assignment) -> str:
        return obj.summary
