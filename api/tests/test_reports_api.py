"""GET /reports/funnel: the funnel of the leads the caller may see."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from capture.services import capture_lead
from conftest import HOT, bearer
from followup.services import accept_lead, convert_lead, win_lead
from users.models import User


def funnel(client: Client, user: User, **params: Any) -> Any:
    return client.get("/api/v1/reports/funnel", params, HTTP_AUTHORIZATION=bearer(user))


@pytest.fixture
def history(org: Any, now: datetime) -> None:
    """Five leads: a won deal and a hot MQL (rep1), an accepted lead (rep2), one nurtured
    and one disqualified. The won one and the nurtured one came from the webinar."""

    def capture(data: dict[str, Any], **extra: Any) -> Any:
        return capture_lead(data, source="api", now=now, **extra).lead

    won = capture({"email": "won@de.de", **HOT}, campaign=org.webinar)
    accepted = capture({"email": "accepted@de.de", **HOT})
    capture({"email": "mql@de.de", **HOT})
    capture({"email": "later@x.com"}, campaign=org.webinar)
    capture({"email": "never@x.com", "timeline": "never"})
    accept_lead(won, by=org.rep1, now=now)
    convert_lead(won, by=org.rep1, amount=Decimal("5000"), now=now)
    win_lead(won, by=org.rep1, now=now)
    accept_lead(accepted, by=org.rep2, now=now)


def steps(body: dict[str, Any]) -> list[tuple[str, int, int, float | None]]:
    return [(s["stage"], s["reached"], s["current"], s["conversion"]) for s in body["steps"]]


def test_the_funnel_counts_every_lead_for_marketing(
    org: Any, history: None, clock: datetime, client: Client
) -> None:
    response = funnel(client, org.marketer)
    assert response.status_code == 200
    body = response.json()
    assert (body["campaign_id"], body["campaign_name"]) == (None, "All campaigns")
    assert steps(body) == [
        ("new", 5, 0, None),
        ("mql", 3, 1, 0.6),
        ("accepted", 2, 1, 2 / 3),
        ("opportunity", 1, 0, 0.5),
        ("customer", 1, 1, 1.0),
    ]
    assert body["off_funnel"] == {"nurturing": 1, "recycled": 0, "disqualified": 1}
    assert body["steps"][2]["label"] == "Accepted (SAL)"


def test_a_rep_sees_the_funnel_of_their_own_leads(
    org: Any, history: None, clock: datetime, client: Client
) -> None:
    body = funnel(client, org.rep1).json()
    assert [(stage, reached) for stage, reached, _, _ in steps(body)] == [
        ("new", 2),
        ("mql", 2),
        ("accepted", 1),
        ("opportunity", 1),
        ("customer", 1),
    ]


def test_the_funnel_of_one_campaign_and_by_campaign(
    org: Any, history: None, clock: datetime, client: Client
) -> None:
    one = funnel(client, org.admin, campaign=org.webinar.pk).json()
    every = funnel(client, org.admin, by_campaign="true").json()
    assert (one["campaign_id"], one["campaign_name"]) == (org.webinar.pk, "Webinar")
    assert [reached for _, reached, _, _ in steps(one)] == [2, 1, 1, 1, 1]
    assert one["off_funnel"] == {"nurturing": 1, "recycled": 0, "disqualified": 0}
    assert [c["campaign_name"] for c in every["campaigns"]] == ["Webinar"]
    assert every["campaigns"][0]["steps"] == one["steps"]


def test_the_period_filters_by_arrival(
    org: Any, history: None, clock: datetime, client: Client
) -> None:
    before = funnel(client, org.admin, until="2026-11-16T10:00:00+00:00").json()
    during = funnel(
        client, org.admin, since="2026-11-16T10:00:00Z", until="2026-11-16T11:00:00Z"
    ).json()
    assert steps(before)[0] == ("new", 0, 0, None)
    assert steps(during)[0] == ("new", 5, 0, None)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-11-16T10:00:00"}, "since"),
        ({"since": "last week"}, "since"),
        ({"since": "2026-11-17T00:00:00Z", "until": "2026-11-16T00:00:00Z"}, "until"),
        ({"campaign": "999"}, "campaign"),
        ({"campaign": "webinar"}, "campaign"),
        ({"by_campaign": "perhaps"}, "by_campaign"),
        ({"by_campaign": "true", "campaign": "1"}, "campaign"),
    ],
)
def test_bad_report_parameters_are_refused_naming_them(
    org: Any, clock: datetime, client: Client, params: dict[str, str], field: str
) -> None:
    response = funnel(client, org.admin, **params)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
