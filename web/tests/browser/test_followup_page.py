"""A manager's follow-up page in a real browser: filtered to one rep, a number opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analytics.tests.stories import followup_story

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_filters_to_one_rep_and_opens_the_leads_behind_a_number(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    story = followup_story(org)
    _, dropped = story["rep1"]
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "pass-manager")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("nav >> text=Follow-up")
    page.wait_for_url(f"{live_server.url}/reports/follow-up/")
    # Both reps, four charts drawn by the local plotly.
    assert page.locator("#followup-rate-table tbody tr").count() == 2
    for chart in ("rate", "speed", "attempts", "leakage"):
        assert page.locator(f"#followup-{chart}-chart .main-svg").count() >= 1

    page.select_option("#id_rep", str(org.rep1.pk))
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/reports/follow-up/?*rep=*")
    rows = page.locator("#followup-rate-table tbody tr")
    assert rows.count() == 1
    assert org.rep1.display_name in rows.first.inner_text()
    page.screenshot(path=str(screenshots / "followup-one-rep.png"), full_page=True)

    # The rep gave up on one lead after a single attempt: that "1" opens exactly it.
    page.locator("#followup-attempts-table tbody tr").first.locator("a[href*='bucket=1']").click()
    page.wait_for_url("**/leads/?*followup=dropped*")
    assert "dropped by the rep" in page.locator("#followup-caption").inner_text()
    listed = page.locator("#results tbody tr")
    assert listed.count() == 1
    assert dropped.email in listed.first.inner_text()
    assert problems == []
