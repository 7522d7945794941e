from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import DuplicateCandidate, LeadMatchKeys, MergeRecord


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(admin.ModelAdmin):
    list_display = ("lead_a", "lead_b", "reason", "score", "status", "created_at", "resolved_by")
    list_filter = ("status", "reason")
    raw_id_fields = ("lead_a", "lead_b")
    readonly_fields = ("resolved_by", "resolved_at")


@admin.register(MergeRecord)
class MergeRecordAdmin(HistoryAdmin):
    """The audit trail of merges: merge and undo happen on the duplicates pages."""

    list_display = ("survivor", "duplicate", "status", "merged_by", "merged_at", "undone_at")
    list_filter = ("status",)


@admin.register(LeadMatchKeys)
class LeadMatchKeysAdmin(admin.ModelAdmin):
    list_display = ("lead", "phone_key", "person_key", "company_key", "checked_at")
    search_fields = ("phone_key", "person_key", "company_key")
    raw_id_fields = ("lead",)
