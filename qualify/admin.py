from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import Event


@admin.register(Event)
class EventAdmin(HistoryAdmin):
    """Engagement events: a lead's engagement score is summed from them."""

    list_display = ("lead", "kind", "points", "occurred_at", "campaign")
    list_filter = ("kind",)
    raw_id_fields = ("lead",)
