"""Marketing changes the scoring model in a real browser: the what-if follows the edit,
saving rescores the leads, and the lead page gives the new reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from capture.services import capture_lead
from leads.models import Lead
from qualify.document import default_document, to_yaml

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WARM = {"need": "forecasting", "authority": "influencer", "timeline": "year", "country": "DE"}


def test_marketing_edits_a_rule_sees_the_what_if_saves_and_the_lead_shows_why(
    org: Any, live_server: Any, browser: Any, screenshots: Path, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    lead = capture_lead(
        {"email": "ann@acme.io", "first_name": "Ann", "industry": "Software", **WARM},
        source="api",
        now=timezone.now(),
    ).lead
    edited = default_document()
    edited["fit"].append(
        {"label": "software company", "field": "industry", "operator": "equals",
         "value": "Software", "points": 40}
    )  # fmt: skip
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pass-marketer")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("nav >> text=Scoring")
    page.wait_for_selector("#preview-summary")
    assert "none change segment" in page.inner_text("#preview-summary")

    page.fill("#scoring-document", to_yaml(edited))
    page.wait_for_selector(".preview-move")
    assert "1 move nurture→sales_ready" in page.inner_text("#preview-summary")
    assert "1 change grade" in page.inner_text("#preview-summary")
    page.screenshot(path=str(screenshots / "scoring-what-if.png"), full_page=True)

    page.fill("#scoring-note", "software companies buy")
    page.click("#scoring-save")
    page.wait_for_selector("#rescore-percent")
    assert page.inner_text("#rescore-percent") == "100 %"

    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    reasons = page.inner_text("#scoring .reasons")
    assert "+40 software company" in reasons
    assert Lead.objects.get(pk=lead.pk).segment == "sales_ready"
    page.screenshot(path=str(screenshots / "scoring-lead.png"), full_page=True)
