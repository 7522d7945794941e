"""Marketing email pages: templates with a preview as a lead and a test send, the outbox
with its status filter, the mailbox showing a received message exactly; 403 for others."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from leads.models import Lead
from nurture import services
from nurture.models import EmailTemplate, Message

pytestmark = pytest.mark.django_db


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def test_marketing_writes_previews_and_test_sends_a_template(
    org: Any, clock: datetime, client: Client, smtp_server: Any
) -> None:
    signed_in(client, org.marketer)
    ann = Lead.objects.create(
        email="ann@example.io", first_name="Ann", arrived_at=clock, stage_changed_at=clock
    )
    bad = client.post("/email/templates/new/", {
        "name": "Welcome", "subject": "Hi", "html_body": "<p>ok</p>\n{% if x %}",
        "text_body": "",
    })  # fmt: skip
    assert bad.status_code == 200
    assert "line 2" in bad.content.decode()

    saved = client.post("/email/templates/new/", {
        "name": "Welcome", "subject": "Hi {{ first_name|default:'there' }}",
        "html_body": "<p>Hello <b>{{ first_name }}</b></p>", "text_body": "Hello {{ first_name }}",
    })  # fmt: skip
    template = EmailTemplate.objects.get()
    assert saved.status_code == 302

    page = client.get(f"/email/templates/{template.pk}/", {"lead": ann.pk}).content.decode()
    assert "Hi Ann" in page
    assert 'sandbox=""' in page and 'srcdoc="&lt;' in page

    sent = client.post(
        f"/email/templates/{template.pk}/test-send/", {"to": "me@example.io", "lead": ann.pk}
    )
    assert sent.status_code == 302
    assert len(smtp_server.messages) == 1
    outbox = client.get("/outbox/", {"status": "sent"}).content.decode()
    assert "me@example.io" in outbox
    assert "me@example.io" not in client.get("/outbox/", {"status": "failed"}).content.decode()
    assert Message.objects.count() == 1


def test_the_mailbox_shows_a_received_message_exactly(
    org: Any, clock: datetime, client: Client
) -> None:
    raw = (
        b"From: leadloop@localhost\r\nTo: ann@example.io\r\nSubject: Hello Ann\r\n"
        b"Message-ID: <abc@leadloop.local>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/alternative; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nHello plain\r\n"
        b'--XX\r\nContent-Type: text/html\r\n\r\n<p onclick="x()">Hello html</p><script>alert(1)</script>\r\n'
        b"--XX--\r\n"
    )
    kept = services.store_received(
        raw, mail_from="leadloop@localhost", recipients=["ann@example.io"], now=clock
    )
    signed_in(client, org.admin)

    assert "Hello Ann" in client.get("/mailbox/").content.decode()
    page = client.get(f"/mailbox/{kept.pk}/").content.decode()
    assert "&lt;abc@leadloop.local&gt;" in page
    assert "Hello plain" in page
    # Links open in a new tab; the frame still runs no script (no allow-scripts).
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert 'srcdoc="&lt;base target=&quot;_blank&quot;&gt;' in page
    assert "<script>alert(1)</script>" not in page  # only inside the escaped srcdoc


def test_others_may_not_open_the_email_pages(org: Any, client: Client) -> None:
    signed_in(client, org.rep1)
    for path in ("/email/templates/", "/email/templates/new/", "/outbox/", "/mailbox/"):
        assert client.get(path).status_code == 403, path


def test_the_outbox_shows_when_a_message_was_first_opened_and_clicked(
    org: Any, clock: datetime, client: Client
) -> None:
    from nurture import tokens

    template = services.create_template(
        by=org.marketer, now=clock, name="T", subject="Hi", text_body="See https://ex.com/a"
    )
    lead = Lead.objects.create(email="ann@example.io", arrived_at=clock, stage_changed_at=clock)
    message = services.queue_message(lead, template, purpose="marketing", now=clock)
    token = tokens.make("click", message.pk, url="https://ex.com/a")
    Client().get(f"/t/c/{token}")

    page = signed_in(client, org.marketer).get("/outbox/").content.decode()

    assert page.count("opened ") == 1 and page.count("clicked ") == 1
