"""Outgoing webhooks in Django's admin: looked at only. Subscriptions are set up on
/settings/outgoing-webhooks/ (or the API, or `leadloop webhooks`), whose service checks
the URL and event types; the secret is never shown here."""

from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import Cursor, Delivery, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(HistoryAdmin):
    list_display = ("name", "url", "is_active", "created_by", "created_at")
    list_filter = ("is_active",)
    exclude = ("secret",)


@admin.register(Delivery)
class DeliveryAdmin(HistoryAdmin):
    list_display = (
        "subscription", "event_type", "event_id", "status", "attempts", "last_status_code",
        "next_attempt_at", "created_at",
    )  # fmt: skip
    list_filter = ("status", "event_type", "subscription")
    list_select_related = ("subscription",)


@admin.register(Cursor)
class CursorAdmin(HistoryAdmin):
    list_display = ("source", "last_id", "updated_at")
