"""Marketing email through the REST API: templates, preview as a lead, test send, the
outbox; only marketing and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from conftest import bearer
from leads.models import Lead
from nurture.models import Message
from users.models import User

pytestmark = pytest.mark.django_db


def call(client: Client, method: str, path: str, user: User, body: Any = None) -> Any:
    send = getattr(client, method)
    if method == "get":
        return send(path, body or {}, HTTP_AUTHORIZATION=bearer(user))
    return send(path, body, content_type="application/json", HTTP_AUTHORIZATION=bearer(user))


def test_marketing_writes_previews_and_test_sends_a_template(
    org: Any, clock: datetime, client: Client, smtp_server: Any
) -> None:
    ann = Lead.objects.create(
        email="ann@example.io", first_name="Ann", arrived_at=clock, stage_changed_at=clock
    )
    created = call(client, "post", "/api/v1/email-templates", org.marketer, {
        "name": "Welcome", "subject": "Hi {{ first_name|default:'there' }}",
        "text_body": "Hello {{ first_name|default:\"there\" }}",
        "html_body": "<style>p{color:red}</style><p>Hello</p>",
    })  # fmt: skip
    assert created.status_code == 201, created.content
    pk = created.json()["id"]

    preview = call(client, "post", f"/api/v1/email-templates/{pk}/preview", org.marketer,
                   {"lead_id": ann.pk})  # fmt: skip
    assert preview.status_code == 200
    assert preview.json()["subject"] == "Hi Ann"
    assert 'style="color: red' in preview.json()["html"]

    sent = call(client, "post", f"/api/v1/email-templates/{pk}/test-send", org.marketer,
                {"to": "me@example.io", "lead_id": ann.pk})  # fmt: skip
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert len(smtp_server.messages) == 1

    outbox = call(client, "get", "/api/v1/outbox", org.marketer, {"status": "sent"})
    assert outbox.json()["count"] == 1
    assert outbox.json()["items"][0]["to_address"] == "me@example.io"

    patched = call(client, "patch", f"/api/v1/email-templates/{pk}", org.marketer,
                   {"subject": "{% if %}"})  # fmt: skip
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["field"] == "subject"
    assert "line 1" in patched.json()["errors"][0]["message"]

    assert call(client, "delete", f"/api/v1/email-templates/{pk}", org.admin).status_code == 204
    assert Message.objects.count() == 1


def test_a_rep_may_not_touch_email(org: Any, client: Client) -> None:
    assert call(client, "get", "/api/v1/email-templates", org.rep1).status_code == 403
    assert call(client, "get", "/api/v1/outbox", org.manager).status_code == 403
    created = call(client, "post", "/api/v1/email-templates", org.rep1,
                   {"name": "x", "subject": "x", "text_body": "x"})  # fmt: skip
    assert created.status_code == 403


def test_preview_as_an_unknown_lead_is_404(org: Any, client: Client, clock: datetime) -> None:
    created = call(client, "post", "/api/v1/email-templates", org.marketer,
                   {"name": "x", "subject": "x", "text_body": "x"})  # fmt: skip
    pk = created.json()["id"]
    answer = call(client, "post", f"/api/v1/email-templates/{pk}/preview", org.marketer,
                  {"lead_id": 999999})  # fmt: skip
    assert answer.status_code == 404
