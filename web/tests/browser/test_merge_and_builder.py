"""In a real browser: a manager merges a duplicate and undoes it; marketing builds a form."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from capture.models import WebForm
from capture.services import capture_lead
from conftest import HOT
from leads.models import Lead
from nurture.models import Consent
from routing.services import assign_lead

from .steps import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_merges_a_duplicate_and_undoes_it(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    now = timezone.now()
    ann = capture_lead(
        {**HOT, "email": "ann@acme.io", "first_name": "Ann", "last_name": "Lee",
         "company_name": "Acme", "phone": "+49 30 1234567", "title": "CTO"},
        source="web_form", now=now - timedelta(days=5),
    ).lead  # fmt: skip
    dup = capture_lead(
        {**HOT, "email": "ann.lee@gmail.com", "first_name": "Ann", "last_name": "Lee",
         "company_name": "Acme GmbH", "phone": "030 1234567", "title": "VP Engineering"},
        source="trade_show", now=now - timedelta(days=1),
    ).lead  # fmt: skip
    for lead in (ann, dup):
        assign_lead(lead, now=now, to=org.rep1)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "manager")

    # The top bar counts the pair; the queue opens the side-by-side screen.
    assert page.locator("#duplicate-count").inner_text() == "1"
    page.click("nav a:has-text('Duplicates')")
    page.click("#duplicates a:has-text('Compare')")
    assert page.locator("#row-title").is_visible()
    page.screenshot(path=str(screenshots / "merge.png"), full_page=True)

    # Keep Ann (the first lead) but take the newer title from the duplicate.
    page.check('input[name="survivor"][value="first"]')
    assert "keep-first" in (page.locator("#merge-table").get_attribute("class") or "")
    page.check('input[name="keep_title"][value="second"]')
    page.click("#merge-button")
    page.wait_for_url(f"{live_server.url}/leads/{ann.pk}/")
    assert "was merged into" in page.locator(".messages").inner_text()
    assert "VP Engineering" in page.locator(".lead-head").inner_text()
    assert Lead.objects.get(pk=dup.pk).merged_into_id == ann.pk

    # The merge history undoes it.
    page.goto(f"{live_server.url}/merges/")
    page.click("#merges button:has-text('Undo')")
    page.wait_for_url(f"{live_server.url}/merges/")
    assert "Merge undone" in page.locator(".messages").inner_text()
    assert Lead.objects.get(pk=dup.pk).merged_into_id is None
    assert Lead.objects.get(pk=ann.pk).title == "CTO"


def test_marketing_builds_a_form_and_a_person_fills_it_in(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "marketer")

    page.goto(f"{live_server.url}/forms/")
    # Until the page has loaded, its slug script may not be listening yet.
    with page.expect_navigation():
        page.click("#new-form")
    page.fill("#id_name", "Pricing question")
    assert page.input_value("#id_slug") == "pricing-question"  # made as the name is typed
    page.check('input[name="required_fields"][value="phone"]')  # ticks "ask" too
    phone = page.locator('#builder-fields tr:has(input[value="phone"])')
    for _ in range(3):
        phone.locator('button[data-move="up"]').click()
    page.fill("#id_consent_text", "Call me back about pricing")
    page.fill("#id_consent_purpose", "sales call-back")
    page.screenshot(path=str(screenshots / "form-builder.png"), full_page=True)
    page.click("#save-form")
    page.wait_for_url(f"{live_server.url}/forms/")

    webform = WebForm.objects.get()
    assert webform.fields == ["email", "phone", "first_name", "last_name", "company_name"]
    assert webform.required_fields == ["email", "phone"]

    # A person opens the hosted page: exactly those fields, phone required.
    visitor = browser.new_page()
    visitor.goto(f"{live_server.url}/f/pricing-question/")
    names = visitor.eval_on_selector_all(
        "form.public-form input:not([type=hidden]), form.public-form select",
        "els => els.map(e => e.name).filter(n => n !== 'homepage')",
    )
    assert names == ["email", "phone", "first_name", "last_name", "company_name", "consent"]
    visitor.fill("#id_email", "zoe@initech.io")
    visitor.click("button[type=submit]")
    assert "This field is required." in visitor.locator("#id_phone_error").inner_text()
    visitor.fill("#id_phone", "+1 415 555 0100")
    visitor.check("input[name=consent]")
    visitor.click("button[type=submit]")
    visitor.wait_for_selector(".thanks")
    lead = Lead.objects.get(email="zoe@initech.io")
    [given] = Consent.objects.filter(lead=lead)
    assert (given.purpose.name, given.granted, given.source) == ("sales call-back", True, "form")
