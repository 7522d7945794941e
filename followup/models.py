from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from leads.models import Lead

from .choices import (
    TOUCH_KIND_OF_CHANNEL,
    CadenceChannel,
    EnrolmentStatus,
    OpportunityStatus,
    TaskStatus,
    TouchKind,
    TouchOutcome,
)


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


class Cadence(models.Model):
    """A follow-up plan for sales-ready leads: ordered steps (call on day 0, email on day 2
    …) that become a rep's tasks one after another. Which cadence a lead gets is decided by
    the ordered `CadenceRule`s, else the default cadence. Edited by managers and admins."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # The cadence a lead gets when no rule picks another; exactly one at a time.
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "cadence"
        verbose_name_plural = "cadences"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="cadence_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class CadenceStep(models.Model):
    """One touch of a cadence: on which day (counted from the lead's enrolment), by which
    channel, and what the rep should do or send."""

    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    day_offset = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=20, choices=CadenceChannel.choices)
    instructions = models.TextField(blank=True, help_text="What to say, or the email to send")

    class Meta:
        verbose_name = "cadence step"
        verbose_name_plural = "cadence steps"
        ordering = ["cadence", "position"]
        constraints = [
            models.UniqueConstraint(fields=["cadence", "position"], name="cadence_step_once")
        ]

    def __str__(self) -> str:
        return f"{self.cadence}: day {self.day_offset}, {self.get_channel_display()}"


class CadenceRule(models.Model):
    """A selector of the ordered list that picks a lead's cadence: the first rule whose
    conditions all hold wins (an empty condition holds for every lead)."""

    position = models.PositiveIntegerField()
    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="rules")
    segment = models.CharField(max_length=20, blank=True)
    grade = models.CharField(max_length=1, blank=True)
    campaign = models.ForeignKey(
        "leads.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = "cadence rule"
        verbose_name_plural = "cadence rules"
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.position}. → {self.cadence}"


class AttemptPolicy(models.Model):
    """A team's minimum follow-up before a lead may be dropped for "no response": so many
    attempts over so many channels. A team without a row has the defaults (6 over 2)."""

    team = models.OneToOneField(
        "users.Team", on_delete=models.CASCADE, related_name="attempt_policy"
    )
    min_attempts = models.PositiveSmallIntegerField(default=6)
    min_channels = models.PositiveSmallIntegerField(default=2)

    class Meta:
        verbose_name = "minimum attempts policy"
        verbose_name_plural = "minimum attempts policies"

    def __str__(self) -> str:
        return f"{self.team}: {self.min_attempts} attempts over {self.min_channels} channels"


class Enrolment(models.Model):
    """A lead's run through a cadence, from its assignment to a rep until contact is made,
    the steps run out (the lead goes back to marketing, recycled) or the lead leaves sales.
    At most one active enrolment per lead; it follows the lead when it changes hands."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrolments")
    cadence = models.ForeignKey(Cadence, on_delete=models.PROTECT, related_name="enrolments")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    # Set when the last step was done without contact: the sweep hands the lead back then.
    hand_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "enrolment"
        verbose_name_plural = "enrolments"
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=models.Q(status="active"),
                name="enrolment_one_active",
            )
        ]
        indexes = [
            models.Index(
                fields=["hand_back_at"],
                condition=models.Q(status="active", hand_back_at__isnull=False),
                name="enrolment_hand_back",
            )
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.cadence} ({self.get_status_display()})"


class Task(models.Model):
    """One step of a cadence for one lead, on a rep's list: due at a time, by a channel.
    Done with an outcome (which logs the touch), or cancelled when the cadence ends."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="tasks")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        db_index=False,
    )
    # The step as it was when the task was made: a cadence edited later keeps its history.
    position = models.PositiveSmallIntegerField()
    step_count = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=20, choices=CadenceChannel.choices)
    instructions = models.TextField(blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=TouchOutcome.choices, blank=True)
    touch = models.ForeignKey(
        Touch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "task"
        verbose_name_plural = "tasks"
        ordering = ["due_at", "pk"]
        indexes = [
            # A rep's open tasks by due time: the Today page and GET /api/v1/tasks.
            models.Index(
                fields=["owner", "due_at"],
                condition=models.Q(status="open"),
                name="task_open_by_owner",
            ),
            models.Index(fields=["lead", "status"], name="task_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.lead_id} due {self.due_at:%Y-%m-%d}"

    @property
    def touch_kind(self) -> str:
        return TOUCH_KIND_OF_CHANNEL[self.channel]
