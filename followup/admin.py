from django.contrib import admin

from leadloop.admin import HistoryAdmin

from .models import Opportunity, Touch


@admin.register(Touch)
class TouchAdmin(HistoryAdmin):
    """Touches stop the SLA clock and count the attempts: logged on the lead's page."""

    list_display = ("lead", "user", "kind", "outcome", "occurred_at")
    list_filter = ("kind", "outcome")
    raw_id_fields = ("lead",)


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("__str__", "lead", "amount", "status", "opened_at", "closed_at")
    list_filter = ("status",)
    raw_id_fields = ("lead",)
