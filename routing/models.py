"""Routing's records: the history of who was given each lead."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from users.models import User

from .choices import AssignedHow, RollupSpan, RuleTarget, SlaStepKind, SlaStepOutcome
from .rules import SlaPolicyRule, describe_assignment


class Assignment(models.Model):
    """One hand-over of a lead: to a rep or a team's queue, from whom, when, how and on
    whose word (`assigned_by`; None is Leadloop's routing itself).

    Written by routing's services in the same transaction as the lead's new owner, one row
    per lead and hand-over, bulk paths included; afterwards only the turn's follow-up
    columns below change (a contact, a hand-back), never who, when or how. `reason` is what
    a person typed; `rule_name` keeps the name of the routing rule that decided, as it was
    then (a rule renamed or deleted later does not rewrite history).
    """

    # assignment_lead (lead, assigned_at) serves look-ups by lead.
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    # Who had it before and who has it now. Only to_owner is indexed ("what was each rep
    # given"): an import adds a row per routed lead, and every index costs each insert.
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_team = models.ForeignKey(
        "users.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    to_team = models.ForeignKey(
        "users.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    assigned_at = models.DateTimeField()
    how = models.CharField(max_length=20, choices=AssignedHow.choices)
    rule_name = models.CharField(max_length=100, blank=True)
    # The rule itself while it exists (its name above stays as it was).
    rule = models.ForeignKey(
        "routing.RoutingRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    reason = models.CharField(max_length=300, blank=True)

    # The turn this hand-over began, as the follow-up figures count it (analytics): the
    # first-touch deadline the lead got with it, the first contact after it (how long it
    # took, on the clock and in the team's working hours), how many contacts were made,
    # and when the lead was handed back. Kept here as they happen (routing.services
    # note_contact / note_dropped), so a report over a million turns reads one table.
    due_at = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    first_touch_hours = models.FloatField("business hours to first touch", null=True, blank=True)
    first_touch_clock_hours = models.FloatField("clock hours to first touch", null=True, blank=True)
    # A default in the database too: the bulk INSERTs of assignments leave it out.
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "assignment"
        verbose_name_plural = "assignments"
        ordering = ["assigned_at", "pk"]
        indexes = [
            models.Index(fields=["lead", "assigned_at"], name="assignment_lead"),
            # The follow-up figures read a period of turns.
            models.Index(fields=["assigned_at"], name="assignment_given"),
            # What the roll-up cannot keep (it depends on "now" and on the lead today:
            # untouched past the deadline, leaked by age) is read from the untouched
            # turns alone (analytics.services), few where reps follow up.
            models.Index(
                fields=["assigned_at"],
                name="assignment_untouched",
                condition=models.Q(first_touch_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.summary}"

    @property
    def summary(self) -> str:
        """One line for people, e.g. "Assigned to Rep One (round robin in team EMEA)".
        Reads the owners, team and assigner: select them with the row."""
        return describe_assignment(
            how=self.how,
            from_owner=display_name(self.from_owner),
            to_owner=display_name(self.to_owner),
            from_team=self.from_team.name if self.from_team else "",
            to_team=self.to_team.name if self.to_team else "",
            rule_name=self.rule_name,
        )


def display_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.display_name


class RoutingRule(models.Model):
    """One line of the routing table a sales manager keeps: "leads from DACH with over
    1,000 employees go round robin to team EMEA". Rules are tried in `position` order;
    the first whose conditions all hold decides, after the account owner (named and
    marquee accounts stay with their rep). No rule matching: the team of the lead's
    country, round robin (routing.services).

    `conditions` is a list of {"field", "op", "value"} (routing.rules_engine names the
    fields and operators); the target is a named rep, a team's round robin, or a team's
    queue with no owner."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    conditions = models.JSONField(default=list, blank=True)
    target = models.CharField(max_length=10, choices=RuleTarget.choices)
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "routing rule"
        verbose_name_plural = "routing rules"
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """How fast a team must first touch a kind of lead, and what happens when nobody
    does: e.g. "Marquee and grade A: 1 business hour, a reminder 15 minutes before,
    reassigned 2 hours after the deadline, handed back to marketing after 8".

    A team's policies are tried in `position` order and the first that covers the lead
    applies (any of its grades, segments, or a marquee account; one naming none covers
    every lead). A team without a policy that covers a lead falls back to its
    `sla_hours`, with no reminder and no ladder. Edited by the team's managers and admins
    (`routing.sla`); a running clock keeps the plan it was started with.
    """

    team = models.ForeignKey("users.Team", on_delete=models.CASCADE, related_name="sla_policies")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    grades = models.JSONField(default=list, blank=True, help_text="Lead grades, e.g. ['A']")
    segments = models.JSONField(default=list, blank=True, help_text="Lead segments")
    marquee = models.BooleanField(default=False, help_text="Leads of marquee accounts")
    hours = models.PositiveIntegerField(help_text="Business hours to the first touch")
    remind_before_minutes = models.PositiveIntegerField(
        default=0, help_text="Remind the rep this many business minutes before (0: never)"
    )
    reassign_after_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Reassign this many business hours after the deadline"
    )
    recycle_after_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Hand back to marketing this many business hours after the deadline",
    )

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        ordering = ["team", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="slapolicy_name_once")]

    def __str__(self) -> str:
        return f"{self.team_id}: {self.name}"

    def as_rule(self) -> SlaPolicyRule:
        return SlaPolicyRule(
            name=self.name,
            hours=self.hours,
            grades=frozenset(self.grades or []),
            segments=frozenset(self.segments or []),
            marquee=self.marquee,
            remind_before_minutes=self.remind_before_minutes,
            reassign_after_hours=self.reassign_after_hours,
            recycle_after_hours=self.recycle_after_hours,
        )


class SlaStep(models.Model):
    """One rung of a lead's first-touch clock: a reminder, the breach, a reassignment or
    the hand-back to marketing, due at a moment (`due_at`) and done or skipped once.

    Written once when the clock starts, in the transaction that starts it (the breach
    when it is marked, in the sweep's transaction that marks it); the sweep
    `routing.escalation.run_due` takes the pending ones whose time has come through the
    partial index `slastep_due`. A rung belongs to the clock that ended at
    `clock_due_at`: if the lead's clock is no longer that one (first touch, a fresh
    clock, the lead left sales), the rung is skipped. Done rungs are the lead's history.
    """

    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="sla_steps", db_index=False
    )
    kind = models.CharField(max_length=10, choices=SlaStepKind.choices)
    policy_name = models.CharField(max_length=100, blank=True)
    clock_due_at = models.DateTimeField()
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=SlaStepOutcome.choices, default=SlaStepOutcome.PENDING, blank=True
    )
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "SLA step"
        verbose_name_plural = "SLA steps"
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(
                fields=["due_at"], name="slastep_due", condition=models.Q(done_at__isnull=True)
            ),
            models.Index(fields=["lead", "due_at"], name="slastep_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.kind} at {self.due_at:%Y-%m-%d %H:%M}"


class TurnRollup(models.Model):
    """The follow-up figures of the turns given in one month (or one year) to one rep in
    one team: how many were given, touched, touched within or after their deadline,
    dropped (per number of attempts), and how many first touches fell in each bin of the
    speed-to-lead histograms (`routing.rules.turn_figures` says which a turn counts in).

    Kept exactly by the writers of a turn's record, in their transaction
    (routing.rollup: a new assignment adds to "given"; a first touch moves the turn into
    "touched" and its bins; a hand-back into "dropped"), each change counted in the
    turn's month and in its year, so a follow-up report over any period reads a few years'
    and months' rows × reps × bins instead of every turn (analytics.services).
    `leadloop report rebuild-rollup` refills it from the assignments. Plain ids rather
    than foreign keys: `0` is "no team", and a unique key with NULLs in it would not
    merge the increments. Rows with campaign 0 count every turn; each turn is counted
    again in the rows of the campaigns its lead was in when it was given (`TurnCampaign`;
    -1: in none), which the report per campaign reads. Campaign rows are per team, rep 0:
    per rep they would multiply the rows by the reps for a report that managers and
    marketing read per team or overall (a rep's own is read from their turns).
    """

    span = models.CharField(max_length=5, choices=RollupSpan.choices)
    period = models.DateField(help_text="The first day of the month or year")
    rep_id = models.BigIntegerField("rep ID")
    team_id = models.BigIntegerField("team ID", help_text="0: no team")
    campaign_id = models.BigIntegerField(
        "campaign ID", default=0, help_text="0: every turn; else the turns of that campaign"
    )
    figure = models.CharField(max_length=20)
    edge = models.FloatField(default=0)
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = "follow-up roll-up"
        verbose_name_plural = "follow-up roll-up"
        constraints = [
            models.UniqueConstraint(
                fields=["span", "period", "rep_id", "team_id", "campaign_id", "figure", "edge"],
                name="turnrollup_key",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.span} {self.period} rep {self.rep_id} {self.figure} {self.edge}: {self.count}"
        )


class TurnCampaign(models.Model):
    """A campaign a turn counts for in the follow-up figures per campaign: the campaigns
    its lead was a member of when the turn was given, written with the turn
    (`services.record_assignments`) and never changed after, so a lead joining a webinar
    later does not claim the follow-up of an earlier hand-over, and a merge (which moves
    the turn to the survivor) keeps what the turn counted for."""

    # turncampaign_unique (assignment, campaign) serves look-ups by turn.
    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="campaigns", db_index=False
    )
    campaign = models.ForeignKey(
        "leads.Campaign", on_delete=models.CASCADE, related_name="turns", db_index=False
    )

    class Meta:
        verbose_name = "turn's campaign"
        verbose_name_plural = "turns' campaigns"
        constraints = [
            models.UniqueConstraint(fields=["assignment", "campaign"], name="turncampaign_unique")
        ]
        indexes = [models.Index(fields=["campaign", "assignment"], name="turncampaign_campaign")]

    def __str__(self) -> str:
        return f"turn {self.assignment_id} in campaign {self.campaign_id}"
