from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from leads.admin import HistoryAdmin

from .models import Opportunity, Touch


@admin.register(Touch)
class TouchAdmin(HistoryAdmin):
    """Touches stop the SLA clock and count the attempts: logged on the lead's page."""

    list_display = ("lead", "user", "kind", "outcome", "occurred_at")
    list_filter = ("kind", "outcome")
    raw_id_fields = ("lead",)


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Opened, won and lost on the lead's page, together with the lead's stage move; here
    only its name and amount may be corrected."""

    list_display = ("__str__", "lead", "amount", "status", "opened_at", "closed_at")
    list_filter = ("status",)
    readonly_fields = ("lead", "status", "opened_at", "closed_at", "lost_reason", "owner")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
