"""Reads of routing's tables for pages and reports."""

from __future__ import annotations

from leads.models import Lead
from leads.timeline import TimelineEntry, person_name

from .models import Assignment


def timeline_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
    """The lead's newest `limit` assignments."""
    assignments = (
        Assignment.objects.filter(lead=lead)
        .select_related("from_owner", "to_owner", "from_team", "to_team", "assigned_by")
        .order_by("-assigned_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            assignment.assigned_at,
            "assignment",
            assignment.summary,
            assignment.reason,
            person_name(assignment.assigned_by),
        )
        for assignment in assignments
    ]
