"""The lead page's facts in a real browser: no label runs into its value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT
from nurture import consent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every label and value of the facts list that is wider than its box (it would paint
# over its neighbour): empty when nothing overlaps.
OVERFLOWING = """() => [...document.querySelectorAll('dl.facts > dt, dl.facts > dd')]
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => el.textContent.trim())"""


def test_consent_and_tracking_facts_fit_beside_their_labels(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    lead = capture_lead(
        {
            **HOT,
            "email": "ann@example.com",
            "first_name": "Ann",
            "custom_fields": {
                "utm_source": "newsletter",
                "utm_campaign": "autumn_launch_2026_emea_partners",
                "referrer": "https://blog.example.com/2026/11/a-very-long-article-slug?x=1&y=2",
                "preferred_contact_channel_for_partner": "phone",
            },
        },
        source="api",
        now=timezone.now(),
    ).lead
    consent.record(
        lead, "newsletter", granted=True, source="form", now=timezone.now(),
        reference="Contact us (contact-us)", text="Send me product news by email",
    )  # fmt: skip
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pass-admin")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/leads/{lead.pk}/")

    assert page.locator("dl.facts dt", has_text="Source (UTM)").count() == 1
    assert page.evaluate(OVERFLOWING) == []
    page.screenshot(path=str(screenshots / "lead-facts.png"), full_page=True)
