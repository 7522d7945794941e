from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from .forms import WebhookSourceForm
from .models import (
    DuplicateCandidate,
    Event,
    IdempotencyKey,
    ImportJob,
    LeadMatchKeys,
    MergeRecord,
    RateCounter,
    Submission,
    WebForm,
    WebhookDelivery,
    WebhookSource,
)
from .services import rotate_webhook_token
from .signatures import masked


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("lead", "source", "campaign", "was_created", "received_at")
    list_filter = ("source", "was_created")
    raw_id_fields = ("lead",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("lead", "kind", "points", "occurred_at", "campaign")
    list_filter = ("kind",)
    raw_id_fields = ("lead",)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "user", "endpoint", "status_code", "created_at")


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "campaign", "is_active")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    form = WebhookSourceForm
    list_display = (
        "name", "slug", "campaign", "unknown_email", "signature", "is_active", "created_at",
    )  # fmt: skip
    list_filter = ("is_active", "unknown_email")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("endpoint", "token", "created_at")
    fields = (
        "name", "slug", "endpoint", "token", "signature_scheme", "signing_secret",
        "remove_signing_secret", "campaign", "channel", "unknown_email", "mapping", "is_active",
        "created_at",
    )  # fmt: skip
    actions = ("issue_new_tokens",)

    @admin.display(description="Signed")
    def signature(self, source: WebhookSource) -> str:
        if not source.signing_secret:
            return "—"
        return f"{source.get_signature_scheme_display()} ({masked(source.signing_secret)})"

    @admin.display(description="Endpoint")
    def endpoint(self, source: WebhookSource) -> str:
        if not source.slug:
            return "—"
        return (
            reverse("hooks:receive", args=[source.slug])
            + "  (POST JSON, token in X-Leadloop-Token)"
        )

    @admin.action(description="Issue new tokens (the old ones stop working)")
    def issue_new_tokens(self, request: HttpRequest, queryset: QuerySet[WebhookSource]) -> None:
        for source in queryset:
            rotate_webhook_token(source)
        self.message_user(request, f"New tokens issued for {queryset.count()} source(s).")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The log the endpoint writes (also on each source's page); the admin only looks."""

    list_display = (
        "source", "received_at", "status_code", "outcome", "rejection", "events_recorded",
        "duplicates", "items_rejected", "client_ip",
    )  # fmt: skip
    list_filter = ("outcome", "rejection", "source")
    list_select_related = ("source",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RateCounter)
class RateCounterAdmin(admin.ModelAdmin):
    """Requests per caller and minute of the public endpoints; pruned by the clean-up sweep."""

    list_display = ("scope", "minute", "count")
    search_fields = ("scope",)
    readonly_fields = ("scope", "minute", "count")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Jobs are run from the import wizard or `leadloop import`; the admin only looks."""

    list_display = (
        "file_name", "created_by", "status", "rows_done", "rows_total", "created", "updated",
        "merged", "rejected", "created_at", "finished_at",
    )  # fmt: skip
    list_filter = ("status",)
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(admin.ModelAdmin):
    list_display = ("lead_a", "lead_b", "reason", "score", "status", "created_at", "resolved_by")
    list_filter = ("status", "reason")
    raw_id_fields = ("lead_a", "lead_b")
    readonly_fields = ("resolved_by", "resolved_at")


@admin.register(MergeRecord)
class MergeRecordAdmin(admin.ModelAdmin):
    """The audit trail of merges: merge and undo happen on the duplicates pages."""

    list_display = ("survivor", "duplicate", "status", "merged_by", "merged_at", "undone_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in MergeRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LeadMatchKeys)
class LeadMatchKeysAdmin(admin.ModelAdmin):
    list_display = ("lead", "phone_key", "person_key", "company_key", "checked_at")
    search_fields = ("phone_key", "person_key", "company_key")
    raw_id_fields = ("lead",)
