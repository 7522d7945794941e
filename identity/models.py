"""Who is who: match keys, likely duplicates waiting for review, and merges (with undo)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from leads.models import Lead

from .choices import DuplicateReason, DuplicateStatus, MergeStatus


class LeadMatchKeys(models.Model):
    """What a lead is recognised by when it shares no email with another: its phone in
    E.164 and its name and company spelled without case or accents (identity.dedup).

    A table of its own, so lead rows stay as imports write them; a lead without a row has
    not been checked for duplicates yet, which is the work list of the sweep.
    """

    lead = models.OneToOneField(
        Lead, on_delete=models.CASCADE, primary_key=True, related_name="match_keys"
    )
    phone_key = models.CharField(max_length=40, blank=True)
    person_key = models.CharField(max_length=210, blank=True)
    company_key = models.CharField(max_length=200, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name = "lead match keys"
        verbose_name_plural = "lead match keys"
        db_table = "capture_leadmatchkeys"
        indexes = [
            models.Index(
                fields=["phone_key"], name="matchkeys_phone", condition=~models.Q(phone_key="")
            ),
            models.Index(
                fields=["person_key"], name="matchkeys_person", condition=~models.Q(person_key="")
            ),
        ]

    def __str__(self) -> str:
        return f"match keys of {self.lead_id}"


class DuplicateCandidate(models.Model):
    """Two leads that look like one person (same phone, or same name at the same company)
    waiting for someone to merge them or say they are different people.

    The pair is stored once, lower id first. A pair with a merged lead leaves the review
    queue by itself (merged leads are invisible) and comes back if the merge is undone.
    """

    lead_a = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    lead_b = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=DuplicateReason.choices)
    score = models.PositiveSmallIntegerField(help_text="How sure the match is, 0 to 100")
    status = models.CharField(
        max_length=20, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    created_at = models.DateTimeField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "possible duplicate"
        verbose_name_plural = "possible duplicates"
        db_table = "capture_duplicatecandidate"
        ordering = ["-score", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["lead_a", "lead_b"], name="duplicate_pair_unique"),
            models.CheckConstraint(
                condition=models.Q(lead_a__lt=models.F("lead_b")), name="duplicate_pair_ordered"
            ),
        ]
        indexes = [
            models.Index(
                fields=["-score", "-created_at"],
                name="duplicate_open",
                condition=models.Q(status="open"),
            ),
            models.Index(fields=["lead_b"], name="duplicate_lead_b"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_a_id} ~ {self.lead_b_id} ({self.reason}, {self.status})"


class MergeRecord(models.Model):
    """One merge of a duplicate lead into the lead that survives: who, when, and a snapshot
    (the ids of every row moved, both leads' fields before) that lets it be undone exactly.

    `freed_email` is the address no lead holds any more because of the merge; a later
    submission with it reaches the survivor instead of creating a new lead.
    """

    survivor = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges_absorbed")
    duplicate = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges_into")
    candidate = models.ForeignKey(
        DuplicateCandidate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=MergeStatus.choices, default=MergeStatus.APPLIED
    )
    field_choices = models.JSONField(default=dict, blank=True)
    snapshot = models.JSONField(default=dict)
    freed_email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001 -- absent when no address was freed
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField()
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "merge"
        verbose_name_plural = "merges"
        db_table = "capture_mergerecord"
        ordering = ["-merged_at", "-pk"]
        indexes = [
            models.Index(fields=["survivor", "merged_at"], name="merge_survivor"),
            models.Index(
                fields=["freed_email"],
                name="merge_freed_email",
                condition=models.Q(freed_email__isnull=False, status="applied"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.duplicate_id} merged into {self.survivor_id} ({self.status})"
