"""The core's admin, and the two bases every app's admin builds on: history stays as it
was written (HistoryAdmin), and a row that leads hang on is not deleted from under them
(KeepsLeadsAdmin).

The admin is one more door next to the UI, the API and the CLI: it may show anything, but
a change the services record as history (a stage move, a hand-over, a touch) is made on
the lead's page in the app, never by editing or deleting rows here.
"""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html

from .countries import country_choices, country_codes
from .models import Account, Campaign, CampaignMember, Lead, StageChange


class HistoryAdmin(admin.ModelAdmin):
    """A history table (stage changes, touches, events, submissions, …): its rows are
    written by the services in the same transaction as the change they record, and the
    funnel, SLA and audit reports are computed from them. The admin lists and shows them;
    nobody adds, edits or deletes one here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class KeepsLeadsAdmin(admin.ModelAdmin):
    """A model whose rows leads hang on (a campaign, a team, a user): deleting one that
    has leads would change those leads with no history of it, so the admin refuses,
    naming how many, on the delete page and in the "delete selected" action alike."""

    delete_confirmation_template = "admin/keeps_leads/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/keeps_leads/delete_selected_confirmation.html"

    def leads_count(self, obj: Any) -> int:
        raise NotImplementedError

    def refusal(self, obj: Any, leads: int) -> str:
        """Why `obj`, with `leads` leads, stays: shown under its name."""
        raise NotImplementedError

    def get_deleted_objects(
        self, objs: Sequence[Any] | QuerySet[Any], request: HttpRequest
    ) -> tuple[list[Any], dict[Any, Any], set[Any], list[Any]]:
        # Django deletes nothing that get_deleted_objects calls protected: the single
        # delete and the bulk action both ask here, on the confirmation page and on POST.
        refusals = [self.refusal(obj, leads) for obj in objs if (leads := self.leads_count(obj))]
        if refusals:
            return [], {}, set(), refusals
        return super().get_deleted_objects(objs, request)


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


# Who works a lead, where it stands and what it scored move only through the services
# (capture, scoring, routing, the lead page's actions, merges), each of which writes the
# history of the move; an edit here would have none.
SERVICE_FIELDS = (
    "stage",
    "stage_changed_at",
    "team",
    "owner",
    "assigned_at",
    "sla_due_at",
    "first_touch_at",
    "sla_breached_at",
    "last_touch_at",
    "touch_count",
    "segment",
    "fit_score",
    "engagement_score",
    "score",
    "engagement_at_recycle",
    "merged_into",
)
PERSON_FIELDS = (
    "email", "external_id", "first_name", "last_name", "phone", "title", "company_name",
    "account", "country", "industry", "employees",
)  # fmt: skip


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """A person's details may be corrected here; everything with a history is shown only."""

    list_display = ("email", "display_name", "stage", "segment", "score", "owner", "sla_due_at")
    list_filter = ("stage", "segment", "source", "team")
    search_fields = ("email", "first_name", "last_name", "company_name")
    raw_id_fields = ("account", "first_campaign")
    # When the lead really arrived is part of its history too (capture and imports set it).
    readonly_fields = ("lead_page", *SERVICE_FIELDS, "arrived_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": PERSON_FIELDS}),
        ("Fit answers", {"fields": ("need", "authority", "budget", "timeline", "custom_fields")}),
        ("Source", {"fields": ("source", "first_campaign", "arrived_at")}),
        (
            "Stage, owner, SLA clock and scores",
            {
                "description": (
                    "Read-only here. They change on the lead's page in the app (accept,"
                    " reject, convert, win, lose, disqualify, reassign, log a touch) and"
                    " through capture, scoring, routing and merges, which write each move"
                    " to the lead's history; an edit here would leave none."
                ),
                "fields": ("lead_page", *SERVICE_FIELDS),
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    inlines = [StageChangeInline]

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        # Routing and the duplicate finder read codes: the country is chosen from the
        # list, named in the admin's language, never typed. A value stored before codes
        # were is offered as it is, so saving another correction does not lose it.
        choices = [("", "—"), *country_choices(translation.get_language_from_request(request))]
        if obj is not None and obj.country and obj.country not in country_codes():
            choices.append((obj.country, obj.country))
        form.base_fields["country"] = forms.ChoiceField(choices=choices, required=False)
        return form

    @admin.display(description="In the app")
    def lead_page(self, lead: Lead) -> str:
        return format_html(
            '<a href="{}">Open the lead\'s page</a>', reverse("web:lead", args=[lead.pk])
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Leads arrive through capture (forms, the API, imports, webhooks), which starts
        # their history and scores and routes them.
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def save_model(
        self, request: HttpRequest, obj: Lead, form: forms.ModelForm, change: bool
    ) -> None:
        # Write only what the form changed: a whole-row save would write back the stage,
        # owner and scores read when the form was posted, undoing a service's move made
        # in between.
        if form.changed_data:
            obj.save(update_fields=[*form.changed_data, "updated_at"])


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "is_marquee", "owner")
    list_filter = ("is_marquee",)
    search_fields = ("name", "domain")


@admin.register(Campaign)
class CampaignAdmin(KeepsLeadsAdmin):
    list_display = ("name", "channel", "cost", "starts_on", "ends_on")
    list_filter = ("channel",)

    def leads_count(self, obj: Any) -> int:
        return (
            Lead.objects.filter(Q(memberships__campaign=obj) | Q(first_campaign=obj))
            .distinct()
            .count()
        )

    def refusal(self, obj: Any, leads: int) -> str:
        return (
            f"“{obj}” has {leads} lead{'s' if leads != 1 else ''} (its members, or leads that"
            " first came from it). A campaign with leads is kept for their history and the"
            " campaign reports; set its end date instead."
        )


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
