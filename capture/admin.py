from django.contrib import admin

from .models import Event, IdempotencyKey, Submission, WebForm


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("lead", "source", "campaign", "was_created", "received_at")
    list_filter = ("source", "was_created")
    raw_id_fields = ("lead",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("lead", "kind", "points", "occurred_at", "campaign")
    list_filter = ("kind",)
    raw_id_fields = ("lead",)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "user", "endpoint", "status_code", "created_at")


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "campaign", "is_active")
    prepopulated_fields = {"slug": ("name",)}
