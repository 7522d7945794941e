"""How the SLA clock reads at a glance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from web.display import format_duration, sla_status

T = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=2, hours=3, minutes=59), "2d 3h"),
        (timedelta(hours=5, minutes=12), "5h 12m"),
        (timedelta(minutes=4, seconds=59), "4m"),
        (timedelta(seconds=20), "0m"),
        (-timedelta(hours=1), "1h 0m"),
    ],
)
def test_format_duration(delta, text) -> None:
    assert format_duration(delta) == text


@pytest.mark.parametrize(
    ("due_at", "first_touch_at", "state", "label", "late_by"),
    [
        (None, None, "none", "no SLA clock", ""),
        (T + timedelta(hours=3), None, "running", "3h 0m left", ""),
        (T - timedelta(days=2, hours=3), None, "overdue", "overdue by 2d 3h", ""),
        (T - timedelta(days=1), T - timedelta(days=2), "met", "clock stopped", ""),
        (T - timedelta(days=2), T - timedelta(hours=1), "missed", "clock stopped", "1d 23h"),
        (None, T, "met", "clock stopped", ""),
    ],
)
def test_sla_status(due_at, first_touch_at, state, label, late_by) -> None:
    status = sla_status(due_at=due_at, first_touch_at=first_touch_at, now=T)

    assert (status.state, status.label, status.late_by) == (state, label, late_by)
