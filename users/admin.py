from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import timezone, translation

from leads.admin import KeepsLeadsAdmin
from leads.countries import country_choices

from .models import ApiToken, Leave, Notification, Team, User


@admin.register(User)
class UserAdmin(KeepsLeadsAdmin, BaseUserAdmin):
    list_display = ("username", "email", "role", "team", "is_accepting_leads", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (
            "Leadloop",
            {"fields": ("role", "team", "is_accepting_leads", "max_open_leads", "timezone")},
        ),
    )

    def leads_count(self, obj: Any) -> int:
        return obj.owned_leads.count()

    def refusal(self, obj: Any, leads: int) -> str:
        return (
            f"“{obj}” owns {leads} lead{'s' if leads != 1 else ''}: deleting the user would"
            " leave them unassigned with no history of it. Reassign them on their lead pages"
            " first, or untick Active: the user can then neither log in nor get new leads."
        )


@admin.register(Team)
class TeamAdmin(KeepsLeadsAdmin):
    list_display = ("name", "timezone", "workday_start", "workday_end", "sla_hours")

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        # Routing matches codes: the countries are chosen from the list, named in the
        # admin's language, never typed.
        form.base_fields["countries"] = forms.MultipleChoiceField(
            choices=country_choices(translation.get_language_from_request(request)),
            required=False,
            widget=forms.SelectMultiple(attrs={"size": 12}),
            help_text=Team._meta.get_field("countries").help_text,
        )
        return form

    def leads_count(self, obj: Any) -> int:
        return obj.leads.count()

    def refusal(self, obj: Any, leads: int) -> str:
        return (
            f"“{obj}” has {leads} lead{'s' if leads != 1 else ''}: deleting the team would"
            " take them out of its queue and reports with no history of it. Reassign them"
            " to reps of another team on their lead pages first."
        )


@admin.register(Leave)
class LeaveAdmin(admin.ModelAdmin):
    """People's days away (also set on My settings and a person's page); the routing
    sweep hands on the open leads of whoever is away."""

    list_display = ("user", "starts_on", "ends_on", "note", "created_by", "created_at")
    list_select_related = ("user", "created_by")
    raw_id_fields = ("user", "created_by")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request: Any, obj: Leave, form: Any, change: bool) -> None:
        if not change:
            obj.created_by, obj.created_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "is_active")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("lead",)
