"""Issue 12's walk in a real browser: marketing builds a three-step program, enrols a
lead from the leads page, the sweeps send the email, marketing reads it on the mailbox
page and clicks its pricing link (through the tracking redirect): the click is scored at
once, the lead turns sales-ready and is routed to a rep, and the program's run ends at
that goal at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from capture.services import capture_lead
from leadloop.sweeps import run_due
from leads.models import Lead
from nurture import consent, services
from nurture.choices import ConsentSource
from nurture.models import Enrolment, Message
from qualify.document import default_document
from qualify.services import save_model

from .steps import add_step, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRICING_CLICK = {
    "label": "clicked a pricing link in an email", "kind": "email_click",
    "property": {"name": "url", "operator": "contains", "value": "/pricing"}, "points": 20,
}  # fmt: skip
MAILBOX = {"default": {"BACKEND": "nurture.mailbox.MailboxBackend"}}


def message_opened(lead: Lead) -> bool:
    return Message.objects.filter(lead=lead, opened_at__isnull=False).exists()


def test_a_click_in_a_programs_email_hands_the_lead_to_sales(
    org: Any, live_server: Any, browser: Any
) -> None:
    now = timezone.now()
    model = default_document()
    rules = model["engagement"]["rules"]
    rules.insert([r["kind"] for r in rules].index("email_click"), PRICING_CLICK)
    save_model(model, by=org.marketer, now=now, note="pricing clicks")
    pricing = f"{live_server.url}/pricing"
    services.create_template(
        by=org.marketer, now=now, name="Recording", subject="The recording, {{ first_name }}",
        html_body=f'<p>Hi {{{{ first_name }}}}, see <a id="plans" href="{pricing}">our plans</a>.</p>',
        text_body="Hi {{ first_name }}",
    )  # fmt: skip
    # A good fit, not sales-ready yet: 20 + 15 + 15 = 50 points, nurtured.
    capture_lead(
        {"email": "ann@example.de", "first_name": "Ann", "country": "DE",
         "authority": "decision_maker", "budget": 20000, "timeline": "quarter"},
        source="api", now=now,
    )  # fmt: skip
    ann = Lead.objects.get(email="ann@example.de")
    assert (ann.score, ann.segment, ann.owner) == (50, "nurture", None)
    consent.record(ann, "newsletter", granted=True, source=ConsentSource.API, now=now)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "marketer")

    # Build: a program of three steps, started.
    page.click("nav.nav >> text=Programs")
    page.fill("#id_name", "Pricing nudge")
    page.click("#program-form button[type=submit]")
    page.locator("h1", has_text="Pricing nudge").wait_for()

    add_step(page, "send_email", {"name": "plans"}, {"template": "Recording"})
    add_step(page, "wait", {"name": "a week", "days": "7"})
    add_step(page, "hand_to_sales", {"name": "hand over", "reason": "a week after the plans"})
    page.click("#resume-program")
    page.locator("#program-status", has_text="Active").wait_for()

    # Enrol Ann from the leads page; the sweeps send her the email.
    page.goto(f"{live_server.url}/leads/")
    page.check(f"input[name=lead][value='{ann.pk}']")
    page.select_option("#bulk-program", label="Pricing nudge")
    page.click("#bulk-enrol button[type=submit]")
    page.locator(".msg", has_text="1 of 1 enrolled").first.wait_for()
    # Links in emails point at LEADLOOP_BASE_URL: here, the test's server.
    with override_settings(MAILERS=MAILBOX, LEADLOOP_BASE_URL=live_server.url):
        run_due(now=timezone.now())
    assert Message.objects.get(lead=ann).status == "sent"

    # Read it in the mailbox and click its link: the tracking redirect leads to pricing.
    page.goto(f"{live_server.url}/mailbox/")
    page.click("text=The recording, Ann")
    with page.context.expect_page() as opened:
        page.frame_locator("#message-html").locator("#plans").click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == pricing

    # Scored at once: sales-ready and routed to a rep, before any sweep ran.
    ann.refresh_from_db()
    # 50, +1 the open (the pixel loaded as she read it), +20 the click on pricing.
    assert ann.score == 71
    assert message_opened(ann)
    assert (ann.segment, ann.stage) == ("sales_ready", "mql")
    assert ann.owner is not None and ann.owner.team == org.emea
    message = Message.objects.get(lead=ann)
    assert message.clicked_at is not None
    page.goto(f"{live_server.url}/leads/{ann.pk}/")
    assert "clicked a pricing link in an email" in page.content()

    # Her run ended at the goal with the hand-off, not after the week's wait.
    run = Enrolment.objects.get(lead=ann)
    assert (run.status, run.ended_reason) == ("goal", "sales-ready")
