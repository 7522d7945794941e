"""The follow-up REST API: touches and lifecycle actions, by role, through the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from capture.services import capture_lead
from conftest import HOT, bearer
from followup.models import Opportunity, Touch
from followup.services import accept_lead, convert_lead
from leads.models import Lead, StageChange
from users.models import User


def post(client: Client, path: str, body: Any, user: User) -> Any:
    return client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=bearer(user))


def hot(email: str, now: datetime, **extra: Any) -> Lead:
    return capture_lead({"email": email, **HOT, **extra}, source="api", now=now).lead


@pytest.fixture
def leads(org: Any, now: datetime) -> dict[str, Lead]:
    """rep1's and rep2's MQLs (round robin), an Americas MQL, and one in EMEA's queue."""
    found = {"rep1": hot("one@de.de", now), "rep2": hot("two@de.de", now)}
    found["americas"] = hot("us@us.com", now, country="United States")
    User.objects.filter(team=org.emea).update(is_accepting_leads=False)
    found["queue"] = hot("queue@de.de", now)
    User.objects.filter(team=org.emea).update(is_accepting_leads=True)
    assert [found[k].owner_id for k in ("rep1", "rep2", "americas", "queue")] == [
        org.rep1.pk,
        org.rep2.pk,
        org.rep3.pk,
        None,
    ]
    return found


# --- Touches ----------------------------------------------------------------------------


def test_a_first_call_stops_the_sla_clock(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    # when rep1 logs a call on their MQL
    lead = leads["rep1"]
    response = post(
        client,
        f"/api/v1/leads/{lead.pk}/touches",
        {"kind": "call", "outcome": "left_voicemail", "notes": "try Tuesday"},
        org.rep1,
    )
    # then the touch is stored and the clock stopped in time
    assert response.status_code == 201
    assert response.json() == {
        "touch": {
            "id": Touch.objects.get().pk,
            "kind": "call",
            "outcome": "left_voicemail",
            "notes": "try Tuesday",
            "occurred_at": "2026-11-16T10:00:00Z",
            "by": "rep1",
        },
        "lead": {
            "id": lead.pk,
            "stage": "mql",
            "owner": "rep1",
            "first_touch_at": "2026-11-16T10:00:00Z",
            "last_touch_at": "2026-11-16T10:00:00Z",
            "touch_count": 1,
            "sla_due_at": "2026-11-19T10:00:00Z",
            "sla_breached_at": None,
            "sla_state": "met",
        },
    }


def test_a_note_leaves_the_clock_running(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    response = post(
        client,
        f"/api/v1/leads/{leads['rep1'].pk}/touches",
        {"kind": "note", "notes": "looked them up", "occurred_at": "2026-11-16T09:30:00+00:00"},
        org.rep1,
    )
    assert response.status_code == 201
    lead = response.json()["lead"]
    assert (lead["first_touch_at"], lead["last_touch_at"], lead["sla_state"]) == (
        None,
        "2026-11-16T09:30:00Z",
        "running",
    )


def test_a_rep_touching_a_queue_lead_takes_it(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    response = post(
        client, f"/api/v1/leads/{leads['queue'].pk}/touches", {"kind": "email"}, org.rep2
    )
    assert response.status_code == 201
    assert response.json()["lead"]["owner"] == "rep2"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"kind": "email", "outcome": "wrong_number"},
            "'wrong_number' is not an outcome of an email: one of sent, replied, meeting_booked,"
            " not_interested",
        ),
        (
            {"kind": "note", "outcome": "wrong_number"},
            "'wrong_number' is not an outcome of a note: a note has no outcome",
        ),
    ],
)
def test_an_outcome_that_does_not_fit_the_kind_is_refused_saying_which_fit(
    org: Any,
    leads: dict[str, Lead],
    clock: datetime,
    client: Client,
    body: dict[str, Any],
    message: str,
) -> None:
    response = post(client, f"/api/v1/leads/{leads['rep1'].pk}/touches", body, org.rep1)
    assert response.status_code == 422
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [("outcome", message)]
    assert Touch.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"kind": "call", "outcome": "great"}, "outcome"),
        ({"kind": "call", "occurred_at": "2026-11-16T11:00:00+00:00"}, "occurred_at"),
        ({"kind": "call", "occurred_at": "2026-11-16T09:00:00"}, "occurred_at"),
        ({"kind": "call", "occurred_at": "yesterday"}, "occurred_at"),
        ({"kind": "call", "duration": 5}, "duration"),
        ({}, "kind"),
    ],
)
def test_bad_touches_are_refused_naming_the_field(
    org: Any,
    leads: dict[str, Lead],
    clock: datetime,
    client: Client,
    body: dict[str, Any],
    field: str,
) -> None:
    response = post(client, f"/api/v1/leads/{leads['rep1'].pk}/touches", body, org.rep1)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert Touch.objects.count() == 0


@pytest.mark.parametrize("whose", ["rep2", "americas"])
def test_a_rep_cannot_touch_or_move_a_lead_out_of_scope(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client, whose: str
) -> None:
    # when rep1 tries to act on another rep's lead or another team's
    lead = leads[whose]
    touch = post(client, f"/api/v1/leads/{lead.pk}/touches", {"kind": "call"}, org.rep1)
    move = post(client, f"/api/v1/leads/{lead.pk}/transitions", {"action": "accept"}, org.rep1)
    # then both answer 404, as if the lead did not exist, and nothing changed
    assert (touch.status_code, move.status_code) == (404, 404)
    assert touch.json()["errors"][0]["field"] == "lead_id"
    assert Touch.objects.count() == 0
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_the_americas_manager_cannot_act_on_emea_leads(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    response = post(
        client,
        f"/api/v1/leads/{leads['rep1'].pk}/transitions",
        {"action": "accept"},
        org.us_manager,
    )
    assert response.status_code == 404


def test_marketing_may_log_notes_but_not_contact(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    path = f"/api/v1/leads/{leads['rep1'].pk}/touches"
    call = post(client, path, {"kind": "call"}, org.marketer)
    note = post(client, path, {"kind": "note", "notes": "attended the webinar"}, org.marketer)
    assert call.status_code == 403
    assert call.json()["errors"][0]["field"] == "kind"
    assert note.status_code == 201
    assert note.json()["lead"]["first_touch_at"] is None


# --- Transitions ------------------------------------------------------------------------


def test_accept_convert_win_through_the_api(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    path = f"/api/v1/leads/{leads['rep1'].pk}/transitions"
    # when rep1 accepts the lead, opens a deal, and wins it for more than expected
    accepted = post(client, path, {"action": "accept"}, org.rep1)
    converted = post(
        client, path, {"action": "convert", "amount": "12000", "name": "Pilot"}, org.rep1
    )
    won = post(client, path, {"action": "win", "amount": 15000}, org.rep1)
    # then each step answers the lead's new stage, and the deal is won at the final amount
    assert [r.status_code for r in (accepted, converted, won)] == [200, 200, 200]
    assert accepted.json()["lead"]["stage"] == "accepted"
    assert accepted.json()["opportunity"] is None
    assert converted.json()["lead"]["stage"] == "opportunity"
    assert converted.json()["opportunity"]["amount"] == "12000.00"
    assert won.json()["lead"]["stage"] == "customer"
    opportunity = Opportunity.objects.get()
    assert won.json()["opportunity"] == {
        "id": opportunity.pk,
        "name": "Pilot",
        "amount": "15000.00",
        "status": "won",
        "opened_at": "2026-11-16T10:00:00Z",
        "closed_at": "2026-11-16T10:00:00Z",
        "lost_reason": "",
        "owner": "rep1",
    }
    assert list(
        StageChange.objects.filter(lead=leads["rep1"]).values_list("to_stage", "changed_by")
    ) == [
        ("new", None),
        ("mql", None),
        ("accepted", org.rep1.pk),
        ("opportunity", org.rep1.pk),
        ("customer", org.rep1.pk),
    ]


def test_winning_a_lead_without_a_deal_is_a_conflict_naming_action(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    lead = leads["rep1"]
    response = post(client, f"/api/v1/leads/{lead.pk}/transitions", {"action": "win"}, org.rep1)
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "field": "action",
            "message": "'win' is not possible for a lead in stage 'mql' (only from: opportunity)",
        }
    ]
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_a_move_the_stage_does_not_allow_is_a_conflict_naming_action(
    org: Any, clock: datetime, client: Client
) -> None:
    # given a new lead marketing is nurturing
    lead = capture_lead({"email": "later@x.com"}, source="api", now=clock).lead
    # when marketing disqualifies it, then tries to nurture it without saying why
    dropped = post(
        client,
        f"/api/v1/leads/{lead.pk}/transitions",
        {"action": "disqualify", "reason": "student"},
        org.marketer,
    )
    reopened = post(
        client, f"/api/v1/leads/{lead.pk}/transitions", {"action": "nurture"}, org.marketer
    )
    again = post(
        client,
        f"/api/v1/leads/{lead.pk}/transitions",
        {"action": "disqualify", "reason": "still a student"},
        org.marketer,
    )
    assert dropped.status_code == 200
    assert dropped.json()["lead"]["stage"] == "disqualified"
    assert reopened.status_code == 422
    assert reopened.json()["errors"] == [
        {"field": "reason", "message": "moving from 'disqualified' to 'nurturing' needs a reason"}
    ]
    assert again.status_code == 409
    assert again.json()["errors"] == [
        {
            "field": "action",
            "message": "'disqualify' is not possible for a lead in stage 'disqualified'"
            " (only from: new, nurturing, mql, accepted, recycled)",
        }
    ]


@pytest.mark.parametrize("action", ["reject", "lose"])
def test_reject_or_lose_without_a_reason_is_refused_naming_reason(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client, action: str
) -> None:
    # given rep1's accepted lead, with an open deal for "lose" (an opportunity is lost,
    # never rejected)
    lead = leads["rep1"]
    accept_lead(lead, by=org.rep1, now=clock)
    if action == "lose":
        convert_lead(lead, by=org.rep1, amount=1000, now=clock)  # type: ignore[arg-type]
    # when rep1 drops it without a reason
    response = post(
        client, f"/api/v1/leads/{lead.pk}/transitions", {"action": action, "reason": " "}, org.rep1
    )
    # then 422 names the reason and the lead stays where it was
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    lead.refresh_from_db()
    assert lead.stage == ("opportunity" if action == "lose" else "accepted")
    assert Opportunity.objects.filter(status="open").count() == (1 if action == "lose" else 0)


def test_rejecting_an_opportunity_is_refused(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    lead = leads["rep1"]
    accept_lead(lead, by=org.rep1, now=clock)
    convert_lead(lead, by=org.rep1, amount=1000, now=clock)  # type: ignore[arg-type]

    response = post(
        client,
        f"/api/v1/leads/{lead.pk}/transitions",
        {"action": "reject", "reason": "x"},
        org.rep1,
    )

    assert response.status_code == 409
    assert [e["field"] for e in response.json()["errors"]] == ["action"]
    assert Opportunity.objects.get().status == "open"


def test_a_rejected_lead_goes_back_to_marketing(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    lead = leads["rep1"]
    response = post(
        client,
        f"/api/v1/leads/{lead.pk}/transitions",
        {"action": "reject", "reason": "no budget this year"},
        org.rep1,
    )
    assert response.status_code == 200
    body = response.json()["lead"]
    assert (body["stage"], body["segment"], body["owner"], body["team"]) == (
        "recycled",
        "nurture",
        None,
        None,
    )
    assert StageChange.objects.filter(lead=lead).last().reason == "no budget this year"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"action": "convert"}, "amount", 422),
        ({"action": "convert", "amount": "-5"}, "amount", 422),
        ({"action": "convert", "amount": "lots"}, "amount", 422),
        ({"action": "accept", "reason": "looks good"}, "reason", 422),
        ({"action": "reject", "reason": "x", "amount": 5}, "amount", 422),
        ({"action": "promote"}, "action", 422),
        ({"action": "win", "to_stage": "customer"}, "to_stage", 422),
        ({"action": "win"}, "action", 409),
    ],
)
def test_bad_transition_requests_name_the_field(
    org: Any,
    leads: dict[str, Lead],
    clock: datetime,
    client: Client,
    body: dict[str, Any],
    field: str,
    status: int,
) -> None:
    response = post(client, f"/api/v1/leads/{leads['rep1'].pk}/transitions", body, org.rep1)
    assert response.status_code == status
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("marketer", "accept", 403),
        ("marketer", "disqualify", 200),
        ("rep1", "nurture", 403),
        ("rep1", "disqualify", 200),
        ("manager", "accept", 200),
        ("admin", "accept", 200),
        # Nobody pulls an MQL back to nurture: sales rejects it (users/permissions.py).
        ("admin", "nurture", 409),
        ("marketer", "nurture", 409),
    ],
)
def test_who_may_take_which_action(
    org: Any,
    leads: dict[str, Lead],
    clock: datetime,
    client: Client,
    who: str,
    action: str,
    status: int,
) -> None:
    body: dict[str, Any] = {"action": action}
    if action in {"disqualify", "nurture"}:
        body["reason"] = "checked"
    response = post(
        client, f"/api/v1/leads/{leads['rep1'].pk}/transitions", body, getattr(org, who)
    )
    assert response.status_code == status, response.json()
    if status in {403, 409}:
        assert response.json()["errors"][0]["field"] == "action"


def test_a_manager_accepting_leaves_the_owner(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    response = post(
        client, f"/api/v1/leads/{leads['rep2'].pk}/transitions", {"action": "accept"}, org.manager
    )
    assert response.json()["lead"]["owner"] == "rep2"


def test_a_retried_action_replays_instead_of_conflicting(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    token = bearer(org.rep1)
    path = f"/api/v1/leads/{leads['rep1'].pk}/transitions"

    def accept() -> Any:
        return client.post(
            path,
            {"action": "accept"},
            content_type="application/json",
            HTTP_AUTHORIZATION=token,
            HTTP_IDEMPOTENCY_KEY="accept-1",
        )

    first, retry = accept(), accept()
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert StageChange.objects.filter(lead=leads["rep1"], to_stage="accepted").count() == 1


def test_a_touch_logged_later_keeps_its_time(
    org: Any, leads: dict[str, Lead], clock: datetime, client: Client
) -> None:
    earlier = clock - timedelta(hours=2)
    response = post(
        client,
        f"/api/v1/leads/{leads['rep1'].pk}/touches",
        {"kind": "meeting", "outcome": "held", "occurred_at": earlier.isoformat()},
        org.rep1,
    )
    assert response.json()["touch"]["occurred_at"] == "2026-11-16T08:00:00Z"
