"""The follow-up roll-up stays equal to a recount from the assignments after every writer
of a turn's record: routing one lead or many, an import's bulk routing, a reassignment, a
rep taking a queued lead, a leave or deactivation, the escalation ladder, touches,
hand-backs, a cadence running out, merges and their undo, the rebuild and the migration
that first fills it."""

from __future__ import annotations

import importlib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from analytics.services import NONE_KEY, exact_report, followup_lead_ids, followup_report
from capture.services import capture_lead
from conftest import HOT
from followup.services import drop_lead, hand_back_ran_out, record_touch, reject_lead
from identity.merging import merge_leads, undo_merge
from imports.pipeline import ImportOptions
from imports.services import create_import_job, run_import
from leads.models import Lead
from leads.services import add_to_campaign
from routing import escalation, rollup
from routing.availability import set_active
from routing.models import Assignment, TurnCampaign, TurnRollup
from routing.rules import TurnRecord, turn_figures
from routing.services import assign_lead, assign_leads, reassign_lead
from routing.sla import create_sla_policy

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def assert_kept(org: Any, now: datetime = MONDAY + timedelta(days=30)) -> None:
    """The roll-up holds what the assignments say, and reports as the turns do."""
    assert rollup.stored() == rollup.recount()
    for by in ("rep", "team", "campaign"):
        assert followup_report(org.admin, by=by, now=now) == exact_report(org.admin, by=by, now=now)


def hot(n: int, when: datetime, *, campaign: Any = None, **extra: Any) -> Any:
    result = capture_lead(
        {**HOT, "email": f"lead{n}@example.org", **extra}, source="api", now=when,
        campaign=campaign,
    )  # fmt: skip
    return Lead.objects.get(pk=result.lead.pk)


def given(rep: Any) -> int:
    rows = TurnRollup.objects.filter(span="month", rep_id=rep.pk, campaign_id=0, figure="assigned")
    return sum(rows.values_list("count", flat=True))


def test_a_turn_moves_from_given_to_touched_late_and_dropped(org: Any) -> None:
    lead = hot(1, MONDAY)
    rep = lead.owner
    key = {
        "span": "month", "period": date(2026, 11, 1), "rep_id": rep.pk, "team_id": org.emea.pk,
        "campaign_id": 0,
    }  # fmt: skip
    assert dict(TurnRollup.objects.filter(**key).values_list("figure", "count")) == {"assigned": 1}

    record_touch(
        lead, by=rep, kind="call", outcome="no_answer", now=MONDAY + timedelta(days=3, hours=2)
    )
    record_touch(lead, by=rep, kind="call", outcome="no_answer", now=MONDAY + timedelta(days=4))
    lead.refresh_from_db()
    reject_lead(lead, by=rep, reason="no response", now=MONDAY + timedelta(days=5))

    counts = {
        (figure, edge): n
        for figure, edge, n in TurnRollup.objects.filter(**key)
        .exclude(count=0)
        .values_list("figure", "edge", "count")
    }
    turn = Assignment.objects.get(lead=lead)
    assert counts == {
        ("assigned", 0): 1,
        ("touched", 0): 1,
        ("late", 0): 1,  # past the 24 working hours
        ("business_hours", 26.0): 1,  # Thursday 12:00, 26 working hours after Monday 10:00
        ("clock_hours", 74.0): 1,
        ("dropped", 0): 1,
        ("attempts", 2): 1,
    }
    assert turn.first_touch_hours == pytest.approx(26.0)
    assert_kept(org)


def test_the_turn_figures_of_a_record() -> None:
    touched = MONDAY + timedelta(minutes=30)
    record = TurnRecord(MONDAY + timedelta(hours=1), touched, 0.5, 0.5, 9, MONDAY)
    assert turn_figures(record) == [
        ("assigned", 0.0),
        ("touched", 0.0),
        ("in_sla", 0.0),
        ("business_hours", 0.5),
        ("clock_hours", 0.5),
        ("dropped", 0.0),
        ("attempts", 6.0),
    ]
    assert turn_figures(TurnRecord(None, None, None, None, 0, None)) == [("assigned", 0.0)]


def test_routing_many_leads_at_once(org: Any) -> None:
    leads = [
        Lead.objects.create(
            email=f"bulk{n}@example.io",
            country=country,
            stage="mql",
            arrived_at=MONDAY,
            stage_changed_at=MONDAY,
        )
        for n, country in enumerate(["DE", "US", "FR", "DE", "BR"])
    ]
    assign_leads(leads, now=MONDAY)
    assert sum(given(rep) for rep in (org.rep1, org.rep2, org.rep3)) == 5
    assert_kept(org)


def test_an_imports_bulk_routing(tmp_path: Path, org: Any) -> None:
    rows = "".join(f"hot{i}@acme{i}.io,dm,20000,now,replace it,Germany\n" for i in range(4))
    path = tmp_path / "hot.csv"
    path.write_text(f"Email,Authority,Budget,Timeline,Notes,Country\n{rows}")
    run_import(create_import_job(path, ImportOptions(), now=MONDAY, by=org.admin), now=MONDAY)
    assert given(org.rep1) + given(org.rep2) == 4
    assert_kept(org)


def test_a_reassignment_and_a_deactivated_reps_leads(org: Any) -> None:
    first, second = hot(1, MONDAY, campaign=org.webinar), hot(2, MONDAY, campaign=org.webinar)
    reassign_lead(first, org.rep3, now=MONDAY + timedelta(hours=2), by=org.manager)
    record_touch(first, by=org.rep3, kind="call", now=MONDAY + timedelta(hours=3))
    owner = Lead.objects.select_related("owner").get(pk=second.pk).owner
    assert owner is not None
    set_active(owner, by=org.admin, is_active=False, now=MONDAY + timedelta(hours=4))
    assert Lead.objects.get(pk=second.pk).owner != owner
    assert Assignment.objects.count() == 4
    assert_kept(org)


def test_a_rep_takes_a_queued_lead_by_working_it(org: Any) -> None:
    lead = Lead.objects.create(
        email="queued@example.io", country="DE", stage="mql", team=org.emea,
        arrived_at=MONDAY, stage_changed_at=MONDAY,
    )  # fmt: skip
    record_touch(lead, by=org.rep2, kind="call", now=MONDAY + timedelta(hours=1))
    assert given(org.rep2) == 1
    assert_kept(org)


def test_the_escalation_ladder_reassigns_and_hands_back(org: Any) -> None:
    create_sla_policy(
        org.emea, by=org.manager, name="Grade A", grades=["A"], hours=1,
        reassign_after_hours=2, recycle_after_hours=8,
    )  # fmt: skip
    lead = Lead.objects.create(
        email="ann@example.io", country="DE", stage="mql", grade="A",
        arrived_at=MONDAY, stage_changed_at=MONDAY,
    )  # fmt: skip
    assign_lead(lead, now=MONDAY)
    escalation.run_due(now=MONDAY + timedelta(hours=3, minutes=1))
    assert Assignment.objects.filter(lead=lead).count() == 2
    assert_kept(org)
    escalation.run_due(now=MONDAY + timedelta(days=2))
    assert Lead.objects.get(pk=lead.pk).stage == "recycled"
    assert_kept(org)


def test_dropping_and_a_cadence_running_out(org: Any) -> None:
    first, second = hot(1, MONDAY, campaign=org.webinar), hot(2, MONDAY)
    drop_lead(
        first, "disqualified", by=org.admin, reason="student", now=MONDAY + timedelta(hours=1)
    )
    enrolment = second.enrolments.get()
    hand_back_ran_out(enrolment, now=MONDAY + timedelta(days=20))
    assert Assignment.objects.filter(dropped_at__isnull=False).count() == 2
    assert_kept(org)


def test_a_merge_and_its_undo_keep_the_roll_up(org: Any) -> None:
    ann = hot(1, MONDAY, first_name="Ann", last_name="Lee", company_name="Acme")
    dup = hot(
        2, MONDAY + timedelta(days=1), first_name="Ann", last_name="Lee", campaign=org.webinar
    )
    record_touch(dup, by=dup.owner, kind="call", now=MONDAY + timedelta(days=1, hours=1))
    record = merge_leads(ann, dup, by=org.admin, now=MONDAY + timedelta(days=2))
    assert Assignment.objects.filter(lead=ann).count() == 2
    assert_kept(org)
    # The survivor's latest turn (the duplicate's) takes the next touch.
    ann.refresh_from_db()
    record_touch(ann, by=org.rep1, kind="call", now=MONDAY + timedelta(days=3))
    assert_kept(org)
    undo_merge(record, by=org.admin, now=MONDAY + timedelta(days=4))
    assert_kept(org)


def test_rebuild_command_and_the_migration_fill_it_from_the_assignments(org: Any) -> None:
    lead = hot(1, MONDAY, campaign=org.webinar)
    record_touch(lead, by=lead.owner, kind="call", now=MONDAY + timedelta(minutes=20))
    hot(2, MONDAY - timedelta(days=40))
    expected = rollup.recount()
    TurnRollup.objects.all().delete()
    call_command("report", "rebuild-rollup")
    assert rollup.stored() == expected
    TurnRollup.objects.all().delete()
    migration = importlib.import_module("routing.migrations.0007_turn_rollup")
    migration.fill_rollup(apps, None)
    assert rollup.stored() == Counter({key: n for key, n in expected.items() if not key[4]})
    # 0008 fills the turns' campaigns from the memberships their leads had by then, and
    # the campaigns' rows of the roll-up.
    TurnCampaign.objects.all().delete()
    campaigns = importlib.import_module("routing.migrations.0008_turn_campaigns")
    campaigns.fill(apps, connection.schema_editor())
    assert rollup.stored() == expected
    assert TurnCampaign.objects.get().campaign == org.webinar


def test_a_turn_counts_for_the_campaigns_its_lead_was_in_when_given(org: Any) -> None:
    """Joining a campaign later does not claim an earlier turn; the turn after does; a
    deleted campaign takes its rows with it; a report per campaign reads the roll-up."""
    early = hot(1, MONDAY)
    add_to_campaign(early, org.webinar, status="attended", now=MONDAY + timedelta(hours=1))
    record_touch(early, by=early.owner, kind="call", now=MONDAY + timedelta(hours=2))
    assert not TurnCampaign.objects.exists()
    [none] = followup_report(org.admin, by="campaign", now=MONDAY + timedelta(days=1))
    assert (none.key, none.name, none.assigned, none.touched) == (None, "(none)", 1, 1)
    reassign_lead(early, org.rep3, now=MONDAY + timedelta(hours=3), by=org.manager)
    late = hot(2, MONDAY + timedelta(hours=4), campaign=org.webinar)
    assert TurnCampaign.objects.count() == 2
    assert_kept(org)
    webinar, none = followup_report(org.admin, by="campaign", now=MONDAY + timedelta(days=40))
    assert (webinar.name, webinar.assigned, webinar.touched) == ("Webinar", 2, 0)
    assert (none.name, none.assigned) == ("(none)", 1)
    assert set(
        followup_lead_ids(
            org.admin, figure="assigned", by="campaign", key=org.webinar.pk, now=MONDAY
        )
    ) == {early.pk, late.pk}
    # The "(none)" row's leads: the first turn, given before the lead joined.
    assert set(
        followup_lead_ids(org.admin, figure="touched", by="campaign", key=NONE_KEY, now=MONDAY)
    ) == {early.pk}
    org.webinar.delete()  # its turns become turns of leads in no campaign
    assert not TurnRollup.objects.exclude(campaign_id__in=[0, rollup.NO_CAMPAIGN]).exists()
    assert_kept(org)
    [none] = followup_report(org.admin, by="campaign", now=MONDAY + timedelta(days=40))
    assert none.assigned == 3
