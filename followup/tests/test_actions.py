"""act_on_lead: the one entry every door calls, its checks and its refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from capture.services import capture_lead
from conftest import HOT
from followup.actions import ActionError, NotAllowed, act_on_lead
from leads.models import Lead, StageChange
from users.models import Notification, User


@pytest.fixture
def hot_lead(org, now) -> Lead:  # type: ignore[no-untyped-def]
    """An MQL routed to rep1 of EMEA."""
    lead = capture_lead({"email": "hot@acme.io", **HOT}, source="api", now=now).lead
    assert (lead.stage, lead.owner) == ("mql", org.rep1)
    return lead


def test_an_action_is_refused_before_anything_is_written(org, now, hot_lead) -> None:
    with pytest.raises(NotAllowed) as refused:
        act_on_lead(hot_lead, "accept", by=org.marketer, now=now)

    assert (refused.value.field, refused.value.message) == (
        "action",
        "the marketing role may not accept a lead",
    )
    assert Lead.objects.get(pk=hot_lead.pk).stage == "mql"


@pytest.mark.parametrize(
    ("action", "data", "field", "message"),
    [
        ("accept", {"reason": "fine"}, "reason", "'accept' takes no reason"),
        ("reject", {"reason": " "}, "reason", "a reason is required to reject a lead"),
        ("disqualify", {}, "reason", "a reason is required to disqualify a lead"),
        ("convert", {}, "amount", "converting to an opportunity needs an expected amount"),
        ("log_touch", {"kind": "note"}, "kind", "a note is logged with 'log_note'"),
        ("log_note", {"kind": "call"}, "kind", "'call' is contact with the lead: log it with 'log_touch'"),
        ("reassign", {"to": "rep3"}, "to", "'rep3' is not a rep you may give this lead to"),
        ("promote", {}, "action", "unknown action 'promote'"),
        ("win", {}, "action", "'win' is not possible for a lead in stage 'mql' (only from: opportunity)"),
    ],
)  # fmt: skip
def test_a_refusal_names_the_field_at_fault(
    org, now, hot_lead, action: str, data: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(ActionError) as refused:
        act_on_lead(hot_lead, action, by=org.manager, now=now, **data)

    assert not isinstance(refused.value, NotAllowed)
    assert (refused.value.field, refused.value.message) == (field, message)
    assert StageChange.objects.filter(lead=hot_lead).count() == 2  # arrived, became an MQL


def test_a_lead_one_cannot_see_is_refused_whatever_the_role(org, now, hot_lead) -> None:
    with pytest.raises(NotAllowed) as refused:
        act_on_lead(hot_lead, "accept", by=org.us_manager, now=now)

    assert refused.value.field == "lead"


def test_a_deactivated_admin_may_do_nothing(org, now, hot_lead) -> None:
    User.objects.filter(pk=org.admin.pk).update(is_active=False)
    org.admin.refresh_from_db()

    with pytest.raises(NotAllowed):
        act_on_lead(hot_lead, "disqualify", by=org.admin, now=now, reason="gone")


def test_reassigning_to_the_owner_changes_nothing(org, now, hot_lead) -> None:
    outcome = act_on_lead(hot_lead, "reassign", by=org.manager, now=now, to=org.rep1)

    assert outcome.changed is False
    assert not Notification.objects.filter(kind="reassigned").exists()


def test_reassigning_by_username_goes_through_routing(org, now, hot_lead) -> None:
    outcome = act_on_lead(hot_lead, "reassign", by=org.manager, now=now, to="rep2")

    assert outcome.changed is True
    assert Lead.objects.get(pk=hot_lead.pk).owner == org.rep2
    assert org.rep2.notifications.get().kind == "reassigned"


def test_convert_returns_the_opportunity(org, now, hot_lead) -> None:
    act_on_lead(hot_lead, "accept", by=org.rep1, now=now)

    outcome = act_on_lead(hot_lead, "convert", by=org.rep1, now=now, amount=Decimal("500"))

    assert outcome.opportunity is not None
    assert (outcome.opportunity.amount, outcome.lead.stage) == (Decimal("500"), "opportunity")
