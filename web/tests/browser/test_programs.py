"""A nurture program in a real browser: marketing builds a three-step program with the
builder's forms, starts it, ticks a lead on the leads page to enrol it, and after the
sweep reads on the monitor where the lead is and what was sent; then pauses it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from leads.models import Lead
from nurture import programs, services
from nurture.models import Message, Program

from .steps import add_step, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketing_builds_starts_enrols_and_monitors_a_program(
    org: Any, live_server: Any, browser: Any
) -> None:
    now = timezone.now()
    services.create_template(
        by=org.marketer, now=now, name="Recording", subject="The recording", text_body="Watch"
    )
    ann = Lead.objects.create(
        email="ann@example.de", first_name="Ann", country="DE", stage="nurturing",
        arrived_at=now, stage_changed_at=now,
    )  # fmt: skip
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "marketer")

    page.click("nav.nav >> text=Programs")
    page.fill("#id_name", "Webinar recording")
    page.fill("#id_purpose", "events")
    page.click("#program-form button[type=submit]")
    page.locator("h1", has_text="Webinar recording").wait_for()

    add_step(page, "send_email", {"name": "recording"}, {"template": "Recording"})
    add_step(page, "wait", {"name": "two days", "days": "2"})
    add_step(page, "hand_to_sales", {"name": "hand over", "reason": "watched the recording"})
    steps = page.locator("#builder-steps li")
    assert steps.count() == 3
    assert "two days" in steps.nth(1).inner_text()
    page.click("#resume-program")
    page.locator("#program-status", has_text="Active").wait_for()

    page.goto(f"{live_server.url}/leads/")
    page.check(f"input[name=lead][value='{ann.pk}']")
    page.select_option("#bulk-program", label="Webinar recording")
    page.click("#bulk-enrol button[type=submit]")
    page.locator(".msg", has_text="1 of 1 enrolled").first.wait_for()

    programs.run_due(now=timezone.now())
    program = Program.objects.get(name="Webinar recording")
    page.goto(f"{live_server.url}/programs/{program.pk}/")
    assert page.locator("#step-1 td").nth(2).inner_text() == "1"  # one lead at the wait
    assert page.locator("#step-0 td").nth(3).inner_text() == "1"  # it reached the email
    assert "ann@example.de" in page.locator("#runs").inner_text()
    assert Message.objects.get(lead=ann).subject == "The recording"

    page.click("#pause-program")
    page.locator("#program-status", has_text="Paused").wait_for()
    assert Message.objects.get(lead=ann).status == "held"
