"""Engagement: the events that add to a lead's score."""

from __future__ import annotations

from django.db import models

from leads.models import Campaign, Lead


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
        verbose_name = "engagement event"
        verbose_name_plural = "engagement events"
        db_table = "capture_event"
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["lead", "occurred_at"], name="event_lead_time")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.lead_id}"
