"""Nurture programs with an injected `now`: each step kind, waits in the lead's time zone,
branches, goals, enrolment rules, re-entry, pausing, the YAML document and the sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leads.errors import FieldError, NotPermitted
from leads.models import CampaignMember, Lead, StageChange
from leads.services import transition_lead
from nurture import consent, lists, programs, services
from nurture.choices import ConsentSource, EnrolmentStatus, ListKind, MessageStatus
from nurture.models import EmailTemplate, Enrolment, LeadList, ListMember, Message, Program
from routing.models import Assignment
from routing.services import send_to_sales
from users.models import Notification

from .conftest import consenting


@pytest.fixture
def template(org: Any, now: datetime) -> EmailTemplate:
    return services.create_template(
        by=org.marketer, now=now, name="Recording",
        subject="The recording, {{ first_name|default:'there' }}",
        text_body="Watch it: {{ base_url }}/recording",
    )  # fmt: skip


@pytest.fixture
def lead(add_lead: Callable[..., Lead], now: datetime) -> Lead:
    ann = consenting(
        add_lead("ann@acme.de", first_name="Ann", country="DE", stage="nurturing"), now
    )
    return consenting(ann, now)


def program(org: Any, now: datetime, steps: list[dict[str, Any]], **doc: Any) -> Program:
    document = {"name": "Recording", "status": "active", "steps": steps, **doc}
    return programs.apply_document(document, by=org.marketer, now=now).program


def run_of(lead: Lead, prog: Program | None = None) -> Enrolment:
    rows = Enrolment.objects.filter(lead=lead)
    if prog is not None:
        rows = rows.filter(program=prog)
    return rows.select_related("step").latest("pk")


def at(lead: Lead) -> str:
    """The name of the step the lead's latest run is at."""
    step = run_of(lead).step
    assert step is not None
    return step.name


def enrol(org: Any, prog: Program, *leads: Lead, now: datetime) -> int:
    return programs.enrol_leads(prog, [x.pk for x in leads], by=org.marketer, now=now)


# --- Steps ----------------------------------------------------------------------------


def test_a_send_step_queues_the_email_for_the_program_step_and_moves_on(
    org: Any, now: datetime, template: EmailTemplate, lead: Lead
) -> None:
    prog = program(org, now, [
        {"name": "recording", "kind": "send_email", "template": "Recording"},
        {"name": "a day", "kind": "wait", "days": 1},
    ])  # fmt: skip
    assert enrol(org, prog, lead, now=now) == 1

    assert programs.run_due(now=now) == 1

    message = Message.objects.get(lead=lead)
    first, wait = prog.steps.order_by("position")
    assert (message.program_step, message.purpose, message.subject) == (
        first.pk, "marketing", "The recording, Ann",
    )  # fmt: skip
    run = run_of(lead)
    assert (run.step, run.due_at, run.status) == (wait, now + timedelta(days=1), "active")


def test_a_wait_step_lets_the_lead_go_on_only_when_its_time_has_come(
    org: Any, now: datetime, lead: Lead
) -> None:
    prog = program(org, now, [
        {"name": "two hours", "kind": "wait", "hours": 2},
        {"name": "end", "kind": "end"},
    ])  # fmt: skip
    enrol(org, prog, lead, now=now)
    programs.run_due(now=now)

    assert programs.run_due(now=now + timedelta(hours=1)) == 0
    assert run_of(lead).status == "active"
    programs.run_due(now=now + timedelta(hours=2))
    run = run_of(lead)
    assert (run.status, run.ended_reason, run.ended_at) == (
        "completed", "reached the end", now + timedelta(hours=2),
    )  # fmt: skip


def test_waits_until_tuesday_nine_in_each_leads_own_time_zone(
    org: Any, now: datetime, add_lead: Callable[..., Lead]
) -> None:
    # given a lead in Berlin, one in New York (state NY) and one in Tokyo, on a Monday
    berlin = add_lead("b@x.de", country="DE", stage="nurturing")
    new_york = add_lead("n@x.com", country="US", custom_fields={"state": "NY"}, stage="nurturing")
    tokyo = add_lead("t@x.jp", country="JP", stage="nurturing")
    prog = program(org, now, [
        {"name": "tuesday", "kind": "wait", "weekday": "tuesday", "hour": 9},
        {"name": "end", "kind": "end"},
    ])  # fmt: skip
    enrol(org, prog, berlin, new_york, tokyo, now=now)

    programs.run_due(now=now)

    # 09:00 CET is 08:00 UTC; 09:00 EST is 14:00 UTC; 09:00 JST is 00:00 UTC
    assert run_of(berlin).due_at == datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
    assert run_of(new_york).due_at == datetime(2026, 11, 17, 14, 0, tzinfo=UTC)
    assert run_of(tokyo).due_at == datetime(2026, 11, 17, 0, 0, tzinfo=UTC)
    programs.run_due(now=datetime(2026, 11, 17, 9, 0, tzinfo=UTC))
    assert [run_of(x).status for x in (berlin, new_york, tokyo)] == [
        "completed", "active", "completed",
    ]  # fmt: skip


def test_a_lead_in_a_country_of_many_zones_without_a_state_waits_in_its_teams_zone(
    org: Any, now: datetime, add_lead: Callable[..., Lead]
) -> None:
    # the Americas team (New York) works the US
    somewhere = add_lead("s@x.com", country="US", stage="nurturing")
    prog = program(org, now, [{"name": "tuesday", "kind": "wait", "weekday": "tuesday", "hour": 9}])
    enrol(org, prog, somewhere, now=now)

    programs.run_due(now=now)

    assert run_of(somewhere).due_at == datetime(2026, 11, 17, 14, 0, tzinfo=UTC)


def test_a_branch_on_a_click_goes_yes_at_once_and_no_when_the_time_runs_out(
    org: Any, now: datetime, template: EmailTemplate, add_lead: Callable[..., Lead]
) -> None:
    clicker = add_lead("c@x.de", country="DE", stage="nurturing")
    idle = add_lead("i@x.de", country="DE", stage="nurturing")
    prog = program(org, now, [
        {"name": "mail", "kind": "send_email", "template": "Recording"},
        {"name": "clicked?", "kind": "branch", "if": "clicked", "within_hours": 48,
         "yes_next": "hot", "no_next": "cold"},
        {"name": "hot", "kind": "add_to_list", "list": "Hot"},
        {"name": "stop", "kind": "end"},
        {"name": "cold", "kind": "add_to_list", "list": "Cold"},
    ])  # fmt: skip
    enrol(org, prog, clicker, idle, now=now)
    programs.run_due(now=now)
    assert {at(x) for x in (clicker, idle)} == {"clicked?"}

    # when the clicker clicks half an hour later: it goes yes at the next look (hourly)
    Message.objects.filter(lead=clicker).update(clicked_at=now + timedelta(minutes=30))
    programs.run_due(now=now + timedelta(hours=1))
    assert run_of(clicker).status == "completed"
    assert at(idle) == "clicked?"

    # and the other goes no when the 48 hours are over
    programs.run_due(now=now + timedelta(hours=47))
    assert at(idle) == "clicked?"
    programs.run_due(now=now + timedelta(hours=48))
    hot = LeadList.objects.get(name="Hot")
    cold = LeadList.objects.get(name="Cold")
    assert list(hot.members.values_list("lead_id", flat=True)) == [clicker.pk]
    assert list(cold.members.values_list("lead_id", flat=True)) == [idle.pk]
    branch = prog.steps.get(name="clicked?")
    assert (branch.went_yes, branch.went_no) == (1, 1)
    assert run_of(clicker).ended_reason == "reached the end"


@pytest.fixture(autouse=True)
def static_lists(org: Any, now: datetime) -> None:
    for name in ("Hot", "Cold"):
        lists.create_list(by=org.marketer, name=name, kind=ListKind.STATIC, now=now)


def test_a_branch_on_a_condition_and_on_list_membership(
    org: Any, now: datetime, add_lead: Callable[..., Lead]
) -> None:
    a = add_lead("a@x.de", country="DE", stage="nurturing", grade="A")
    b = add_lead("b@x.de", country="DE", stage="nurturing", grade="C")
    ListMember.objects.create(lead_list=LeadList.objects.get(name="Hot"), lead=b, added_at=now)
    prog = program(org, now, [
        {"name": "grade A?", "kind": "branch", "condition": [{"field": "grade", "op": "is", "value": "A"}],
         "yes_next": "done", "no_next": "hot?"},
        {"name": "hot?", "kind": "branch", "in_list": "Hot", "yes_next": "remove", "no_next": "done"},
        {"name": "remove", "kind": "remove_from_list", "list": "Hot"},
        {"name": "done", "kind": "end"},
    ])  # fmt: skip
    enrol(org, prog, a, b, now=now)

    programs.run_due(now=now)

    steps = {s.name: s for s in prog.steps.all()}
    assert (steps["grade A?"].went_yes, steps["grade A?"].went_no) == (1, 1)
    assert (steps["hot?"].went_yes, steps["hot?"].went_no) == (1, 0)
    assert steps["remove"].reached == 1
    assert not ListMember.objects.filter(lead=b).exists()
    assert [run_of(x).status for x in (a, b)] == ["completed", "completed"]


def test_a_notify_step_tells_the_owner_or_the_teams_managers_once(
    org: Any, now: datetime, add_lead: Callable[..., Lead]
) -> None:
    owned = add_lead("o@x.de", country="DE", stage="nurturing", owner=org.rep1, team=org.emea)
    prog = program(org, now, [
        {"name": "owner", "kind": "notify", "to": "owner", "message": "Watched the recording"},
        {"name": "team", "kind": "notify", "to": "team", "message": "Keep an eye on it"},
    ])  # fmt: skip
    enrol(org, prog, owned, now=now)

    programs.run_due(now=now)
    programs.run_due(now=now)

    notes = Notification.objects.filter(lead_id=owned.pk).order_by("pk")
    assert [(n.recipient, n.kind, n.message) for n in notes] == [
        (org.rep1, "program", "Recording: Watched the recording"),
        (org.manager, "program", "Recording: Keep an eye on it"),
    ]


def test_hand_to_sales_routes_the_lead_as_a_marketer_sending_it_would(
    org: Any, now: datetime, lead: Lead
) -> None:
    prog = program(org, now, [
        {"name": "hand over", "kind": "hand_to_sales", "reason": "asked for pricing"},
    ])  # fmt: skip
    enrol(org, prog, lead, now=now)

    programs.run_due(now=now)

    lead.refresh_from_db()
    assert (lead.stage, lead.team, lead.owner) == ("mql", org.emea, org.rep1)
    assignment = Assignment.objects.get(lead=lead)
    assert assignment.reason == "sent to sales by hand: Recording: asked for pricing"
    run = run_of(lead)
    assert (run.status, run.ended_reason) == ("goal", "handed to sales")


# --- Goals ----------------------------------------------------------------------------


GOAL_STEPS: list[dict[str, Any]] = [
    {"name": "a day", "kind": "wait", "days": 1},
    {"name": "mail", "kind": "send_email", "template": "Recording"},
]


@pytest.mark.parametrize(
    ("happen", "reason"),
    [
        ("sales_ready", "sales-ready"),
        ("disqualified", "disqualified"),
        ("unsubscribed", "unsubscribed"),
        ("suppressed", "unsubscribed"),
        ("withdrawn", "unsubscribed"),
        ("demo_booked", "goal: demo_booked"),
    ],
)
def test_a_goal_ends_the_run_before_its_next_email(
    org: Any, now: datetime, template: EmailTemplate, lead: Lead,
    add_event: Callable[..., Any], happen: str, reason: str,
) -> None:  # fmt: skip
    prog = program(
        org, now, GOAL_STEPS,
        goals=[{"event": "demo_booked", "property": {"name": "source", "value": "web"}}],
    )  # fmt: skip
    enrol(org, prog, lead, now=now)
    programs.run_due(now=now)
    later = now + timedelta(hours=1)
    if happen == "sales_ready":
        transition_lead(lead, "mql", now=later)
    elif happen == "disqualified":
        transition_lead(lead, "disqualified", now=later, reason="student")
    elif happen == "unsubscribed":
        add_event(lead, "unsubscribed", days_ago=-1 / 24, purpose="newsletter")
    elif happen == "suppressed":
        services.suppress(lead.email or "", reason="550", now=later)
    elif happen == "withdrawn":  # on the preference page: no event, the consent changes
        consent.record(
            lead, "newsletter", granted=False, source=ConsentSource.PREFERENCE_PAGE, now=later
        )
    else:
        add_event(lead, "demo_booked", days_ago=-1 / 24, source="other")
        programs.run_due(now=now + timedelta(days=1, hours=-1))
        assert run_of(lead).status == "active"  # another source is not the goal
        add_event(lead, "demo_booked", days_ago=-1 / 24, source="Web")

    programs.run_due(now=now + timedelta(days=1))

    run = run_of(lead)
    assert (run.status, run.ended_reason) == ("goal", reason)
    assert not Message.objects.filter(lead=lead).exists()


def test_an_unsubscribe_from_another_purpose_or_before_the_run_is_no_goal(
    org: Any, now: datetime, template: EmailTemplate, lead: Lead, add_event: Callable[..., Any]
) -> None:
    add_event(lead, "unsubscribed", days_ago=3, purpose="newsletter")  # before enrolment
    add_event(lead, "unsubscribed", days_ago=-1 / 24, purpose="events")
    prog = program(org, now, GOAL_STEPS, purpose="newsletter")
    enrol(org, prog, lead, now=now)

    programs.run_due(now=now + timedelta(days=1))

    assert (run_of(lead).status, run_of(lead).ended_reason) == ("completed", "reached the end")
    assert Message.objects.filter(lead=lead).count() == 1


# --- Enrolment ------------------------------------------------------------------------


def test_enrolment_rules_take_in_campaign_no_shows_recycled_no_budget_list_and_segment(
    org: Any, now: datetime, add_lead: Callable[..., Lead]
) -> None:
    no_show = add_lead("ns@x.de", stage="nurturing")
    attended = add_lead("at@x.de", stage="nurturing")
    CampaignMember.objects.create(
        campaign=org.webinar, lead=no_show, status="no-show", joined_at=now
    )
    CampaignMember.objects.create(
        campaign=org.webinar, lead=attended, status="attended", joined_at=now
    )
    broke = add_lead("nb@x.de", stage="recycled")
    StageChange.objects.create(
        lead=broke,
        from_stage="mql",
        to_stage="recycled",
        changed_at=now,
        reason="student, no budget",
    )
    timing = add_lead("tm@x.de", stage="recycled")
    StageChange.objects.create(
        lead=timing, from_stage="mql", to_stage="recycled", changed_at=now, reason="bad timing"
    )
    listed = add_lead("li@x.de", stage="new")
    ListMember.objects.create(lead_list=LeadList.objects.get(name="Hot"), lead=listed, added_at=now)
    sales = add_lead("sa@x.de", stage="mql")
    ListMember.objects.create(lead_list=LeadList.objects.get(name="Hot"), lead=sales, added_at=now)
    disq = add_lead("dq@x.de", stage="disqualified", segment="disqualified")
    ready = add_lead("sr@x.de", stage="nurturing", segment="sales_ready")
    prog = program(org, now, [{"name": "a week", "kind": "wait", "days": 7}], entry=[
        {"campaign": "Webinar", "status": "no-show"},
        {"recycle_reason": "no budget"},
        {"list": "Hot"},
        {"segment": "sales_ready"},
    ])  # fmt: skip

    assert programs.enrol_due(now=now) == 4
    assert programs.enrol_due(now=now) == 0

    runs = {e.lead_id: e.entered_how for e in Enrolment.objects.filter(program=prog)}
    assert runs == {
        no_show.pk: "rule: campaign 'Webinar' (no-show)",
        broke.pk: "rule: recycle reason 'no budget'",
        listed.pk: "rule: list 'Hot'",
        ready.pk: "rule: segment 'sales_ready'",
    }
    assert attended.pk not in runs and disq.pk not in runs and sales.pk not in runs
    assert prog.steps.get().reached == 4


def test_a_draft_or_paused_program_enrols_nobody_by_its_rules(
    org: Any, now: datetime, lead: Lead
) -> None:
    program(
        org, now, [{"name": "end", "kind": "end"}], status="draft", entry=[{"segment": "nurture"}]
    )
    assert programs.enrol_due(now=now) == 0


@pytest.mark.parametrize(("reentry", "runs"), [(False, 1), (True, 2)])
def test_a_lead_reenters_only_where_the_program_allows_it(
    org: Any, now: datetime, lead: Lead, reentry: bool, runs: int
) -> None:
    prog = program(
        org, now, [{"name": "end", "kind": "end"}], allow_reentry=reentry,
        entry=[{"segment": "nurture"}],
    )  # fmt: skip
    programs.enrol_due(now=now)
    programs.run_due(now=now)
    assert run_of(lead).status == "completed"

    programs.enrol_due(now=now + timedelta(days=1))

    assert Enrolment.objects.filter(lead=lead, program=prog).count() == runs


def test_a_lead_may_be_in_two_programs_but_only_once_in_each(
    org: Any, now: datetime, lead: Lead
) -> None:
    one = program(org, now, [{"name": "wait", "kind": "wait", "days": 3}])
    two = program(org, now, [{"name": "wait", "kind": "wait", "days": 3}], name="Other")

    assert enrol(org, one, lead, now=now) == 1
    assert enrol(org, one, lead, now=now) == 0
    assert enrol(org, two, lead, now=now) == 1


def test_only_marketing_and_admins_manage_programs_and_enrol_the_leads_they_see(
    org: Any, now: datetime, lead: Lead
) -> None:
    prog = program(org, now, [{"name": "end", "kind": "end"}])
    with pytest.raises(NotPermitted):
        programs.enrol_leads(prog, [lead.pk], by=org.rep1, now=now)
    with pytest.raises(NotPermitted):
        programs.pause(prog, by=org.manager, now=now)
    assert programs.enrol_leads(prog, [lead.pk], by=org.admin, now=now) == 1


# --- Pause ----------------------------------------------------------------------------


def test_pausing_holds_the_queued_emails_and_stops_the_runs_until_resumed(
    org: Any, now: datetime, template: EmailTemplate, lead: Lead, sink: Any
) -> None:
    prog = program(org, now, [
        {"name": "mail", "kind": "send_email", "template": "Recording"},
        {"name": "a day", "kind": "wait", "days": 1},
        {"name": "again", "kind": "send_email", "template": "Recording"},
    ])  # fmt: skip
    enrol(org, prog, lead, now=now)
    programs.run_due(now=now)

    programs.pause(prog, by=org.marketer, now=now)
    assert services.run_due(now=now) == 0
    assert Message.objects.get(lead=lead).status == MessageStatus.HELD
    assert programs.run_due(now=now + timedelta(days=2)) == 0
    assert Message.objects.filter(lead=lead).count() == 1

    programs.resume(prog, by=org.marketer, now=now + timedelta(days=2))
    programs.run_due(now=now + timedelta(days=2))
    assert services.run_due(now=now + timedelta(days=2)) == 2
    assert len(sink.messages) == 2


# --- The sweep ------------------------------------------------------------------------


def test_the_sweep_run_twice_at_the_same_moment_changes_nothing_more(
    org: Any, now: datetime, template: EmailTemplate, add_lead: Callable[..., Lead]
) -> None:
    leads = [add_lead(f"l{i}@x.de", country="DE", stage="nurturing") for i in range(5)]
    prog = program(org, now, [
        {"name": "mail", "kind": "send_email", "template": "Recording"},
        {"name": "a day", "kind": "wait", "days": 1},
        {"name": "mail again", "kind": "send_email", "template": "Recording"},
    ], entry=[{"segment": "nurture"}])  # fmt: skip

    first = (programs.enrol_due(now=now), programs.run_due(now=now, batch_size=2))
    second = (programs.enrol_due(now=now), programs.run_due(now=now, batch_size=2))

    assert first == (5, 5)
    assert second == (0, 0)
    assert Message.objects.count() == 5
    assert [s.reached for s in prog.steps.order_by("position")] == [5, 5, 0]
    assert {at(x) for x in leads} == {"a day"}


def test_a_crash_in_the_batch_leaves_no_email_and_no_step_taken(
    org: Any, now: datetime, template: EmailTemplate, lead: Lead, monkeypatch: Any
) -> None:
    prog = program(org, now, [
        {"name": "mail", "kind": "send_email", "template": "Recording"},
        {"name": "a day", "kind": "wait", "days": 1},
    ])  # fmt: skip
    enrol(org, prog, lead, now=now)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker died")

    monkeypatch.setattr(programs, "_write_runs", crash)
    with pytest.raises(RuntimeError):
        programs.run_due(now=now)
    assert not Message.objects.exists()
    monkeypatch.undo()

    programs.run_due(now=now)
    assert Message.objects.count() == 1
    assert at(lead) == "a day"


def test_the_programs_sweeps_run_after_the_lists_and_before_the_outbox(settings: Any) -> None:
    sweeps = settings.LEADLOOP_SWEEPS
    assert (
        sweeps.index("nurture.lists.run_due")
        < sweeps.index("nurture.programs.enrol_due")
        < sweeps.index("nurture.programs.run_due")
        < sweeps.index("nurture.services.run_due")
    )
    assert settings.CELERY_BEAT_SCHEDULE["programs"]["task"] == "nurture.tasks.run_programs_task"


# --- The document ---------------------------------------------------------------------


FULL = """\
name: Webinar recording
description: For the no-shows
status: active
purpose: events
allow_reentry: true
entry:
- campaign: Webinar
  status: no-show
goals:
- event: demo_booked
steps:
- name: recording
  kind: send_email
  template: Recording
- name: tuesday
  kind: wait
  weekday: tuesday
  hour: 9
- name: clicked?
  kind: branch
  if: clicked
  within_hours: 48
  yes_next: hand over
  no_next: end
- name: hand over
  kind: hand_to_sales
  reason: clicked the recording
- name: end
  kind: end
"""


def test_a_program_applied_from_yaml_exports_to_the_same_yaml(
    org: Any, now: datetime, template: EmailTemplate
) -> None:
    applied = programs.apply_document(programs.from_text(FULL), by=org.marketer, now=now)

    assert applied.created and applied.steps_added == [
        "recording", "tuesday", "clicked?", "hand over", "end",
    ]  # fmt: skip
    assert programs.to_yaml(programs.document_of(applied.program)) == FULL
    again = programs.apply_document(programs.from_text(FULL), by=org.marketer, now=now)
    assert (again.created, again.steps_added, again.steps_changed, again.steps_removed) == (
        False, [], [], [],
    )  # fmt: skip


def test_applying_a_changed_document_keeps_the_leads_at_kept_steps(
    org: Any, now: datetime, template: EmailTemplate, lead: Lead
) -> None:
    prog = programs.apply_document(programs.from_text(FULL), by=org.marketer, now=now).program
    enrol(org, prog, lead, now=now)
    programs.run_due(now=now)
    assert at(lead) == "tuesday"
    changed = FULL.replace("  hour: 9\n", "  hour: 10\n").replace(
        "- name: end\n  kind: end\n", ""
    ).replace("  no_next: end\n", "")  # fmt: skip

    dry = programs.apply_document(
        programs.from_text(changed), by=org.marketer, now=now, dry_run=True
    )
    assert (dry.steps_changed, dry.steps_removed) == (["tuesday", "clicked?"], ["end"])
    assert prog.steps.count() == 5
    programs.apply_document(programs.from_text(changed), by=org.marketer, now=now)

    step = run_of(lead).step
    assert step is not None
    assert (step.name, step.settings) == ("tuesday", {"weekday": 1, "hour": 10})
    assert prog.steps.count() == 4


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            ("template: Recording", "template: Nope"),
            "steps[0] 'recording'.template",
            "no email template called 'Nope'",
        ),
        (
            ("weekday: tuesday", "weekday: caturday"),
            "steps[1] 'tuesday'.weekday",
            "one of monday, tuesday, wednesday, thursday, friday, saturday, sunday",
        ),
        (
            ("yes_next: hand over", "yes_next: nowhere"),
            "steps[2] 'clicked?'.yes_next",
            "no step called 'nowhere'",
        ),
        (
            ("if: clicked", "if: liked"),
            "steps[2] 'clicked?'.if",
            "one of opened, clicked, not_opened, not_clicked",
        ),
        (
            ("status: no-show", "status: asleep"),
            "entry[0].status",
            "no campaign status 'asleep'; one of registered, attended, no-show, responded",
        ),
        (
            ("kind: end", "kind: stop"),
            "steps[4] 'end'.kind",
            "one of send_email, wait, branch, add_to_list, remove_from_list, notify, hand_to_sales, end",
        ),
        (
            ("  hour: 9\n", "  hour: 9\n  days: 2\n"),
            "steps[1] 'tuesday'.weekday",
            "a wait is a duration or a weekday, not both",
        ),
        (
            ("- name: end\n", "- name: recording\n"),
            "steps[4] 'recording'.name",
            "another step is called 'recording'",
        ),
        (("status: active", "status: running"), "status", "one of draft, active, paused"),
        (("name: Webinar recording", "name: [a"), "YAML", None),
    ],
)
def test_a_bad_document_is_refused_whole_naming_the_step_and_field(
    org: Any, now: datetime, template: EmailTemplate,
    change: tuple[str, str], field: str, message: str | None,
) -> None:  # fmt: skip
    text = FULL.replace(*change)

    with pytest.raises(FieldError) as refused:
        programs.apply_document(programs.from_text(text), by=org.marketer, now=now)

    assert refused.value.field == field
    if message is not None:
        assert refused.value.message == message
    assert not Program.objects.exists()


def test_a_branch_on_engagement_needs_an_email_before_it(org: Any, now: datetime) -> None:
    with pytest.raises(FieldError) as refused:
        program(org, now, [{"name": "opened?", "kind": "branch", "if": "opened"}])
    assert (refused.value.field, refused.value.message) == (
        "steps[0] 'opened?'.if", "no send_email step before this branch to test",
    )  # fmt: skip


# --- End to end -----------------------------------------------------------------------


def test_end_to_end_enrol_email_wait_branch_on_click_hand_to_sales_routed(
    org: Any, now: datetime, template: EmailTemplate, add_lead: Callable[..., Lead], sink: Any
) -> None:
    # given the webinar's no-show in Berlin and the recording program
    ann = consenting(
        add_lead("ann@acme.de", first_name="Ann", country="DE", stage="nurturing"),
        now,
        "events",  # the program's purpose: she said yes to event invitations
    )
    CampaignMember.objects.create(campaign=org.webinar, lead=ann, status="no-show", joined_at=now)
    prog = programs.apply_document(programs.from_text(FULL), by=org.marketer, now=now).program

    # when the sweeps run: she is enrolled, the email queued and sent in the same run
    from leadloop.sweeps import run_due

    run_due(now=now)
    assert [m["To"] for m in _parsed(sink)] == ["ann@acme.de"]
    assert at(ann) == "tuesday"
    # Tuesday 09:00 in Berlin is 08:00 UTC: she reaches the branch, then clicks
    tuesday = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
    run_due(now=tuesday)
    assert at(ann) == "clicked?"
    Message.objects.filter(lead=ann).update(clicked_at=tuesday + timedelta(hours=3))
    run_due(now=tuesday + timedelta(hours=48))

    # then she was handed to sales and routed to EMEA's round robin
    ann.refresh_from_db()
    assert (ann.stage, ann.team, ann.owner) == ("mql", org.emea, org.rep1)
    run = run_of(ann)
    assert (run.status, run.ended_reason) == (EnrolmentStatus.GOAL, "handed to sales")
    stats = {s.step.name: s for s in programs.step_stats(prog)}
    assert (stats["recording"].sent, stats["recording"].clicked) == (1, 1)
    assert (stats["clicked?"].step.went_yes, stats["clicked?"].step.went_no) == (1, 0)


def _parsed(sink: Any) -> list[Any]:
    from email import message_from_bytes, policy

    return [message_from_bytes(e.content, policy=policy.default) for e in sink.messages]


def test_a_merge_gives_the_duplicates_runs_to_the_survivor_and_an_undo_gives_them_back(
    org: Any, now: datetime, add_lead: Callable[..., Lead]
) -> None:
    from identity.merging import merge_leads, undo_merge

    ann = add_lead("ann@x.de", stage="nurturing", first_name="Ann")
    dup = add_lead("ann.dup@x.de", stage="nurturing", first_name="Ann")
    one = program(org, now, [{"name": "w", "kind": "wait", "days": 3}])
    two = program(org, now, [{"name": "w", "kind": "wait", "days": 3}], name="Two")
    enrol(org, one, ann, dup, now=now)  # both in one: the survivor keeps its own run
    enrol(org, two, dup, now=now)

    record = merge_leads(ann, dup, by=org.admin, now=now)

    assert run_of(ann, two).lead_id == ann.pk
    assert Enrolment.objects.filter(program=one, lead=dup).count() == 1
    programs.run_due(now=now + timedelta(days=3))
    assert (run_of(dup, one).status, run_of(dup, one).ended_reason) == (
        "exited", "the lead was merged into another",
    )  # fmt: skip

    undo_merge(record, by=org.admin, now=now + timedelta(days=3))
    assert run_of(dup, two).lead_id == dup.pk


def test_a_template_a_program_sends_is_not_deleted(
    org: Any, now: datetime, template: EmailTemplate
) -> None:
    program(org, now, [{"name": "mail", "kind": "send_email", "template": "Recording"}])

    with pytest.raises(FieldError) as refused:
        services.delete_template(template, by=org.marketer)

    assert (refused.value.field, refused.value.message) == (
        "template", "used by program steps: Recording (mail)",
    )  # fmt: skip
    assert EmailTemplate.objects.filter(pk=template.pk).exists()


def test_a_lead_given_to_sales_mid_wait_leaves_its_program_at_once(
    org: Any, now: datetime, template: EmailTemplate, lead: Lead
) -> None:
    prog = program(org, now, GOAL_STEPS)
    enrol(org, prog, lead, now=now)
    programs.run_due(now=now)
    waiting = run_of(lead).step
    assert waiting is not None and waiting.name == "a day"

    later = now + timedelta(hours=2)
    send_to_sales(lead, by=org.marketer, reason="asked for a call", now=later)

    run = run_of(lead)
    assert (run.status, run.ended_reason, run.ended_at) == ("goal", "sales-ready", later)
    programs.run_due(now=now + timedelta(days=2))
    assert not Message.objects.filter(lead=lead).exists()
