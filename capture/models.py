from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from leads.choices import Channel
from leads.models import Campaign, Lead
from nurture.models import ConsentPurpose

from .choices import DeliveryOutcome, DeliveryRejection, SignatureScheme, UnknownEmail
from .webhooks import mapping_errors, new_webhook_token


class Submission(models.Model):
    """One arrival of lead data (API call, form post, import row), kept as received.

    The same person submitting twice is one lead with two submissions. An API call or a
    form post keeps its payload here. An import row keeps where it is instead: its job
    (which keeps the file) and its line, not a second copy of the file in the database.
    """

    # submission_lead (lead, received_at) serves look-ups by lead.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="submissions", db_index=False
    )
    source = models.CharField(max_length=20)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    payload = models.JSONField(default=dict)
    import_job = models.ForeignKey(
        "imports.ImportJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # import jobs are never deleted
    )
    line = models.PositiveIntegerField(
        null=True, blank=True, help_text="The row's line in the import job's file"
    )
    was_created = models.BooleanField(default=False)
    received_at = models.DateTimeField()
    # Users are deactivated, not deleted: no index to pay for on every row.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = "submission"
        verbose_name_plural = "submissions"
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["lead", "received_at"], name="submission_lead")]

    def __str__(self) -> str:
        return f"{self.source} submission for {self.lead_id}"


class WebForm(models.Model):
    """A lead form marketing publishes: a hosted page and an embeddable snippet post here."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="forms"
    )
    fields = models.JSONField(
        default=list,
        help_text='Lead fields asked for, e.g. ["first_name", "email", "company_name"]',
    )
    required_fields = models.JSONField(
        default=list, blank=True, help_text="Those of `fields` a person must fill in"
    )
    consent_text = models.CharField(max_length=300, blank=True)
    consent_purpose = models.CharField(
        max_length=200,
        blank=True,
        help_text="What the consent is for (e.g. product news by email), stored with it",
    )
    thank_you_message = models.CharField(
        max_length=300, default="Thank you! We will be in touch shortly."
    )
    thank_you_url = models.URLField("thank-you page URL", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "web form"
        verbose_name_plural = "web forms"

    def __str__(self) -> str:
        return self.name


class WebhookSource(models.Model):
    """A webinar platform or form tool that posts its own JSON to `/hooks/<slug>/`.

    The mapping (see capture/webhooks.py) says where the payload's items are and which of
    their fields are the event's email, kind, time and idempotency key, and which lead
    profile fields to capture. Events for unknown emails create a lead or are rejected,
    as `unknown_email` says. The sender proves itself with `token` and, when the source
    has a `signing_secret`, also signs every delivery with it (capture/signatures.py).
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    token = models.CharField(
        max_length=100,
        default=new_webhook_token,
        help_text="Secret the sender passes as ?token=… or the header X-Leadloop-Token",
    )
    # Kept as given, not hashed: checking a signature needs the secret itself.
    signing_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text=(
            "Shared secret the sender signs each delivery with (HMAC-SHA256);"
            " empty: deliveries need no signature"
        ),
    )
    signature_scheme = models.CharField(
        max_length=10,
        choices=SignatureScheme.choices,
        default=SignatureScheme.LEADLOOP,
        help_text="How the sender signs its deliveries, when there is a signing secret",
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_sources"
    )
    channel = models.CharField(
        max_length=20,
        choices=Channel.choices,
        default=Channel.OTHER,
        help_text="Source of the leads this webhook creates",
    )
    mapping = models.JSONField(
        default=dict,
        help_text=(
            'e.g. {"items": "participants", "email": "participant.email", "occurred_at":'
            ' "join_time", "kind": {"path": "status", "map": {"attended": "webinar_attended"}},'
            ' "idempotency_key": "{meeting_id}:{participant.email}:{status}",'
            ' "lead": {"first_name": "participant.first_name"}}'
        ),
    )
    unknown_email = models.CharField(
        max_length=10, choices=UnknownEmail.choices, default=UnknownEmail.CREATE
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook source"
        verbose_name_plural = "webhook sources"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if mapping_problems := mapping_errors(self.mapping):
            errors["mapping"] = [f"{field}: {message}" for field, message in mapping_problems]
        elif isinstance(self.mapping, dict) and isinstance(self.mapping.get("consent"), dict):
            purpose = str(self.mapping["consent"].get("purpose", ""))
            if not ConsentPurpose.objects.filter(slug=purpose).exists():
                errors["mapping"] = [
                    f"mapping.consent.purpose: no consent purpose {purpose!r}"
                    " (Email → Consent purposes)"
                ]
        if self.signature_scheme == SignatureScheme.ZOOM and not self.signing_secret:
            # Zoom signs everything and validates the endpoint with the secret first.
            errors["signing_secret"] = ["Zoom needs its app's Secret Token here"]
        if errors:
            raise ValidationError(errors)


class WebhookDelivery(models.Model):
    """One request a tool made to a webhook source's endpoint and what became of it: the
    log a marketer reads to see whether deliveries arrive and why they fail.

    Every request for an existing source is logged, refused ones too (those without the
    token up to LEADLOOP_HOOK_UNAUTHENTICATED_LOGGED a minute); the payload is not kept
    (it holds personal data), only its size. The capture clean-up sweep keeps the newest
    LEADLOOP_WEBHOOK_DELIVERIES_KEPT per source with the token, and as many without
    (capture.webhook_sources).
    """

    # delivery_source_time (source, -received_at) serves look-ups by source.
    source = models.ForeignKey(
        WebhookSource, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    received_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(help_text="The HTTP status answered")
    outcome = models.CharField(max_length=10, choices=DeliveryOutcome.choices)
    rejection = models.CharField(
        max_length=20,
        choices=DeliveryRejection.choices,
        blank=True,
        help_text="Why a rejected delivery was refused",
    )
    events_recorded = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    items_rejected = models.PositiveIntegerField(default=0)
    client_ip = models.GenericIPAddressField("client IP address", null=True, blank=True)
    body_bytes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Size of the body (as announced, when not read)"
    )
    error = models.CharField(
        max_length=500, blank=True, help_text="The first error: the refusal, or the first item's"
    )
    # Whether the request carried the source's token. Requests without it are logged
    # within a budget per minute and pruned apart, so a flood of them cannot push the
    # sender's real deliveries out of the log.
    authenticated = models.BooleanField(default=False)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["source", "-received_at"], name="delivery_source_time")]

    def __str__(self) -> str:
        return f"{self.outcome} delivery to {self.source_id} at {self.received_at}"


class RateCounter(models.Model):
    """How many requests one caller of a public endpoint (a web form visitor's address, a
    webhook source) made in one minute, counted for its rate limit.

    Used when the cache is not Redis: one upsert per request (capture.ratelimit) counts
    atomically on SQLite and PostgreSQL, where the database cache's get-then-set would
    lose counts under concurrent requests. Past minutes are pruned by the capture
    clean-up sweep (capture.tasks).
    """

    scope = models.CharField(max_length=200)
    minute = models.BigIntegerField(help_text="Minutes since 1970-01-01 UTC")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "rate counter"
        verbose_name_plural = "rate counters"
        constraints = [
            models.UniqueConstraint(fields=["scope", "minute"], name="ratecounter_scope_minute")
        ]
        indexes = [models.Index(fields=["minute"], name="ratecounter_minute")]

    def __str__(self) -> str:
        return f"{self.scope} @ {self.minute}: {self.count}"
