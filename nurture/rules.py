"""Pure decisions of the outbox: when a message may go (frequency cap, quiet hours, the
domain's send rate), how long a temporary failure waits, which SMTP answers are final."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK = timedelta(days=7)


def cap_release(sent: Sequence[datetime], *, now: datetime, cap: int) -> datetime | None:
    """None if one more marketing message may go now, else when it may: `sent` are the
    times the lead's marketing messages went in the last week (any order)."""
    recent = sorted(moment for moment in sent if moment > now - WEEK)
    if len(recent) < cap:
        return None
    # The oldest of the last `cap` leaves the window: then one more fits.
    return recent[len(recent) - cap] + WEEK


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """'21:00-08:00' (start-end, local time; may wrap midnight); '' for none."""
    value = value.strip()
    if not value:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(f"quiet hours {value!r}: expected HH:MM-HH:MM") from None
    return start, end


def quiet_until(now: datetime, *, zone: str, quiet: tuple[time, time] | None) -> datetime | None:
    """None if `now` is outside the quiet hours in `zone`, else when they end."""
    if quiet is None:
        return None
    start, end = quiet
    local = now.astimezone(ZoneInfo(zone))
    clock = local.time().replace(tzinfo=None)
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends


def backoff(attempts: int, *, base_seconds: int = 60, cap_seconds: int = 6 * 3600) -> timedelta:
    """The wait after the `attempts`-th failed try: 1, 2, 4, 8 … minutes, at most 6 hours."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def is_permanent(code: int | None) -> bool:
    """A 5xx answer is final (the address or message is refused); 4xx and no answer at all
    (connection refused, dropped) are worth another try."""
    return code is not None and 500 <= code < 600
