"""Follow-up figures: per rep, team and campaign, from assignments, touches and drops."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.followup import hour_bin, percentile
from analytics.services import followup_lead_ids, followup_report
from analytics.tests.stories import NOW, followup_story
from conftest import MONDAY_10
from routing.models import Assignment

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
    assert ana.clock_hours[0] == pytest.approx(
        0.5, abs=0.02
    )  # the lower middle of 30 and 45 minutes, to the minute
    assert ben.assigned == 2 and ben.touched == 1 and ben.in_sla == 0
    # Touched on Friday 10:00: 4 working days of 8 hours later.
    assert ben.business_hours[0] == pytest.approx(32.0, abs=1)
    assert ben.clock_hours[0] == pytest.approx(96.0, abs=1)
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
    assert list(ids) == [second.pk]
    assert list(followup_lead_ids(org.manager, figure="leaked", now=NOW)) == [never.pk]
    missed = followup_lead_ids(org.manager, figure="missed_sla", key=org.rep2.pk, now=NOW)
    assert sorted(missed) == sorted([late.pk, never.pk])
    leaked = followup_lead_ids(org.manager, figure="leaked", bucket="3–7 days", now=NOW)
    assert list(leaked) == [never.pk]
    assert not followup_lead_ids(org.manager, figure="leaked", bucket="< 1 day", now=NOW)


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


def test_percentiles_from_the_histogram_are_exact_to_the_bin() -> None:
    minutes = [hour_bin(m / 60) for m in (5.5, 10.5, 20.5, 40.5, 50.5)]
    histogram: dict[float, int] = {}
    for edge in minutes:
        histogram[edge] = histogram.get(edge, 0) + 1
    assert percentile(histogram, 0.5) == pytest.approx(20.5 / 60)
    assert percentile({}, 0.5) is None
    assert hour_bin(30.4) == 30.0 and hour_bin(5.27) == pytest.approx(5.2)
    assert hour_bin(300) == 288.0


def test_a_turn_keeps_its_figures_as_they_happen(org, story) -> None:  # type: ignore[no-untyped-def]
    late, never = story["rep2"]
    turn = Assignment.objects.get(lead=late, to_owner=org.rep2)
    assert turn.attempts == 1 and turn.first_touch_hours == pytest.approx(32.0)
    assert turn.due_at is not None and turn.first_touch_at is not None
    assert turn.first_touch_at > turn.due_at
    _, dropped = story["rep1"]
    assert Assignment.objects.get(lead=dropped).dropped_at is not None
    assert Assignment.objects.get(lead=never).first_touch_at is None
