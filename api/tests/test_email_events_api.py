"""Bounces, complaints and deliveries reported to `POST /api/v1/email/events` (an API token
of marketing or an admin, or an HMAC signature with the shared secret), and the same
reports through django-anymail's tracking signal."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client

from conftest import bearer
from demo.story import demo_scoring_document
from leads.models import Lead
from nurture import services
from nurture.choices import MessageStatus, Purpose
from nurture.models import DeliveryEvent, Message, Suppression
from qualify.models import Event
from qualify.services import save_model
from users.models import User

pytestmark = pytest.mark.django_db
URL = "/api/v1/email/events"


def post(client: Client, body: Any, user: User | None = None) -> Any:
    headers = {"HTTP_AUTHORIZATION": bearer(user)} if user is not None else {}
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)  # type: ignore[arg-type]


@pytest.fixture
def lead(org: Any, now: datetime) -> Lead:
    return Lead.objects.create(email="ann@acme.de", arrived_at=now, stage_changed_at=now)


@pytest.fixture
def message(org: Any, lead: Lead, now: datetime) -> Message:
    template = services.create_template(
        by=org.marketer, now=now, name="T", subject="Hi", text_body="Hello"
    )
    return services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)


def test_a_permanent_bounce_suppresses_the_address_and_is_a_negative_signal(
    org: Any, lead: Lead, message: Message, client: Client, clock: datetime
) -> None:
    save_model(demo_scoring_document(), by=org.marketer, now=clock)
    assert message.template is not None
    later = services.queue_message(lead, message.template, purpose=Purpose.MARKETING, now=clock)

    response = post(client, [
        {"type": "bounce", "message_id": message.message_id, "permanent": True,
         "reason": "550 5.1.1 no such user", "at": "2026-11-16T09:00:00+00:00"},
    ], org.marketer)  # fmt: skip

    assert response.status_code == 200, response.content
    assert response.json() == {
        "recorded": 1, "duplicates": 0, "rejected": 0,
        "items": [{"index": 0, "status": "recorded", "suppressed": True, "error": None}],
    }  # fmt: skip
    assert Suppression.objects.get().address == "ann@acme.de"
    later.refresh_from_db()
    assert later.status == MessageStatus.SUPPRESSED
    event = Event.objects.get()
    assert (event.lead_id, event.kind, event.points) == (lead.pk, "email_bounce", -5)
    assert event.properties["message_id"] == message.pk
    row = DeliveryEvent.objects.get()
    assert (row.type, row.address, row.message_id, row.is_permanent, row.source) == (
        "bounce",
        "ann@acme.de",
        message.pk,
        True,
        "api",
    )


def test_soft_bounces_suppress_after_the_limit_and_a_delivery_starts_the_count_again(
    org: Any, lead: Lead, client: Client, clock: datetime, settings: Any
) -> None:
    settings.LEADLOOP_EMAIL_SOFT_BOUNCE_LIMIT = 3
    soft = {"type": "bounce", "email": "Ann@Acme.de", "reason": "452 mailbox full"}

    assert post(client, [soft, soft], org.marketer).json()["items"][1]["suppressed"] is False
    post(client, [{"type": "delivered", "email": "ann@acme.de",
                   "at": (clock + timedelta(minutes=1)).isoformat()}], org.marketer)  # fmt: skip
    later = (clock + timedelta(minutes=2)).isoformat()
    answers = post(client, [{**soft, "at": later}] * 3, org.marketer).json()["items"]

    assert [item["suppressed"] for item in answers] == [False, False, True]
    assert Suppression.objects.filter(address="ann@acme.de").exists()


def test_a_complaint_suppresses_at_once(
    org: Any, lead: Lead, client: Client, clock: datetime
) -> None:
    response = post(client, [{"type": "complaint", "email": "ann@acme.de"}], org.admin)

    assert response.json()["items"][0]["suppressed"] is True
    assert Event.objects.get().kind == "email_complaint"


def test_a_signed_request_is_accepted_and_a_wrong_signature_or_a_reps_token_is_refused(
    org: Any, lead: Lead, client: Client, clock: datetime, settings: Any
) -> None:
    settings.LEADLOOP_EMAIL_EVENTS_SECRET = "s3cret"
    body = json.dumps([{"type": "complaint", "email": "ann@acme.de", "id": "evt-1"}])
    signature = hmac.new(b"s3cret", body.encode(), hashlib.sha256).hexdigest()

    def send(header: str) -> Any:
        return client.post(
            URL, body, content_type="application/json", HTTP_X_LEADLOOP_SIGNATURE=header
        )

    assert send("sha256=" + "0" * 64).status_code == 401
    assert post(client, json.loads(body), org.rep1).status_code == 403
    assert not Suppression.objects.exists()
    assert send(f"sha256={signature}").json()["recorded"] == 1
    # The sender's retry (same id) changes nothing.
    assert send(f"sha256={signature}").json()["duplicates"] == 1
    assert DeliveryEvent.objects.count() == 1 and Event.objects.count() == 1


def test_bad_reports_are_refused_naming_the_field(
    org: Any, client: Client, clock: datetime
) -> None:
    wrong_type = post(client, [{"type": "opened", "email": "a@b.io"}], org.marketer)
    nobody = post(client, [{"type": "bounce"}], org.marketer)
    unknown_message = post(client, [{"type": "bounce", "message_id": "<nope@x>"}], org.marketer)

    assert wrong_type.status_code == 422
    assert "0.type" in wrong_type.json()["errors"][0]["field"]
    assert nobody.status_code == 422
    assert "email or message_id" in nobody.json()["detail"]
    assert unknown_message.json()["items"][0] == {
        "index": 0, "status": "rejected", "suppressed": False,
        "error": {"field": "0.message_id", "message": "no message '<nope@x>'"},
    }  # fmt: skip


def test_anymails_tracking_signal_reaches_the_same_handler(
    org: Any, lead: Lead, clock: datetime
) -> None:
    for event_type, event_id in (("delivered", "d1"), ("bounced", "b1"), ("bounced", "b1")):
        tracking.send(
            sender=object,
            event=AnymailTrackingEvent(
                event_type=event_type,
                recipient="ann@acme.de",
                event_id=event_id,
                timestamp=clock,
                description="Hard bounce",
            ),
            esp_name="Postmark",
        )

    assert Suppression.objects.get().reason == "bounce (anymail:Postmark): Hard bounce"
    assert list(DeliveryEvent.objects.order_by("pk").values_list("type", "source")) == [
        ("delivered", "anymail:Postmark"),
        ("bounce", "anymail:Postmark"),
    ]
    assert Event.objects.filter(kind="email_bounce").count() == 1
