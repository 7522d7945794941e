from datetime import timedelta
from decimal import Decimal

import pytest

from capture.services import capture_lead
from conftest import HOT
from followup.services import (
    accept_lead,
    convert_lead,
    lose_lead,
    record_touch,
    reject_lead,
    win_lead,
)
from leads.lifecycle import TransitionError
from leads.models import Lead, StageChange


@pytest.fixture
def hot_lead(org, now):  # type: ignore[no-untyped-def]
    return capture_lead({"email": "hot@acme.io", **HOT}, source="api", now=now).lead


def test_the_whole_way_to_won(org, now, hot_lead) -> None:
    t = now
    record_touch(
        hot_lead, by=org.rep1, kind="call", outcome="connected", now=t + timedelta(minutes=30)
    )
    accept_lead(hot_lead, by=org.rep1, now=t + timedelta(hours=1))
    opportunity = convert_lead(
        hot_lead, by=org.rep1, amount=Decimal("12000"), now=t + timedelta(days=2)
    )
    won = win_lead(hot_lead, by=org.rep1, amount=Decimal("15000"), now=t + timedelta(days=20))

    assert won.pk == opportunity.pk
    assert (won.status, won.amount) == ("won", Decimal("15000"))
    stages = list(StageChange.objects.filter(lead=hot_lead).values_list("to_stage", flat=True))
    assert stages == ["new", "mql", "accepted", "opportunity", "customer"]
    hot_lead.refresh_from_db()
    assert hot_lead.first_touch_at == t + timedelta(minutes=30)


def test_rejected_lead_is_recycled_into_nurture_not_lost(org, now, hot_lead) -> None:
    with pytest.raises(TransitionError) as error:
        reject_lead(hot_lead, by=org.rep1, reason="", now=now)
    assert error.value.field == "reason"

    reject_lead(hot_lead, by=org.rep1, reason="student, no budget", now=now)

    lead = Lead.objects.get(pk=hot_lead.pk)
    assert (lead.stage, lead.segment, lead.owner, lead.sla_due_at) == (
        "recycled",
        "nurture",
        None,
        None,
    )
    assert StageChange.objects.filter(lead=lead).last().reason == "student, no budget"  # type: ignore[union-attr]


def test_lost_deal_is_recycled_with_its_reason(org, now, hot_lead) -> None:
    accept_lead(hot_lead, by=org.rep1, now=now)
    convert_lead(hot_lead, by=org.rep1, amount=Decimal("5000"), now=now)

    lost = lose_lead(hot_lead, by=org.rep1, reason="went with a competitor", now=now)

    assert (lost.status, lost.lost_reason) == ("lost", "went with a competitor")
    assert Lead.objects.get(pk=hot_lead.pk).stage == "recycled"


def test_cannot_win_without_an_opportunity(org, now, hot_lead) -> None:
    with pytest.raises(TransitionError) as error:
        win_lead(hot_lead, by=org.rep1, now=now)
    assert error.value.field == "stage"


def test_touch_in_the_future_is_refused(org, now, hot_lead) -> None:
    with pytest.raises(TransitionError) as error:
        record_touch(
            hot_lead, by=org.rep1, kind="call", occurred_at=now + timedelta(hours=1), now=now
        )
    assert error.value.field == "occurred_at"


def test_rep_touching_a_queue_lead_takes_it(org, now) -> None:
    org.rep1.is_accepting_leads = False
    org.rep1.save()
    org.rep2.is_accepting_leads = False
    org.rep2.save()
    lead = capture_lead({"email": "q@acme.io", **HOT}, source="api", now=now).lead
    assert (lead.team, lead.owner) == (org.emea, None)

    record_touch(lead, by=org.rep2, kind="email", outcome="sent", now=now)

    lead.refresh_from_db()
    assert lead.owner == org.rep2


def test_an_opportunity_is_lost_not_rejected(org, now, hot_lead) -> None:
    accept_lead(hot_lead, by=org.rep1, now=now)
    convert_lead(hot_lead, by=org.rep1, amount=Decimal("5000"), now=now)

    with pytest.raises(TransitionError) as error:
        reject_lead(hot_lead, by=org.rep1, reason="meh", now=now)

    assert error.value.field == "action"
    assert Lead.objects.get(pk=hot_lead.pk).stage == "opportunity"


def test_a_rejected_lead_returns_to_sales_only_on_new_engagement(org, now, hot_lead) -> None:
    from capture.services import EventInput, record_events

    reject_lead(hot_lead, by=org.rep1, reason="just researching", now=now)

    # A page view on a lead whose profile alone scores sales-ready does not undo the
    # rejection: a person judged that profile.
    record_events([EventInput(kind="page_view", occurred_at=now, lead_id=hot_lead.pk)], now=now)
    assert Lead.objects.get(pk=hot_lead.pk).stage == "recycled"

    # Real engagement since the rejection does.
    record_events([EventInput(kind="demo_request", occurred_at=now, lead_id=hot_lead.pk)], now=now)
    lead = Lead.objects.get(pk=hot_lead.pk)
    assert (lead.stage, lead.owner is not None) == ("mql", True)
