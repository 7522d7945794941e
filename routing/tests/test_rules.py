from datetime import UTC, date, datetime, time

import pytest

from routing.rules import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    describe_assignment,
    next_in_rotation,
    sla_state,
)

UTC_9_TO_5 = BusinessCalendar()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Monday 10:00 + 24 business hours (3 days of 8 h) = Thursday 10:00.
        (at(2026, 11, 16, 10), 24, at(2026, 11, 19, 10)),
        # Friday 15:00: 2 h on Friday, the weekend does not count, 22 h more = Wednesday 15:00.
        (at(2026, 11, 20, 15), 24, at(2026, 11, 25, 15)),
        # Saturday arrival: the clock starts Monday 09:00.
        (at(2026, 11, 21, 12), 24, at(2026, 11, 25, 17)),
        # Arriving after hours on Monday counts from Tuesday 09:00.
        (at(2026, 11, 16, 18), 1, at(2026, 11, 17, 10)),
        # Ending exactly at closing time stays on that day.
        (at(2026, 11, 16, 9), 8, at(2026, 11, 16, 17)),
        (at(2026, 11, 16, 10), 0.5, at(2026, 11, 16, 10, 30)),
    ],
)
def test_business_hours_skip_nights_and_weekends(start, hours, expected) -> None:
    assert add_business_hours(start, hours, UTC_9_TO_5) == expected


def test_holidays_do_not_count() -> None:
    calendar = BusinessCalendar(holidays=frozenset({date(2026, 12, 25)}))
    # Thursday 24 Dec 09:00 + 16 h: Thursday, (Friday is a holiday), Monday 28th until 17:00.
    assert add_business_hours(at(2026, 12, 24, 9), 16, calendar) == at(2026, 12, 28, 17)


def test_team_time_zone_is_respected() -> None:
    berlin = BusinessCalendar(timezone="Europe/Berlin", start=time(9), end=time(17))
    # 07:00 UTC on a Monday in winter is 08:00 in Berlin: the clock starts at 09:00 Berlin.
    assert add_business_hours(at(2026, 11, 16, 7), 1, berlin) == at(2026, 11, 16, 9)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_hours(datetime(2026, 11, 16, 10), 1, UTC_9_TO_5)  # noqa: DTZ001


def test_hours_between_counts_only_open_time() -> None:
    assert business_hours_between(at(2026, 11, 20, 15), at(2026, 11, 23, 11), UTC_9_TO_5) == 4
    assert business_hours_between(at(2026, 11, 23, 11), at(2026, 11, 20, 15), UTC_9_TO_5) == -4


@pytest.mark.parametrize(
    ("candidates", "last", "expected"),
    [([3, 1, 2], None, 1), ([1, 2, 3], 1, 2), ([1, 2, 3], 3, 1), ([1, 3], 2, 3), ([], 1, None)],
)
def test_round_robin_wraps_in_id_order(candidates, last, expected) -> None:
    assert next_in_rotation(candidates, last) == expected


NOW = at(2026, 11, 16, 10)


@pytest.mark.parametrize(
    ("due_at", "first_touch_at", "state"),
    [
        (None, None, "none"),
        (at(2026, 11, 16, 13), None, "running"),
        (NOW, None, "running"),  # due this very minute: not late yet
        (at(2026, 11, 14, 7), None, "overdue"),
        (at(2026, 11, 15), at(2026, 11, 14), "met"),
        (at(2026, 11, 15), at(2026, 11, 15), "met"),
        (at(2026, 11, 14), at(2026, 11, 16, 9), "missed"),
        (None, at(2026, 11, 16, 9), "met"),
        # A contact logged before a later deadline is met even if the clock reads overdue now.
        (at(2026, 11, 20), at(2026, 11, 16, 9), "met"),
    ],
)
def test_the_state_of_an_sla_clock(
    due_at: datetime | None, first_touch_at: datetime | None, state: str
) -> None:
    assert sla_state(due_at=due_at, first_touch_at=first_touch_at, now=NOW) == state


@pytest.mark.parametrize(
    ("how", "names", "expected"),
    [
        ("round_robin", {"to_owner": "Rep One", "to_team": "EMEA"},
         "Assigned to Rep One (round robin in team EMEA)"),
        ("account_owner", {"to_owner": "Rep One", "to_team": "EMEA"},
         "Assigned to Rep One (account owner)"),
        ("team_queue", {"to_owner": "", "to_team": "EMEA"},
         "Assigned to team EMEA's queue (no rep accepting leads)"),
        ("chosen", {"to_owner": "Rep One", "to_team": ""}, "Assigned to Rep One"),
        ("before_history", {"to_owner": "Rep One", "to_team": "EMEA"},
         "Assigned to Rep One (assigned before history was kept)"),
        ("reassigned", {"from_owner": "Rep One", "to_owner": "Rep Two", "to_team": "EMEA"},
         "Reassigned from Rep One to Rep Two"),
        ("reassigned", {"from_team": "EMEA", "to_owner": "Rep Two", "to_team": "EMEA"},
         "Reassigned from team EMEA's queue to Rep Two"),
        ("reassigned", {"to_owner": "Rep Two", "to_team": "EMEA"}, "Reassigned to Rep Two"),
        ("claimed", {"from_team": "EMEA", "to_owner": "Rep One", "to_team": "EMEA"},
         "Taken from team EMEA's queue"),
        ("claimed", {"to_owner": "Rep One", "to_team": ""}, "Taken while it had no owner"),
        # Routing rules (next): the rule's name, then how it picked.
        ("round_robin", {"to_owner": "Ana", "to_team": "EMEA", "rule_name": "DACH enterprise"},
         "Assigned to Ana by rule 'DACH enterprise' (round robin in team EMEA)"),
    ],
)  # fmt: skip
def test_an_assignment_reads_as_a_sentence(how: str, names: dict[str, str], expected: str) -> None:
    assert describe_assignment(how=how, **{"to_owner": "", "to_team": "", **names}) == expected
