"""POST /events: batches of engagement events with per-event outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from capture.services import capture_lead
from conftest import bearer
from leads.models import Lead
from qualify.models import Event
from users.models import User


def post_events(client: Client, events: Any, user: User) -> Any:
    return client.post(
        "/api/v1/events",
        {"events": events},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(user),
    )


WHEN = "2026-11-16T09:00:00Z"


def test_a_batch_answers_each_event_created_duplicate_or_rejected(
    org: Any, clock: datetime, client: Client
) -> None:
    # given a known lead and one event already stored with key "seen"
    lead = capture_lead({"email": "known@x.com"}, source="api", now=clock).lead
    post_events(
        client,
        [{"kind": "page_view", "occurred_at": WHEN, "lead_id": lead.pk, "idempotency_key": "seen"}],
        org.marketer,
    )
    # when a batch mixes good events, duplicates and bad ones
    response = post_events(
        client,
        [
            {
                "kind": "email_click",
                "occurred_at": WHEN,
                "email": "KNOWN@x.com",
                "idempotency_key": "a",
            },
            {
                "kind": "email_click",
                "occurred_at": WHEN,
                "lead_id": lead.pk,
                "idempotency_key": "a",
            },
            {
                "kind": "page_view",
                "occurred_at": WHEN,
                "lead_id": lead.pk,
                "idempotency_key": "seen",
            },
            {"kind": "page_view", "occurred_at": WHEN, "lead_id": 999999},
            {"kind": "page_view", "occurred_at": WHEN, "email": "not-an-email"},
            {"kind": "page_view", "occurred_at": WHEN},
            {
                "kind": "webinar_attended",
                "occurred_at": WHEN,
                "email": "new@x.com",
                "campaign": org.webinar.pk,
            },
        ],
        org.marketer,
    )
    # then each event has its own outcome, errors naming index and field
    assert response.status_code == 200
    new_lead = Lead.objects.get(email="new@x.com")
    assert response.json() == {
        "created": 2,
        "duplicates": 2,
        "rejected": 3,
        "items": [
            {"index": 0, "status": "created", "lead_id": lead.pk, "error": None},
            {"index": 1, "status": "duplicate", "lead_id": None, "error": None},
            {"index": 2, "status": "duplicate", "lead_id": None, "error": None},
            {
                "index": 3,
                "status": "rejected",
                "lead_id": None,
                "error": {"field": "events.3.lead_id", "message": "no lead 999999"},
            },
            {
                "index": 4,
                "status": "rejected",
                "lead_id": None,
                "error": {
                    "field": "events.4.email",
                    "message": "'not-an-email' is not a valid email address:"
                    " An email address must have an @-sign.",
                },
            },
            {
                "index": 5,
                "status": "rejected",
                "lead_id": None,
                "error": {"field": "events.5.email", "message": "lead_id or email is required"},
            },
            {"index": 6, "status": "created", "lead_id": new_lead.pk, "error": None},
        ],
    }
    assert Event.objects.filter(lead=lead).count() == 2
    assert Event.objects.get(lead=new_lead).campaign == org.webinar


def test_an_unknown_campaign_rejects_that_event_only(
    org: Any, clock: datetime, client: Client
) -> None:
    lead = capture_lead({"email": "known@x.com"}, source="api", now=clock).lead
    response = post_events(
        client,
        [
            {"kind": "page_view", "occurred_at": WHEN, "lead_id": lead.pk, "campaign": 424242},
            {"kind": "page_view", "occurred_at": WHEN, "lead_id": lead.pk},
        ],
        org.marketer,
    )
    assert response.status_code == 200
    assert [item["status"] for item in response.json()["items"]] == ["rejected", "created"]
    assert response.json()["items"][0]["error"] == {
        "field": "events.0.campaign",
        "message": "no campaign 424242",
    }
    assert Event.objects.count() == 1


def test_engagement_makes_a_nurture_lead_sales_ready_and_routes_it(
    org: Any, clock: datetime, client: Client
) -> None:
    # given a German lead with a stated need, nurtured on fit alone (score 15)
    lead = capture_lead(
        {"email": "warm@de.de", "need": "forecasting", "country": "Germany"},
        source="api",
        now=clock,
    ).lead
    assert (lead.stage, lead.owner_id) == ("nurturing", None)
    # when they ask for a demo and look at pricing (40 + 10 points: 65 in all)
    response = post_events(
        client,
        [
            {"kind": "demo_request", "occurred_at": WHEN, "lead_id": lead.pk},
            {"kind": "pricing_page_view", "occurred_at": WHEN, "email": "warm@de.de"},
        ],
        org.marketer,
    )
    # then the lead is an MQL with an EMEA owner and an SLA clock running from now
    assert response.json()["created"] == 2
    lead.refresh_from_db()
    assert (lead.stage, lead.segment, lead.score) == ("mql", "sales_ready", 65)
    assert lead.owner == org.rep1
    assert lead.sla_due_at == datetime.fromisoformat("2026-11-19T10:00:00+00:00")


def test_a_batch_over_the_limit_is_refused_naming_events(
    org: Any, clock: datetime, client: Client
) -> None:
    events = [{"kind": "page_view", "occurred_at": WHEN, "email": "a@x.com"}] * 1001
    response = post_events(client, events, org.marketer)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["events"]
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([], "events"),
        ([{"occurred_at": WHEN, "email": "a@x.com"}], "events.0.kind"),
        (
            [{"kind": "x", "occurred_at": "2026-11-16T09:00:00", "email": "a@x.com"}],
            "events.0.occurred_at",
        ),
        (
            [{"kind": "x", "occurred_at": WHEN, "email": "a@x.com", "colour": "red"}],
            "events.0.colour",
        ),
        ([{"kind": "x", "occurred_at": WHEN, "lead_id": "first"}], "events.0.lead_id"),
        ("not a list", "events"),
    ],
)
def test_a_malformed_batch_is_refused_whole_naming_the_field(
    org: Any, clock: datetime, client: Client, events: Any, field: str
) -> None:
    response = post_events(client, events, org.marketer)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("who", ["rep1", "manager"])
def test_only_marketing_and_admin_post_events(
    org: Any, clock: datetime, client: Client, who: str
) -> None:
    response = post_events(
        client, [{"kind": "page_view", "occurred_at": WHEN, "email": "a@x.com"}], getattr(org, who)
    )
    assert response.status_code == 403
    assert Lead.objects.count() == 0


def test_admin_may_post_events(org: Any, clock: datetime, client: Client) -> None:
    response = post_events(
        client, [{"kind": "page_view", "occurred_at": WHEN, "email": "a@x.com"}], org.admin
    )
    assert response.json()["created"] == 1
