"""The lead page and the REST API give the same answer to everyone, for every action.

Both doors call `followup.actions.act_on_lead`, which asks the one permission table
(`users.permissions`). Here every role posts every action to both doors, on a lead in a
stage where the action applies, and both must do (or refuse) the same thing, as the
table says; the page must offer exactly the actions the role may take.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from followup.services import accept_lead, convert_lead, reject_lead
from leads.models import Lead
from leads.services import transition_lead
from users.choices import LeadAction, Role
from users.models import ApiToken, User
from users.permissions import may

# role -> the org member who plays it (all of them see rep1's EMEA leads)
PLAYERS: dict[str, str] = {
    Role.SALES_REP: "rep1",
    Role.SALES_MANAGER: "manager",
    Role.MARKETING: "marketer",
    Role.ADMIN: "admin",
}

REASON = {"reason": "checked with the customer"}
# action -> what it takes, as both doors are sent it
DATA: dict[LeadAction, dict[str, str]] = {
    LeadAction.LOG_TOUCH: {"kind": "call"},
    LeadAction.LOG_NOTE: {"kind": "note", "notes": "asked about pricing at the webinar"},
    LeadAction.ACCEPT: {},
    LeadAction.REJECT: REASON,
    LeadAction.CONVERT: {"amount": "1000", "name": "Pilot"},
    LeadAction.WIN: {},
    LeadAction.LOSE: REASON,
    LeadAction.DISQUALIFY: REASON,
    LeadAction.NURTURE: REASON,
    LeadAction.SEND_TO_SALES: REASON,
    LeadAction.REASSIGN: {"to": "rep2"},
}


def bearer(user: User) -> str:
    _, raw = ApiToken.issue(user)
    return f"Bearer {raw}"


def in_stage_for(
    action: LeadAction, org: Any, make_lead: Callable[..., Lead]
) -> Callable[[str], Lead]:
    """A maker of rep1's leads in a stage where `action` applies."""

    def make(email: str) -> Lead:
        lead = make_lead(email, org.rep1)  # an MQL
        if action in {LeadAction.CONVERT, LeadAction.WIN, LeadAction.LOSE}:
            accept_lead(lead, by=org.rep1, now=lead.arrived_at)
        if action in {LeadAction.WIN, LeadAction.LOSE}:
            convert_lead(lead, by=org.rep1, amount=Decimal(500), now=lead.arrived_at)
        if action == LeadAction.NURTURE:
            transition_lead(lead, "disqualified", now=lead.arrived_at, by=org.marketer, reason="x")
        if action == LeadAction.SEND_TO_SALES:
            # recycled, in EMEA's queue (seen by all four); rep2 away, so that the round
            # robin gives both doors' leads to rep1
            reject_lead(lead, by=org.rep1, reason="not now", now=lead.arrived_at)
            Lead.objects.filter(pk=lead.pk).update(team=org.emea)
            User.objects.filter(pk=org.rep2.pk).update(is_accepting_leads=False)
        lead.refresh_from_db()
        return lead

    return make


def post_to_the_page(client: Client, lead: Lead, action: LeadAction) -> tuple[str, str]:
    data = DATA[action]
    if action in {LeadAction.LOG_TOUCH, LeadAction.LOG_NOTE}:
        response = client.post(reverse("web:lead_touch", args=[lead.pk]), data)
    elif action == LeadAction.REASSIGN:
        response = client.post(reverse("web:lead_reassign", args=[lead.pk]), data)
    else:
        fields = {f"{action.value}-{key}": value for key, value in data.items()}
        response = client.post(reverse("web:lead_action", args=[lead.pk, action.value]), fields)
    answer = {302: "done", 403: "not allowed", 400: "refused"}[response.status_code]
    return answer, response.content.decode()


def post_to_the_api(client: Client, lead: Lead, action: LeadAction, user: User) -> tuple[str, str]:
    if action in {LeadAction.LOG_TOUCH, LeadAction.LOG_NOTE}:
        path, body = "touches", DATA[action]
    elif action == LeadAction.REASSIGN:
        path, body = "reassignments", DATA[action]
    else:
        path, body = "transitions", {"action": action.value, **DATA[action]}
    response = client.post(
        f"/api/v1/leads/{lead.pk}/{path}",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(user),
    )
    answer = {200: "done", 201: "done", 403: "not allowed", 409: "refused", 422: "refused"}
    message = "" if response.status_code < 300 else response.json()["errors"][0]["message"]
    return answer[response.status_code], message


def offered_on_the_page(client: Client, lead: Lead, action: LeadAction) -> bool:
    context = client.get(reverse("web:lead", args=[lead.pk])).context
    if action in {LeadAction.LOG_TOUCH, LeadAction.LOG_NOTE}:
        kinds = [value for value, _label in context["touch_form"]["kind"].field.widget.choices]
        return context["may_touch"] and DATA[action]["kind"] in kinds
    if action == LeadAction.REASSIGN:
        return context["reassign_form"] is not None
    return action in [offered for offered, _form in context["actions"]]


def state(lead: Lead) -> tuple[Any, ...]:
    lead.refresh_from_db()
    return (lead.stage, lead.owner_id, lead.team_id, lead.touch_count, lead.first_touch_at is None)


@pytest.mark.parametrize("action", list(LeadAction))
@pytest.mark.parametrize("role", list(PLAYERS))
def test_the_page_and_the_api_give_the_same_answer(
    org: Any,
    make_lead: Callable[..., Lead],
    client_for: Callable[[User], Client],
    role: str,
    action: LeadAction,
) -> None:
    # given two like leads in a stage where the action applies, one for each door
    user: User = getattr(org, PLAYERS[role])
    make = in_stage_for(action, org, make_lead)
    by_page, by_api = make("page@acme.io"), make("api@acme.io")
    page = client_for(user)
    expected = "done" if may(user, action) else "not allowed"
    # then the page offers the action exactly when the table allows it
    assert offered_on_the_page(page, by_page, action) is (expected == "done")
    # when the same person takes it at both doors
    page_answer, page_body = post_to_the_page(page, by_page, action)
    api_answer, api_message = post_to_the_api(Client(), by_api, action, user)
    # then both answer as the table says, with the same words, and the leads agree
    assert (page_answer, api_answer) == (expected, expected), api_message
    if expected != "done":
        assert html.escape(api_message) in page_body
    assert state(by_page) == state(by_api)


# --- The differences the doors used to have, resolved ---------------------------------


def test_marketing_logs_a_note_at_both_doors_and_it_stops_no_clock(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client]
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    page = client_for(org.marketer).post(
        reverse("web:lead_touch", args=[lead.pk]), {"kind": "note", "notes": "came to the webinar"}
    )
    api = Client().post(
        f"/api/v1/leads/{lead.pk}/touches",
        {"kind": "note", "notes": "opened the pricing email"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.marketer),
    )

    assert (page.status_code, api.status_code) == (302, 201)
    lead.refresh_from_db()
    assert (lead.touch_count, lead.first_touch_at) == (2, None)


def test_marketing_may_not_log_a_call_at_either_door(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client]
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    page = client_for(org.marketer).post(
        reverse("web:lead_touch", args=[lead.pk]), {"kind": "call"}
    )
    api = Client().post(
        f"/api/v1/leads/{lead.pk}/touches",
        {"kind": "call"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.marketer),
    )

    message = "the marketing role may not log calls, emails or meetings"
    assert (page.status_code, api.status_code) == (403, 403)
    assert message in page.content.decode()
    assert api.json()["errors"] == [{"field": "kind", "message": message}]
    assert Lead.objects.get(pk=lead.pk).touch_count == 0


@pytest.mark.parametrize("who", ["marketer", "admin"])
def test_nobody_moves_an_mql_back_to_nurture_at_either_door(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client], who: str
) -> None:
    # given an MQL in rep1's inbox, which marketing (or an admin) would rather nurture
    lead = make_lead("ann@acme.io", org.rep1)
    user = getattr(org, who)

    page = client_for(user).post(
        reverse("web:lead_action", args=[lead.pk, "nurture"]), {"nurture-reason": "too early"}
    )
    api = Client().post(
        f"/api/v1/leads/{lead.pk}/transitions",
        {"action": "nurture", "reason": "too early"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(user),
    )

    # then both refuse: sales hands an MQL back, by rejecting it with a reason
    message = (
        "'nurture' is not possible for a lead in stage 'mql' (only from: new, recycled,"
        " disqualified); an MQL is sales' until sales rejects it"
    )
    assert (page.status_code, api.status_code) == (400, 409)
    assert html.escape(message) in page.content.decode()
    assert api.json()["errors"] == [{"field": "action", "message": message}]
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == ("mql", org.rep1)


def test_marketing_moves_a_disqualified_lead_back_to_nurture_from_the_page(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client]
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    client = client_for(org.marketer)
    client.post(
        reverse("web:lead_action", args=[lead.pk, "disqualify"]), {"disqualify-reason": "student"}
    )
    url = reverse("web:lead_action", args=[lead.pk, "nurture"])

    offered = [
        action.value
        for action, _form in client.get(reverse("web:lead", args=[lead.pk])).context["actions"]
    ]
    without_reason = client.post(url, {"nurture-reason": ""})
    with_reason = client.post(url, {"nurture-reason": "graduated, now at a customer"})

    assert offered == ["nurture"]
    assert without_reason.status_code == 400
    assert (
        '<p class="field-error" id="id_nurture-reason_error">moving from &#x27;disqualified&#x27;'
        " to &#x27;nurturing&#x27; needs a reason</p>" in without_reason.content.decode()
    )
    assert with_reason.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage == "nurturing"


def test_a_superuser_acts_as_an_admin_whatever_their_role(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client]
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    boss = User.objects.create_user("boss", role=Role.SALES_REP, is_superuser=True)

    api = Client().post(
        f"/api/v1/leads/{lead.pk}/reassignments",
        {"to": "rep2"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(boss),
    )

    assert api.status_code == 200
    assert api.json()["lead"]["owner"] == "rep2"
    page = client_for(boss).get(reverse("web:lead", args=[lead.pk]))
    assert page.context["reassign_form"] is not None


@pytest.mark.parametrize(
    ("who", "to", "status", "field"),
    [
        ("rep1", "rep2", 403, "to"),
        ("marketer", "rep2", 403, "to"),
        ("manager", "rep3", 422, "to"),  # another team's rep
        ("manager", "nobody", 422, "to"),
        ("manager", "rep2", 200, None),
        ("manager", "rep1", 200, None),  # already theirs: nothing changes
    ],
)
def test_reassigning_through_the_api(
    org: Any, make_lead: Callable[..., Lead], who: str, to: str, status: int, field: str | None
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    response = Client().post(
        f"/api/v1/leads/{lead.pk}/reassignments",
        {"to": to},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(getattr(org, who)),
    )

    assert response.status_code == status, response.json()
    if field is not None:
        assert response.json()["errors"][0]["field"] == field
    else:
        assert response.json()["changed"] is (to != "rep1")
    assert Lead.objects.get(pk=lead.pk).owner == (
        org.rep2 if status == 200 and to == "rep2" else org.rep1
    )


def test_a_lead_back_in_nurture_is_not_reassigned(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client]
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    transition_lead(lead, "disqualified", now=lead.arrived_at, by=org.marketer, reason="student")

    response = Client().post(
        f"/api/v1/leads/{lead.pk}/reassignments",
        {"to": "rep2"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.admin),
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "action"
    assert (
        client_for(org.admin).get(reverse("web:lead", args=[lead.pk])).context["reassign_form"]
        is None
    )
