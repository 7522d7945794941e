"""Pure routing decisions: business-hour arithmetic for SLAs, the state of an SLA clock,
round robin, and how an assignment reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .choices import AssignedHow, SlaState


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: a time zone, daily hours, working weekdays and holidays."""

    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(17, 0)
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a working day must end after it starts")
        if not self.workdays:
            raise ValueError("a calendar needs at least one working day")

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime]:
        tz = ZoneInfo(self.timezone)
        return datetime.combine(day, self.start, tz), datetime.combine(day, self.end, tz)


def add_business_hours(start: datetime, hours: float, calendar: BusinessCalendar) -> datetime:
    """The moment `hours` working hours after `start`, in UTC.

    Walks day by day (never second by second): a day's open window is consumed whole
    or in part. Time outside working hours does not count.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    remaining = timedelta(hours=hours)
    local = start.astimezone(ZoneInfo(calendar.timezone))
    day = local.date()
    # A long run of holidays is bounded: ten years of days is far past any SLA.
    for _ in range(3660):
        if calendar.is_workday(day):
            opens, closes = calendar.window(day)
            begin = max(opens, local)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("no working time found in the calendar")


def business_hours_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Working hours from `start` to `end`; negative when `end` is before `start`."""
    if end < start:
        return -business_hours_between(end, start, calendar)
    tz = ZoneInfo(calendar.timezone)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    total = timedelta()
    day = local_start.date()
    while day <= local_end.date():
        if calendar.is_workday(day):
            opens, closes = calendar.window(day)
            begin, finish = max(opens, local_start), min(closes, local_end)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def sla_state(
    *, due_at: datetime | None, first_touch_at: datetime | None, now: datetime
) -> SlaState:
    """Where a lead's first-touch clock stands at `now`: the one answer for the UI and the
    API. The deadline is counted in business hours when it is set (`add_business_hours`);
    here it is only compared, in wall-clock time.

    A first contact stops the clock: met if it came by the deadline (or there was none),
    missed if after. Without a contact the clock runs until the deadline, then is overdue.
    """
    if first_touch_at is not None:
        return SlaState.MISSED if due_at is not None and first_touch_at > due_at else SlaState.MET
    if due_at is None:
        return SlaState.NONE
    return SlaState.OVERDUE if now > due_at else SlaState.RUNNING


def next_in_rotation(candidates: Sequence[int], last: int | None) -> int | None:
    """Round robin: the first candidate id after `last` in id order, wrapping around."""
    if not candidates:
        return None
    ordered = sorted(candidates)
    if last is not None:
        for candidate in ordered:
            if candidate > last:
                return candidate
    return ordered[0]


def rotation(candidates: Sequence[int], last: int | None, count: int) -> list[int]:
    """The next `count` picks of the round robin, as `next_in_rotation` would make them one
    after another: starting after `last`, in id order, wrapping around."""
    first = next_in_rotation(candidates, last)
    if first is None or count <= 0:
        return []
    ordered = sorted(candidates)
    start = ordered.index(first)
    return [ordered[(start + i) % len(ordered)] for i in range(count)]


def describe_assignment(
    *,
    how: str,
    to_owner: str,
    to_team: str,
    from_owner: str = "",
    from_team: str = "",
    rule_name: str = "",
) -> str:
    """An assignment in one line, e.g. "Assigned to Rep One (round robin in team EMEA)"
    or "Reassigned from Rep One to Rep Two". Names are display names ("" = none); who
    decided and the reason a person typed are shown beside it, not in it."""

    def holder(owner: str, team: str) -> str:
        if owner:
            return owner
        return f"team {team}'s queue" if team else "nobody"

    to = holder(to_owner, to_team)
    by_rule = f" by rule '{rule_name}'" if rule_name else ""
    in_team = f" in team {to_team}" if to_team else ""
    match how:
        case AssignedHow.REASSIGNED:
            before = holder(from_owner, from_team)
            if before == "nobody":
                return f"Reassigned to {to}{by_rule}"
            return f"Reassigned from {before} to {to}{by_rule}"
        case AssignedHow.CLAIMED:
            team = from_team or to_team
            return f"Taken from team {team}'s queue" if team else "Taken while it had no owner"
        case AssignedHow.ROUND_ROBIN:
            why = f"round robin{in_team}"
        case AssignedHow.TEAM_QUEUE:
            why = "no rep accepting leads"
        case AssignedHow.ACCOUNT_OWNER:
            why = "account owner"
        case AssignedHow.BEFORE_HISTORY:
            why = "assigned before history was kept"
        case _:
            why = ""
    return f"Assigned to {to}{by_rule}" + (f" ({why})" if why else "")
