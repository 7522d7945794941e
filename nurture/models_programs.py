"""Nurture programs: a sequence of steps (send, wait, branch, lists, notify, hand to sales,
end) that the leads enrolled in it walk through, one sweep at a time (`nurture.programs`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from leads.models import Lead

from .choices import EnrolmentStatus, ProgramStatus, StepKind


class Program(models.Model):
    """A nurture program marketing runs: the leads its enrolment rules pick (or people
    enrol by hand) get its emails and waits until they reach its end or one of its goals
    (sales-ready, disqualified, unsubscribed, or an event the program names).

    `purpose` is the consent purpose its emails are sent under ("newsletter"); `entry`
    the enrolment rules (any of them enrols a lead), `goals` the named goals, both as the
    program's document says them (`nurture.programs.check_document`)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT
    )
    purpose = models.SlugField(max_length=50, default="newsletter")
    allow_reentry = models.BooleanField(
        default=False, help_text="A lead whose run ended may be enrolled again"
    )
    entry = models.JSONField(default=list, blank=True)
    goals = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProgramStep(models.Model):
    """One step of a program, in order (`position`). A branch names where a lead goes on
    yes and on no; every other step leads to the next one in order (the last one ends the
    run). `settings` hold the kind's own fields (a wait's duration or weekday and hour, a
    branch's test, a list's name, whom to notify). The counters say how many leads reached
    the step and, for a branch, how many went which way: the monitor reads them."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    template = models.ForeignKey(
        "nurture.EmailTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="program_steps",
    )
    settings = models.JSONField(default=dict, blank=True)
    yes_next = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    no_next = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reached = models.PositiveIntegerField(default=0)
    went_yes = models.PositiveIntegerField(default=0)
    went_no = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["program", "position"]
        constraints = [
            models.UniqueConstraint(fields=["program", "position"], name="program_step_position"),
            models.UniqueConstraint(fields=["program", "name"], name="program_step_name"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class Enrolment(models.Model):
    """One lead's run through one program: where it is (`step`, since `step_entered_at`),
    when the sweep looks at it next (`due_at`), and how it ended. A lead has at most one
    active run per program; a program that allows re-entry may run it again later."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="program_enrolments")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrolments")
    step = models.ForeignKey(
        ProgramStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrolments"
    )
    status = models.CharField(
        max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    due_at = models.DateTimeField(null=True, blank=True)
    step_entered_at = models.DateTimeField()
    entered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=200, blank=True)
    # How the lead came in: "rule: list 'Webinar no-shows'", "by hand: anna".
    entered_how = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-entered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "program"],
                condition=Q(status=EnrolmentStatus.ACTIVE),
                name="enrolment_active_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="enrolment_due",
                condition=Q(status=EnrolmentStatus.ACTIVE),
            ),
            models.Index(fields=["program", "status", "step"], name="enrolment_program_step"),
            models.Index(fields=["lead", "program"], name="enrolment_lead_program"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.program_id}"
