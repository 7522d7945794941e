"""Reads of the core tables for pages and reports."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from .lifecycle import reached_from
from .models import Lead, StageChange
from .timeline import TimelineEntry, person_name


def timeline_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
    """The lead's newest `limit` stage changes."""
    changes = (
        StageChange.objects.filter(lead=lead)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            change.changed_at,
            "stage",
            f"{change.get_from_stage_display() or 'arrived'} → {change.get_to_stage_display()}",
            change.reason,
            person_name(change.changed_by),
        )
        for change in changes
    ]


def last_stage_change(lead: Lead) -> StageChange | None:
    """The move that put the lead in its stage (who made it, when and why)."""
    return (
        StageChange.objects.filter(lead=lead)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")
        .first()
    )


def reached_stage(leads: QuerySet[Lead], stage: str) -> QuerySet[Lead]:
    """The `leads` that ever reached funnel `stage` (entered it or a later one), as their
    stage changes tell: the leads behind the funnel's "reached" count."""
    return leads.filter(
        Exists(StageChange.objects.filter(lead_id=OuterRef("pk"), to_stage__in=reached_from(stage)))
    )
