from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, Notification, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "team", "is_accepting_leads", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Leadloop", {"fields": ("role", "team", "is_accepting_leads", "timezone")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "workday_start", "workday_end", "sla_hours")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "is_active")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("lead",)
