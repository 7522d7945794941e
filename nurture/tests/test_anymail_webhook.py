"""A provider's tracking webhook through django-anymail (Postmark's format): a hard bounce
posted to /anymail/postmark/tracking/ suppresses the address, as the JSON webhook does."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path

from leadloop import urls as site_urls
from leads.models import Lead
from nurture.models import DeliveryEvent, Suppression
from qualify.models import Event

# leadloop/urls.py includes anymail's URLs when ANYMAIL_WEBHOOK_SECRET is set at start-up;
# this test's URLconf includes them the same way.
urlpatterns = [*site_urls.urlpatterns, path("anymail/", include("anymail.urls"))]
handler400 = site_urls.handler400


@pytest.mark.urls(__name__)
def test_a_postmark_hard_bounce_suppresses_the_address(
    org: Any, now: datetime, settings: Any, client: Client
) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "leadloop:secret-words"}
    lead = Lead.objects.create(email="ann@acme.de", arrived_at=now, stage_changed_at=now)
    bounce = {
        "RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce",
        "TypeCode": 1, "Email": "ann@acme.de", "BouncedAt": "2026-11-16T10:00:00Z",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Inactive": True,
    }  # fmt: skip
    auth = "Basic " + base64.b64encode(b"leadloop:secret-words").decode()

    refused = client.post(
        "/anymail/postmark/tracking/", json.dumps(bounce), content_type="application/json"
    )
    response = client.post(
        "/anymail/postmark/tracking/", json.dumps(bounce), content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )  # fmt: skip

    assert refused.status_code == 400
    assert response.status_code == 200
    assert Suppression.objects.get().address == "ann@acme.de"
    assert DeliveryEvent.objects.get().source == "anymail:Postmark"
    assert Event.objects.get().lead_id == lead.pk
