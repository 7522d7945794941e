"""SLA policies and their calendar: which clock a lead gets, across weekends, public
holidays of the team's country and region, and time zones (injected `now` throughout)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from leads.errors import FieldError, NotPermitted
from leads.models import Lead
from routing.rules import BusinessCalendar, SlaPolicyRule, add_business_hours, plan_sla
from routing.services import assign_lead
from routing.sla import create_sla_policy, delete_sla_policy, update_sla_policy
from users.services import update_team

BERLIN_DAY = BusinessCalendar(timezone="Europe/Berlin", start=time(9), end=time(17))


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(
        UTC
    )


@pytest.mark.parametrize(
    ("country", "region", "expected"),
    [
        # Tue 17 Nov 2026 16:00 + 24 h of 8-hour days: Tue 1, Wed 8, Thu 8, Fri 7.
        ("", "", berlin(2026, 11, 20, 16)),
        ("DE", "BY", berlin(2026, 11, 20, 16)),
        # Saxony keeps Buß- und Bettag (Wed 18 Nov 2026): one day later, over the weekend.
        ("DE", "SN", berlin(2026, 11, 23, 16)),
    ],
)
def test_a_regions_public_holiday_is_not_counted(
    country: str, region: str, expected: datetime
) -> None:
    calendar = BusinessCalendar(
        timezone="Europe/Berlin", start=time(9), end=time(17), country=country, region=region
    )

    assert add_business_hours(berlin(2026, 11, 17, 16), 24, calendar) == expected


def test_a_national_holiday_and_the_weekend_are_skipped() -> None:
    calendar = BusinessCalendar(timezone="Europe/Berlin", start=time(9), end=time(17), country="DE")

    # Thursday 24 Dec 16:30: half an hour that day, then Christmas (25th, 26th) and the
    # weekend; Monday 28th brings the other half hour.
    assert add_business_hours(berlin(2026, 12, 24, 16, 30), 1, calendar) == berlin(
        2026, 12, 28, 9, 30
    )


def test_a_teams_own_day_off_counts_beside_the_public_ones() -> None:
    calendar = BusinessCalendar(
        timezone="Europe/Berlin",
        start=time(9),
        end=time(17),
        country="DE",
        holidays=frozenset({date(2026, 12, 28)}),
    )

    assert add_business_hours(berlin(2026, 12, 24, 16, 30), 1, calendar) == berlin(
        2026, 12, 29, 9, 30
    )


def test_the_ladder_is_counted_in_the_teams_zone_across_the_weekend() -> None:
    policy = SlaPolicyRule(
        name="Grade A",
        hours=1,
        grades=frozenset({"A"}),
        remind_before_minutes=15,
        reassign_after_hours=2,
        recycle_after_hours=8,
    )
    new_york = BusinessCalendar(timezone="America/New_York", start=time(9), end=time(17))
    # Friday 20 Nov 2026 16:30 in New York (21:30 UTC).
    start = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)

    plan = plan_sla(policy, start, new_york)

    # 15 business minutes before the deadline: Monday 09:15, not Friday evening.
    assert plan.remind_at == datetime(2026, 11, 23, 14, 15, tzinfo=UTC)  # Mon 09:15 NY
    assert plan.due_at == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # Mon 09:30 NY
    assert plan.reassign_at == datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # Mon 11:30 NY
    assert plan.recycle_at == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # Tue 09:30 NY


def test_no_reminder_when_it_would_come_before_the_clock_starts() -> None:
    policy = SlaPolicyRule(name="Short", hours=1, remind_before_minutes=0)

    assert plan_sla(policy, berlin(2026, 11, 16, 10), BERLIN_DAY).remind_at is None


@pytest.fixture
def policies(org: Any) -> Any:
    create_sla_policy(
        org.emea, by=org.manager, name="Marquee or grade A", grades=["A"], marquee=True, hours=1
    )
    create_sla_policy(org.emea, by=org.manager, name="Everyone else", hours=24)
    return org


def _lead(now: datetime, **fields: Any) -> Lead:
    return Lead.objects.create(
        email=fields.pop("email", "ann@example.io"),
        country="DE",
        stage="mql",
        arrived_at=now,
        stage_changed_at=now,
        **fields,
    )


def test_a_grade_a_lead_gets_one_business_hour(policies: Any, now: datetime) -> None:
    lead = assign_lead(_lead(now, grade="A"), now=now)

    assert lead.sla_due_at == datetime(2026, 11, 16, 11, 0, tzinfo=UTC)


def test_a_marquee_accounts_lead_gets_one_business_hour(policies: Any, now: datetime) -> None:
    lead = assign_lead(_lead(now, grade="C", account=policies.marquee), now=now)

    assert lead.sla_due_at == datetime(2026, 11, 16, 11, 0, tzinfo=UTC)


def test_other_leads_get_the_next_policy(policies: Any, now: datetime) -> None:
    lead = assign_lead(_lead(now, grade="B"), now=now)

    # Monday 10:00 + 24 business hours of 9-17: Thursday 10:00.
    assert lead.sla_due_at == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)


def test_without_policies_the_teams_sla_hours_apply(org: Any, now: datetime) -> None:
    update_team(org.emea, by=org.admin, sla_hours=4)

    lead = assign_lead(_lead(now, grade="A"), now=now)

    assert lead.sla_due_at == datetime(2026, 11, 16, 14, 0, tzinfo=UTC)


def test_the_teams_public_holidays_move_the_deadline(policies: Any) -> None:
    update_team(
        policies.emea, by=policies.manager, timezone="Europe/Berlin", holiday_country="de",
        holiday_region="sn",
    )  # fmt: skip
    policies.emea.refresh_from_db()
    assert (policies.emea.holiday_country, policies.emea.holiday_region) == ("DE", "SN")

    # Tuesday 17 Nov 16:30 in Berlin; Wednesday is Buß- und Bettag in Saxony.
    lead = assign_lead(
        _lead(berlin(2026, 11, 17, 16, 30), grade="A"), now=berlin(2026, 11, 17, 16, 30)
    )

    assert lead.sla_due_at == berlin(2026, 11, 19, 9, 30)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "DE", "holiday_region": "ZZ"}, "holiday_region"),
        ({"holiday_region": "BY"}, "holiday_region"),
    ],
)
def test_a_holiday_calendar_that_does_not_exist_is_refused(
    org: Any, changes: dict[str, str], field: str
) -> None:
    with pytest.raises(FieldError) as refused:
        update_team(org.emea, by=org.admin, **changes)

    assert refused.value.field == field


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "X", "hours": 0}, "hours"),
        ({"name": "X", "hours": 4, "grades": ["E"]}, "grades"),
        ({"name": "X", "hours": 4, "segments": "hot"}, "segments"),
        ({"name": "X", "hours": 4, "remind_before_minutes": 240}, "remind_before_minutes"),
        (
            {"name": "X", "hours": 4, "reassign_after_hours": 8, "recycle_after_hours": 8},
            "recycle_after_hours",
        ),
        ({"name": " ", "hours": 4}, "name"),
        ({"name": "X", "hours": 4, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(
    org: Any, values: dict[str, Any], field: str
) -> None:
    with pytest.raises(FieldError) as refused:
        create_sla_policy(org.emea, by=org.manager, **values)

    assert refused.value.field == field


def test_two_policies_of_a_team_may_not_share_a_name(policies: Any) -> None:
    with pytest.raises(FieldError) as refused:
        create_sla_policy(policies.emea, by=policies.admin, name="Everyone else", hours=8)

    assert refused.value.field == "name"


def test_only_the_teams_managers_and_admins_edit_its_policies(policies: Any) -> None:
    policy = policies.emea.sla_policies.get(name="Everyone else")
    for outsider in (policies.us_manager, policies.rep1, policies.marketer):
        with pytest.raises(NotPermitted):
            update_sla_policy(policy, by=outsider, hours=8)
        with pytest.raises(NotPermitted):
            create_sla_policy(policies.emea, by=outsider, name="Mine", hours=8)
        with pytest.raises(NotPermitted):
            delete_sla_policy(policy, by=outsider)

    update_sla_policy(policy, by=policies.admin, hours=8)
    assert policies.emea.sla_policies.get(name="Everyone else").hours == 8
    delete_sla_policy(policy, by=policies.manager)
    assert list(policies.emea.sla_policies.values_list("name", flat=True)) == ["Marquee or grade A"]
