"""Reads of routing's tables for pages and reports."""

from __future__ import annotations

from leads.models import Lead
from leads.timeline import TimelineEntry, person_name

from .choices import SlaStepKind, SlaStepOutcome
from .models import Assignment, SlaStep


def timeline_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
    """The lead's newest `limit` assignments and SLA rungs taken (reminder, breach,
    reassignment, hand-back)."""
    return assignment_entries(lead, limit) + sla_entries(lead, limit)


def sla_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
    steps = SlaStep.objects.filter(lead=lead, outcome=SlaStepOutcome.DONE).order_by(
        "-done_at", "-pk"
    )[:limit]
    return [
        TimelineEntry(
            step.done_at or step.due_at,
            "sla",
            str(SlaStepKind(step.kind).label)
            + (f" (policy '{step.policy_name}')" if step.policy_name else ""),
            step.detail,
            "",
        )
        for step in steps
    ]


def assignment_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
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
