"""One entry of a lead's timeline, as every app that keeps part of a lead's history gives
it (`timeline_entries` in its queries.py) and the lead page shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from users.models import User


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "assignment", "stage", "touch", "event", "submission"
    title: str
    detail: str
    who: str


def person_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.display_name
