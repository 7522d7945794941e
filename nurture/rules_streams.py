"""Pure decisions of content streams: when a lead's next piece is due (the cadence, and
the optional weekday and hour in the lead's time zone)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _slot_from(day: date, local: datetime, *, weekday: int | None, hour: int | None) -> datetime:
    """The slot on `day` or the first day after it with the weekday: at the hour, else at
    the time of day `local` has."""
    if weekday is not None:
        day += timedelta(days=(weekday - day.weekday()) % 7)
    clock = time(hour) if hour is not None else local.time().replace(tzinfo=None)
    return datetime.combine(day, clock, tzinfo=local.tzinfo).astimezone(UTC)


def first_due(now: datetime, *, weekday: int | None, hour: int | None, zone: str) -> datetime:
    """When a lead joining at `now` gets its first piece: at once, or at the stream's
    first slot from now when it names a weekday or an hour."""
    if weekday is None and hour is None:
        return now
    local = now.astimezone(ZoneInfo(zone))
    slot = _slot_from(local.date(), local, weekday=weekday, hour=hour)
    if slot < now:
        slot = _slot_from(local.date() + timedelta(days=1), local, weekday=weekday, hour=hour)
    return slot


def next_due(
    now: datetime, *, cadence_days: int, weekday: int | None, hour: int | None, zone: str
) -> datetime:
    """When the piece after the one sent at `now` is due: `cadence_days` later, moved on
    to the stream's slot. Counted in local dates, so a sweep that runs a few minutes after
    the slot keeps the next one (a weekly Tuesday 9:00 stays on Tuesdays)."""
    if weekday is None and hour is None:
        return now + timedelta(days=cadence_days)
    local = now.astimezone(ZoneInfo(zone))
    return _slot_from(
        local.date() + timedelta(days=cadence_days), local, weekday=weekday, hour=hour
    )


def weekday_number(value: str | int | None) -> int | None:
    """0 (Monday) … 6 (Sunday) from a number or a day's name ("tue", "Tuesday");
    None for none. ValueError names what it expected."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip().lower()
        if text.isdigit():
            number = int(text)
        else:
            found = [
                i for i, name in enumerate(WEEKDAYS) if len(text) >= 3 and name.startswith(text)
            ]
            if not found:
                raise ValueError(f"{value!r} is not a weekday (monday … sunday, or 0 … 6)")
            return found[0]
    if not 0 <= number <= 6:
        raise ValueError(f"{value!r} is not a weekday (0 = Monday … 6 = Sunday)")
    return number
