"""A rep's day, in a real browser: the Today page, a call task done, the next one up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT
from followup.models import Task
from followup.setup import ensure_default_cadence
from leads.models import Lead
from routing.services import assign_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def given_lead(rep: Any, name: str, days_ago: float, **extra: Any) -> Lead:
    when = timezone.now() - timedelta(days=days_ago)
    lead = capture_lead(
        {**HOT, "email": f"{name.lower()}@example.com", "first_name": name, **extra},
        source="web_form",
        now=when,
    ).lead
    assign_lead(lead, now=when, to=rep)
    return lead


def test_a_rep_works_the_today_page(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    # Transactional tests empty the database after each: the migration's default cadence
    # may be gone.
    ensure_default_cadence(now=timezone.now())
    oscar = given_lead(org.rep1, "Oscar", 2, company_name="Acme", phone="+49 30 1234")
    given_lead(org.rep1, "Fiona", 0.01, company_name="Umbrella")
    given_lead(org.rep2, "Theo", 1)  # rep2's: not on rep1's list
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "rep1")
    page.fill("#id_password", "pass-rep1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # The nav leads to Today: Oscar's overdue call first, then Fiona's.
    page.click("nav >> text=Today")
    page.wait_for_url(f"{live_server.url}/today/")
    rows = page.locator("#tasks tr.task")
    assert rows.count() == 2
    first = rows.nth(0)
    assert first.locator("a.lead-link").inner_text() == "Oscar"
    assert first.locator(".channel").inner_text() == "Call"
    assert "overdue" in first.inner_text()
    assert rows.nth(1).locator("a.lead-link").inner_text() == "Fiona"
    assert page.locator("#task-count").inner_text() == "2"
    page.screenshot(path=str(screenshots / "today.png"), full_page=True)

    # Oscar did not pick up: the rep says so and clicks Done; htmx swaps the list.
    call = Task.objects.get(lead=oscar, status="open")
    first.locator("select").select_option("no_answer")
    first.locator("input[name$=notes]").fill("rang at 9, no answer")
    first.locator("button[type=submit]").click()

    # The touch is logged and the next step, an email to Oscar, is on the list, no reload.
    page.wait_for_selector("#task-flash")
    assert (
        page.locator("#task-flash")
        .inner_text()
        .startswith("Call with Oscar logged: No answer. Next: Email, due")
    )
    following = Task.objects.get(lead=oscar, status="open")
    assert following.channel == "email"
    row = page.locator(f"#task-{following.pk}")
    assert row.locator("a.lead-link").inner_text() == "Oscar"
    assert row.locator(".channel").inner_text() == "Email"
    assert page.locator(f"#task-{call.pk}").count() == 0
    assert page.locator("#task-count").inner_text() == "2"
    assert oscar.touches.get().outcome == "no_answer"
    page.screenshot(path=str(screenshots / "today-next.png"), full_page=True)
