from __future__ import annotations

from django.conf import settings
from django.db import models

from leads.models import Campaign, Lead


class Submission(models.Model):
    """One arrival of lead data (API call, form post, import row), kept as received.

    The same person submitting twice is one lead with two submissions.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="submissions")
    source = models.CharField(max_length=20)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    payload = models.JSONField(default=dict)
    was_created = models.BooleanField(default=False)
    received_at = models.DateTimeField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["lead", "received_at"], name="submission_lead")]

    def __str__(self) -> str:
        return f"{self.source} submission for {self.lead_id}"


class Event(models.Model):
    """An engagement event (page view, email click, webinar attended …) on a lead.

    Append only: never updated, indexed by lead and time, so that on PostgreSQL the
    table can be range-partitioned by month without changing the code that writes it.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=50)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    points = models.IntegerField(default=0)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    properties = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["lead", "occurred_at"], name="event_lead_time")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.lead_id}"


class IdempotencyKey(models.Model):
    """A write from outside that already happened: a retry with its key gets the same answer."""

    key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "endpoint", "key"], name="idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"


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
    consent_text = models.CharField(max_length=300, blank=True)
    thank_you_message = models.CharField(
        max_length=300, default="Thank you! We will be in touch shortly."
    )
    thank_you_url = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
