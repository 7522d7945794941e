"""Consent per purpose: what a person agreed to receive (newsletter, product updates,
events), where and when they said so, and every withdrawal, kept the same way."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from leads.models import Lead

from .choices import ConsentSource


class ConsentPurpose(models.Model):
    """Something a person may agree to receive by email. The preference page lists the
    active ones with their description; a marketing message names the purpose it is sent
    for (`Message.consent_purpose`) and goes only to leads who granted it."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    # What the preference page tells the person they get.
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Consent(models.Model):
    """One grant or withdrawal of one purpose by (or for) one person: the lead and the
    address it was given for, when, through which door (`source`: a form, an import, a
    trade show, the API, a webhook, the preference page, an unsubscribe link, a colleague)
    and which one (`reference`: the form, the import job, the API token, the message),
    and the words agreed to. Never updated: the history is the record."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="consents")
    email = models.CharField(max_length=254, blank=True)
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="+")
    granted = models.BooleanField()
    at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    reference = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
    # What the data migration took out of the lead's custom_fields (given back on reverse).
    legacy_fields = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["lead", "purpose", "at"], name="consent_lead_purpose_at")]

    def __str__(self) -> str:
        return f"{self.lead_id} {'granted' if self.granted else 'withdrew'} {self.purpose_id}"


class ConsentState(models.Model):
    """A lead's current answer for one purpose: the latest `Consent` row, kept beside the
    history so the outbox reads a batch's consent with one indexed query (lead, purpose)
    instead of a latest-row-per-group query over the history (DISTINCT ON on PostgreSQL,
    a correlated subquery on SQLite). Written only by `nurture.consent`, in the same
    transaction as the row it points at."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.CASCADE, related_name="+")
    granted = models.BooleanField()
    at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "purpose"], name="consent_state_once")
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.purpose_id} {self.granted}"
