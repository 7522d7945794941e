"""Follow-up's pure decisions: which cadence a lead gets, when a step is due, whether a
lead has had its minimum attempts, whether a reason means "no response". No database."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from routing.rules import BusinessCalendar

from .choices import TouchKind

# The channel names a summary uses ("only calls so far").
PLURALS: dict[str, str] = {
    TouchKind.CALL: "calls",
    TouchKind.EMAIL: "emails",
    TouchKind.MEETING: "meetings",
    TouchKind.LINKEDIN: "LinkedIn messages",
}


@dataclass(frozen=True)
class Selector:
    """A cadence rule as the choice reads it: empty conditions hold for every lead."""

    cadence_id: int
    segment: str = ""
    grade: str = ""
    campaign_id: int | None = None


def pick_cadence(
    selectors: Sequence[Selector],
    *,
    segment: str,
    grade: str,
    campaign_ids: frozenset[int],
    default: int | None,
) -> int | None:
    """The cadence of the first selector (in order) whose conditions all hold for the
    lead, else the default cadence. `campaign_ids`: the campaigns the lead is in."""
    for selector in selectors:
        if selector.segment and selector.segment != segment:
            continue
        if selector.grade and selector.grade != grade:
            continue
        if selector.campaign_id is not None and selector.campaign_id not in campaign_ids:
            continue
        return selector.cadence_id
    return default


def step_due(after: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    """When a step `days` after `after` is due: `after` itself for a step on the same day;
    otherwise the start of the team's working day `days` calendar days later (in the
    team's time zone), moved on to the next working day if that one is not."""
    if days <= 0:
        return after
    zone = ZoneInfo(calendar.timezone)
    day = after.astimezone(zone).date() + timedelta(days=days)
    for _ in range(366):
        if calendar.is_workday(day):
            break
        day += timedelta(days=1)
    return datetime.combine(day, calendar.start, zone).astimezone(after.tzinfo)


@dataclass(frozen=True)
class Policy:
    min_attempts: int = 6
    min_channels: int = 2


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def attempts_summary(counts: Mapping[str, int], policy: Policy) -> str:
    """ "4 of 6 attempts, only calls so far", "6 of 6 attempts: calls and emails"."""
    total = sum(counts.values())
    used = [PLURALS.get(kind, kind) for kind, n in sorted(counts.items()) if n]
    head = f"{total} of {policy.min_attempts} attempts"
    if not used:
        return f"{head}, none so far"
    if len(used) < policy.min_channels:
        return f"{head}, only {_join(used)} so far"
    return f"{head}: {_join(used)}"


def missing_attempts(counts: Mapping[str, int], policy: Policy) -> str | None:
    """What is missing before a lead may be dropped for no response, in words; None when
    the policy is met. `counts`: contact attempts by touch kind."""
    total = sum(counts.values())
    channels = sum(1 for n in counts.values() if n)
    if total >= policy.min_attempts and channels >= policy.min_channels:
        return None
    wanted = f"{policy.min_attempts} attempts over at least {policy.min_channels} channels"
    return (
        f"{attempts_summary(counts, policy)}: a lead is dropped for no response only after {wanted}"
    )


# What reps write when nobody answered.
NO_RESPONSE = re.compile(
    r"\b(no[ -]?(response|answer|reply|contact|show)|unresponsive|not (responding|answering|"
    r"reachable)|unreachable|(can'?t|cannot|could ?n[o']t) (reach|get hold)|never (answered|"
    r"replied|responded)|ghost(ed|ing)?)\b",
    re.IGNORECASE,
)


def is_no_response(reason: str) -> bool:
    """Whether a reason for dropping a lead says the person could not be reached."""
    return bool(NO_RESPONSE.search(reason or ""))


@dataclass(frozen=True)
class StepSpec:
    """A cadence step as people write it: on which day, by which channel, what to do."""

    day_offset: int
    channel: str
    instructions: str = ""


STEP_LINE = re.compile(r"^\s*(?:day\s*)?(\d+)\s*[,;]?\s*([A-Za-z]+)\s*(?:[:,;-]\s*(.*))?$")


def parse_steps(text: str, channels: Sequence[str]) -> list[StepSpec]:
    """Steps written one a line, "DAY CHANNEL: instructions" ("0 call: introduce
    yourself", "day 2 email: the case study"), as the cadence page and the CLI take them.
    Raises ValueError naming the line."""
    steps = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = STEP_LINE.match(line)
        if match is None:
            raise ValueError(f"line {number}: write it as 'DAY CHANNEL: what to do', e.g. '2 call'")
        channel = match[2].lower()
        if channel not in channels:
            raise ValueError(
                f"line {number}: {match[2]!r} is no channel: one of {', '.join(channels)}"
            )
        steps.append(StepSpec(int(match[1]), channel, (match[3] or "").strip()))
    return steps


def format_steps(steps: Sequence[StepSpec]) -> str:
    """The steps as `parse_steps` reads them."""
    return "\n".join(
        f"{step.day_offset} {step.channel}"
        + (f": {step.instructions}" if step.instructions else "")
        for step in steps
    )
