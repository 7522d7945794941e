"""In a real browser: an admin subscribes a local receiver, copies the secret it is shown
once, sends a test event and sees it in the delivery log."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from outgoing_webhooks.models import Subscription
from outgoing_webhooks.rules import verify_signature
from outgoing_webhooks.tests.conftest import receiver  # noqa: F401 -- the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_subscribes_copies_the_secret_and_sends_a_test_event(
    org: Any,
    live_server: Any,
    browser: Any,
    screenshots: Path,
    receiver: Any,  # noqa: F811
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pass-admin")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/webhooks/")
    page.click("#outgoing-webhooks-link")
    page.click("#new-subscription")
    page.fill("#id_name", "CRM")
    page.fill("#id_url", receiver.url)
    page.check("input[value='lead.won']")
    page.check("input[value='lead.sla_breached']")
    page.click("#save-subscription")
    page.wait_for_selector("#new-secret")
    page.click("button[data-copy='secret-value']")
    page.wait_for_function(
        "document.querySelector(\"button[data-copy='secret-value']\").textContent === 'Copied'"
    )
    page.screenshot(path=str(screenshots / "outgoing-webhook-secret.png"), full_page=True)
    copied = page.evaluate("navigator.clipboard.readText()")
    subscription = Subscription.objects.get()
    assert copied == subscription.secret

    page.click("#send-test")
    page.wait_for_selector("text=Test event delivered: the receiver answered 200.")
    page.screenshot(path=str(screenshots / "outgoing-webhook-log.png"), full_page=True)

    assert page.locator("#new-secret").count() == 0
    assert "leadloop.test" in page.locator("#delivery-log").inner_text()
    [request] = receiver.requests
    assert json.loads(request.body)["type"] == "leadloop.test"
    assert verify_signature(
        copied, request.headers["X-Leadloop-Signature"], request.body, now=int(time.time())
    )
