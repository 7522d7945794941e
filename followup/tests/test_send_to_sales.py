"""Marketing sends a lead to sales by hand: routed as if it had scored sales-ready."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from capture.services import capture_lead
from followup.actions import ActionError, NotAllowed, act_on_lead
from leads.models import Lead, StageChange
from routing.models import Assignment
from users.models import User

# A profile that does not score sales-ready: it waits in nurture.
COLD = {"country": "Germany", "need": "just looking"}


@pytest.fixture
def nurtured(org: Any, now: datetime) -> Lead:
    lead = capture_lead({"email": "ann@acme.io", **COLD}, source="api", now=now).lead
    assert (lead.stage, lead.owner) == ("nurturing", None)
    return lead


def test_marketing_sends_a_nurtured_lead_to_the_next_rep_accepting_leads(
    org: Any, now: datetime, nurtured: Lead
) -> None:
    # given rep1 away: the round robin skips reps who do not accept leads
    User.objects.filter(pk=org.rep1.pk).update(is_accepting_leads=False)

    act_on_lead(
        nurtured, "send_to_sales", by=org.marketer, now=now, reason="met them at the trade show"
    )

    lead = Lead.objects.get(pk=nurtured.pk)
    assert (lead.stage, lead.owner, lead.team) == ("mql", org.rep2, org.emea)
    assert lead.sla_due_at is not None
    change = StageChange.objects.filter(lead=lead).last()
    assert change is not None
    assert (change.from_stage, change.to_stage, change.changed_by, change.reason) == (
        "nurturing",
        "mql",
        org.marketer,
        "sent to sales by hand: met them at the trade show",
    )
    assignment = Assignment.objects.get(lead=lead)
    assert (assignment.to_owner, assignment.assigned_by, assignment.how, assignment.reason) == (
        org.rep2,
        org.marketer,
        "round_robin",
        "sent to sales by hand: met them at the trade show",
    )


def test_sending_to_sales_needs_a_reason_and_a_lead_marketing_holds(
    org: Any, now: datetime, nurtured: Lead
) -> None:
    with pytest.raises(ActionError) as no_reason:
        act_on_lead(nurtured, "send_to_sales", by=org.marketer, now=now, reason=" ")
    act_on_lead(nurtured, "send_to_sales", by=org.marketer, now=now, reason="asked for a demo")
    with pytest.raises(ActionError) as again:
        act_on_lead(nurtured, "send_to_sales", by=org.marketer, now=now, reason="twice")

    assert (no_reason.value.field, no_reason.value.message) == (
        "reason",
        "a reason is required to send a lead to sales",
    )
    assert (again.value.field, again.value.message) == (
        "action",
        "'send_to_sales' is not possible for a lead in stage 'mql' (only from: new,"
        " nurturing, recycled); only a lead marketing holds goes to sales",
    )


def test_sales_may_not_send_a_lead_to_sales(org: Any, now: datetime, nurtured: Lead) -> None:
    Lead.objects.filter(pk=nurtured.pk).update(team=org.emea)

    with pytest.raises(NotAllowed) as refused:
        act_on_lead(nurtured, "send_to_sales", by=org.manager, now=now, reason="mine")

    assert refused.value.message == "the sales manager role may not send a lead to sales"


def test_the_cli_sends_a_lead_to_sales_through_the_same_entry(
    org: Any, now: datetime, nurtured: Lead
) -> None:
    out = StringIO()

    call_command(
        "lead_action", str(nurtured.pk), "send_to_sales", "--as", "marketer",
        "--reason", "called us", stdout=out,
    )  # fmt: skip
    with pytest.raises(CommandError, match="the sales rep role may not send a lead to sales"):
        call_command(
            "lead_action", str(nurtured.pk), "send_to_sales", "--as", "rep1", "--reason", "x"
        )

    assert out.getvalue() == f"lead {nurtured.pk}: MQL, owned by rep1\n"
