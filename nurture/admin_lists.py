"""Lists in Django's admin: looked at only. Lists are changed on /lists/ (or the API, or
`leadloop lists`), whose service checks the conditions and the permission table."""

from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import LeadList, ListMember


@admin.register(LeadList)
class LeadListAdmin(HistoryAdmin):
    list_display = ("name", "kind", "refreshed_at", "last_joined", "last_left", "created_by")
    list_filter = ("kind",)


@admin.register(ListMember)
class ListMemberAdmin(HistoryAdmin):
    list_display = ("lead_list", "lead", "added_at")
    list_filter = ("lead_list",)
    raw_id_fields = ("lead",)
