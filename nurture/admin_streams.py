"""Content streams in Django's admin: looked at only. Streams are changed on /streams/
(or the API, or `leadloop streams`), whose service checks the fields and the permission
table."""

from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import ContentPiece, ContentStream, PieceDelivery, StreamMember


@admin.register(ContentStream)
class ContentStreamAdmin(HistoryAdmin):
    list_display = ("name", "status", "cadence_days", "enrol_list", "enrol_segment", "purpose")
    list_filter = ("status",)


@admin.register(ContentPiece)
class ContentPieceAdmin(HistoryAdmin):
    list_display = ("title", "stream", "position", "kind", "is_active")
    list_filter = ("stream", "kind", "is_active")


@admin.register(StreamMember)
class StreamMemberAdmin(HistoryAdmin):
    list_display = ("lead", "stream", "status", "joined_at", "next_due_at", "left_reason")
    list_filter = ("stream", "status")
    raw_id_fields = ("lead",)


@admin.register(PieceDelivery)
class PieceDeliveryAdmin(HistoryAdmin):
    list_display = ("lead", "piece", "sent_at")
    list_filter = ("piece__stream",)
    raw_id_fields = ("lead", "message")
