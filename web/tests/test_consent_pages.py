"""The pages a person reaches from an email without signing in (one-click unsubscribe,
RFC 8058, and the preference page), and the consent card of the lead page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from leads.models import Lead
from nurture import consent, services, tokens
from nurture.choices import Purpose
from nurture.models import Consent, EmailTemplate, Message
from qualify.models import Event


@pytest.fixture(autouse=True)
def fresh_rate_limit(db: None) -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def message(org: Any, now: datetime) -> Message:
    """A newsletter queued for Ann, who agreed to the newsletter and to events."""
    lead = Lead.objects.create(
        email="ann@acme.io", first_name="Ann", arrived_at=now, stage_changed_at=now,
        owner=org.rep1, team=org.emea, stage="mql",
    )  # fmt: skip
    for purpose in ("newsletter", "events"):
        consent.record(lead, purpose, granted=True, source="form", now=now)
    template = EmailTemplate.objects.create(
        name="News", subject="News", text_body="Hello", created_at=now, updated_at=now
    )
    return services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)


def path(kind: str, message: Message) -> str:
    return f"/{kind}/{tokens.make(kind, message.pk)}"


def answers(lead: Lead) -> dict[str, bool]:
    return {row.purpose.slug: row.granted for row in consent.current(lead) if row.consent}


def test_one_click_post_withdraws_the_purpose_and_tells_the_score(
    client: Client, message: Message
) -> None:
    lead = message.lead
    assert lead is not None

    # As a mail client does it (RFC 8058): a POST with no cookie, no CSRF token.
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        path("unsubscribe", message),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert answers(lead) == {"newsletter": False, "events": True}
    withdrawn = Consent.objects.filter(lead=lead, granted=False).get()
    assert (withdrawn.source, withdrawn.reference) == ("unsubscribe", f"message {message.pk}")
    [event] = Event.objects.filter(lead=lead, kind="unsubscribed")
    assert event.properties == {"purpose": "newsletter", "message_id": message.pk}
    assert event.points < 0
    # A second click (a scanner, a double click) adds nothing.
    client.post(path("unsubscribe", message), "List-Unsubscribe=One-Click",
                content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert Consent.objects.filter(lead=lead).count() == 3
    assert Event.objects.filter(lead=lead, kind="unsubscribed").count() == 1


def test_a_get_shows_a_confirmation_and_unsubscribes_nobody(
    client: Client, message: Message
) -> None:
    response = client.get(path("unsubscribe", message))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="unsubscribe-button"' in body
    assert "Stop sending <strong>Newsletter</strong> to ann@acme.io?" in body
    assert 'href="http' in body and "/preferences/" in body
    assert 'class="nav"' not in body
    assert message.lead is not None
    assert answers(message.lead) == {"newsletter": True, "events": True}


@pytest.mark.parametrize("kind", ["unsubscribe", "preferences"])
def test_forged_altered_and_other_kind_tokens_get_the_styled_404(
    client: Client, message: Message, kind: str
) -> None:
    genuine = tokens.make(kind, message.pk)
    other = "preferences" if kind == "unsubscribe" else "unsubscribe"
    bad = [
        "nonsense",
        genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),
        tokens.make(other, message.pk),
        tokens.make("click", message.pk, url="https://example.com"),
        tokens.make(kind, message.pk + 1000),  # no such message
    ]

    for token in bad:
        for method in (client.get, client.post):
            response = method(f"/{kind}/{token}")
            assert response.status_code == 404, (token, method)
            assert "This link is not valid" in response.content.decode()
    assert message.lead is not None
    assert answers(message.lead) == {"newsletter": True, "events": True}


def test_the_preference_page_shows_and_changes_each_purpose(
    client: Client, message: Message
) -> None:
    lead = message.lead
    assert lead is not None
    url = path("preferences", message)

    shown = client.get(url).content.decode()
    assert 'value="newsletter" checked' in shown
    assert 'value="events" checked' in shown
    assert 'value="product_updates">' in shown
    assert "What is new in the product" in shown

    saved = client.post(url, {"purpose": ["newsletter", "product_updates"]})

    assert saved.status_code == 200
    assert 'id="saved"' in saved.content.decode()
    assert answers(lead) == {"newsletter": True, "events": False, "product_updates": True}
    assert [
        (row.purpose.slug, row.granted)
        for row in Consent.objects.filter(lead=lead, source="preference_page").order_by("pk")
    ] == [("events", False), ("product_updates", True)]
    assert Event.objects.filter(lead=lead, kind="unsubscribed").count() == 1

    client.post(url, {"unsubscribe_all": "1", "purpose": ["newsletter"]})

    assert answers(lead) == {"newsletter": False, "events": False, "product_updates": False}


def test_unsubscribe_from_all_also_says_no_to_what_was_never_asked(
    client: Client, message: Message, now: datetime
) -> None:
    lead = message.lead
    assert lead is not None

    client.post(path("preferences", message), {"unsubscribe_all": "1"})
    later = consent.record(lead, "product_updates", granted=True, source="form", now=now)

    assert answers(lead) == {"newsletter": False, "events": False, "product_updates": False}
    assert later.consent is None


def test_a_test_send_has_no_unsubscribe_page(client: Client, org: Any, now: datetime) -> None:
    template = EmailTemplate.objects.create(
        name="T", subject="T", text_body="x", created_at=now, updated_at=now
    )
    test = services.queue_message(
        None, template, purpose=Purpose.TEST, now=now, to_address="colleague@acme.io"
    )

    assert client.get(path("unsubscribe", test)).status_code == 404


def test_the_public_pages_are_rate_limited_but_never_a_genuine_one_click(
    client: Client, message: Message, settings: Any
) -> None:
    settings.LEADLOOP_FORM_RATE_PER_MINUTE = 2
    pages = [client.get(path("preferences", message)).status_code for _ in range(3)]
    guesses = [client.post("/unsubscribe/guess").status_code for _ in range(2)]
    # A mailbox provider posting many users' one-clicks from one address.
    one_click = client.post(path("unsubscribe", message), {"List-Unsubscribe": "One-Click"})

    assert pages == [200, 200, 429]
    assert guesses == [429, 429]
    assert one_click.status_code == 200
    assert message.lead is not None
    assert answers(message.lead)["newsletter"] is False


def test_the_lead_page_shows_consent_and_lets_marketing_record_it(
    client_for: Any, org: Any, message: Message
) -> None:
    lead = message.lead
    assert lead is not None
    marketer, rep = client_for(org.marketer), client_for(org.rep1)

    page = marketer.get(f"/leads/{lead.pk}/").content.decode()
    card = page.split('id="lead-consent"')[1].split("</section>")[0]
    assert "<strong>Newsletter</strong>" in card
    assert 'id="consent-form"' in card
    assert 'id="consent-form"' not in rep.get(f"/leads/{lead.pk}/").content.decode()

    by_rep = rep.post(f"/leads/{lead.pk}/consent/", {"purpose": "events", "granted": "no"})
    marketer.post(
        f"/leads/{lead.pk}/consent/",
        {"purpose": "events", "granted": "no", "text": "asked us by phone"},
    )

    assert by_rep.status_code == 403
    assert answers(lead)["events"] is False
    row = Consent.objects.filter(lead=lead, source="person").get()
    assert (row.by, row.text) == (org.marketer, "asked us by phone")


def test_the_purposes_page_lets_marketing_add_one(client_for: Any, org: Any) -> None:
    marketer, rep = client_for(org.marketer), client_for(org.rep1)

    made = marketer.post(
        "/email/purposes/",
        {"slug": "webinars", "name": "Webinars", "description": "Invitations", "is_active": "on"},
    )
    refused = rep.post("/email/purposes/", {"slug": "x", "name": "X"})
    bad = marketer.post("/email/purposes/", {"slug": "Not a slug!", "name": "X"})

    assert made.status_code == 302
    assert refused.status_code == 403
    assert bad.status_code == 400
    assert "slug: a slug of lower-case letters" in bad.content.decode()
    assert "Webinars" in rep.get("/email/purposes/").content.decode()
