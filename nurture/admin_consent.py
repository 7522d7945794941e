"""Consent in Django's admin: looked at only. Consent is recorded through
nurture.consent (the lead page, the API, `leadloop consent`), which keeps the history and
the current answer together and applies who may change what; purposes are edited on
/email/purposes/."""

from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import Consent, ConsentPurpose, ConsentState


@admin.register(ConsentPurpose)
class ConsentPurposeAdmin(HistoryAdmin):
    list_display = ("slug", "name", "is_active", "created_at")


@admin.register(Consent)
class ConsentAdmin(HistoryAdmin):
    list_display = ("lead", "purpose", "granted", "at", "source", "reference", "by")
    list_filter = ("purpose", "granted", "source")
    raw_id_fields = ("lead",)


@admin.register(ConsentState)
class ConsentStateAdmin(HistoryAdmin):
    list_display = ("lead", "purpose", "granted", "at", "source")
    list_filter = ("purpose", "granted")
    raw_id_fields = ("lead", "consent")
