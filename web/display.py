"""Presentation helpers: how long, how late, and cells safe to open in a spreadsheet.

Pure functions over plain values (no database), so pages, exports and tests agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from capture.choices import DeliveryOutcome, DeliveryRejection
from leads.exports import safe_cell
from routing.choices import SlaState
from routing.rules import sla_state

# One implementation of CSV-injection neutralising, shared with every export.
csv_safe = safe_cell


def format_duration(delta: timedelta) -> str:
    """A short human duration, largest two units: "2d 3h", "5h 12m", "4m", "0m"."""
    seconds = int(abs(delta.total_seconds()))
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes = seconds // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def format_wait(delta: timedelta) -> str:
    """A wait in words, to the minute: "1 minute", "15 minutes", "1 hour", "1 hour 30 minutes"."""
    minutes = max(1, round(delta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def format_seconds(seconds: float) -> str:
    """A short running time, to the second: "under 1 s", "8 s", "2 min 5 s", "1 h 4 min"."""
    if seconds < 1:
        return "under 1 s"
    whole = int(seconds)
    hours, whole = divmod(whole, 3_600)
    minutes, secs = divmod(whole, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@dataclass(frozen=True)
class SlaStatus:
    """A lead's first-touch clock as a page shows it: the state (`routing.rules.sla_state`,
    the same as the API answers) with its words."""

    state: SlaState
    due_at: datetime | None
    stopped_at: datetime | None
    label: str
    late_by: str = ""  # for a stopped clock: how late the first touch was, if it was

    @property
    def is_overdue(self) -> bool:
        return self.state == SlaState.OVERDUE

    @property
    def is_stopped(self) -> bool:
        return self.state in {SlaState.MET, SlaState.MISSED}


def sla_status(
    *,
    due_at: datetime | None,
    first_touch_at: datetime | None,
    now: datetime,
) -> SlaStatus:
    """The clock of one lead, in wall-clock time (the deadline itself is in business hours)."""
    state = sla_state(due_at=due_at, first_touch_at=first_touch_at, now=now)
    match state:
        case SlaState.MET:
            return SlaStatus(state, due_at, first_touch_at, "clock stopped")
        case SlaState.MISSED:
            assert due_at is not None and first_touch_at is not None  # what missed means
            late_by = format_duration(first_touch_at - due_at)
            return SlaStatus(state, due_at, first_touch_at, "clock stopped", late_by=late_by)
        case SlaState.OVERDUE:
            assert due_at is not None
            return SlaStatus(state, due_at, None, f"overdue by {format_duration(now - due_at)}")
        case SlaState.RUNNING:
            assert due_at is not None
            return SlaStatus(state, due_at, None, f"{format_duration(due_at - now)} left")
    return SlaStatus(state, None, None, "no SLA clock")


def delivery_outcome(outcome: str, rejection: str) -> str:
    """How a logged webhook delivery ended, in words: "accepted", "rejected: bad token",
    "URL validation"."""
    if outcome == DeliveryOutcome.VALIDATION:
        return "URL validation"
    if outcome == DeliveryOutcome.REJECTED and rejection in DeliveryRejection.values:
        return f"rejected: {DeliveryRejection(rejection).label}"
    return outcome


# Tracking keys a web form stores on the lead (`capture.views`), in people's words.
TRACKING_LABELS = {
    "utm_source": "Source (UTM)",
    "utm_medium": "Medium (UTM)",
    "utm_campaign": "Campaign (UTM)",
    "utm_term": "Term (UTM)",
    "utm_content": "Content (UTM)",
    "referrer": "Referrer",
}


def format_moment(moment: datetime, zone: tzinfo) -> str:
    """A moment in the viewer's zone, as people write it: "3 Nov 2026 14:02"."""
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y %H:%M}"


@dataclass(frozen=True)
class ExtraFacts:
    """A lead's custom fields as the lead page shows them: each field under a label, the
    tracking ones last. (Consent has its own card: nurture.consent.)"""

    facts: list[tuple[str, str]]


def extra_facts(custom_fields: dict[str, Any]) -> ExtraFacts:
    """Tracking and other custom fields with labels."""
    fields = dict(custom_fields)
    tracking = [(TRACKING_LABELS[key], fields.pop(key)) for key in TRACKING_LABELS if key in fields]
    others = [(key.replace("_", " ").capitalize(), value) for key, value in sorted(fields.items())]
    return ExtraFacts(
        facts=[(label, "" if value is None else str(value)) for label, value in others + tracking],
    )
