"""The API as a whole: token auth, the OpenAPI schema, and one error shape for bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conftest import bearer
from leads.models import Lead
from users.models import ApiToken, User


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/leads"),
        ("get", "/api/v1/leads/1"),
        ("post", "/api/v1/leads"),
        ("post", "/api/v1/leads/1/touches"),
        ("post", "/api/v1/leads/1/transitions"),
        ("post", "/api/v1/leads/1/reassignments"),
        ("post", "/api/v1/events"),
        ("get", "/api/v1/reports/funnel"),
        ("get", "/api/v1/notifications"),
        ("post", "/api/v1/notifications/read"),
        ("get", "/api/v1/webhook-subscriptions"),
        ("post", "/api/v1/webhook-subscriptions/1/test"),
    ],
)
def test_every_endpoint_needs_a_token(org: Any, client: Client, method: str, path: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Unauthorized",
        "errors": [
            {
                "field": "Authorization",
                "message": "send a valid API token as 'Authorization: Bearer <token>'",
            }
        ],
    }
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_bad_revoked_or_deactivated_token_is_refused(org: Any, client: Client) -> None:
    # given a revoked token, and a token of a user who has left
    revoked, revoked_raw = ApiToken.issue(org.marketer)
    ApiToken.objects.filter(pk=revoked.pk).update(is_active=False)
    _, leaver_raw = ApiToken.issue(org.rep2)
    User.objects.filter(pk=org.rep2.pk).update(is_active=False)
    # then none of them, nor a made-up one, gets in
    for raw in ("ll_made-up", revoked_raw, leaver_raw):
        response = client.get("/api/v1/leads", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 401, raw
    # while a good token does, and its use is recorded
    response = client.get("/api/v1/leads", HTTP_AUTHORIZATION=bearer(org.marketer))
    assert response.status_code == 200
    assert ApiToken.objects.filter(user=org.marketer, last_used_at__isnull=False).count() == 1


def test_the_openapi_schema_lists_every_path(client: Client, db: None) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Leadloop API"
    assert {path: sorted(ops) for path, ops in schema["paths"].items()} == {
        "/api/v1/leads": ["get", "post"],
        "/api/v1/leads/{lead_id}": ["get"],
        "/api/v1/leads/{lead_id}/touches": ["post"],
        "/api/v1/leads/{lead_id}/transitions": ["post"],
        "/api/v1/leads/{lead_id}/reassignments": ["post"],
        "/api/v1/events": ["post"],
        "/api/v1/reports/funnel": ["get"],
        "/api/v1/reports/follow-up": ["get"],
        "/api/v1/users": ["get", "post"],
        "/api/v1/users/{username}": ["patch"],
        "/api/v1/users/{username}/password-link": ["post"],
        "/api/v1/users/{username}/deactivate": ["post"],
        "/api/v1/users/{username}/reactivate": ["post"],
        "/api/v1/teams": ["get", "post"],
        "/api/v1/teams/{team_id}": ["get", "patch"],
        "/api/v1/campaigns": ["get", "post"],
        "/api/v1/campaigns/{campaign_id}": ["get", "patch"],
        "/api/v1/notifications": ["get"],
        "/api/v1/notifications/read": ["post"],
        "/api/v1/webhook-subscriptions": ["get", "post"],
        "/api/v1/webhook-subscriptions/{subscription_id}": ["delete", "get", "patch"],
        "/api/v1/webhook-subscriptions/{subscription_id}/secret": ["post"],
        "/api/v1/webhook-subscriptions/{subscription_id}/test": ["post"],
        "/api/v1/webhook-subscriptions/{subscription_id}/deliveries": ["get"],
        "/api/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/retry": ["post"],
        "/api/v1/routing/rules": ["get", "post"],
        "/api/v1/routing/rules/{rule_id}": ["delete", "patch"],
        "/api/v1/leads/{lead_id}/routing": ["get"],
        "/api/v1/users/{username}/leave": ["get", "post"],
        "/api/v1/leave/{leave_id}": ["delete"],
        "/api/v1/notifications/email": ["get", "patch"],
        "/api/v1/teams/{team_id}/sla-policies": ["get", "post"],
        "/api/v1/teams/{team_id}/sla-policies/{policy_id}": ["delete", "patch"],
        "/api/v1/tasks": ["get"],
        "/api/v1/tasks/{task_id}/complete": ["post"],
        "/api/v1/cadences": ["get", "post"],
        "/api/v1/cadences/{cadence_id}": ["patch"],
        "/api/v1/cadence-rules": ["put"],
        "/api/v1/teams/{team_id}/attempt-policy": ["put"],
        "/api/v1/scoring/model": ["get", "put"],
        "/api/v1/scoring/model/preview": ["post"],
        "/api/v1/scoring/versions": ["get"],
        "/api/v1/scoring/versions/{number}": ["get"],
        "/api/v1/scoring/versions/{number}/restore": ["post"],
        "/api/v1/email-templates": ["get", "post"],
        "/api/v1/email-templates/{template_id}": ["delete", "get", "patch"],
        "/api/v1/email-templates/{template_id}/preview": ["post"],
        "/api/v1/email-templates/{template_id}/test-send": ["post"],
        "/api/v1/email/events": ["post"],
        "/api/v1/outbox": ["get"],
        "/api/v1/lists": ["get", "post"],
        "/api/v1/lists/{list_id}": ["delete", "get", "patch"],
        "/api/v1/lists/{list_id}/refresh": ["post"],
        "/api/v1/lists/{list_id}/members": ["delete", "get", "post"],
        "/api/v1/streams": ["get", "post"],
        "/api/v1/streams/{stream_id}": ["delete", "get", "patch"],
        "/api/v1/streams/{stream_id}/members": ["get"],
        "/api/v1/streams/{stream_id}/pieces": ["get", "post"],
        "/api/v1/streams/{stream_id}/pieces/order": ["put"],
        "/api/v1/streams/{stream_id}/pieces/{piece_id}": ["delete", "patch"],
        "/api/v1/leads/{lead_id}/consent": ["get", "post"],
        "/api/v1/consent-purposes": ["get", "post"],
        "/api/v1/consent-purposes/{slug}": ["patch"],
        "/api/v1/programs": ["get", "post"],
        "/api/v1/programs/apply": ["post"],
        "/api/v1/programs/{program_id}": ["delete", "get", "put"],
        "/api/v1/programs/{program_id}/pause": ["post"],
        "/api/v1/programs/{program_id}/resume": ["post"],
        "/api/v1/programs/{program_id}/enrolments": ["delete", "get", "post"],
        "/api/v1/programs/{program_id}/export": ["get"],
    }
    create = schema["paths"]["/api/v1/leads"]["post"]
    assert sorted(create["responses"]) == [
        "200",
        "201",
        "202",
        "400",
        "401",
        "403",
        "404",
        "409",
        "422",
    ]
    assert [p["name"] for p in create["parameters"]] == ["Idempotency-Key"]
    lead_in = schema["components"]["schemas"]["LeadIn"]
    assert lead_in["additionalProperties"] is False
    assert "id" in lead_in["properties"]["campaign"]["description"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "errors"),
    [
        (
            '{"email": ',
            "application/json",
            400,
            [{"field": "body", "message": "is not valid JSON"}],
        ),
        (
            "[1, 2]",
            "application/json",
            422,
            [{"field": "body", "message": "a JSON object is required"}],
        ),
        (
            '"ada@x.com"',
            "application/json",
            422,
            [{"field": "body", "message": "a JSON object is required"}],
        ),
        ("", "application/json", 422, [{"field": "body", "message": "a JSON object is required"}]),
        (
            '{"email": ["a@x.com"], "budget": "lots"}',
            "application/json",
            422,
            [
                {"field": "email", "message": "Input should be a valid string"},
                {"field": "budget", "message": "Input should be a valid decimal"},
            ],
        ),
    ],
)
def test_malformed_bodies_get_a_4xx_naming_what_is_wrong(
    org: Any,
    client: Client,
    body: str,
    content_type: str,
    status: int,
    errors: list[dict[str, str]],
) -> None:
    response = client.post(
        "/api/v1/leads", body, content_type=content_type, HTTP_AUTHORIZATION=bearer(org.marketer)
    )
    assert response.status_code == status
    assert response.json()["errors"] == errors
    assert Lead.objects.count() == 0


def test_a_validation_error_detail_sums_up_the_fields(org: Any, client: Client) -> None:
    response = client.post(
        "/api/v1/leads",
        {"email": "a@x.com", "employees": -1, "nickname": "Al"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.marketer),
    )
    assert response.json()["detail"] == "2 invalid fields: employees, nickname"


def test_a_lead_id_that_is_not_a_number_is_refused_naming_it(org: Any, client: Client) -> None:
    response = client.get("/api/v1/leads/abc", HTTP_AUTHORIZATION=bearer(org.marketer))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "lead_id",
            "message": "Input should be a valid integer, unable to parse string as an integer",
        }
    ]


BIG = 99999999999999999999  # past any database integer


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("get", "/api/v1/leads?offset=99999999999999999999", None, "offset"),
        ("get", "/api/v1/leads?campaign=99999999999999999999", None, "campaign"),
        ("get", "/api/v1/leads?q=a%00b", None, "q"),
        ("get", "/api/v1/reports/funnel?campaign=99999999999999999999", None, "campaign"),
        ("post", "/api/v1/leads", {"email": "a@x.com", "budget": "1e15"}, "budget"),
        ("post", "/api/v1/leads", {"email": "a@x.com", "budget": "NaN"}, "budget"),
        ("post", "/api/v1/leads", {"email": "a@x.com", "employees": BIG}, "employees"),
        ("post", "/api/v1/leads", {"email": "a@x.com", "campaign": BIG}, "campaign"),
        ("post", "/api/v1/leads", {"email": "a@x.com", "campaign": True}, "campaign"),
        ("post", "/api/v1/leads", {"email": "a@x.com", "first_name": "a\x00b"}, "first_name"),
        (
            "post",
            "/api/v1/leads",
            {"email": "a@x.com", "custom_fields": {"k": ["\x00"]}},
            "custom_fields",
        ),
        (
            "post",
            "/api/v1/events",
            {"events": [{"kind": "x", "occurred_at": "2026-11-16T09:00:00Z", "lead_id": BIG}]},
            "events.0.lead_id",
        ),
    ],
)
def test_input_the_database_cannot_hold_is_refused_not_a_500(
    org: Any, client: Client, method: str, path: str, body: Any, field: str
) -> None:
    # (PostgreSQL refuses NUL characters and integers past 64 bits; SQLite overflows too.)
    token = bearer(org.admin)
    if method == "get":
        response = client.get(path, HTTP_AUTHORIZATION=token)
    else:
        response = client.post(
            path, body, content_type="application/json", HTTP_AUTHORIZATION=token
        )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
