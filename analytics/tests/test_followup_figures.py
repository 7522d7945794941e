"""Follow-up figures: per rep, team and campaign, from assignments, touches and drops."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl
import pytest

from analytics.followup import business_hours
from analytics.services import followup_lead_ids, followup_report
from analytics.tests.stories import NOW, followup_story
from conftest import MONDAY_10
from routing.rules import BusinessCalendar
from routing.rules import business_hours_between as one_at_a_time

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(org):  # type: ignore[no-untyped-def]
    return followup_story(org)


def test_per_rep_follow_up_rate_speed_sla_attempts_and_leakage(org, story) -> None:  # type: ignore[no-untyped-def]
    rows = {f.name: f for f in followup_report(org.manager, by="rep", now=NOW)}
    ana, ben = rows[org.rep1.display_name], rows[org.rep2.display_name]
    assert (ana.assigned, ana.touched, ana.in_sla, ana.dropped) == (2, 2, 2, 1)
    assert ana.follow_up_rate == 1.0 and ana.sla_compliance == 1.0
    assert ana.attempts["1"] == 1  # gave up after one call
    assert ana.clock_hours[0] == pytest.approx(0.625)  # median of 30 and 45 minutes
    assert ben.assigned == 2 and ben.touched == 1 and ben.in_sla == 0
    # Touched on Friday 10:00: 4 working days of 8 hours later.
    assert ben.business_hours[0] == pytest.approx(32.0)
    assert ben.clock_hours[0] == pytest.approx(96.0)
    assert ben.missed_sla == 2 and ben.sla_compliance == 0.0
    assert ben.leaked_total == 1 and ben.leaked["3–7 days"] == 1


def test_per_team_and_campaign(org, story) -> None:  # type: ignore[no-untyped-def]
    (team,) = followup_report(org.admin, by="team", now=NOW)
    assert team.name == "EMEA" and team.assigned == 4 and team.touched == 3
    campaigns = {f.name: f for f in followup_report(org.admin, by="campaign", now=NOW)}
    assert campaigns["Webinar"].assigned == 2 and campaigns["(none)"].assigned == 2


def test_every_number_has_its_leads(org, story) -> None:  # type: ignore[no-untyped-def]
    _, second = story["rep1"]
    late, never = story["rep2"]
    ids = followup_lead_ids(org.manager, figure="dropped", bucket="1", key=org.rep1.pk, now=NOW)
    assert ids == [second.pk]
    assert followup_lead_ids(org.manager, figure="leaked", now=NOW) == [never.pk]
    missed = followup_lead_ids(org.manager, figure="missed_sla", key=org.rep2.pk, now=NOW)
    assert missed == sorted([late.pk, never.pk])


def test_scope_a_rep_counts_only_their_turns_a_manager_only_their_team(org, story) -> None:  # type: ignore[no-untyped-def]
    assert [f.key for f in followup_report(org.rep2, by="rep", now=NOW)] == [org.rep2.pk]
    assert followup_report(org.us_manager, by="rep", now=NOW) == []


def test_period_is_the_day_the_lead_was_given(org, story) -> None:  # type: ignore[no-untyped-def]
    later = MONDAY_10 + timedelta(days=1)
    assert followup_report(org.admin, by="rep", since=later, now=NOW) == []


def test_unknown_grouping_and_bucket_are_named(org) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="by must be one of"):
        followup_report(org.admin, by="country", now=NOW)
    with pytest.raises(ValueError, match="not a bucket"):
        followup_lead_ids(org.admin, figure="dropped", bucket="lots", now=NOW)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 11, 13, 16, 0, tzinfo=UTC), datetime(2026, 11, 16, 10, 0, tzinfo=UTC)),
        (datetime(2026, 11, 14, 3, 0, tzinfo=UTC), datetime(2026, 11, 14, 4, 0, tzinfo=UTC)),
        (datetime(2026, 3, 27, 8, 0, tzinfo=UTC), datetime(2026, 3, 30, 15, 30, tzinfo=UTC)),
        (datetime(2026, 12, 23, 12, 0, tzinfo=UTC), datetime(2027, 1, 4, 9, 30, tzinfo=UTC)),
        (datetime(2026, 11, 16, 10, 0, tzinfo=UTC), datetime(2026, 11, 16, 10, 0, tzinfo=UTC)),
    ],
)
def test_vectorised_business_hours_agree_with_the_sla_clock(start, end) -> None:  # type: ignore[no-untyped-def]
    calendar = BusinessCalendar(
        timezone="Europe/Berlin",
        start=time(9),
        end=time(17, 30),
        holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)}),
    )
    frame = pl.DataFrame(
        {"a": [start], "b": [end]},
        schema={"a": pl.Datetime("us", "UTC"), "b": pl.Datetime("us", "UTC")},
    )
    got = frame.select(business_hours(pl.col("a"), pl.col("b"), calendar))[0, 0]
    assert got == pytest.approx(one_at_a_time(start, end, calendar))
