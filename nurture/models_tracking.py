"""What providers and mail servers tell Leadloop about sent email after it left: bounces,
complaints and deliveries (the bounce webhook, anymail's tracking webhooks)."""

from __future__ import annotations

from django.db import models

from .choices import DeliveryEventType


class DeliveryEvent(models.Model):
    """One report about one address: a bounce (permanent, or soft and counted), a spam
    complaint, a delivery. A permanent bounce or a complaint suppresses the address; soft
    bounces suppress it once LEADLOOP_EMAIL_SOFT_BOUNCE_LIMIT of them arrived since the
    last delivery. `event_key` (the provider's event id, when it gives one) makes a
    retried report harmless."""

    type = models.CharField(max_length=20, choices=DeliveryEventType.choices)
    address = models.EmailField(max_length=254, db_index=True)
    message = models.ForeignKey(
        "nurture.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_permanent = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # Where it came from: "api" (the JSON webhook) or "anymail:<provider>".
    source = models.CharField(max_length=60)
    event_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["address", "type", "occurred_at"], name="nurture_delivery_addr")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.address}"
