from django.contrib import admin
from django.http import HttpRequest

from leads.admin import HistoryAdmin

from .models import Assignment, RoutingRule, SlaPolicy, SlaStep, TurnCampaign, TurnRollup


@admin.register(Assignment)
class AssignmentAdmin(HistoryAdmin):
    """Who was given each lead: shown, never added, changed or deleted here (routing's
    services write it with the hand-over it records)."""

    list_display = ("assigned_at", "lead", "summary", "assigned_by", "how", "reason")
    list_filter = ("how",)
    list_select_related = ("lead", "from_owner", "to_owner", "from_team", "to_team", "assigned_by")
    search_fields = ("lead__email",)
    date_hierarchy = "assigned_at"
    # An import adds a row per routed lead: no count of the whole table on every page.
    show_full_result_count = False

    @admin.display(description="assignment")
    def summary(self, obj: Assignment) -> str:
        return obj.summary


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """Looked at only: rules are edited on /routing/ (or the API, or `leadloop routing`),
    where every condition is checked and the order kept."""

    list_display = ("position", "name", "target", "to_user", "to_team", "is_active", "updated_at")
    list_select_related = ("to_user", "to_team")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RoutingRule | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RoutingRule | None = None) -> bool:
        return False


@admin.register(SlaPolicy)
class SlaPolicyAdmin(HistoryAdmin):
    """Teams' SLA policies, shown only: they are edited on the team page, the API or
    `leadloop sla_policies`, where routing.sla checks them and who may change them."""

    list_display = (
        "team",
        "position",
        "name",
        "hours",
        "reassign_after_hours",
        "recycle_after_hours",
    )
    list_filter = ("team",)
    list_select_related = ("team",)


@admin.register(SlaStep)
class SlaStepAdmin(HistoryAdmin):
    """The rungs of leads' SLA clocks, pending and taken: written by routing's services."""

    list_display = ("due_at", "lead", "kind", "policy_name", "done_at", "outcome", "detail")
    list_filter = ("kind", "outcome")
    list_select_related = ("lead",)
    search_fields = ("lead__email",)
    date_hierarchy = "due_at"
    show_full_result_count = False


@admin.register(TurnRollup)
class TurnRollupAdmin(HistoryAdmin):
    """Looked at only: routing keeps the counts as turns change (routing.rollup), and
    `leadloop report rebuild-rollup` refills them; a hand edit would make the follow-up
    report disagree with the leads behind its numbers."""

    list_display = (
        "span", "period", "rep_id", "team_id", "campaign_id", "figure", "edge", "count"
    )  # fmt: skip
    list_filter = ("span", "figure")
    show_full_result_count = False


@admin.register(TurnCampaign)
class TurnCampaignAdmin(HistoryAdmin):
    """Looked at only: which campaigns each turn counts for, written with the turn (its
    lead's memberships then) and never changed after."""

    list_display = ("assignment", "campaign")
    list_select_related = ("assignment", "campaign")
    raw_id_fields = ("assignment",)
    show_full_result_count = False
