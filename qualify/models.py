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


class ScoringModelVersion(models.Model):
    """One saved version of the scoring model (fit rules, grades, engagement signals,
    decay, segments) as the document marketing edits (`qualify.document`). Versions are
    never changed: an edit or a restore saves a new one. Exactly one is active; every
    score is made by it."""

    number = models.PositiveIntegerField(unique=True)
    document = models.JSONField()
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    # Rescoring every lead with this version (in the background, after it was applied):
    # how far it got, and its summary (leads_rescored, moves, grades_changed, seconds).
    rescore_total = models.PositiveIntegerField(null=True, blank=True)
    rescore_done = models.PositiveIntegerField(default=0)
    rescore_finished_at = models.DateTimeField(null=True, blank=True)
    rescore_summary = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = "scoring model version"
        verbose_name_plural = "scoring model versions"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="scoring_one_active_version",
            )
        ]

    def __str__(self) -> str:
        return f"scoring model v{self.number}"


class EngagementSignal(models.Model):
    """How much of one engagement signal (a rule of the scoring model: "viewed pricing",
    "opened an email") a lead has shown: its events counted, decayed to `as_of`, kept up
    to date as events arrive, so that a score at any moment is count * 2^(-age /
    half-life) per signal and never a scan of the events. `window_*` is the current
    period of the signal's cap (e.g. at most 3 email opens a week).

    A merge moves the duplicate's rows to the survivor (a lead may then hold two rows of
    one signal: they add up), and its undo moves them back."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="engagement_signals")
    key = models.CharField(max_length=300)
    kind = models.CharField(max_length=50)
    count = models.FloatField(default=0)
    total = models.IntegerField(default=0)
    as_of = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.IntegerField(default=0)

    class Meta:
        verbose_name = "engagement signal"
        verbose_name_plural = "engagement signals"
        indexes = [models.Index(fields=["lead", "key"], name="signal_lead_key")]

    def __str__(self) -> str:
        return f"{self.key} of {self.lead_id}"


class ScoreChange(models.Model):
    """A lead's score, grade or segment changed: what it became, when, and which version
    of the scoring model made it (the lead page's chart; what was known at each moment)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="score_changes")
    changed_at = models.DateTimeField()
    score = models.IntegerField()
    fit_score = models.IntegerField()
    engagement_score = models.IntegerField()
    grade = models.CharField(max_length=1, blank=True)
    segment = models.CharField(max_length=20)
    model_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "score change"
        verbose_name_plural = "score changes"
        ordering = ["changed_at", "pk"]
        indexes = [models.Index(fields=["lead", "changed_at"], name="score_change_lead_time")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.score} at {self.changed_at:%Y-%m-%d %H:%M}"
