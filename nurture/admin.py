"""Nurture in Django's admin: looked at only. Templates are written on /email/templates/
(or the API, or `leadloop email`), whose service checks they compile."""

from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import DeliveryEvent, EmailTemplate, MailboxMessage, Message, Suppression


@admin.register(EmailTemplate)
class EmailTemplateAdmin(HistoryAdmin):
    list_display = ("name", "subject", "updated_at")
    search_fields = ("name", "subject")


@admin.register(Message)
class MessageAdmin(HistoryAdmin):
    list_display = ("to_address", "subject", "purpose", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "purpose")
    search_fields = ("to_address", "subject", "message_id")


@admin.register(Suppression)
class SuppressionAdmin(HistoryAdmin):
    list_display = ("address", "reason", "created_at")
    search_fields = ("address",)


@admin.register(MailboxMessage)
class MailboxMessageAdmin(HistoryAdmin):
    list_display = ("subject", "mail_from", "received_at")


# The lists', consent's and the programs' admins live beside their models.
from . import admin_consent, admin_lists, admin_programs  # noqa: E402, F401


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(HistoryAdmin):
    list_display = ("type", "address", "is_permanent", "source", "occurred_at")
    list_filter = ("type", "source")
    search_fields = ("address", "reason")


# The content streams' admin lives beside the streams' models.
from . import admin_streams  # noqa: E402, F401
