from django.contrib import admin

from leadloop.admin import HistoryAdmin

from .models import Account, Campaign, CampaignMember, Lead, StageChange


class StageChangeInline(admin.TabularInline):
    """The lead's stage history under it, looked at only, as in the StageChange admin."""

    model = StageChange
    extra = 0
    can_delete = False
    fields = ("from_stage", "to_stage", "changed_at", "changed_by", "reason")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("email", "display_name", "stage", "segment", "score", "owner", "sla_due_at")
    list_filter = ("stage", "segment", "source", "team")
    search_fields = ("email", "first_name", "last_name", "company_name")
    raw_id_fields = ("account", "owner", "first_campaign")
    # Stage, score and SLA are owned by the services; the admin shows them.
    readonly_fields = (
        "stage",
        "stage_changed_at",
        "segment",
        "fit_score",
        "engagement_score",
        "score",
        "assigned_at",
        "sla_due_at",
        "first_touch_at",
        "sla_breached_at",
        "last_touch_at",
        "touch_count",
    )
    inlines = [StageChangeInline]

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "is_marquee", "owner")
    list_filter = ("is_marquee",)
    search_fields = ("name", "domain")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "cost", "starts_on", "ends_on")
    list_filter = ("channel",)


@admin.register(CampaignMember)
class CampaignMemberAdmin(HistoryAdmin):
    list_display = ("campaign", "lead", "status", "joined_at")
    list_filter = ("campaign", "status")
    raw_id_fields = ("lead",)


@admin.register(StageChange)
class StageChangeAdmin(HistoryAdmin):
    list_display = ("lead", "from_stage", "to_stage", "changed_at", "changed_by", "reason")
    list_filter = ("to_stage",)
    raw_id_fields = ("lead",)
