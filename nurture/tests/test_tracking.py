"""Email tracking end to end: what arrives at a real SMTP server (tracked links, the open
pixel, the footer, List-Unsubscribe), the open pixel and the click redirect as a stranger's
mail client calls them, and the click that makes a lead sales-ready and routed at once."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client

from capture.services import capture_lead
from demo.story import demo_scoring_document
from leads.choices import Stage
from leads.models import Lead
from leads.services import transition_lead
from nurture import services, tokens, tracking
from nurture.choices import Purpose
from nurture.models import EmailTemplate, Message
from qualify.models import Event
from qualify.services import save_model

from .conftest import consenting

BASE = "http://leads.example.test:8000"


@pytest.fixture(autouse=True)
def _no_rate_limit_but_where_tested(settings: Any) -> None:
    # The counter lives in the cache (Redis on CI, shared by every test of the minute).
    settings.LEADLOOP_TRACKING_RATE_PER_MINUTE = 10**6


@pytest.fixture
def base_url(settings: Any) -> str:
    settings.LEADLOOP_BASE_URL = BASE
    return BASE


@pytest.fixture
def template(org: Any, now: datetime) -> EmailTemplate:
    return services.create_template(
        by=org.marketer, now=now, name="Pricing news",
        subject="{{ first_name|default:'Hello' }}, new prices",
        html_body=(
            "<html><body><p>Hi {{ first_name }},</p>"
            "<p>See <a href=\"https://shop.example.com/pricing/?plan=pro&amp;x=1\">our prices</a>,"
            " <a href='mailto:sales@example.com'>write</a> or"
            " <a href='tel:+49301234'>call</a>.</p></body></html>"
        ),
        text_body="Hi {{ first_name }}, see https://shop.example.com/pricing/?plan=pro&x=1.",
    )  # fmt: skip


def mails(sink: Any) -> list[EmailMessage]:
    return [message_from_bytes(e.content, policy=policy.default) for e in sink.messages]  # type: ignore[misc]


def token_of(link: str) -> str:
    return unquote(link.rstrip("/").rsplit("/", 1)[1].removesuffix(".gif"))


def click_token(message: Message, url: str) -> str:
    return token_of(tokens.link("click", message.pk, url=url))


def open_token(message: Message) -> str:
    return token_of(tokens.link("open", message.pk))


def queued(lead: Lead, template: EmailTemplate, now: datetime) -> Message:
    return services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)


def test_a_marketing_message_arrives_tracked_with_its_footer_and_one_click_unsubscribe(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, base_url: str, settings: Any
) -> None:
    settings.LEADLOOP_EMAIL_DOMAIN = "mail.example.test"
    lead = Lead.objects.create(email="ann@acme.de", first_name="Ann", arrived_at=now,
                               stage_changed_at=now)  # fmt: skip
    consenting(lead, now)
    message = queued(lead, template, now)

    assert services.run_due(now=now) == 1

    [mail] = mails(sink)
    assert mail["Subject"] == "Ann, new prices"
    assert mail["Message-ID"] == message.message_id
    assert mail["Date"] is not None
    unsubscribe = tokens.make("unsubscribe", message.pk)
    assert str(mail["List-Unsubscribe"]).split(", ") == [
        f"<{tokens.link('unsubscribe', message.pk)}>",
        f"<mailto:unsubscribe@mail.example.test?subject={unsubscribe}>",
    ]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    target = "https://shop.example.com/pricing/?plan=pro&x=1"
    # The web link is a click redirect carrying the page; mailto and tel stay as written.
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs[0].startswith(f"{BASE}/t/c/")
    assert tokens.read("click", token_of(hrefs[0])) == (message.pk, target)
    assert hrefs[1:3] == ["mailto:sales@example.com", "tel:+49301234"]
    # The footer (not tracked), then the pixel, at the end of the body.
    assert hrefs[3:] == [
        tokens.link("unsubscribe", message.pk),
        tokens.link("preferences", message.pk),
    ]
    assert html.endswith(
        f'<img src="{tokens.link("open", message.pk)}" width="1" height="1" alt=""></body></html>'
    )
    # The plain-text part: the link tracked (the full stop stays outside), the footer.
    [link] = re.findall(rf"{BASE}/t/c/\S+?(?=\.\s)", text)
    assert tokens.read("click", token_of(link)) == (message.pk, target)
    assert text.startswith("Hi Ann, see " + link + ".")
    assert f"Unsubscribe: {tokens.link('unsubscribe', message.pk)}" in text
    assert f"Email preferences: {tokens.link('preferences', message.pk)}" in text


def test_a_test_send_has_no_list_unsubscribe_and_its_clicks_are_not_the_leads(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, base_url: str, client: Client
) -> None:
    lead = Lead.objects.create(email="ann@acme.de", arrived_at=now, stage_changed_at=now)
    message = services.test_send(template, to="me@example.io", lead=lead, by=org.marketer, now=now)

    [mail] = mails(sink)
    assert mail["List-Unsubscribe"] is None
    response = client.get(f"/t/c/{click_token(message, 'https://shop.example.com/pricing/')}")
    assert response.status_code == 302
    assert not Event.objects.exists()


def test_the_open_pixel_counts_the_first_open_once_and_answers_a_gif_to_anyone(
    org: Any, template: EmailTemplate, now: datetime, client: Client, clock: datetime
) -> None:
    lead = Lead.objects.create(email="ann@acme.de", arrived_at=now, stage_changed_at=now)
    message = queued(lead, template, now)
    token = open_token(message)

    first = client.get(f"/t/o/{token}.gif")
    again = client.get(f"/t/o/{token}.gif")

    for response in (first, again):
        assert response.status_code == 200
        assert response["Content-Type"] == "image/gif"
        assert response.content == tracking.PIXEL
    message.refresh_from_db()
    assert message.opened_at == now
    assert list(Event.objects.values_list("lead_id", "kind", "properties")) == [
        (lead.pk, "email_open", {"message_id": message.pk})
    ]
    # A forged or altered token: the same GIF, nothing recorded.
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    click = click_token(message, "https://example.com/")
    for bad in (altered, "garbage", click):
        response = client.get(f"/t/o/{bad}.gif")
        assert (response.status_code, response.content) == (200, tracking.PIXEL)
    assert Event.objects.count() == 1


def test_a_click_redirects_to_the_link_in_its_token_and_records_the_click(
    org: Any, template: EmailTemplate, now: datetime, client: Client, clock: datetime
) -> None:
    lead = Lead.objects.create(email="ann@acme.de", arrived_at=now, stage_changed_at=now)
    message = queued(lead, template, now)
    url = "https://shop.example.com/pricing/?plan=pro&x=1"
    token = click_token(message, url)

    # A query parameter never chooses the target: no open redirect.
    response = client.get(f"/t/c/{token}?url=https://evil.example.net/")
    client.get(f"/t/c/{token}")

    assert response.status_code == 302
    assert response["Location"] == url
    message.refresh_from_db()
    assert (message.clicked_at, message.opened_at) == (now, now)
    assert list(Event.objects.values_list("kind", "properties")) == [
        ("email_click", {"url": url, "message_id": message.pk})
    ]


def test_a_forged_or_altered_click_token_is_a_styled_404_and_records_nothing(
    org: Any, template: EmailTemplate, now: datetime, client: Client
) -> None:
    lead = Lead.objects.create(email="ann@acme.de", arrived_at=now, stage_changed_at=now)
    message = queued(lead, template, now)
    token = click_token(message, "https://shop.example.com/")
    # The signed value names another target: the signature no longer matches.
    forged = tokens.make("click", message.pk, url="https://evil.example.net/")
    forged = forged.split(":", 1)[0] + ":" + token.split(":", 1)[1]

    for bad in (forged, token[:-2], "garbage", open_token(message)):
        response = client.get(f"/t/c/{bad}")
        assert response.status_code == 404
        assert b"Page not found" in response.content  # the site's error page
    message.refresh_from_db()
    assert message.clicked_at is None
    assert not Event.objects.exists()


def test_a_click_on_pricing_makes_the_lead_sales_ready_and_routed_in_the_request(
    org: Any, template: EmailTemplate, now: datetime, client: Client, clock: datetime
) -> None:
    save_model(demo_scoring_document(), by=org.marketer, now=now)
    # Fit 45: need, influencer, budget over 10k, buying this year; in nurture.
    warm = {"need": "forecasting", "authority": "influencer", "budget": "20000",
            "timeline": "year", "country": "Germany", "email": "ann@acme.de"}  # fmt: skip
    lead = capture_lead(warm, source="api", now=now - timedelta(days=1)).lead
    lead.refresh_from_db()
    assert (lead.stage, lead.score, lead.owner_id) == (Stage.NURTURING, 45, None)
    message = queued(lead, template, now)

    response = client.get(f"/t/c/{click_token(message, 'https://shop.example.com/pricing/')}")

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.score == 65
    assert lead.stage == Stage.MQL
    assert lead.owner in {org.rep1, org.rep2}


def test_a_click_never_undoes_a_disqualification_a_person_made(
    org: Any, template: EmailTemplate, now: datetime, client: Client, clock: datetime
) -> None:
    save_model(demo_scoring_document(), by=org.marketer, now=now)
    hot = {"need": "forecasting", "authority": "decision_maker", "budget": "20000",
           "timeline": "now", "country": "Germany", "email": "ann@acme.de"}  # fmt: skip
    lead = capture_lead(hot, source="api", now=now - timedelta(days=2)).lead
    lead.refresh_from_db()
    transition_lead(
        lead, Stage.DISQUALIFIED, by=org.manager, reason="works for a competitor",
        now=now - timedelta(days=1),
    )  # fmt: skip
    lead.refresh_from_db()
    assert lead.stage == Stage.DISQUALIFIED
    owner = lead.owner_id
    message = queued(lead, template, now)

    client.get(f"/t/c/{click_token(message, 'https://shop.example.com/pricing/')}")

    lead.refresh_from_db()
    assert Event.objects.filter(lead=lead, kind="email_click").count() == 1
    assert (lead.stage, lead.owner_id) == (Stage.DISQUALIFIED, owner)


def test_past_the_rate_limit_the_pixel_and_redirect_still_answer_and_record_nothing(
    org: Any, template: EmailTemplate, now: datetime, client: Client, settings: Any,
    clock: datetime,
) -> None:  # fmt: skip
    settings.LEADLOOP_TRACKING_RATE_PER_MINUTE = 2
    lead = Lead.objects.create(email="ann@acme.de", arrived_at=now, stage_changed_at=now)
    message = queued(lead, template, now)
    # An address of its own: the count starts at zero whatever else ran this minute.
    ip, other_ip = (f"fd00::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}" for _ in range(2))
    client.get("/t/o/garbage.gif", REMOTE_ADDR=ip)
    client.get("/t/o/garbage.gif", REMOTE_ADDR=ip)

    pixel = client.get(f"/t/o/{open_token(message)}.gif", REMOTE_ADDR=ip)
    redirect = client.get(
        f"/t/c/{click_token(message, 'https://shop.example.com/')}", REMOTE_ADDR=ip
    )
    # Another address is not limited.
    other = client.get(f"/t/o/{open_token(message)}.gif", REMOTE_ADDR=other_ip)

    assert (pixel.status_code, pixel.content) == (200, tracking.PIXEL)
    assert (redirect.status_code, redirect["Location"]) == (302, "https://shop.example.com/")
    assert other.status_code == 200
    message.refresh_from_db()
    assert (message.opened_at, message.clicked_at) == (now, None)
    assert list(Event.objects.values_list("kind", flat=True)) == ["email_open"]


def test_a_failure_while_recording_never_answers_500(
    org: Any, template: EmailTemplate, now: datetime, client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    lead = Lead.objects.create(email="ann@acme.de", arrived_at=now, stage_changed_at=now)
    message = queued(lead, template, now)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tracking, "store_events", broken)

    pixel = client.get(f"/t/o/{open_token(message)}.gif")
    redirect = client.get(f"/t/c/{click_token(message, 'https://shop.example.com/')}")

    assert (pixel.status_code, pixel.content) == (200, tracking.PIXEL)
    assert (redirect.status_code, redirect["Location"]) == (302, "https://shop.example.com/")


def test_links_to_leadloops_own_public_pages_are_not_tracked(
    org: Any, now: datetime, base_url: str
) -> None:
    html = (
        f"<p><a href='{BASE}/unsubscribe/x'>u</a><a href='{BASE}/preferences/y'>p</a>"
        "<a href='#top'>top</a><a href=' https://example.com/a '>a</a></p>"
    )
    tracked = tracking.track_html(html, 7)

    hrefs = re.findall(r'href="([^"]+)"', tracked)
    assert hrefs[:3] == [f"{BASE}/unsubscribe/x", f"{BASE}/preferences/y", "#top"]
    assert tokens.read("click", token_of(hrefs[3])) == (7, "https://example.com/a")


def test_queue_messages_queues_a_batch_each_with_its_own_links_and_skips_leads_without_email(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, base_url: str
) -> None:
    leads = [
        consenting(
            Lead.objects.create(
                email=f"p{i}@acme.de", first_name=f"P{i}", arrived_at=now, stage_changed_at=now
            ),
            now,
        )
        for i in range(3)
    ]
    nobody = Lead.objects.create(email=None, arrived_at=now, stage_changed_at=now)

    messages = services.queue_messages(
        [*leads, nobody], template, purpose=Purpose.MARKETING, now=now
    )

    assert [m.lead_id for m in messages] == [lead.pk for lead in leads]
    assert services.run_due(now=now) == 3
    by_to = {str(mail["To"]): mail for mail in mails(sink)}
    for message in messages:
        mail = by_to[message.to_address]
        assert mail["Message-ID"] == message.message_id
        html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
        [first] = re.findall(r'href="([^"]+)"', html)[:1]
        assert tokens.read("click", token_of(first))[0] == message.pk
        assert tokens.link("open", message.pk) in html


@pytest.mark.parametrize(
    ("subject", "to", "text", "html", "purpose"),
    [
        ("Hello Ana", "ana@example.io", "Hi\nsee http://x.io/a\n", "<p>Hi</p>", Purpose.MARKETING),
        (
            "Grüße, Zoë — 50 % off",
            "Zoë Müller <zoe@example.io>",
            "Line one\r\nFrom the start\rcafé = " + "x" * 120 + " \n\n-- \nend",
            "",
            Purpose.MARKETING,
        ),
        ("Plain", "a@b.io", "", "<p style='a:b'>only html é</p>\n", Purpose.TEST),
        ("S" * 1200, '"Doe, J." <j@b.io>', "t", "h", Purpose.TEST),
        ("Empty", "a@b.io", "", "", Purpose.MARKETING),
    ],
)
def test_build_raw_writes_what_the_standard_librarys_mime_classes_make(
    subject: str, to: str, text: str, html: str, purpose: str, monkeypatch: Any
) -> None:
    """The skeleton build_raw writes has email.mime's very header bytes, part headers and
    structure, and bodies that decode to the same text; every body line is within RFC
    2045's 76 characters."""
    fixed = uuid.UUID("12345678123456781234567812345678")
    monkeypatch.setattr(tracking.uuid, "uuid4", lambda: fixed)
    message = Message(
        pk=42, subject=subject, to_address=to, text_body=text, html_body=html,
        purpose=purpose, message_id="<m42@leads.example.test>",
    )  # fmt: skip
    sender = "Leadloop Mäil <noreply@example.io>"
    built = tracking.build_raw(message, sender=sender)
    reference = tracking._build_raw_mime(message, sender=sender)
    assert built.split(b"\r\n\r\n", 1)[0] == reference.split(b"\r\n\r\n", 1)[0]
    ours, theirs = (message_from_bytes(raw, policy=policy.default) for raw in (built, reference))
    assert [p.get_content_type() for p in ours.walk()] == [
        p.get_content_type() for p in theirs.walk()
    ]
    for mine, reference_part in zip(ours.walk(), theirs.walk(), strict=True):
        assert mine.items() == reference_part.items()
        if not mine.is_multipart():
            assert mine.get_content() == reference_part.get_content()
    assert b"\r\n" in built and b"\n" not in built.replace(b"\r\n", b"")
    body = built.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
