"""Pure routing decisions: business-hour arithmetic for SLAs, the state of an SLA clock,
round robin, and how an assignment reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as public_holiday_calendars

from .choices import AssignedHow, SlaState


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: a time zone, daily hours, working weekdays, its own days off
    (`holidays`) and the public holidays of a country and region (`holidays` package)."""

    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(17, 0)
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[date] = field(default_factory=frozenset)
    country: str = ""
    region: str = ""

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a working day must end after it starts")
        if not self.workdays:
            raise ValueError("a calendar needs at least one working day")

    def is_workday(self, day: date) -> bool:
        if day.weekday() not in self.workdays or day in self.holidays:
            return False
        return not self.country or day not in public_holidays(self.country, self.region)

    def window(self, day: date) -> tuple[datetime, datetime]:
        tz = ZoneInfo(self.timezone)
        return datetime.combine(day, self.start, tz), datetime.combine(day, self.end, tz)


@lru_cache(maxsize=64)
def public_holidays(country: str, region: str = "") -> public_holiday_calendars.HolidayBase:
    """A country's (and region's) public holidays; the years fill in as they are asked."""
    return public_holiday_calendars.country_holidays(country, subdiv=region or None)


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


@dataclass(frozen=True)
class SlaPolicyRule:
    """What an SLA policy decides: which leads it covers (any of: a grade, a segment, a
    marquee account; none named: every lead) and the clock and ladder it gives them, in
    business hours of the team's calendar."""

    name: str
    hours: int
    grades: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    marquee: bool = False
    remind_before_minutes: int = 0
    reassign_after_hours: int | None = None
    recycle_after_hours: int | None = None

    @property
    def covers_all(self) -> bool:
        return not (self.grades or self.segments or self.marquee)

    def covers(self, *, grade: str, segment: str, is_marquee: bool) -> bool:
        return (
            self.covers_all
            or (self.marquee and is_marquee)
            or grade in self.grades
            or segment in self.segments
        )


def pick_policy(
    policies: Sequence[SlaPolicyRule], *, grade: str, segment: str, is_marquee: bool
) -> SlaPolicyRule | None:
    """The first policy, in the team's order, that covers the lead."""
    return next(
        (p for p in policies if p.covers(grade=grade, segment=segment, is_marquee=is_marquee)),
        None,
    )


@dataclass(frozen=True)
class SlaPlan:
    """A first-touch clock started at one moment: its deadline and, if the policy has
    them, when to remind the rep, reassign the lead, and hand it back to marketing."""

    policy_name: str
    due_at: datetime
    remind_at: datetime | None = None
    reassign_at: datetime | None = None
    recycle_at: datetime | None = None


def plan_sla(policy: SlaPolicyRule, start: datetime, calendar: BusinessCalendar) -> SlaPlan:
    """Every rung of `policy`'s ladder for a clock started at `start`, each counted
    forward from the start in the team's business hours: a reminder `remind_before_minutes`
    before the deadline (none if that is not after the start), the deadline, then
    reassignment and hand-back the set number of business hours after it."""

    def at(hours: float) -> datetime:
        return add_business_hours(start, hours, calendar)

    remind_hours = policy.hours - policy.remind_before_minutes / 60
    return SlaPlan(
        policy_name=policy.name,
        due_at=at(policy.hours),
        remind_at=at(remind_hours) if policy.remind_before_minutes and remind_hours > 0 else None,
        reassign_at=(
            at(policy.hours + policy.reassign_after_hours)
            if policy.reassign_after_hours is not None
            else None
        ),
        recycle_at=(
            at(policy.hours + policy.recycle_after_hours)
            if policy.recycle_after_hours is not None
            else None
        ),
    )


def check_ladder(
    *, hours: int, remind_before_minutes: int, reassign_after: int | None, recycle_after: int | None
) -> list[tuple[str, str]]:
    """What is wrong with a ladder, as (field, message) pairs; empty when it is sound."""
    problems: list[tuple[str, str]] = []
    if not 1 <= hours <= 1000:
        problems.append(("hours", "must be a whole number of business hours from 1 to 1000"))
    if remind_before_minutes < 0 or remind_before_minutes >= hours * 60:
        problems.append(
            ("remind_before_minutes", "must be 0 (no reminder) or less than the SLA itself")
        )
    for name, value in (
        ("reassign_after_hours", reassign_after),
        ("recycle_after_hours", recycle_after),
    ):
        if value is not None and not 1 <= value <= 1000:
            problems.append((name, "must be empty or 1 to 1000 business hours after the deadline"))
    if reassign_after is not None and recycle_after is not None and recycle_after <= reassign_after:
        problems.append(("recycle_after_hours", "the hand-back must come after the reassignment"))
    return problems


# --- The follow-up figures of a turn, as the roll-up counts them -------------------------
# (routing.rollup keeps the counts; analytics.followup reads them and computes the rates.)


def bin_width(edge: float) -> float:
    """The width of the speed-to-lead histogram's bin starting at `edge` hours: a minute
    under an hour, six minutes under a day, an hour under ten days, a day beyond.
    Percentiles read from these bins are exact to that width (analytics.followup)."""
    if edge < 1:
        return 1 / 60
    if edge < 24:
        return 0.1
    if edge < 240:
        return 1.0
    return 24.0


def hour_bin(hours: float) -> float:
    """The lower edge of the bin `hours` falls in: the same cut as the SQL in
    analytics.services and routing.rollup."""
    if hours < 1:
        return int(hours * 60) / 60
    if hours < 24:
        return int(hours * 10) / 10
    if hours < 240:
        return float(int(hours))
    return int(hours / 24) * 24.0


@dataclass(frozen=True)
class TurnRecord:
    """What a turn (routing.Assignment) keeps of its follow-up: the roll-up's input."""

    due_at: datetime | None
    first_touch_at: datetime | None
    first_touch_hours: float | None
    first_touch_clock_hours: float | None
    attempts: int
    dropped_at: datetime | None


# The figures a turn counts in, each a (figure, edge) pair; edge is 0 but for the
# histograms (the bin's lower edge in hours) and "attempts" (0…6, 6 meaning 6 or more).
ASSIGNED, TOUCHED, IN_SLA, LATE, DROPPED = "assigned", "touched", "in_sla", "late", "dropped"
ATTEMPTS, BUSINESS_HOURS, CLOCK_HOURS = "attempts", "business_hours", "clock_hours"


def turn_figures(turn: TurnRecord) -> list[tuple[str, float]]:
    """The roll-up counts one turn given to a rep adds to: given; touched, and then in its
    SLA or late; its bins of business and clock hours to the first touch; dropped, with
    its attempts. What depends on "now" (untouched past the deadline, leaked by age) or
    on the lead today (still with the rep, in sales) is not here: analytics reads it from
    the untouched turns themselves."""
    figures: list[tuple[str, float]] = [(ASSIGNED, 0.0)]
    if turn.first_touch_at is not None:
        figures.append((TOUCHED, 0.0))
        on_time = turn.due_at is None or turn.first_touch_at <= turn.due_at
        figures.append((IN_SLA if on_time else LATE, 0.0))
    if turn.first_touch_hours is not None:
        figures.append((BUSINESS_HOURS, hour_bin(turn.first_touch_hours)))
    if turn.first_touch_clock_hours is not None:
        figures.append((CLOCK_HOURS, hour_bin(turn.first_touch_clock_hours)))
    if turn.dropped_at is not None:
        figures.append((DROPPED, 0.0))
        figures.append((ATTEMPTS, float(min(turn.attempts, 6))))
    return figures


def month_of(moment: datetime) -> date:
    """The roll-up's period of a turn: the first day of its UTC month."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)
