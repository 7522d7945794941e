"""The leads REST API: create or update by email, list and read what your role may see."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from capture.models import Submission
from capture.services import capture_lead
from conftest import HOT, bearer
from followup.services import record_touch
from leads.choices import Stage
from leads.models import CampaignMember, Lead, StageChange
from routing.services import assign_lead
from users.models import User


def post(client: Client, path: str, body: Any, user: User) -> Any:
    return client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=bearer(user))


def get(client: Client, path: str, user: User, **params: Any) -> Any:
    return client.get(path, params, HTTP_AUTHORIZATION=bearer(user))


# --- POST /leads ------------------------------------------------------------------------


def test_same_email_updates_the_same_lead(org: Any, clock: datetime, client: Client) -> None:
    # given a lead created through the API
    first = post(client, "/api/v1/leads", {"email": "ada@example.com"}, org.marketer)
    # when the same person is sent again, with another case and a new field
    second = post(
        client,
        "/api/v1/leads",
        {"email": " ADA@Example.com", "first_name": "Ada", "phone": "+44 1"},
        org.marketer,
    )
    # then the first answer is 201, the second 200, both about one lead
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["created"] is True
    assert second.json()["created"] is False
    assert second.json()["id"] == first.json()["id"]
    assert Lead.objects.count() == 1
    assert Lead.objects.get().first_name == "Ada"
    assert Submission.objects.filter(lead_id=first.json()["id"]).count() == 2


def test_a_hot_lead_answers_with_its_owner_and_sla_deadline(
    org: Any, clock: datetime, client: Client
) -> None:
    # when marketing sends a lead that is sales-ready on fit alone, on Monday 10:00
    response = post(client, "/api/v1/leads", {"email": "hot@buyer.de", **HOT}, org.marketer)
    # then it is already an MQL, owned by the first EMEA rep, due Thursday 10:00
    # (24 business hours of the team's 9-17 calendar)
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert response.json() == {
        "id": lead.pk,
        "email": "hot@buyer.de",
        "stage": "mql",
        "segment": "sales_ready",
        "score": 70,
        "owner": "rep1",
        "team": "EMEA",
        "sla_due_at": "2026-11-19T10:00:00Z",
        "created": True,
    }


def test_campaign_by_name_or_id_makes_the_lead_a_member(
    org: Any, clock: datetime, client: Client
) -> None:
    # when two leads name the webinar, one by name and one by id, with a status
    post(
        client,
        "/api/v1/leads",
        {"email": "a@x.com", "campaign": "Webinar", "campaign_status": "attended"},
        org.marketer,
    )
    post(client, "/api/v1/leads", {"email": "b@x.com", "campaign": org.webinar.pk}, org.marketer)
    # then both are members, with the status sent (registered by default)
    members = CampaignMember.objects.filter(campaign=org.webinar).order_by("lead__email")
    assert [(m.lead.email, m.status) for m in members] == [
        ("a@x.com", "attended"),
        ("b@x.com", "registered"),
    ]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"email": "not-an-email"},
            "email",
            "'not-an-email' is not a valid email address: An email address must have an @-sign.",
        ),
        (
            {"email": "bob@localhost"},
            "email",
            "'bob@localhost' is not a valid email address:"
            " The part after the @-sign is not valid. It should have a period.",
        ),
        (
            {"email": "a@x.com", "country": "Narnia"},
            "country",
            "'Narnia' is not a country we recognise: give its name,"
            " in one of many languages, or its two-letter code (DE, GB, US)",
        ),
        ({"email": "a@x.com", "nickname": "Al"}, "nickname", "unknown field"),
        ({"email": "a@x.com", "employees": "many"}, "employees", None),
        ({"email": "a@x.com", "timeline": "soonish"}, "timeline", None),
        ({"email": "a@x.com", "first_name": "x" * 101}, "first_name", None),
        ({"email": "a@x.com", "campaign": "No such"}, "campaign", "no campaign named 'No such'"),
        ({"email": "a@x.com", "campaign": 999}, "campaign", "no campaign with id 999"),
        ({"email": "a@x.com", "campaign_status": "attended"}, "campaign_status", None),
        ({"first_name": "Only"}, "email", "an email, or a name or phone, is required"),
    ],
)
def test_bad_lead_input_is_refused_naming_the_field(
    org: Any,
    clock: datetime,
    client: Client,
    body: dict[str, Any],
    field: str,
    message: str | None,
) -> None:
    # when a lead with one bad field is sent
    response = post(client, "/api/v1/leads", body, org.marketer)
    # then it is refused with 422 naming that field, and nothing is stored
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    if message is not None:
        assert errors[0]["message"] == message
    assert Lead.objects.count() == 0
    assert Submission.objects.count() == 0


def test_a_rep_creating_a_lead_routed_elsewhere_gets_no_details(
    org: Any, clock: datetime, client: Client
) -> None:
    # given an Americas lead that rep1 (EMEA) cannot see
    capture_lead(
        {"email": "us@buyer.com", **HOT, "country": "United States"}, source="api", now=clock
    )
    # when rep1 submits the same email, and then a brand-new lead that routes to Americas
    known = post(client, "/api/v1/leads", {"email": "us@buyer.com", "phone": "1"}, org.rep1)
    new = post(
        client,
        "/api/v1/leads",
        {"email": "new@buyer.com", **HOT, "country": "Canada"},
        org.rep1,
    )
    # then both are stored but answered alike with 202 and the email only: nothing tells
    # rep1 whether the lead existed, who owns it or where it went
    expected = {
        "visible": False,
        "detail": "The lead was received. It is outside the leads you can see.",
    }
    assert (known.status_code, known.json()) == (202, {"email": "us@buyer.com", **expected})
    assert (new.status_code, new.json()) == (202, {"email": "new@buyer.com", **expected})
    assert Lead.objects.get(email="us@buyer.com").phone == "1"
    assert Lead.objects.get(email="new@buyer.com").owner == org.rep3


def test_a_rep_creating_a_lead_routed_to_them_sees_it(
    org: Any, clock: datetime, client: Client
) -> None:
    response = post(client, "/api/v1/leads", {"email": "de@buyer.de", **HOT}, org.rep1)
    assert response.status_code == 201
    assert response.json()["owner"] == "rep1"


OUT_OF_SCOPE = {
    "visible": False,
    "detail": "The lead was received. It is outside the leads you can see.",
}


def test_a_rep_sending_another_teams_lead_fills_in_only_what_it_lacks(
    org: Any, clock: datetime, client: Client
) -> None:
    # given an Americas MQL owned by rep3, with a name but no phone
    lead = capture_lead(
        {"email": "us@buyer.com", "first_name": "Uma", **HOT, "country": "United States"},
        source="api",
        now=clock,
    ).lead
    assert (lead.stage, lead.owner) == ("mql", org.rep3)
    # when rep1 (EMEA), who cannot see it, sends it with another name, country and
    # timeline, and a phone
    body = {
        "email": "US@buyer.com",
        "first_name": "Mallory",
        "phone": "+1 555 0100",
        "country": "Germany",
        "timeline": "never",
    }
    response = post(client, "/api/v1/leads", body, org.rep1)
    # then rep1 learns nothing about the lead, the submission is kept as sent, the phone
    # is filled in and everything the lead had stays as it was
    assert (response.status_code, response.json()) == (
        202,
        {"email": "us@buyer.com", **OUT_OF_SCOPE},
    )
    lead.refresh_from_db()
    assert (lead.first_name, lead.phone, lead.country, lead.timeline) == (
        "Uma",
        "+1 555 0100",
        "US",
        "now",
    )
    assert (lead.stage, lead.segment, lead.score, lead.owner, lead.team) == (
        "mql",
        "sales_ready",
        70,
        org.rep3,
        org.americas,
    )
    submission = Submission.objects.order_by("pk").last()
    assert submission is not None
    assert (submission.lead_id, submission.submitted_by, submission.was_created) == (
        lead.pk,
        org.rep1,
        False,
    )
    assert submission.payload == body


@pytest.mark.parametrize("timeline", ["year", ""])
def test_a_rep_cannot_disqualify_a_lead_they_cannot_see(
    org: Any, clock: datetime, client: Client, timeline: str
) -> None:
    # given a nurtured lead nobody owns yet (only marketing sees it), with or without a
    # timeline
    lead = capture_lead(
        {"email": "later@x.com", "need": "someday", "timeline": timeline}, source="api", now=clock
    ).lead
    assert lead.stage == "nurturing"
    # when rep1 sends it saying it will never buy
    response = post(
        client, "/api/v1/leads", {"email": "later@x.com", "timeline": "never"}, org.rep1
    )
    # then it stays in nurture with the timeline it had, and its history has no new move
    assert (response.status_code, response.json()) == (
        202,
        {"email": "later@x.com", **OUT_OF_SCOPE},
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.segment, lead.timeline) == ("nurturing", "nurture", timeline)
    assert list(StageChange.objects.filter(lead=lead).values_list("to_stage", flat=True)) == [
        "new",
        "nurturing",
    ]


def test_a_rep_cannot_make_a_lead_they_cannot_see_sales_ready_and_take_it(
    org: Any, clock: datetime, client: Client
) -> None:
    # given a nurtured lead without a country, nobody's yet (only marketing sees it)
    lead = capture_lead({"email": "later@x.com", "need": "someday"}, source="api", now=clock).lead
    assert (lead.stage, lead.score) == ("nurturing", 15)
    # when rep1 sends it again as a hot German lead, which would route it to EMEA
    response = post(client, "/api/v1/leads", {"email": "later@x.com", **HOT}, org.rep1)
    # then the blanks are filled in, but the lead is not rescored, moved or routed: it
    # stays in nurture, nobody's, and rep1 is told nothing about it
    assert (response.status_code, response.json()) == (
        202,
        {"email": "later@x.com", **OUT_OF_SCOPE},
    )
    lead.refresh_from_db()
    assert (lead.need, lead.authority, lead.country) == ("someday", "decision_maker", "DE")
    assert (lead.stage, lead.segment, lead.score, lead.owner, lead.team) == (
        "nurturing",
        "nurture",
        15,
        None,
        None,
    )
    assert list(StageChange.objects.filter(lead=lead).values_list("to_stage", flat=True)) == [
        "new",
        "nurturing",
    ]


def test_a_rep_sending_their_own_lead_again_updates_it(
    org: Any, clock: datetime, client: Client
) -> None:
    # given rep1's German MQL
    lead = capture_lead(
        {"email": "de@buyer.de", "first_name": "D.", **HOT}, source="api", now=clock
    )
    assert lead.lead.owner == org.rep1
    # when rep1 sends a corrected name and a new timeline
    response = post(
        client,
        "/api/v1/leads",
        {"email": "de@buyer.de", "first_name": "Dora", "timeline": "quarter"},
        org.rep1,
    )
    # then the lead is updated as a person in charge of it says, and answered in full
    assert response.status_code == 200
    assert (response.json()["owner"], response.json()["score"]) == ("rep1", 65)
    stored = Lead.objects.get(pk=lead.lead.pk)
    assert (stored.first_name, stored.timeline, stored.stage) == ("Dora", "quarter", "mql")


# --- GET /leads and GET /leads/{id}: who sees what --------------------------------------


@pytest.fixture
def book(org: Any, now: datetime) -> dict[str, Lead]:
    """Leads in every scope: rep1's, rep2's, EMEA's unassigned queue, Americas', nurture."""

    def hot(email: str, **extra: Any) -> Lead:
        return capture_lead({"email": email, **HOT, **extra}, source="api", now=now).lead

    leads = {
        "rep1": assign_lead(hot("rep1@de.de"), now=now, to=org.rep1),
        "rep2": assign_lead(hot("rep2@de.de"), now=now + timedelta(minutes=1), to=org.rep2),
        "americas": hot("us@us.com", country="United States"),
    }
    User.objects.filter(team=org.emea).update(is_accepting_leads=False)
    leads["queue"] = hot("queue@de.de")
    User.objects.filter(team=org.emea).update(is_accepting_leads=True)
    leads["nurture"] = capture_lead({"email": "later@x.com"}, source="api", now=now).lead
    assert leads["queue"].owner_id is None and leads["queue"].team_id == org.emea.pk
    assert leads["americas"].owner_id == org.rep3.pk
    return leads


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep1", {"rep1", "queue"}),
        ("rep2", {"rep2", "queue"}),
        ("rep3", {"americas"}),
        ("manager", {"rep1", "rep2", "queue"}),
        ("us_manager", {"americas"}),
        ("marketer", {"rep1", "rep2", "queue", "americas", "nurture"}),
        ("admin", {"rep1", "rep2", "queue", "americas", "nurture"}),
    ],
)
def test_the_list_holds_exactly_the_leads_the_role_may_see(
    org: Any, book: dict[str, Lead], clock: datetime, client: Client, who: str, expected: set[str]
) -> None:
    # when each role lists leads
    response = get(client, "/api/v1/leads", getattr(org, who))
    # then it gets exactly its scope, and a lead's page only inside it
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["items"]}
    assert ids == {book[name].pk for name in expected}
    assert response.json()["count"] == len(expected)
    for name, lead in book.items():
        detail = get(client, f"/api/v1/leads/{lead.pk}", getattr(org, who))
        assert detail.status_code == (200 if name in expected else 404), (name, detail.json())


def test_a_lead_out_of_scope_answers_404_like_a_missing_one(
    org: Any, book: dict[str, Lead], clock: datetime, client: Client
) -> None:
    hidden = get(client, f"/api/v1/leads/{book['rep2'].pk}", org.rep1)
    missing = get(client, "/api/v1/leads/999999", org.rep1)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["errors"] == [
        {"field": "lead_id", "message": f"no lead with id {book['rep2'].pk}"}
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "mql"}, ["queue", "americas", "rep2", "rep1"]),
        ({"stage": "nurturing"}, ["nurture"]),
        ({"segment": "nurture"}, ["nurture"]),
        ({"owner": "rep2"}, ["rep2"]),
        ({"owner": "none"}, ["nurture", "queue"]),
        ({"owner": "nobody-by-that-name"}, []),
        ({"q": "QUEUE"}, ["queue"]),
        ({"q": "de.de rep"}, ["rep2", "rep1"]),
        # Americas' deadline is Wednesday 17:00 New York time (22:00 UTC): the earliest.
        ({"stage": "mql", "order": "sla_due_at"}, ["americas", "rep1", "queue", "rep2"]),
    ],
)
def test_list_filters(
    org: Any,
    book: dict[str, Lead],
    clock: datetime,
    client: Client,
    params: dict[str, str],
    expected: list[str],
) -> None:
    response = get(client, "/api/v1/leads", org.admin, **params)
    assert response.status_code == 200
    by_id = {lead.pk: name for name, lead in book.items()}
    assert [by_id[item["id"]] for item in response.json()["items"]] == expected


def test_list_owner_me_and_campaign_filters(
    org: Any, book: dict[str, Lead], clock: datetime, client: Client
) -> None:
    CampaignMember.objects.create(campaign=org.webinar, lead=book["queue"], joined_at=clock)
    mine = get(client, "/api/v1/leads", org.rep1, owner="me")
    in_webinar = get(client, "/api/v1/leads", org.rep1, campaign=org.webinar.pk)
    assert [item["id"] for item in mine.json()["items"]] == [book["rep1"].pk]
    assert [item["id"] for item in in_webinar.json()["items"]] == [book["queue"].pk]


def test_list_is_paginated_with_a_total(
    org: Any, book: dict[str, Lead], clock: datetime, client: Client
) -> None:
    first = get(client, "/api/v1/leads", org.admin, limit=2)
    second = get(client, "/api/v1/leads", org.admin, limit=2, offset=4)
    assert (first.json()["count"], len(first.json()["items"])) == (5, 2)
    assert (second.json()["limit"], second.json()["offset"]) == (2, 4)
    assert len(second.json()["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "hot"}, "stage"),
        ({"segment": "x"}, "segment"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"campaign": "webinar"}, "campaign"),
        ({"order": "score"}, "order"),
    ],
)
def test_bad_list_filters_are_refused_naming_the_parameter(
    org: Any, clock: datetime, client: Client, params: dict[str, str], field: str
) -> None:
    response = get(client, "/api/v1/leads", org.admin, **params)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_list_query_count_does_not_grow_with_the_page(
    org: Any, clock: datetime, client: Client, django_assert_max_num_queries: Any
) -> None:
    # given 30 routed leads, each with an owner and a team to show
    for n in range(30):
        capture_lead({"email": f"lead{n}@de.de", **HOT}, source="api", now=clock)
    token = bearer(org.manager)
    client.get(
        "/api/v1/leads", HTTP_AUTHORIZATION=token
    )  # the token's last_used_at is written once
    # when a full page is listed: the token, the count, the page (owner and team joined)
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/leads", {"limit": 30}, HTTP_AUTHORIZATION=token)
    assert len(response.json()["items"]) == 30


def test_lead_detail_has_history_touches_events_and_opportunities(
    org: Any, clock: datetime, client: Client
) -> None:
    # given a hot lead rep1 called once
    lead = capture_lead(
        {"email": "hot@buyer.de", **HOT}, source="api", now=clock, campaign=org.webinar
    ).lead
    record_touch(lead, by=org.rep1, kind="call", outcome="connected", notes="keen", now=clock)
    # when rep1 reads it
    response = get(client, f"/api/v1/leads/{lead.pk}", org.rep1)
    # then the page tells its whole story
    assert response.status_code == 200
    body = response.json()
    assert body["history"] == [
        {
            "from_stage": "",
            "to_stage": "new",
            "at": "2026-11-16T10:00:00Z",
            "by": None,
            "reason": "captured via api",
        },
        {
            "from_stage": "new",
            "to_stage": "mql",
            "at": "2026-11-16T10:00:00Z",
            "by": None,
            "reason": "score 70",
        },
    ]
    assert body["touches"] == [
        {
            "id": lead.touches.get().pk,
            "kind": "call",
            "outcome": "connected",
            "notes": "keen",
            "occurred_at": "2026-11-16T10:00:00Z",
            "by": "rep1",
        }
    ]
    assert body["events"] == {"count": 0, "last": []}
    assert body["opportunities"] == []
    assert body["campaigns"] == [
        {
            "campaign_id": org.webinar.pk,
            "campaign": "Webinar",
            "status": "registered",
            "joined_at": "2026-11-16T10:00:00Z",
        }
    ]
    assert (body["stage"], body["owner"], body["team"]) == (Stage.MQL, "rep1", "EMEA")
    assert (body["sla_state"], body["first_touch_at"]) == ("met", "2026-11-16T10:00:00Z")
    assert body["budget"] == "20000.00"


def test_lead_detail_query_count_does_not_grow_with_its_history(
    org: Any, clock: datetime, client: Client, django_assert_max_num_queries: Any
) -> None:
    # given a lead with many touches and events
    lead = capture_lead({"email": "busy@de.de", **HOT}, source="api", now=clock).lead
    for n in range(15):
        record_touch(lead, by=org.rep1, kind="call", now=clock + timedelta(minutes=n))
    token = bearer(org.rep1)
    client.get(f"/api/v1/leads/{lead.pk}", HTTP_AUTHORIZATION=token)
    # when it is read: the token, the lead, its history, assignments, SLA rungs, touches,
    # event count and last events, opportunities and campaigns, each one query
    with django_assert_max_num_queries(10):
        response = client.get(f"/api/v1/leads/{lead.pk}", HTTP_AUTHORIZATION=token)
    assert len(response.json()["touches"]) == 15
