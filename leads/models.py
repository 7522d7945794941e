from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import Authority, Channel, Grade, MemberStatus, Segment, Stage, Timeline


class Account(models.Model):
    """A company Leadloop sells to, recognised by its web domain.

    A marquee account is one sales always wants to hear from: its leads skip nurture.
    """

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, unique=True, null=True, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    is_marquee = models.BooleanField(default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "account"
        verbose_name_plural = "accounts"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """A marketing effort that brings leads in (a webinar, a trade show, an ad campaign).

    Its cost and dates are what ROI and cost per lead are computed from.
    """

    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "campaign"
        verbose_name_plural = "campaigns"
        ordering = ["-starts_on", "name"]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    """A person who might buy, with where they are in the lifecycle and who works them.

    Never deleted by the app's flows: a lead leaves the funnel only as `disqualified`
    with a reason. Stage moves only through `leads.services.transition_lead`.
    """

    email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001 -- unique when present
    # The lead's id in the system it was imported from (a CRM record id): an import keyed
    # on it updates the same lead however its email changes.
    external_id = models.CharField("external ID", max_length=100, null=True, blank=True)  # noqa: DJ001 -- unique when present
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=150, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    country = models.CharField(max_length=100, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    # Fit answers (need, authority, budget, timeline).
    need = models.TextField(blank=True)
    authority = models.CharField(max_length=20, choices=Authority.choices, blank=True)
    budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    timeline = models.CharField(max_length=20, choices=Timeline.choices, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)

    source = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    first_campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="first_leads"
    )

    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    stage_changed_at = models.DateTimeField()
    segment = models.CharField(max_length=20, choices=Segment.choices, default=Segment.NURTURE)
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    score = models.IntegerField(default=0)
    # The letter grade of the fit total (A best, D worst; empty until a model grades it)
    # and the score's explanation: [{"points": 20, "label": "decision maker"}, ...].
    grade = models.CharField(max_length=1, choices=Grade.choices, blank=True, default="")
    score_reasons = models.JSONField(default=list, blank=True)

    # team and owner need no index of their own: lead_team_queue and lead_inbox start with
    # them. Every index is paid for on each insert, and imports insert millions.
    team = models.ForeignKey(
        "users.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField("SLA due at", null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField("SLA breached at", null=True, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)
    touch_count = models.PositiveIntegerField(default=0)
    # The engagement score when sales last handed the lead back: it returns to sales only
    # on engagement earned since (qualify.rules.has_reengaged), not on its old profile.
    engagement_at_recycle = models.IntegerField(null=True, blank=True)

    # Set when this lead turned out to be a duplicate of another and was merged into it
    # (identity.merging): its history moved there and it drops out of every list
    # (users.access.visible_leads), but the row stays so that the merge can be undone.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="merged_leads",
        db_index=False,  # lead_merged_into indexes the few merged leads only
    )

    # When the lead really arrived (an import can carry history); created_at is the row.
    arrived_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "lead"
        verbose_name_plural = "leads"
        ordering = ["-arrived_at"]
        constraints = [
            # Emails are stored normalised (see save), so a plain unique index serves
            # both the constraint and the look-ups.
            models.UniqueConstraint(
                fields=["email"], condition=Q(email__isnull=False), name="lead_email_unique"
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="lead_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "stage", "sla_due_at"], name="lead_inbox"),
            models.Index(fields=["team", "owner", "stage"], name="lead_team_queue"),
            # Only leads with a running SLA clock: nurture leads never enter it.
            models.Index(
                fields=["sla_due_at"],
                name="lead_sla_open",
                condition=Q(
                    sla_due_at__isnull=False,
                    first_touch_at__isnull=True,
                    sla_breached_at__isnull=True,
                ),
            ),
            models.Index(
                fields=["merged_into"],
                name="lead_merged_into",
                condition=Q(merged_into__isnull=False),
            ),
            models.Index(fields=["stage", "segment"], name="lead_stage_segment"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.email is not None:
            self.email = self.email.strip().lower() or None
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"Lead #{self.pk}"


class CampaignMember(models.Model):
    """A lead's part in a campaign: registered, attended, no-show or responded."""

    # campaign_member_unique (campaign, lead) serves look-ups by campaign.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="memberships")
    status = models.CharField(
        max_length=20, choices=MemberStatus.choices, default=MemberStatus.REGISTERED
    )
    joined_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "campaign membership"
        verbose_name_plural = "campaign memberships"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "lead"], name="campaign_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.lead} in {self.campaign} ({self.status})"


class StageChange(models.Model):
    """One move of a lead through the lifecycle: the audit trail funnels are computed from."""

    # stagechange_lead (lead, changed_at) serves look-ups by lead.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="stage_changes", db_index=False
    )
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = "stage change"
        verbose_name_plural = "stage changes"
        ordering = ["changed_at", "pk"]
        indexes = [
            models.Index(fields=["lead", "changed_at"], name="stagechange_lead"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_to"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage or '∅'} → {self.to_stage}"
