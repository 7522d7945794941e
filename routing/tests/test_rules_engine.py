"""The pure routing-rule decisions, without a database: conditions as people type them,
the first rule that matches, who may take a lead, and weighted round robin."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from routing.rules import BusinessCalendar
from routing.rules_engine import (
    ConditionError,
    RepState,
    RuleView,
    is_working_time,
    match_rules,
    parse_condition,
    pick_rep,
)


@pytest.mark.parametrize(
    ("line", "json"),
    [
        ("country in de, at, CH", {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]}),
        (
            "account.employees at_least 1000",
            {"field": "account.employees", "op": "at_least", "value": "1000"},
        ),
        ("custom.state is New York", {"field": "custom.state", "op": "is", "value": "New York"}),
        ("grade is_set", {"field": "grade", "op": "is_set", "value": ""}),
    ],
)
def test_conditions_as_people_type_them(line: str, json: dict[str, object]) -> None:
    assert parse_condition(line).as_json() == json


@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        ("country", "condition", "'country' is not 'field operator value'"),
        ("colour is red", "condition.field", "unknown field 'colour'; one of"),
        ("country like DE", "condition.op", "unknown operator 'like'"),
        ("score at_least lots", "condition.value", "'lots' is not a number"),
        ("country is", "condition.value", "must not be empty"),
        ("custom. is x", "condition.field", "unknown field 'custom.'"),
    ],
)
def test_a_condition_that_cannot_be_read_names_the_part(
    line: str, where: str, message: str
) -> None:
    with pytest.raises(ConditionError) as error:
        parse_condition(line)
    assert error.value.field == where
    assert error.value.message.startswith(message)


def rule(name: str, *lines: str) -> RuleView:
    return RuleView(0, name, tuple(parse_condition(line) for line in lines), "team", None, 1)


def test_the_first_rule_whose_conditions_all_hold_decides() -> None:
    rules = [
        rule("US", "country is US"),
        rule("Big DACH", "country in DE, AT", "employees at_least 1000"),
        rule("DACH", "country in DE, AT"),
        rule("Anything"),
    ]

    chosen, checks = match_rules(rules, {"country": "DE", "employees": 200})

    assert chosen is not None and chosen.name == "DACH"
    assert [check.text for check in checks] == [
        "rule 'US': no, not (country is US)",
        "rule 'Big DACH': no, not (employees is at least 1000)",
        "rule 'DACH': matches",
    ]


def rep(id: int, *, open_leads: int = 0, cap: int | None = None, **state: bool) -> RepState:
    return RepState(id=id, name=f"r{id}", team_id=1, open_leads=open_leads, cap=cap, **state)


@pytest.mark.parametrize(
    ("reps", "last", "picked"),
    [
        ([rep(1), rep(2), rep(3)], None, 1),
        ([rep(1), rep(2), rep(3)], 1, 2),
        ([rep(1), rep(2), rep(3)], 3, 1),
        # Every rep capped: the smallest share of the cap in use goes first.
        ([rep(1, open_leads=5, cap=10), rep(2, open_leads=5, cap=20)], 1, 2),
        ([rep(1, open_leads=1, cap=10), rep(2, open_leads=5, cap=20)], 1, 1),
        # Equal shares: rotation after the last one picked.
        ([rep(1, open_leads=2, cap=10), rep(2, open_leads=4, cap=20)], 1, 2),
        # One without a cap: plain rotation.
        ([rep(1, open_leads=9, cap=10), rep(2, open_leads=0)], 2, 1),
        ([], None, None),
    ],
)
def test_weighted_round_robin(reps: list[RepState], last: int | None, picked: int | None) -> None:
    chosen = pick_rep(reps, last)
    assert (chosen.id if chosen else None) == picked


def test_caps_share_leads_in_proportion_over_time() -> None:
    reps = [rep(1, cap=10), rep(2, cap=20)]
    last = None
    for _ in range(15):
        chosen = pick_rep([r for r in reps if r.has_room], last)
        assert chosen is not None
        chosen.open_leads += 1
        last = chosen.id
    assert [r.open_leads for r in reps] == [5, 10]


@pytest.mark.parametrize(
    ("state", "hours", "why"),
    [
        ({}, True, None),
        ({"is_active": False}, False, "deactivated"),
        ({"on_leave": True}, False, "on leave"),
        ({"is_accepting_leads": False}, False, "not accepting leads"),
        ({"in_working_hours": False}, False, None),
        ({"in_working_hours": False}, True, "outside working hours"),
    ],
)
def test_why_a_rep_cannot_take_a_lead(state: dict[str, bool], hours: bool, why: str | None) -> None:
    assert rep(1, **state).why_not(need_working_hours=hours) == why
    assert (
        rep(1, open_leads=3, cap=3).why_not(need_working_hours=False)
        == "at their cap of 3 open leads"
    )


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (datetime(2026, 11, 16, 7, 59, tzinfo=UTC), False),  # Monday 8:59 in Berlin (UTC+1)
        (datetime(2026, 11, 16, 8, 0, tzinfo=UTC), True),
        (datetime(2026, 11, 16, 16, 0, tzinfo=UTC), False),  # 17:00 in Berlin
        (datetime(2026, 11, 21, 10, 0, tzinfo=UTC), False),  # Saturday
        (datetime(2026, 12, 24, 10, 0, tzinfo=UTC), False),  # the team's holiday
    ],
)
def test_working_time_in_the_team_calendar(moment: datetime, working: bool) -> None:
    calendar = BusinessCalendar(timezone="Europe/Berlin", holidays=frozenset({date(2026, 12, 24)}))
    assert is_working_time(calendar, moment) is working
