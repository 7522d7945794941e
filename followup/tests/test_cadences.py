"""Cadences and the rep's day: enrolment on assignment, the tasks one after another, the
minimum attempts before "no response", the run-out back to marketing. Time is injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from capture.services import capture_lead
from conftest import HOT
from followup.actions import ActionError, NotAllowed, act_on_lead, work_task
from followup.choices import EnrolmentStatus, TaskStatus
from followup.models import Cadence, Enrolment, Task
from followup.queries import day_tasks
from followup.rules import StepSpec
from followup.services import run_due
from followup.setup import RuleSpec, save_cadence, set_attempt_policy, set_cadence_rules
from leads.errors import NotPermitted
from leads.models import Lead, StageChange
from routing.services import assign_lead, reassign_lead

pytestmark = pytest.mark.django_db


def arrive(name: str, now: datetime, **extra: Any) -> Lead:
    """A sales-ready lead arriving at `now`: routed by round robin in EMEA."""
    lead = capture_lead(
        {**HOT, "email": f"{name.lower()}@example.com", "first_name": name, **extra},
        source="web_form",
        now=now,
    ).lead
    lead.refresh_from_db()
    return lead


def open_task(lead: Lead) -> Task:
    return Task.objects.get(lead=lead, status=TaskStatus.OPEN)


def test_a_lead_assigned_to_a_rep_is_enrolled_with_its_first_task(org: Any, now: datetime) -> None:
    lead = arrive("Ann", now)

    enrolment = Enrolment.objects.get(lead=lead)
    assert enrolment.cadence.name == "Standard follow-up"
    assert (enrolment.status, enrolment.owner, enrolment.started_at) == (
        EnrolmentStatus.ACTIVE,
        org.rep1,
        now,
    )
    task = open_task(lead)
    assert (task.owner, task.channel, task.position, task.step_count, task.due_at) == (
        org.rep1,
        "call",
        1,
        6,
        now,
    )


def test_a_reassigned_lead_takes_its_open_tasks_to_the_new_owner(org: Any, now: datetime) -> None:
    lead = arrive("Ann", now)

    reassign_lead(lead, org.rep2, now=now + timedelta(hours=1), by=org.manager)

    assert open_task(lead).owner == org.rep2
    assert Enrolment.objects.get(lead=lead).owner == org.rep2
    assert Enrolment.objects.filter(lead=lead).count() == 1


def test_the_first_matching_rule_picks_the_cadence(org: Any, now: datetime) -> None:
    fast = save_cadence(
        by=org.admin,
        now=now,
        name="Grade A blitz",
        steps=[StepSpec(0, "call", "Call now"), StepSpec(0, "linkedin", "Connect")],
    )
    set_cadence_rules(
        [RuleSpec("Grade A blitz", grade="A"), RuleSpec("Standard follow-up", grade="B")],
        by=org.manager,
    )
    graded = arrive("Ann", now)
    Lead.objects.filter(pk=graded.pk).update(grade="A")
    other = arrive("Bob", now)
    # Scoring grades every lead now; Bob's fit is graded C, a grade no rule names.
    Lead.objects.filter(pk=other.pk).update(grade="C")

    # Grades are read at assignment: re-route both now that Ann is graded A.
    for lead in (graded, other):
        lead.refresh_from_db()
        Enrolment.objects.filter(lead=lead).update(status=EnrolmentStatus.STOPPED)
        assign_lead(lead, now=now, to=org.rep1)

    assert Enrolment.objects.get(lead=graded, status="active").cadence == fast
    assert Enrolment.objects.get(lead=other, status="active").cadence.is_default


def test_the_day_lists_open_first_touch_deadlines_first_then_grade_and_score(
    org: Any, now: datetime
) -> None:
    earlier = now - timedelta(days=3)
    touched_a = arrive("Alma", earlier)  # first touch made: no open deadline
    plain = arrive("Bea", earlier)
    late_sla = arrive("Cleo", now - timedelta(hours=1))
    for lead in (touched_a, plain, late_sla):
        assert lead.assigned_at is not None
        assign_lead(lead, now=lead.assigned_at, to=org.rep1)
    Lead.objects.filter(pk=touched_a.pk).update(grade="A", score=90, first_touch_at=earlier)
    Lead.objects.filter(pk=plain.pk).update(grade="B", score=50, first_touch_at=earlier)
    lower = arrive("Dora", earlier)
    assign_lead(lower, now=earlier, to=org.rep1)
    Lead.objects.filter(pk=lower.pk).update(grade="B", score=70, first_touch_at=earlier)

    names = [t.lead.first_name for t in day_tasks(org.rep1, now=now)]

    # Only Cleo's first-touch deadline is still open: she comes first; then grade A before
    # B, and within B the higher score.
    assert names == ["Cleo", "Alma", "Dora", "Bea"]


def test_completing_a_task_logs_the_touch_and_brings_up_the_next(org: Any, now: datetime) -> None:
    lead = arrive("Ann", now)
    call = open_task(lead)

    done = work_task(call, by=org.rep1, outcome="no_answer", notes="rang twice", now=now)

    assert (done.touch.kind, done.touch.outcome, done.touch.notes) == (
        "call",
        "no_answer",
        "rang twice",
    )
    assert done.next_task is not None
    assert (done.next_task.channel, done.next_task.position, done.next_task.due_at) == (
        "email",
        2,
        now,
    )
    call.refresh_from_db()
    assert (call.status, call.outcome, call.touch) == ("done", "no_answer", done.touch)
    # The email done on Monday: the next call is two days later, at the team's 9:00.
    third = work_task(done.next_task, by=org.rep1, outcome="sent", now=now).next_task
    assert third is not None
    assert (third.channel, third.due_at) == ("call", datetime(2026, 11, 18, 9, 0, tzinfo=UTC))
    lead.refresh_from_db()
    assert (lead.touch_count, lead.first_touch_at) == (2, now)


def test_a_connected_call_ends_the_cadence(org: Any, now: datetime) -> None:
    lead = arrive("Ann", now)

    done = work_task(open_task(lead), by=org.rep1, outcome="connected", now=now)

    assert done.next_task is None
    enrolment = Enrolment.objects.get(lead=lead)
    assert (enrolment.status, enrolment.end_reason) == ("contacted", "contact: connected")
    assert not Task.objects.filter(lead=lead, status="open").exists()


def test_a_meeting_booked_from_the_lead_page_ends_the_cadence_too(org: Any, now: datetime) -> None:
    lead = arrive("Ann", now)

    act_on_lead(lead, "log_touch", by=org.rep1, now=now, kind="email", outcome="meeting_booked")

    assert Enrolment.objects.get(lead=lead).status == "contacted"
    assert Task.objects.get(lead=lead).status == "cancelled"


def test_a_task_needs_an_outcome_that_fits_its_channel(org: Any, now: datetime) -> None:
    task = open_task(arrive("Ann", now))

    with pytest.raises(ActionError) as missing:
        work_task(task, by=org.rep1, now=now)
    with pytest.raises(ActionError) as wrong:
        work_task(task, by=org.rep1, outcome="sent", now=now)

    assert missing.value.field == "outcome"
    assert "one of connected, left_voicemail, no_answer" in missing.value.message
    assert wrong.value.message.startswith("'sent' is not an outcome of a call task")


def test_a_rep_cannot_drop_a_lead_for_no_response_before_the_minimum_attempts(
    org: Any, now: datetime
) -> None:
    lead = arrive("Ann", now)
    for hour in range(4):
        act_on_lead(lead, "log_touch", by=org.rep1, now=now + timedelta(hours=hour), kind="call",
                    outcome="no_answer")  # fmt: skip

    with pytest.raises(ActionError) as refused:
        act_on_lead(lead, "reject", by=org.rep1, now=now + timedelta(hours=5), reason="No response")

    assert refused.value.field == "reason"
    assert refused.value.message == (
        "not yet: 4 of 6 attempts, only calls so far: a lead is dropped for no response only"
        " after 6 attempts over at least 2 channels"
    )
    # Disqualifying for "never answered" is dropping it too.
    with pytest.raises(ActionError):
        act_on_lead(lead, "disqualify", by=org.rep1, now=now, reason="never answered the phone")
    # Another reason is not held back.
    act_on_lead(lead, "reject", by=org.rep1, now=now + timedelta(hours=5), reason="a student")
    assert Lead.objects.get(pk=lead.pk).stage == "recycled"


def test_the_minimum_is_met_with_enough_attempts_over_two_channels(org: Any, now: datetime) -> None:
    lead = arrive("Ann", now)
    for hour, kind, outcome in [
        (0, "call", "no_answer"), (1, "email", "sent"), (2, "call", "left_voicemail"),
        (3, "linkedin", "sent"), (4, "call", "no_answer"), (5, "email", "sent"),
    ]:  # fmt: skip
        act_on_lead(lead, "log_touch", by=org.rep1, now=now + timedelta(hours=hour), kind=kind,
                    outcome=outcome)  # fmt: skip

    act_on_lead(lead, "reject", by=org.rep1, now=now + timedelta(hours=6), reason="no response")

    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == ("recycled", None)
    assert Enrolment.objects.get(lead=lead).status == "stopped"


def test_a_team_sets_its_own_minimum(org: Any, now: datetime) -> None:
    set_attempt_policy(org.emea, by=org.manager, min_attempts=2, min_channels=1)
    lead = arrive("Ann", now)
    act_on_lead(lead, "log_touch", by=org.rep1, now=now, kind="call", outcome="no_answer")

    with pytest.raises(ActionError, match="1 of 2 attempts"):
        act_on_lead(lead, "reject", by=org.rep1, now=now, reason="unreachable")
    with pytest.raises(NotPermitted):
        set_attempt_policy(org.americas, by=org.manager, min_attempts=1, min_channels=1)


def do_every_task(lead: Lead, rep: Any, start: datetime) -> datetime:
    """Work the lead's cadence to its end without reaching anyone; the last moment."""
    when = start
    while (task := Task.objects.filter(lead=lead, status="open").first()) is not None:
        when = max(when, task.due_at)
        outcome = "no_answer" if task.channel == "call" else "sent"
        work_task(task, by=rep, outcome=outcome, now=when)
    return when


def test_a_cadence_run_out_without_contact_hands_the_lead_back_to_marketing(
    org: Any, now: datetime
) -> None:
    lead = arrive("Ann", now)
    last = do_every_task(lead, org.rep1, now)
    enrolment = Enrolment.objects.get(lead=lead)
    assert enrolment.hand_back_at is not None
    assert enrolment.hand_back_at > last

    # Not before its time.
    assert run_due(now=enrolment.hand_back_at - timedelta(minutes=1)) == 0
    assert Lead.objects.get(pk=lead.pk).stage == "mql"

    assert run_due(now=enrolment.hand_back_at) == 1

    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.segment) == ("recycled", None, "nurture")
    change = StageChange.objects.filter(lead=lead).latest("changed_at")
    assert change.reason == (
        "cadence 'Standard follow-up' ran out without contact (6 of 6 attempts: calls and emails)"
    )
    assert change.changed_by is None
    assert Enrolment.objects.get(lead=lead).status == "ran_out"
    # Running the sweep again changes nothing.
    assert run_due(now=enrolment.hand_back_at) == 0
    assert run_due(now=enrolment.hand_back_at + timedelta(days=3)) == 0
    assert StageChange.objects.filter(lead=lead, to_stage="recycled").count() == 1


def test_the_sweep_stops_the_cadence_of_a_lead_that_left_sales_another_way(
    org: Any, now: datetime
) -> None:
    lead = arrive("Ann", now)
    Lead.objects.filter(pk=lead.pk).update(stage="nurturing")

    assert run_due(now=now) == 1
    assert run_due(now=now) == 0
    assert Enrolment.objects.get(lead=lead).status == "stopped"
    assert Task.objects.get(lead=lead).status == "cancelled"


def test_a_rep_cannot_complete_another_reps_task(org: Any, now: datetime) -> None:
    task = open_task(arrive("Ann", now))

    for outsider in (org.rep2, org.rep3, org.us_manager, org.marketer):
        with pytest.raises(NotAllowed):
            work_task(task, by=outsider, outcome="connected", now=now)
    task.refresh_from_db()
    assert task.status == "open"
    # Their manager may, covering for them.
    work_task(task, by=org.manager, outcome="connected", now=now)


def test_a_manager_changes_the_default_cadence_steps(org: Any, now: datetime) -> None:
    default = Cadence.objects.get(is_default=True)

    save_cadence(by=org.manager, now=now, cadence=default, steps=[StepSpec(0, "email", "Hello")])
    lead = arrive("Ann", now)

    assert (open_task(lead).channel, open_task(lead).step_count) == ("email", 1)
    with pytest.raises(NotPermitted):
        save_cadence(by=org.rep1, now=now, cadence=default, name="Mine")


def test_a_call_logged_on_the_lead_does_the_open_call_task(org: Any, now: datetime) -> None:
    lead = arrive("Ann", now)
    call = open_task(lead)

    act_on_lead(lead, "log_touch", by=org.rep1, now=now, kind="call", outcome="no_answer")

    call.refresh_from_db()
    assert (call.status, call.outcome) == ("done", "no_answer")
    assert open_task(lead).channel == "email"
    # A touch of another kind leaves the email task open.
    act_on_lead(lead, "log_touch", by=org.rep1, now=now, kind="call", outcome="no_answer")
    assert open_task(lead).channel == "email"


def test_the_default_cadence_is_remade_as_the_migration_made_it(now: datetime) -> None:
    from followup.setup import STANDARD_STEPS, ensure_default_cadence

    migrated = Cadence.objects.get(is_default=True)
    steps = [(s.day_offset, s.channel, s.instructions) for s in migrated.steps.all()]
    assert ensure_default_cadence(now=now) == migrated
    Cadence.objects.all().delete()

    remade = ensure_default_cadence(now=now)

    assert (remade.name, remade.is_default) == ("Standard follow-up", True)
    assert [(s.day_offset, s.channel, s.instructions) for s in remade.steps.all()] == steps
    assert len(STANDARD_STEPS) == 6


def test_a_lead_reached_is_not_started_again_when_it_changes_hands(org: Any, now: datetime) -> None:
    lead = arrive("Ann", now)
    work_task(open_task(lead), by=org.rep1, outcome="connected", now=now)

    reassign_lead(lead, org.rep2, now=now + timedelta(hours=1), by=org.manager)

    assert list(Enrolment.objects.filter(lead=lead).values_list("status", flat=True)) == [
        "contacted"
    ]
    assert not Task.objects.filter(lead=lead, status="open").exists()
