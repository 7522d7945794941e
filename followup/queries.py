"""Reads of follow-up's tables for pages and reports."""

from __future__ import annotations

from leads.models import Lead
from leads.timeline import TimelineEntry, person_name

from .models import Touch


def timeline_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
    """The lead's newest `limit` touches."""
    touches = (
        Touch.objects.filter(lead=lead)
        .select_related("user")
        .order_by("-occurred_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            touch.occurred_at,
            "touch",
            touch.get_kind_display()
            + (f": {touch.get_outcome_display()}" if touch.outcome else ""),
            touch.notes,
            person_name(touch.user),
        )
        for touch in touches
    ]
