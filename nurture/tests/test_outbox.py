"""The outbox against a real SMTP server (aiosmtpd on a free port): what arrives, exactly
once across a dead worker, retries, suppression, the frequency cap and quiet hours."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote

import pytest

from leads.errors import FieldError
from leads.models import Account, Lead
from nurture import services, tokens
from nurture.choices import MessageStatus, Purpose
from nurture.models import EmailTemplate, Message, Suppression

from .conftest import consenting, free_port


def parsed(sink: Any) -> list[EmailMessage]:
    return [message_from_bytes(e.content, policy=policy.default) for e in sink.messages]  # type: ignore[misc]


@pytest.fixture
def template(org: Any, now: datetime) -> EmailTemplate:
    return services.create_template(
        by=org.marketer, now=now, name="Welcome",
        subject="Hello {{ first_name|default:'there' }} at {{ company }}",
        html_body=(
            "<style>p { color: #123456; }</style>"
            "<p>Hi {{ first_name|default:'there' }}, {{ owner_name }} here."
            " <a href='{{ base_url }}/pricing/'>Pricing</a></p>"
        ),
        text_body="Hi {{ first_name|default:\"there\" }}, {{ owner_name }} here ({{ account_name }}).",
    )  # fmt: skip


def make_lead(now: datetime, email: str, **fields: Any) -> Lead:
    """A lead who agreed to the newsletter."""
    lead = Lead.objects.create(email=email, arrived_at=now, stage_changed_at=now, **fields)
    return consenting(lead, now)


def test_a_message_arrives_with_its_headers_and_merge_fields(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, settings: Any
) -> None:
    settings.LEADLOOP_BASE_URL = "http://leads.example.test:8000"
    org.rep1.first_name, org.rep1.last_name = "Rita", "Rep"
    org.rep1.save()
    account = Account.objects.create(name="Acme GmbH", domain="acme.de")
    ann = make_lead(now, "ann@acme.de", first_name="Ann", account=account, owner=org.rep1)
    nobody = make_lead(now, "x@acme.de")

    first = services.queue_message(ann, template, purpose=Purpose.MARKETING, now=now)
    services.queue_message(nobody, template, purpose=Purpose.MARKETING, now=now)
    assert services.run_due(now=now) == 2

    by_to = {mail["To"]: mail for mail in parsed(sink)}
    mail = by_to["ann@acme.de"]
    assert mail["Subject"] == "Hello Ann at Acme GmbH"
    assert mail["Message-ID"] == first.message_id
    assert mail["From"] == settings.DEFAULT_FROM_EMAIL
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Hi Ann, Rita Rep here (Acme GmbH)." in text
    assert 'style="color: #123456' in html  # CSS inlined
    # The link is tracked: a click redirect whose token carries the page.
    [href] = re.findall(r'href="(http://leads.example.test:8000/t/c/[^"]+)"', html)
    assert tokens.read("click", unquote(href.rsplit("/", 1)[1])) == (
        first.pk,
        "http://leads.example.test:8000/pricing/",
    )
    assert "Hi there" in by_to["x@acme.de"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    first.refresh_from_db()
    assert (first.status, first.sent_at, first.attempts) == (MessageStatus.SENT, now, 1)


def test_merge_fields_are_escaped_in_html_and_only_the_leads_context_is_seen(
    org: Any, now: datetime
) -> None:
    template = services.create_template(
        by=org.marketer, now=now, name="T", subject="x",
        html_body="<p>{{ first_name }}{{ settings.SECRET_KEY }}{{ lead.owner.password }}</p>",
        text_body="{{ custom.plan|default:'none' }}",
    )  # fmt: skip
    lead = make_lead(now, "a@b.io", first_name="<b>Ann</b>", custom_fields={"plan": "pro"})

    rendered = services.preview(template, lead)

    assert "&lt;b&gt;Ann&lt;/b&gt;" in rendered.html
    assert "pbkdf2" not in rendered.html and "SECRET" not in rendered.html
    assert rendered.text == "pro"


def test_a_template_that_does_not_compile_is_refused_naming_the_line(
    org: Any, now: datetime
) -> None:
    with pytest.raises(FieldError) as error:
        services.create_template(
            by=org.marketer, now=now, name="Broken", subject="Hi",
            html_body="<p>fine</p>\n<p>{% if first_name %}no end</p>", text_body="",
        )  # fmt: skip
    assert error.value.field == "html_body"
    assert "line 2" in error.value.message
    with pytest.raises(FieldError, match="line 1"):
        services.create_template(
            by=org.marketer, now=now, name="Loads", subject="Hi", html_body="",
            text_body="{% load humanize %}",
        )  # fmt: skip
    assert not EmailTemplate.objects.exists()


def test_only_marketing_and_admins_write_templates(org: Any, now: datetime) -> None:
    with pytest.raises(FieldError):
        services.create_template(by=org.rep1, now=now, name="X", subject="x", text_body="x")


def test_a_worker_killed_mid_batch_and_restarted_sends_each_message_once(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, settings: Any
) -> None:
    leads = [make_lead(now, f"p{i}@example.io", first_name=f"P{i}") for i in range(5)]
    for lead in leads:
        services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
    # A worker claims the batch, then dies before sending (or marking) anything.
    plan, _ = services._claim(now=now, batch_size=10, only=None)
    assert len(plan.send) == 5
    assert services.run_due(now=now) == 0  # leased: no second worker sends them

    later = now + timedelta(seconds=settings.LEADLOOP_EMAIL_LEASE_SECONDS + 1)
    assert services.run_due(now=later) == 5
    assert services.run_due(now=later + timedelta(hours=1)) == 0

    assert sorted(m["To"] for m in parsed(sink)) == sorted(str(lead.email) for lead in leads)
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_a_dead_claim_the_local_mailbox_received_is_not_sent_again(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, settings: Any
) -> None:
    lead = make_lead(now, "ann@example.io")
    message = services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
    services._claim(now=now, batch_size=10, only=None)  # a worker claims, then dies
    # The local server accepted it; the worker died before marking it sent.
    services.store_received(
        f"Message-ID: {message.message_id}\r\nSubject: x\r\n\r\nbody".encode(),
        mail_from="leadloop@localhost", recipients=[lead.email or ""], now=now,
    )  # fmt: skip

    later = now + timedelta(seconds=settings.LEADLOOP_EMAIL_LEASE_SECONDS + 1)
    assert services.run_due(now=later) == 1

    assert sink.messages == []
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_smtp_down_is_retried_later_and_nothing_is_lost(
    org: Any, template: EmailTemplate, now: datetime, settings: Any
) -> None:
    from leadloop.settings import mailer_from_url

    lead = make_lead(now, "ann@example.io")
    message = services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
    settings.MAILERS = {"default": mailer_from_url(f"smtp://127.0.0.1:{free_port()}")}

    assert services.run_due(now=now) == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 1
    assert message.next_attempt_at == now + timedelta(minutes=1)
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()

    assert services.run_due(now=now + timedelta(seconds=30)) == 0  # not due yet
    services.run_due(now=now + timedelta(minutes=1))
    message.refresh_from_db()
    assert message.next_attempt_at == now + timedelta(minutes=1) + timedelta(minutes=2)


def test_smtp_back_up_sends_the_waiting_message(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, settings: Any
) -> None:
    from leadloop.settings import mailer_from_url

    working = settings.MAILERS
    lead = make_lead(now, "ann@example.io")
    services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
    settings.MAILERS = {"default": mailer_from_url(f"smtp://127.0.0.1:{free_port()}")}
    services.run_due(now=now)
    settings.MAILERS = working

    assert services.run_due(now=now + timedelta(minutes=1)) == 1
    assert [m["To"] for m in parsed(sink)] == ["ann@example.io"]


def test_a_temporary_refusal_waits_and_a_permanent_one_suppresses(
    org: Any, template: EmailTemplate, now: datetime, sink: Any
) -> None:
    later = services.queue_message(
        make_lead(now, "later@example.io"), template, purpose=Purpose.MARKETING, now=now
    )
    bounce_lead = make_lead(now, "bounce@example.io")
    bounce = services.queue_message(bounce_lead, template, purpose=Purpose.MARKETING, now=now)
    ok = services.queue_message(
        make_lead(now, "ok@example.io"), template, purpose=Purpose.MARKETING, now=now
    )

    assert services.run_due(now=now) == 1

    later.refresh_from_db()
    bounce.refresh_from_db()
    ok.refresh_from_db()
    assert (later.status, later.next_attempt_at) == (
        MessageStatus.QUEUED,
        now + timedelta(minutes=1),
    )
    assert "451" in later.last_error
    assert bounce.status == MessageStatus.FAILED and "550" in bounce.last_error
    assert Suppression.objects.filter(address="bounce@example.io").exists()
    assert ok.status == MessageStatus.SENT
    # Nothing more goes to a suppressed address.
    again = services.queue_message(bounce_lead, template, purpose=Purpose.MARKETING, now=now)
    assert services.run_due(now=now) == 0
    again.refresh_from_db()
    assert again.status == MessageStatus.SUPPRESSED
    assert [m["To"] for m in parsed(sink)] == ["ok@example.io"]


def test_the_frequency_cap_defers_a_third_marketing_email_in_a_week(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, settings: Any
) -> None:
    settings.LEADLOOP_EMAIL_WEEKLY_CAP = 2
    lead = make_lead(now, "ann@example.io")
    services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
    services.run_due(now=now)
    services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now + timedelta(days=1))
    services.run_due(now=now + timedelta(days=1))
    third = services.queue_message(
        lead, template, purpose=Purpose.MARKETING, now=now + timedelta(days=2)
    )

    assert services.run_due(now=now + timedelta(days=2)) == 0
    third.refresh_from_db()
    assert (third.status, third.next_attempt_at) == (MessageStatus.QUEUED, now + timedelta(days=7))
    # A test send is no marketing email: it is not capped.
    services.test_send(
        template, to="me@example.io", lead=lead, by=org.marketer, now=now + timedelta(days=2)
    )
    assert services.run_due(now=now + timedelta(days=7)) == 1
    assert len(sink.messages) == 4


def test_quiet_hours_in_the_leads_time_zone_defer_the_message(
    org: Any, template: EmailTemplate, sink: Any, settings: Any
) -> None:
    settings.LEADLOOP_EMAIL_QUIET_HOURS = "21:00-08:00"
    org.americas.timezone = "America/New_York"
    org.americas.save()
    # 03:00 UTC: 22:00 the evening before in New York (quiet), 04:00 in Berlin... also
    # quiet; 07:30 UTC: 02:30 in New York (quiet), 08:30 in Berlin (not).
    at = datetime.fromisoformat("2026-11-17T07:30:00+00:00")
    ny = make_lead(at, "ny@example.io", team=org.americas)
    org.emea.timezone = "Europe/Berlin"
    org.emea.save()
    berlin = make_lead(at, "berlin@example.io", team=org.emea)
    ny_message = services.queue_message(ny, template, purpose=Purpose.MARKETING, now=at)
    services.queue_message(berlin, template, purpose=Purpose.MARKETING, now=at)

    assert services.run_due(now=at) == 1
    ny_message.refresh_from_db()
    assert ny_message.status == MessageStatus.QUEUED
    # 08:00 in New York is 13:00 UTC.
    assert ny_message.next_attempt_at == datetime.fromisoformat("2026-11-17T13:00:00+00:00")
    assert services.run_due(now=ny_message.next_attempt_at) == 1


def test_quiet_hours_follow_the_leads_country_not_its_teams_clock(
    org: Any, template: EmailTemplate, sink: Any, settings: Any
) -> None:
    settings.LEADLOOP_EMAIL_QUIET_HOURS = "21:00-08:00"
    org.emea.timezone = "Europe/Berlin"
    org.emea.save()
    # 13:00 UTC: 14:00 for the team in Berlin, 22:00 for the lead in Tokyo (quiet).
    at = datetime.fromisoformat("2026-11-17T13:00:00+00:00")
    tokyo = make_lead(at, "ken@example.jp", team=org.emea, country="JP")
    message = services.queue_message(tokyo, template, purpose=Purpose.MARKETING, now=at)

    assert services.run_due(now=at) == 0
    message.refresh_from_db()
    # 08:00 in Tokyo is 23:00 UTC.
    assert message.next_attempt_at == datetime.fromisoformat("2026-11-17T23:00:00+00:00")
    assert services.run_due(now=message.next_attempt_at) == 1


def test_a_domains_send_rate_defers_the_rest(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, settings: Any
) -> None:
    settings.LEADLOOP_EMAIL_DOMAIN_RATE_PER_MINUTE = 2
    for i in range(3):
        services.queue_message(
            make_lead(now, f"p{i}@gmail.com"), template, purpose=Purpose.MARKETING, now=now
        )
    services.queue_message(
        make_lead(now, "q@example.io"), template, purpose=Purpose.MARKETING, now=now
    )

    assert services.run_due(now=now) == 3
    waiting = Message.objects.get(status=MessageStatus.QUEUED)
    assert waiting.to_domain == "gmail.com"
    assert waiting.next_attempt_at == now + timedelta(minutes=1)
    assert services.run_due(now=now + timedelta(minutes=1, seconds=1)) == 1


def test_a_test_send_goes_at_once_to_the_address(
    org: Any, template: EmailTemplate, now: datetime, sink: Any
) -> None:
    lead = make_lead(now, "ann@example.io", first_name="Ann")
    message = services.test_send(template, to="me@example.io", lead=lead, by=org.marketer, now=now)

    assert message.status == MessageStatus.SENT
    [mail] = parsed(sink)
    assert mail["To"] == "me@example.io" and mail["Subject"].startswith("Hello Ann")
    with pytest.raises(FieldError, match="to"):
        services.test_send(template, to="nope", lead=lead, by=org.marketer, now=now)


class Killed(BaseException):
    """The worker's process dies (not an error the outbox handles)."""


def test_a_worker_killed_before_its_group_mark_resends_only_that_groups_tail(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    settings.LEADLOOP_EMAIL_WEEKLY_CAP = 100
    monkeypatch.setattr(services, "MARK_EVERY", 3)
    messages = [
        services.queue_message(
            make_lead(now, f"p{i}@example.io"), template, purpose=Purpose.MARKETING, now=now
        )
        for i in range(7)
    ]
    real_mark = services._mark_sent
    marks: list[list[int]] = []

    def mark_then_die(pks: list[int], *, now: datetime) -> None:
        if marks:
            raise Killed  # the second group was accepted by the server, never marked
        marks.append(list(pks))
        real_mark(pks, now=now)

    monkeypatch.setattr(services, "_mark_sent", mark_then_die)
    with pytest.raises(Killed):
        services.run_due(now=now)
    monkeypatch.setattr(services, "_mark_sent", real_mark)
    statuses = {m.pk: m.status for m in Message.objects.all()}
    assert [statuses[m.pk] for m in messages] == [MessageStatus.SENT] * 3 + [
        MessageStatus.SENDING
    ] * 4
    assert len(sink.messages) == 6

    later = now + timedelta(seconds=settings.LEADLOOP_EMAIL_LEASE_SECONDS + 1)
    assert services.run_due(now=later) == 4

    ids = [m["Message-ID"] for m in parsed(sink)]
    # Only the unmarked group (messages 4-6) went twice, with the same Message-IDs.
    assert sorted(i for i in set(ids) if ids.count(i) == 2) == sorted(
        m.message_id for m in messages[3:6]
    )
    assert len(ids) == 10
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_a_provider_backend_through_anymail_gets_the_same_message(
    org: Any, template: EmailTemplate, now: datetime, settings: Any
) -> None:
    from django.core import mail

    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.test.EmailBackend"}}
    mail.outbox = []
    lead = make_lead(now, "ann@acme.de", first_name="Ann")
    message = services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)

    assert services.run_due(now=now) == 1

    [sent] = mail.outbox
    assert sent.to == ["ann@acme.de"] and sent.subject.startswith("Hello Ann")
    assert sent.extra_headers["Message-ID"] == message.message_id
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent.extra_headers["List-Unsubscribe"].startswith("<http")
    assert "/t/c/" in str(sent.alternatives[0][0])  # type: ignore[union-attr, index]
