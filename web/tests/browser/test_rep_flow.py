"""A rep's morning, in a real browser: log in, open the oldest overdue lead, call it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT
from leads.models import Lead
from routing.services import assign_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def given_leads_of(rep: Any) -> dict[str, Lead]:
    """Four leads for `rep`: two overdue (10 and 6 days old) and two fresh ones."""
    now = timezone.now()
    leads = {}
    for name, days, extra in [
        ("Olga", 6, {"company_name": "Globex", "title": "Head of Sales"}),
        ("Frank", 0, {"company_name": "Initech"}),
        ("Oscar", 10, {"company_name": "Acme", "title": "CTO", "phone": "+49 30 1234"}),
        ("Fiona", 0.01, {"company_name": "Umbrella"}),
    ]:
        when = now - timedelta(days=days)
        lead = capture_lead(
            {**HOT, "email": f"{name.lower()}@example.com", "first_name": name, **extra},
            source="web_form",
            now=when,
        ).lead
        assign_lead(lead, now=when, to=rep)
        leads[name] = lead
    return leads


def test_rep_logs_a_call_on_the_oldest_overdue_lead(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    leads = given_leads_of(org.rep1)
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(10_000)

    # The rep logs in through the login page.
    page.goto(f"{live_server.url}/")
    assert page.url.endswith("/login/?next=/")
    page.fill("#id_username", "rep1")
    page.fill("#id_password", "pass-rep1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # The inbox lists the oldest overdue lead first, marked overdue.
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 4
    first = rows.nth(0)
    assert first.locator("a.lead-link").inner_text() == "Oscar"
    assert first.locator(".badge.red").inner_text().startswith("overdue by ")
    assert rows.nth(1).locator("a.lead-link").inner_text() == "Olga"
    assert page.locator(".badge.red").count() == 2
    page.screenshot(path=str(screenshots / "inbox.png"), full_page=True)

    # The rep opens it and logs a call through the touch form (htmx swaps the panel).
    first.locator("a.lead-link").click()
    page.wait_for_url(f"{live_server.url}/leads/{leads['Oscar'].pk}/")
    assert "overdue by" in page.locator("#sla-panel").inner_text()
    page.select_option("#id_kind", "call")
    page.select_option("#id_outcome", "connected")
    page.fill("#id_notes", "Spoke to Oscar, demo on Thursday")
    page.click("#touch-form button[type=submit]")

    # The SLA panel says the clock stopped and the call is on the timeline, no reload.
    page.wait_for_selector("#sla-panel.sla-stopped")
    assert "Clock stopped" in page.locator("#sla-panel").inner_text()
    newest = page.locator("#timeline li").first
    assert "Call: Connected" in newest.inner_text()
    assert "Spoke to Oscar, demo on Thursday" in newest.inner_text()
    assert page.url == f"{live_server.url}/leads/{leads['Oscar'].pk}/"
    page.screenshot(path=str(screenshots / "lead.png"), full_page=True)

    oscar = Lead.objects.get(pk=leads["Oscar"].pk)
    assert oscar.first_touch_at is not None
    assert oscar.touch_count == 1
