"""Outgoing webhooks: who wants to hear of which lead events, and every POST made to them.

Nothing here is written by another app: the sweep (`services.run_due`) reads the history
the other apps keep (stage changes, assignments, SLA breach notifications) from where its
cursors stopped, and turns each new row into one delivery per subscription that asked
for its event type.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import DeliveryStatus, Source


class Subscription(models.Model):
    """A system outside Leadloop (a CRM, a chat bot, a data warehouse) that is sent the
    lead events it names, each POST signed with the subscription's secret."""

    name = models.CharField(max_length=100)
    url = models.URLField("target URL", max_length=2000)
    # EventType values, e.g. ["lead.assigned", "lead.won"].
    event_types = models.JSONField(default=list)
    # The HMAC key, shared with the receiver. Kept as it is (signing needs it), shown once.
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField("active", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "webhook subscription"
        verbose_name_plural = "webhook subscriptions"
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One event for one subscription: its payload as sent, and how sending went.

    Pending deliveries are due at `next_attempt_at`; a failed attempt is tried again after
    a growing wait, up to LEADLOOP_WEBHOOK_MAX_ATTEMPTS, then the delivery is failed (an
    admin may retry it). Unique per subscription and event, so an event is queued once
    however often the sweep reads its history row.
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="delivery_once")
        ]
        indexes = [
            # The sweep's "what is due": pending rows only, so delivered ones cost nothing.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=Q(status=DeliveryStatus.PENDING),
            ),
            # A subscription's delivery log, newest first.
            models.Index(fields=["subscription", "created_at"], name="delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.subscription_id} ({self.status})"


class Cursor(models.Model):
    """How far the sweep has read one history table: every row up to `last_id` has been
    turned into deliveries, except the ids in `gaps`.

    A gap is an id below `last_id` that was not there when the sweep read past it: a
    transaction that had taken the id but not committed yet (PostgreSQL hands out ids at
    insert, not at commit), or one that rolled back. Gaps are read again on each sweep
    until their row appears or LEADLOOP_WEBHOOK_GAP_WAIT_SECONDS have passed, so a slow
    transaction's rows are sent late rather than never.
    """

    source = models.CharField(max_length=20, choices=Source.choices, unique=True)
    last_id = models.BigIntegerField(default=0)
    # [[first id, last id, ISO time first missed], ...], in id order.
    gaps = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "event cursor"
        verbose_name_plural = "event cursors"

    def __str__(self) -> str:
        return f"{self.source} at {self.last_id}"
