"""Reads of qualification's tables for pages and reports."""

from __future__ import annotations

from leads.models import Lead
from leads.timeline import TimelineEntry

from .models import Event


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
