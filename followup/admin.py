from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from leads.admin import HistoryAdmin

from .models import (
    AttemptPolicy,
    Cadence,
    CadenceRule,
    CadenceStep,
    Enrolment,
    Opportunity,
    Task,
    Touch,
)


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


class StepInline(admin.TabularInline):
    model = CadenceStep
    extra = 0
    fields = ("position", "day_offset", "channel", "instructions")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Cadence)
class CadenceAdmin(HistoryAdmin):
    """Cadences are edited on /cadences/ (and the API and CLI), where managers see every
    step and rule together; here they are only looked at."""

    list_display = ("name", "is_default", "updated_at")
    inlines = (StepInline,)


@admin.register(CadenceStep)
class CadenceStepAdmin(HistoryAdmin):
    list_display = ("cadence", "position", "day_offset", "channel")


@admin.register(CadenceRule)
class CadenceRuleAdmin(HistoryAdmin):
    """The ordered cadence rules, edited on /cadences/."""

    list_display = ("position", "cadence", "segment", "grade", "campaign")


@admin.register(AttemptPolicy)
class AttemptPolicyAdmin(HistoryAdmin):
    """Each team's minimum attempts, set on /cadences/."""

    list_display = ("team", "min_attempts", "min_channels")


@admin.register(Enrolment)
class EnrolmentAdmin(HistoryAdmin):
    """Leads in cadences: written as leads are assigned, touched and handed back."""

    list_display = ("lead", "cadence", "owner", "status", "started_at", "ended_at")
    list_filter = ("status", "cadence")
    raw_id_fields = ("lead",)


@admin.register(Task)
class TaskAdmin(HistoryAdmin):
    """Cadence tasks: worked on the Today page."""

    list_display = ("lead", "owner", "channel", "position", "due_at", "status", "outcome")
    list_filter = ("status", "channel")
    raw_id_fields = ("lead", "enrolment", "touch")
