"""Reads of qualification's tables for pages and reports."""

from __future__ import annotations

from typing import Any

from leads.models import Lead
from leads.timeline import TimelineEntry

from .models import Event, ScoreChange


def timeline_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
    """The lead's newest `limit` engagement events, with their points."""
    events = Event.objects.filter(lead=lead).select_related("campaign").order_by("-occurred_at")
    return [
        TimelineEntry(
            event.occurred_at,
            "event",
            event.kind.replace("_", " "),
            f"{event.points:+d} points"
            + (f" · {event.campaign.name}" if event.campaign else "")
            + (f" · form {event.properties['form']}" if "form" in event.properties else ""),
            "",
        )
        for event in events[:limit]
    ]


def score_history(lead: Lead, limit: int = 200) -> list[tuple[Any, int, str, str]]:
    """The lead's latest score changes, oldest first: (when, score, grade, segment)."""
    rows = (
        ScoreChange.objects.filter(lead=lead)
        .order_by("-changed_at", "-pk")
        .values_list("changed_at", "score", "grade", "segment")[:limit]
    )
    return list(reversed(rows))
