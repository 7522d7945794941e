"""GET /leads/{id} tells every assignment of the lead: who, when, from whom, to whom, why."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT
from routing.models import Assignment
from routing.services import reassign_lead
from users.models import ApiToken


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> datetime:
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def test_lead_detail_lists_routing_and_reassignment_oldest_first(
    org: Any, clock: datetime, client: Client
) -> None:
    lead = capture_lead({"email": "hot@buyer.de", **HOT}, source="api", now=clock).lead
    reassign_lead(
        lead, org.rep2, now=clock + timedelta(hours=1), by=org.manager, reason="rep1 is away"
    )
    _, raw = ApiToken.issue(org.manager)

    response = client.get(f"/api/v1/leads/{lead.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    assert response.json()["assignments"] == [
        {
            "at": "2026-11-16T10:00:00Z",
            "how": "round_robin",
            "summary": "Assigned to rep1 (round robin in team EMEA)",
            "from_owner": None,
            "to_owner": "rep1",
            "from_team": None,
            "to_team": "EMEA",
            "by": None,
            "rule": None,
            "reason": "",
        },
        {
            "at": "2026-11-16T11:00:00Z",
            "how": "reassigned",
            "summary": "Reassigned from rep1 to rep2",
            "from_owner": "rep1",
            "to_owner": "rep2",
            "from_team": "EMEA",
            "to_team": "EMEA",
            "by": "manager",
            "rule": None,
            "reason": "rep1 is away",
        },
    ]


def test_the_schema_describes_assignments(client: Client, db: None) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    assert "assignments" in schemas["LeadDetailOut"]["properties"]
    assert set(schemas["AssignmentOut"]["properties"]) == {
        "at", "how", "summary", "from_owner", "to_owner", "from_team", "to_team", "by", "rule",
        "reason",
    }  # fmt: skip


def test_reassigning_through_the_api_writes_who_and_why(
    org: Any, clock: datetime, client: Client
) -> None:
    lead = capture_lead({"email": "hot@buyer.de", **HOT}, source="api", now=clock).lead
    _, raw = ApiToken.issue(org.manager)

    response = client.post(
        f"/api/v1/leads/{lead.pk}/reassignments",
        {"to": "rep2", "reason": "rep1 is away"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == 200
    assert list(
        Assignment.objects.filter(how="reassigned").values_list(
            "from_owner", "to_owner", "assigned_by", "assigned_at", "reason"
        )
    ) == [(org.rep1.pk, org.rep2.pk, org.manager.pk, clock, "rep1 is away")]


def test_a_reason_too_long_is_refused_naming_it(org: Any, clock: datetime, client: Client) -> None:
    lead = capture_lead({"email": "hot@buyer.de", **HOT}, source="api", now=clock).lead
    _, raw = ApiToken.issue(org.manager)

    response = client.post(
        f"/api/v1/leads/{lead.pk}/reassignments",
        {"to": "rep2", "reason": "x" * 301},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert not Assignment.objects.filter(how="reassigned").exists()
