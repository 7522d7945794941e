"""In a real browser: the embed page's Copy button puts the snippet on the clipboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from capture.models import WebForm

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketing_copies_the_embed_snippet(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    WebForm.objects.create(name="Demo request", slug="demo-request")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pass-marketer")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/f/demo-request/embed/")
    page.click("#copy-snippet")
    page.wait_for_function("document.getElementById('copy-snippet').textContent === 'Copied'")
    page.screenshot(path=str(screenshots / "embed-copy.png"), full_page=True)

    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.input_value("#snippet")
    assert copied.startswith('<form action="')


def test_a_manager_sets_a_reps_time_zone_and_the_team_calendar(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "pass-manager")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("a.who")
    page.wait_for_url(f"{live_server.url}/settings/")
    page.click("text=Teams")
    page.click("#teams-table >> text=Edit")
    page.fill("#id_workday_end", "08:00")
    page.click("#team-form button[type=submit]")
    assert (
        "the working day must end after it starts"
        in page.locator("#id_workday_end_error").inner_text()
    )
    page.screenshot(path=str(screenshots / "team-refused.png"), full_page=True)
    page.fill("#id_workday_end", "18:00")
    page.click("#team-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/teams/")

    page.goto(f"{live_server.url}/people/{org.rep1.pk}/")
    page.select_option("#id_timezone", "Europe/Berlin")
    page.click("#person-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/people/")
    page.screenshot(path=str(screenshots / "people.png"), full_page=True)

    org.emea.refresh_from_db()
    org.rep1.refresh_from_db()
    assert (str(org.emea.workday_end), org.rep1.timezone) == ("18:00:00", "Europe/Berlin")
