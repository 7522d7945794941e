"""In a real browser: the touch form offers only the outcomes that fit the chosen kind."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT
from followup.models import Touch
from routing.services import assign_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OFFERED = """() => {
    const select = document.querySelector('#touch-form select[name=outcome]');
    const shown = select.closest('.field').style.display !== 'none';
    return [shown, [...select.options]
        .filter(o => !o.disabled && !(o.parentElement.disabled) && o.value)
        .map(o => o.textContent.trim())];
}"""


def test_a_note_offers_no_outcome_and_an_email_only_an_emails(
    org: Any, live_server: Any, browser: Any
) -> None:
    now = timezone.now()
    lead = capture_lead({**HOT, "email": "ann@acme.io"}, source="api", now=now).lead
    assign_lead(lead, now=now, to=org.rep1)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "rep1")
    page.fill("#id_password", "pass-rep1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")

    call = page.evaluate(OFFERED)
    page.select_option("#touch-form select[name=outcome]", "wrong_number")
    page.select_option("#touch-form select[name=kind]", "email")
    email = page.evaluate(OFFERED)
    chosen_after_switch = page.input_value("#touch-form select[name=outcome]")
    page.select_option("#touch-form select[name=kind]", "note")
    note = page.evaluate(OFFERED)
    page.fill("#touch-form textarea[name=notes]", "Asked about pricing")
    page.click("#touch-form button[type=submit]")
    page.wait_for_selector("text=Asked about pricing")

    assert call == [
        True,
        [
            "Connected",
            "Left voicemail",
            "No answer",
            "Wrong number",
            "Meeting booked",
            "Not interested",
        ],
    ]
    assert email == [True, ["Sent", "Replied", "Meeting booked", "Not interested"]]
    assert chosen_after_switch == ""  # "Wrong number" does not follow the switch to email
    assert note == [False, []]
    assert list(Touch.objects.values_list("kind", "outcome")) == [("note", "")]
