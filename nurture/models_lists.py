"""Lists of leads: smart lists (saved filters, their members kept up to date by a sweep)
and static lists (members added and removed by hand)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from leads.models import Lead

from .choices import ListKind


class LeadList(models.Model):
    """A saved list of leads marketing works with: to enrol leads in programs, to filter
    the leads page and to act on many leads at once. A smart list is defined by filters
    (`definition`, checked by `nurture.lists.check_definition`) and its members are
    recomputed set-based; a static list holds the leads people put in it."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=ListKind.choices, default=ListKind.SMART)
    # A list of conditions, all of which must hold; {"any": [...]} is an OR group.
    definition = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # The last recomputation of a smart list: when, and how many leads joined and left.
    refreshed_at = models.DateTimeField(null=True, blank=True)
    last_joined = models.PositiveIntegerField(default=0)
    last_left = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ListMember(models.Model):
    """A lead in a list, since when."""

    lead_list = models.ForeignKey(LeadList, on_delete=models.CASCADE, related_name="members")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="list_memberships")
    added_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead_list", "lead"], name="list_member_once")
        ]
        indexes = [models.Index(fields=["lead"], name="list_member_lead")]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.lead_list_id}"
