"""Routing rules, capacity, leave, working hours, the queue and its alert, reassignment of
an unavailable rep's leads, and `explain` — all with an injected `now`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command

from capture.services import capture_lead
from conftest import HOT, make_user
from leads.errors import FieldError, NotPermitted
from leads.models import Account, Lead
from leads.services import add_to_campaign
from routing import availability
from routing.models import Assignment, RoutingRule
from routing.rulebook import create_rule, delete_rule, explain_lead, update_rule
from users.choices import Role
from users.models import Notification, Team

SATURDAY_10 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def arrive(email: str, now: datetime, **fields: Any) -> Lead:
    return capture_lead({"email": email, **HOT, **fields}, source="api", now=now).lead


def rule(
    org: Any, now: datetime, name: str, when: list[dict[str, Any]], **target: Any
) -> RoutingRule:
    return create_rule(by=org.manager, now=now, name=name, conditions=when, **target)


def last(lead: Lead) -> Assignment:
    return (
        Assignment.objects.filter(lead=lead)
        .select_related("to_owner", "to_team", "from_owner", "from_team")
        .order_by("-pk")[0]
    )


def test_rules_are_tried_in_order_and_the_first_match_decides(org, now) -> None:
    rule(org, now, "Germany to rep2", [{"field": "country", "op": "is", "value": "DE"}],
         target="user", to_user=org.rep2)  # fmt: skip
    rule(org, now, "Everything to Americas", [], target="team", to_team=org.americas)

    german = arrive("g@acme.io", now, country="Germany")
    french = arrive("f@acme.io", now, country="France")

    assert (german.owner, german.team) == (org.rep2, org.emea)
    assert (french.owner, french.team) == (org.rep3, org.americas)
    assert last(german).summary == "Assigned to rep2 by rule 'Germany to rep2'"
    assert last(french).summary == (
        "Assigned to rep3 by rule 'Everything to Americas' (round robin in team Americas)"
    )
    assert last(french).rule_id == RoutingRule.objects.get(name="Everything to Americas").pk


def test_moving_a_rule_first_changes_which_one_decides(org, now) -> None:
    rule(org, now, "All to Americas", [], target="team", to_team=org.americas)
    second = rule(org, now, "DE to rep2", [{"field": "country", "op": "is", "value": "de"}],
                  target="user", to_user=org.rep2)  # fmt: skip

    assert arrive("a@acme.io", now).owner == org.rep3
    update_rule(second, by=org.manager, now=now, position=1)
    assert arrive("b@acme.io", now).owner == org.rep2
    assert list(RoutingRule.objects.values_list("name", "position")) == [
        ("DE to rep2", 1), ("All to Americas", 2),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ({"field": "country", "op": "in", "value": ["AT", "de", "CH"]}, True),
        ({"field": "country", "op": "not_in", "value": ["DE"]}, False),
        ({"field": "segment", "op": "is", "value": "sales_ready"}, True),
        ({"field": "grade", "op": "is", "value": "A"}, True),
        ({"field": "grade", "op": "is", "value": "B"}, False),
        ({"field": "campaign", "op": "is", "value": "webinar"}, True),
        ({"field": "campaign", "op": "is", "value": "Trade show"}, False),
        ({"field": "state", "op": "is", "value": "Bavaria"}, True),
        ({"field": "custom.tier", "op": "in", "value": "gold, platinum"}, True),
        ({"field": "custom.tier", "op": "is", "value": "silver"}, False),
        ({"field": "employees", "op": "at_least", "value": "500"}, True),
        ({"field": "employees", "op": "at_most", "value": "499"}, False),
        ({"field": "account.employees", "op": "at_least", "value": 1000}, True),
        ({"field": "account.industry", "op": "contains", "value": "manufact"}, True),
        ({"field": "account.is_marquee", "op": "is", "value": "false"}, True),
        ({"field": "title", "op": "is_empty"}, False),
        ({"field": "industry", "op": "is_empty"}, True),
        ({"field": "email_domain", "op": "is", "value": "dach.example"}, True),
    ],
)
def test_each_condition_type(org, now, condition: dict[str, Any], matches: bool) -> None:
    account = Account.objects.create(
        name="Dach AG", domain="dach.example", employees=5000, industry="Manufacturing"
    )
    rule(org, now, "Rule", [condition], target="user", to_user=org.rep2)
    lead = Lead.objects.create(
        email="x@dach.example", country="DE", stage="new", segment="sales_ready", grade="A",
        title="CIO", employees=800, account=account, first_campaign=org.webinar,
        custom_fields={"state": "Bavaria", "tier": "Gold"}, arrived_at=now, stage_changed_at=now,
    )  # fmt: skip
    add_to_campaign(lead, org.webinar, status="registered", now=now)
    lead = Lead.objects.select_related("account__owner", "first_campaign").get(pk=lead.pk)

    explanation = explain_lead(lead, now=now)

    assert (explanation.decision.rule_name == "Rule") is matches


def test_a_bad_condition_is_refused_naming_where(org, now) -> None:
    with pytest.raises(FieldError) as error:
        rule(org, now, "Bad", [{"field": "country", "op": "is"}, {"field": "shoe", "op": "is",
             "value": "x"}], target="team", to_team=org.emea)  # fmt: skip
    assert error.value.field == "conditions[0].value"
    with pytest.raises(FieldError) as error:
        rule(org, now, "Bad", [{"field": "shoe_size", "op": "is", "value": "9"}],
             target="team", to_team=org.emea)  # fmt: skip
    assert error.value.field == "conditions[0].field"
    with pytest.raises(FieldError) as error:
        rule(org, now, "Bad", [{"field": "employees", "op": "at_least", "value": "many"}],
             target="team", to_team=org.emea)  # fmt: skip
    assert (error.value.field, error.value.message) == (
        "conditions[0].value",
        "'many' is not a number",
    )
    with pytest.raises(FieldError) as error:
        rule(org, now, "No team", [], target="team")
    assert error.value.field == "to_team"


def test_only_managers_and_admins_edit_rules(org, now) -> None:
    with pytest.raises(NotPermitted):
        create_rule(
            by=org.rep1, now=now, name="Mine", conditions=[], target="user", to_user=org.rep1
        )
    with pytest.raises(NotPermitted):
        create_rule(
            by=org.marketer, now=now, name="X", conditions=[], target="team", to_team=org.emea
        )
    made = create_rule(
        by=org.admin, now=now, name="X", conditions=[], target="team", to_team=org.emea
    )
    with pytest.raises(NotPermitted):
        delete_rule(made, by=org.rep1)


def test_the_account_owner_comes_before_every_rule(org, now) -> None:
    org.marquee.owner = org.rep1
    org.marquee.save()
    rule(org, now, "All to rep3", [], target="user", to_user=org.rep3)

    # A marquee lead with no score at all still goes to its named owner.
    lead = capture_lead({"email": "ceo@bigco.com"}, source="api", now=now).lead

    assert lead.owner == org.rep1
    assert last(lead).summary == "Assigned to rep1 (account owner)"


def test_a_rep_at_their_cap_is_skipped_and_caps_weight_the_round_robin(org, now) -> None:
    org.rep1.max_open_leads = 1
    org.rep1.save()
    org.rep2.max_open_leads = 3
    org.rep2.save()

    owners = [arrive(f"p{i}@acme.io", now).owner for i in range(4)]

    # Shares of the cap in use: rep1 0/1 vs rep2 0/3 → rep1; then rep1 is full.
    assert owners == [org.rep1, org.rep2, org.rep2, org.rep2]
    fifth = arrive("p5@acme.io", now)
    assert (fifth.owner, fifth.team) == (None, org.emea)
    assert last(fifth).summary == "Assigned to team EMEA's queue (no rep accepting leads)"
    alert = Notification.objects.get(kind="queued", lead=fifth)
    assert alert.recipient == org.manager
    assert alert.message == "p5@acme.io waits in team EMEA's queue: no rep can take it"


def test_a_closed_lead_frees_room_under_the_cap(org, now) -> None:
    org.rep1.max_open_leads = 1
    org.rep1.save()
    org.rep2.is_accepting_leads = False
    org.rep2.save()
    first = arrive("a@acme.io", now)
    Lead.objects.filter(pk=first.pk).update(stage="customer")

    assert arrive("b@acme.io", now).owner == org.rep1


def test_reps_on_leave_are_skipped_by_the_day_in_their_zone(org, now) -> None:
    availability.add_leave(
        org.rep1, by=org.rep1, starts_on=date(2026, 11, 16), ends_on=date(2026, 11, 20), now=now
    )

    owners = {arrive(f"p{i}@acme.io", now).owner for i in range(3)}
    after = arrive("later@acme.io", datetime(2026, 11, 23, 10, tzinfo=UTC))

    assert owners == {org.rep2}
    assert after.owner == org.rep1  # back on Monday the 23rd: the pointer is after rep2


def test_outside_working_hours_reps_are_skipped_only_when_the_sla_is_short(org, now) -> None:
    assert arrive("weekend@acme.io", SATURDAY_10).owner is not None  # 24 h SLA: no matter

    org.emea.sla_hours = 1
    org.emea.save()
    waiting = arrive("urgent@acme.io", SATURDAY_10)
    weekday = arrive("monday@acme.io", now)

    assert (waiting.owner, waiting.team) == (None, org.emea)
    assert Notification.objects.filter(kind="queued", lead=waiting, recipient=org.manager).exists()
    assert weekday.owner is not None


def test_a_queue_rule_leaves_the_lead_unowned_without_alarm(org, now) -> None:
    rule(org, now, "Students", [{"field": "title", "op": "contains", "value": "student"}],
         target="queue", to_team=org.americas)  # fmt: skip

    lead = arrive("s@acme.io", now, title="PhD student")

    assert (lead.owner, lead.team) == (None, org.americas)
    assert last(lead).summary == "Assigned to team Americas's queue by rule 'Students'"
    assert not Notification.objects.filter(kind="queued").exists()


def test_a_named_rep_who_is_away_leaves_the_lead_in_their_teams_queue(org, now) -> None:
    org.rep2.is_accepting_leads = False
    org.rep2.save()
    rule(org, now, "All to rep2", [], target="user", to_user=org.rep2)

    lead = arrive("a@acme.io", now)

    assert (lead.owner, lead.team) == (None, org.emea)
    assert Notification.objects.filter(kind="queued", lead=lead, recipient=org.manager).exists()


def test_going_on_leave_hands_open_leads_on_by_the_rules(org, now) -> None:
    mine = [arrive(f"p{i}@acme.io", now) for i in range(4)]
    rep1_leads = [lead for lead in mine if lead.owner == org.rep1]
    closed = rep1_leads[0]
    Lead.objects.filter(pk=closed.pk).update(stage="customer")
    rule(org, now, "Germany to rep3", [{"field": "country", "op": "is", "value": "DE"}],
         target="user", to_user=org.rep3)  # fmt: skip
    later = now + timedelta(hours=2)

    availability.add_leave(
        org.rep1, by=org.manager, starts_on=date(2026, 11, 16), ends_on=date(2026, 11, 18),
        note="holiday", now=later,
    )  # fmt: skip

    moved = Lead.objects.get(pk=rep1_leads[1].pk)
    assert moved.owner == org.rep3
    assert moved.sla_due_at == rep1_leads[1].sla_due_at  # the clock keeps running
    assert Lead.objects.get(pk=closed.pk).owner == org.rep1  # closed leads stay
    row = last(moved)
    assert (row.how, row.reason, row.assigned_at) == ("reassigned", "owner on leave", later)
    assert row.summary == "Reassigned from rep1 to rep3 by rule 'Germany to rep3'"
    assert Notification.objects.filter(kind="reassigned", lead=moved, recipient=org.rep3).exists()


def test_the_sweep_hands_on_the_leads_of_a_deactivated_rep_once(org, now) -> None:
    leads = [arrive(f"p{i}@acme.io", now) for i in range(4)]
    org.rep1.is_active = False
    org.rep1.save()
    later = now + timedelta(days=1)

    assert availability.run_due(now=later) == 2
    assert availability.run_due(now=later) == 0

    owners = {Lead.objects.get(pk=lead.pk).owner for lead in leads}
    assert owners == {org.rep2}
    rows = Assignment.objects.filter(how="reassigned", reason="owner deactivated")
    assert rows.count() == 2


def test_the_sweep_starts_a_leave_set_for_later(org, now) -> None:
    lead = arrive("a@acme.io", now)
    assert lead.owner == org.rep1
    availability.add_leave(
        org.rep1, by=org.rep1, starts_on=date(2026, 11, 18), ends_on=date(2026, 11, 19), now=now
    )
    assert Lead.objects.get(pk=lead.pk).owner == org.rep1  # not yet

    assert availability.run_due(now=datetime(2026, 11, 18, 8, tzinfo=UTC)) == 1
    assert Lead.objects.get(pk=lead.pk).owner == org.rep2


def test_nobody_to_hand_on_to_leaves_the_leads_in_the_queue_and_tells_the_manager(org, now) -> None:
    lead = arrive("a@acme.io", now)
    org.rep2.is_active = False
    org.rep2.save()
    availability.add_leave(
        org.rep1, by=org.rep1, starts_on=date(2026, 11, 16), ends_on=date(2026, 11, 16), now=now
    )

    lead.refresh_from_db()
    assert (lead.owner, lead.team) == (None, org.emea)
    assert Notification.objects.filter(kind="queued", lead=lead, recipient=org.manager).exists()


def test_who_may_set_leave(org, now) -> None:
    with pytest.raises(NotPermitted):
        availability.add_leave(
            org.rep2, by=org.rep1, starts_on="2026-12-01", ends_on="2026-12-02", now=now
        )
    with pytest.raises(NotPermitted):
        availability.add_leave(
            org.rep3, by=org.manager, starts_on="2026-12-01", ends_on="2026-12-02", now=now
        )
    with pytest.raises(FieldError) as error:
        availability.add_leave(
            org.rep1, by=org.rep1, starts_on="2026-12-03", ends_on="2026-12-02", now=now
        )
    assert error.value.field == "ends_on"
    with pytest.raises(FieldError) as error:
        availability.add_leave(
            org.rep1, by=org.rep1, starts_on="soon", ends_on="2026-12-02", now=now
        )
    assert error.value.field == "starts_on"


def test_explain_names_each_rule_and_the_condition_that_failed(org, now, capsys) -> None:
    rule(org, now, "US only", [{"field": "country", "op": "is", "value": "US"}],
         target="team", to_team=org.americas)  # fmt: skip
    rule(org, now, "DACH enterprise", [{"field": "country", "op": "in", "value": ["DE", "AT"]},
         {"field": "employees", "op": "at_least", "value": "1000"}],
         target="team", to_team=org.emea)  # fmt: skip
    lead = arrive("a@acme.io", now, employees=50)
    org.rep1.is_accepting_leads = False
    org.rep1.save()

    call_command("routing", "explain", str(lead.pk), "--now", now.isoformat())

    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"lead {lead.pk} (a@acme.io): Would go to rep2 (round robin in team EMEA)",
        "  - account owner: none",
        "  - rule 'US only': no, not (country is US)",
        "  - rule 'DACH enterprise': no, not (employees is at least 1000)",
        "  - no rule matched: round robin in the team of the lead's country",
        "  - rep1 skipped: not accepting leads",
        "  - round robin picked rep2",
    ]
    # Explaining moved nothing.
    assert Team.objects.get(pk=org.emea.pk).last_assigned_user_id == lead.owner_id


def test_cli_adds_and_lists_rules(org, capsys) -> None:
    call_command("routing", "add", "DACH enterprise", "--as", "manager",
                 "--when", "country in DE, AT, CH", "--when", "employees at_least 1000",
                 "--to-team", "EMEA")  # fmt: skip
    call_command("routing", "add", "Students", "--as", "admin", "--when", "title contains student",
                 "--to-queue", "Americas", "--position", "1")  # fmt: skip

    out = capsys.readouterr().out
    assert "1. Students: title contains student → queue of team Americas" in out
    assert (
        "2. DACH enterprise: country in DE, AT, CH AND employees at_least 1000"
        " → round robin in team EMEA"
    ) in out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"conditions: line 1\.op: unknown operator 'equals'"):
        call_command("routing", "add", "Bad", "--as", "manager", "--when", "country equals DE",
                     "--to-team", "EMEA")  # fmt: skip
    with pytest.raises(CommandError, match="routing: only sales managers"):
        call_command("routing", "remove", "Students", "--as", "rep1")


def test_cli_sets_leave_and_caps(org, now, capsys) -> None:
    call_command("leave", "add", "rep1", "--from", "2026-12-24", "--until", "2026-12-31",
                 "--note", "holidays", "--as", "manager")  # fmt: skip
    call_command("people", "set", "rep1", "--cap", "25", "--as", "manager")
    call_command("leave", "list", "rep1")

    out = capsys.readouterr().out
    assert "rep1\t2026-12-24\t2026-12-31\tholidays" in out
    org.rep1.refresh_from_db()
    assert org.rep1.max_open_leads == 25


def test_a_new_team_member_is_eligible_at_once(org, now) -> None:
    solo = Team.objects.create(name="Solo", countries=["IT"])
    newcomer = make_user("newbie", Role.SALES_REP, solo)

    assert arrive("i@acme.io", now, country="Italy").owner == newcomer


def test_a_batch_nobody_can_take_waits_in_the_queue_with_one_alert(org, now) -> None:
    from routing.services import assign_leads

    org.rep1.is_accepting_leads = org.rep2.is_accepting_leads = False
    org.rep1.save()
    org.rep2.save()
    leads = [
        Lead.objects.create(
            email=f"b{n}@acme.io", country="DE", stage="mql", arrived_at=now, stage_changed_at=now
        )
        for n in range(7)
    ]

    assign_leads(leads, now=now)
    assign_leads([], now=now)

    assert {(lead.owner_id, lead.team_id) for lead in leads} == {(None, org.emea.pk)}
    alerts = Notification.objects.filter(kind="queued")
    assert list(alerts.values_list("recipient__username", "message")) == [
        ("manager", "7 leads wait in team EMEA's queue: no rep can take them")
    ]
