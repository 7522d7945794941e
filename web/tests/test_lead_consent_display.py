"""The lead page shows consent and tracking in people's words, times in the viewer's zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from leads.models import Lead
from users.models import User
from web.display import extra_facts

# A Tuesday afternoon in November, UTC: 15:02 in Berlin.
TUESDAY_1402 = datetime(2026, 11, 3, 14, 2, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_rate_limit(db: None) -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def consenting_lead(org, client_for, monkeypatch: pytest.MonkeyPatch) -> Lead:  # type: ignore[no-untyped-def]
    """Ann ticked the consent box of the "Contact us" form, arriving from a newsletter."""
    client_for(org.marketer).post(
        reverse("web:form_new"),
        {
            "name": "Contact us",
            "slug": "",
            "campaign": "",
            "fields": ["email", "company_name"],
            "required_fields": ["email"],
            "consent_text": "Send me product news by email",
            "consent_purpose": "product newsletter",
            "thank_you_message": "Thanks.",
            "thank_you_url": "",
            "is_active": "on",
        },
    )
    monkeypatch.setattr("django.utils.timezone.now", lambda: TUESDAY_1402)
    Client().post(
        reverse("capture:form", args=["contact-us"]) + "?utm_source=newsletter",
        {
            "email": "ann@acme.io",
            "company_name": "Acme",
            "consent": "on",
            "utm_source": "newsletter",
            "referrer": "https://blog.example.com/post",
        },
    )
    monkeypatch.undo()
    return Lead.objects.get(email="ann@acme.io")


def test_the_lead_page_shows_consent_and_tracking_with_labels_in_the_viewers_zone(
    org, consenting_lead: Lead, client_for
) -> None:  # type: ignore[no-untyped-def]
    User.objects.filter(pk=org.admin.pk).update(timezone="Europe/Berlin")
    org.admin.refresh_from_db()

    body = (
        client_for(org.admin).get(reverse("web:lead", args=[consenting_lead.pk])).content.decode()
    )

    card = body.split('id="lead-consent"')[1].split("</section>")[0]
    assert "<strong>product newsletter</strong>" in card
    assert '<span class="badge">granted</span>' in card
    assert (
        'Web form · Contact us (contact-us) · <span class="nowrap">3 Nov 2026 15:02</span>'
    ) in card
    assert "Agreed to: “Send me product news by email”" in card
    assert "<dt>Source (UTM)</dt><dd>newsletter</dd>" in body
    assert "<dt>Referrer</dt><dd>https://blog.example.com/post</dd>" in body
    for raw in ("marketing_consent", "utm_source", "2026-11-03T14:02"):
        assert raw not in body.split('<dl class="facts">')[1].split("</dl>")[0]


def test_other_custom_fields_keep_their_value_under_a_readable_label() -> None:
    shown = extra_facts({"lead_source_detail": "booth 12", "utm_medium": "email"})

    assert shown.facts == [("Lead source detail", "booth 12"), ("Medium (UTM)", "email")]
