"""Content streams in a real browser: marketing reaches /streams/ from the lists page,
creates a stream from a list, adds two pieces, moves the second first and pauses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from nurture import lists, services
from nurture.models import ContentPiece, ContentStream

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketing_builds_a_stream_and_orders_its_pieces(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    now = timezone.now()
    lists.create_list(by=org.marketer, name="Webinar no-shows", kind="static", now=now)
    services.create_template(
        by=org.marketer, now=now, name="Content piece", subject="{{ piece.title }}",
        text_body="{{ piece.url }}",
    )  # fmt: skip
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pass-marketer")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/lists/")
    page.click("#streams-link")
    page.wait_for_url(f"{live_server.url}/streams/")
    page.fill("#id_name", "Recording follow-up")
    page.select_option("#id_enrol_list", label="Webinar no-shows")
    page.select_option("#id_send_weekday", label="Tuesday")
    page.select_option("#id_send_hour", label="09:00")
    page.click("#stream-form button[type=submit]")
    page.locator("#members", has_text="0 active").wait_for()
    assert "one piece every 7 days on Tuesday at 09:00 in the lead's time zone" in (
        page.locator("#stream-summary").inner_text()
    )
    for title in ("The recording", "Case study: Acme"):
        page.fill("#piece-form #id_title", title)
        page.fill("#piece-form #id_url", f"https://example.com/{len(title)}")
        page.select_option("#piece-form #id_template", label="Content piece")
        page.click("#piece-form button[type=submit]")
        page.locator("#pieces", has_text=title).wait_for()
    page.click("button[aria-label='move Case study: Acme up']")
    page.wait_for_function(
        "document.querySelector('#pieces tbody tr td:nth-child(2)').innerText.startsWith('Case')"
    )
    page.click("#pause-stream")
    page.locator("#resume-stream").wait_for()
    page.screenshot(path=str(screenshots / "stream.png"), full_page=True)

    assert ContentStream.objects.get().status == "paused"
    assert list(ContentPiece.objects.order_by("position").values_list("title", flat=True)) == [
        "Case study: Acme",
        "The recording",
    ]
