"""Programs in Django's admin: looked at only. Programs are changed on /programs/ (or the
API, or `leadloop nurture`), whose service checks the document and the permission table."""

from django.contrib import admin

from leads.admin import HistoryAdmin

from .models import Enrolment, Program, ProgramStep


@admin.register(Program)
class ProgramAdmin(HistoryAdmin):
    list_display = ("name", "status", "purpose", "allow_reentry", "updated_at")
    list_filter = ("status",)


@admin.register(ProgramStep)
class ProgramStepAdmin(HistoryAdmin):
    list_display = ("program", "position", "name", "kind", "reached", "went_yes", "went_no")
    list_filter = ("program", "kind")


@admin.register(Enrolment)
class EnrolmentAdmin(HistoryAdmin):
    list_display = ("program", "lead", "step", "status", "due_at", "entered_at", "ended_reason")
    list_filter = ("program", "status")
    raw_id_fields = ("lead",)
