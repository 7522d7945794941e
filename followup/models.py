from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from leads.models import Lead

from .choices import OpportunityStatus, TouchKind, TouchOutcome


class Touch(models.Model):
    """A follow-up a rep logged: a call, an email, a meeting or a note, with its outcome."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="touches")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="touches"
    )
    kind = models.CharField(max_length=20, choices=TouchKind.choices)
    outcome = models.CharField(max_length=20, choices=TouchOutcome.choices, blank=True)
    notes = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "touch"
        verbose_name_plural = "touches"
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["lead", "occurred_at"], name="touch_lead")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Opportunity(models.Model):
    """A deal sales opened with an accepted lead; won deals are the revenue reports count."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="opportunities")
    name = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    status = models.CharField(
        max_length=10, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "opportunity"
        ordering = ["-opened_at"]
        verbose_name_plural = "opportunities"
        indexes = [models.Index(fields=["status", "closed_at"], name="opportunity_status")]

    def __str__(self) -> str:
        return self.name or f"Opportunity for {self.lead}"
