"""Lists in a real browser: marketing types a smart list's conditions and sees the live
count, then puts a lead ticked on the leads page into a static list."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT
from nurture import lists
from nurture.models import ListMember

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketing_builds_a_smart_list_and_fills_a_static_one(
    org: Any, live_server: Any, browser: Any
) -> None:
    now = timezone.now()
    ann = capture_lead(
        {**HOT, "email": "ann@example.de", "country": "DE"}, source="api", now=now
    ).lead
    capture_lead({**HOT, "email": "bob@example.com", "country": "US"}, source="api", now=now)
    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=now)
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pass-marketer")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/lists/")
    page.fill("#id_name", "Germany")
    page.fill("#id_conditions", "country is DE")
    page.locator("#live-count", has_text="1 lead match now").wait_for()
    page.click("#list-form button[type=submit]")
    page.locator("#members", has_text="ann@example.de").wait_for()
    assert "bob@example.com" not in page.locator("#members").inner_text()

    page.goto(f"{live_server.url}/leads/")
    page.check(f"input[name=lead][value='{ann.pk}']")
    page.select_option("select[name=target]", str(vip.pk))
    page.click("#bulk-actions button[type=submit]")
    page.locator(".msg", has_text="1 added to 'VIP'").first.wait_for()
    assert list(ListMember.objects.filter(lead_list=vip).values_list("lead_id", flat=True)) == [
        ann.pk
    ]
