from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("lead", "kind", "points", "occurred_at", "campaign")
    list_filter = ("kind",)
    raw_id_fields = ("lead",)
