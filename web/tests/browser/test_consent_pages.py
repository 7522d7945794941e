"""A person follows the links of a marketing email in a real browser, signed in nowhere:
the unsubscribe link asks first and unsubscribes on the button; the preference page
changes what they get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from leads.models import Lead
from nurture import consent, services, tokens
from nurture.choices import Purpose
from nurture.models import EmailTemplate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_unsubscribes_then_chooses_events_on_the_preference_page(
    org: Any, live_server: Any, browser: Any, screenshots: Path, settings: Any
) -> None:
    now = timezone.now()
    settings.LEADLOOP_BASE_URL = live_server.url
    lead = Lead.objects.create(
        email="ann@acme.io", first_name="Ann", arrived_at=now, stage_changed_at=now
    )
    # The purposes a new installation has (a data migration; a transactional test that
    # ran before may have flushed them).
    for slug in ("newsletter", "product_updates", "events"):
        consent.get_purpose(slug)
    consent.record(lead, "newsletter", granted=True, source="form", now=now)
    template = EmailTemplate.objects.create(
        name="News", subject="News", text_body="Hello", created_at=now, updated_at=now
    )
    message = services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
    page = browser.new_page(viewport={"width": 800, "height": 900})
    page.set_default_timeout(10_000)

    page.goto(tokens.link("unsubscribe", message.pk))
    assert "Stop sending Newsletter to ann@acme.io?" in page.inner_text("#consent-page")
    assert page.locator("nav").count() == 0
    page.screenshot(path=str(screenshots / "unsubscribe.png"), full_page=True)
    assert {r.purpose.slug: r.granted for r in consent.current(lead)}["newsletter"] is True

    page.click("#unsubscribe-button")
    page.wait_for_selector("#unsubscribed")
    assert {r.purpose.slug: r.granted for r in consent.current(lead)}["newsletter"] is False

    page.click("#preferences-link")
    page.wait_for_selector("#preferences")
    assert not page.is_checked("input[value=newsletter]")
    page.check("input[value=events]")
    page.click("#save-preferences")
    page.wait_for_selector("#saved")
    page.screenshot(path=str(screenshots / "preferences.png"), full_page=True)

    assert page.is_checked("input[value=events]")
    answers = {r.purpose.slug: r.granted for r in consent.current(lead) if r.consent}
    assert answers == {"newsletter": False, "events": True}
