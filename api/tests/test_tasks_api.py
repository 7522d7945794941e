"""The rep's day through the REST API: GET /api/v1/tasks and POST /api/v1/tasks/{id}/complete,
and managers' cadence settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from capture.services import capture_lead
from conftest import HOT, bearer
from followup.models import Task
from leads.models import Lead
from users.models import User

pytestmark = pytest.mark.django_db


def get(client: Client, path: str, user: User, **params: Any) -> Any:
    return client.get(path, params, HTTP_AUTHORIZATION=bearer(user))


def post(client: Client, path: str, body: Any, user: User, method: str = "post") -> Any:
    send = getattr(client, method)
    return send(path, body, content_type="application/json", HTTP_AUTHORIZATION=bearer(user))


def hot(name: str, when: datetime) -> Lead:
    lead = capture_lead(
        {**HOT, "email": f"{name}@de.de", "first_name": name.title()}, source="api", now=when
    ).lead
    return lead


def test_a_rep_lists_their_tasks_and_filters_overdue(
    org: Any, clock: datetime, client: Client
) -> None:
    old = hot("olga", clock - timedelta(days=1))  # rep1, its call overdue
    hot("bob", clock - timedelta(days=1))  # rep2
    fresh = hot("fay", clock + timedelta(minutes=0))  # rep1, due now
    Task.objects.filter(lead=fresh).update(due_at=clock + timedelta(hours=2))

    everything = get(client, "/api/v1/tasks", org.rep1).json()
    overdue = get(client, "/api/v1/tasks", org.rep1, due="overdue").json()
    today = get(client, "/api/v1/tasks", org.rep1, due="today").json()

    assert [t["lead"]["id"] for t in everything["items"]] == [old.pk, fresh.pk]
    first = everything["items"][0]
    assert (first["channel"], first["step"], first["steps"], first["is_overdue"]) == (
        "call", 1, 6, True,
    )  # fmt: skip
    assert first["outcomes"] == [
        "connected", "left_voicemail", "no_answer", "wrong_number", "meeting_booked",
        "not_interested",
    ]  # fmt: skip
    assert [t["lead"]["id"] for t in overdue["items"]] == [old.pk]
    assert [t["lead"]["id"] for t in today["items"]] == [fresh.pk]


def test_managers_filter_by_owner_and_reps_may_not(
    org: Any, clock: datetime, client: Client
) -> None:
    hot("ann", clock)
    bob = hot("bob", clock)

    theirs = get(client, "/api/v1/tasks", org.manager, owner="rep2").json()
    refused = get(client, "/api/v1/tasks", org.rep1, owner="rep2")
    unknown = get(client, "/api/v1/tasks", org.manager, owner="nobody")

    assert [t["lead"]["id"] for t in theirs["items"]] == [bob.pk]
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "owner"
    assert unknown.status_code == 422
    assert get(client, "/api/v1/tasks", org.marketer).json()["count"] == 0


def test_completing_a_task_logs_the_touch_and_returns_the_next(
    org: Any, clock: datetime, client: Client
) -> None:
    lead = hot("ann", clock)
    task = Task.objects.get(lead=lead)

    answer = post(
        client, f"/api/v1/tasks/{task.pk}/complete", {"outcome": "no_answer", "notes": "rang"},
        org.rep1,
    )  # fmt: skip

    assert answer.status_code == 200
    body = answer.json()
    assert body["task"]["status"] == "done"
    assert body["next_task"]["channel"] == "email"
    assert body["next_task"]["step"] == 2
    assert lead.touches.get().pk == body["touch_id"]
    again = post(client, f"/api/v1/tasks/{task.pk}/complete", {"outcome": "no_answer"}, org.rep1)
    assert again.status_code == 409


def test_a_connected_call_ends_the_cadence(org: Any, clock: datetime, client: Client) -> None:
    task = Task.objects.get(lead=hot("ann", clock))

    body = post(
        client, f"/api/v1/tasks/{task.pk}/complete", {"outcome": "connected"}, org.rep1
    ).json()

    assert body["next_task"] is None


def test_a_wrong_outcome_or_another_reps_task_is_refused(
    org: Any, clock: datetime, client: Client
) -> None:
    task = Task.objects.get(lead=hot("ann", clock))

    wrong = post(client, f"/api/v1/tasks/{task.pk}/complete", {"outcome": "sent"}, org.rep1)
    missing = post(client, f"/api/v1/tasks/{task.pk}/complete", {}, org.rep1)
    other = post(client, f"/api/v1/tasks/{task.pk}/complete", {"outcome": "connected"}, org.rep2)
    marketing = post(
        client, f"/api/v1/tasks/{task.pk}/complete", {"outcome": "connected"}, org.marketer
    )

    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "outcome")
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (422, "outcome")
    assert other.status_code == 404
    assert marketing.status_code == 404
    assert Task.objects.get(pk=task.pk).status == "open"


def test_rejecting_for_no_response_too_early_answers_what_is_missing(
    org: Any, clock: datetime, client: Client
) -> None:
    lead = hot("ann", clock)

    answer = post(
        client, f"/api/v1/leads/{lead.pk}/transitions",
        {"action": "reject", "reason": "No response"}, org.rep1,
    )  # fmt: skip

    assert answer.status_code == 422
    assert answer.json()["errors"][0] == {
        "field": "reason",
        "message": "not yet: 0 of 6 attempts, none so far: a lead is dropped for no response"
        " only after 6 attempts over at least 2 channels",
    }


def test_managers_edit_cadences_rules_and_their_teams_minimum(
    org: Any, clock: datetime, client: Client
) -> None:
    created = post(
        client, "/api/v1/cadences",
        {"name": "Enterprise", "steps": [{"day_offset": 0, "channel": "call"},
                                         {"day_offset": 1, "channel": "linkedin"}]},
        org.manager,
    )  # fmt: skip
    rules = post(
        client, "/api/v1/cadence-rules", {"rules": [{"cadence": "Enterprise", "grade": "A"}]},
        org.manager, method="put",
    )  # fmt: skip
    policy = post(
        client, f"/api/v1/teams/{org.emea.pk}/attempt-policy",
        {"min_attempts": 4, "min_channels": 2}, org.manager, method="put",
    )  # fmt: skip
    by_rep = post(client, "/api/v1/cadences", {"name": "Mine", "steps": [
        {"day_offset": 0, "channel": "call"}]}, org.rep1)  # fmt: skip
    bad = post(
        client, "/api/v1/cadence-rules", {"rules": [{"cadence": "Nope"}]}, org.manager, method="put"
    )

    assert created.status_code == 201
    assert [s["channel"] for s in created.json()["steps"]] == ["call", "linkedin"]
    assert rules.json()["rules"] == [
        {"cadence": "Enterprise", "segment": "", "grade": "A", "campaign": ""}
    ]
    assert policy.json() == {
        "team": "EMEA", "team_id": org.emea.pk, "min_attempts": 4, "min_channels": 2
    }  # fmt: skip
    assert by_rep.status_code == 403
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "rules.1.cadence")
