from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from leads.admin import HistoryAdmin

from .forms import WebhookSourceForm
from .models import RateCounter, Submission, WebForm, WebhookDelivery, WebhookSource
from .services import rotate_webhook_token
from .signatures import masked


@admin.register(Submission)
class SubmissionAdmin(HistoryAdmin):
    list_display = ("lead", "source", "campaign", "was_created", "received_at")
    list_filter = ("source", "was_created")
    raw_id_fields = ("lead",)


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
class WebhookDeliveryAdmin(HistoryAdmin):
    """The log the endpoint writes (also on each source's page); the admin only looks, and
    beat's clean-up sweep (or `leadloop prune_webhook_deliveries`) deletes old ones."""

    list_display = (
        "source", "received_at", "status_code", "outcome", "rejection", "events_recorded",
        "duplicates", "items_rejected", "client_ip",
    )  # fmt: skip
    list_filter = ("outcome", "rejection", "source")
    list_select_related = ("source",)


@admin.register(RateCounter)
class RateCounterAdmin(admin.ModelAdmin):
    """Requests per caller and minute of the public endpoints; pruned by the clean-up sweep."""

    list_display = ("scope", "minute", "count")
    search_fields = ("scope",)
    readonly_fields = ("scope", "minute", "count")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
