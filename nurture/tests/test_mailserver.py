"""The local SMTP server of `make run` keeps what it receives, byte for byte, for the
mailbox page; a dead claim it holds is not sent again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from leadloop.settings import mailer_from_url
from leads.models import Lead
from nurture import services
from nurture.choices import Purpose
from nurture.mailserver import controller
from nurture.models import MailboxMessage

from .conftest import consenting, free_port


@pytest.mark.django_db(transaction=True)
def test_the_local_server_keeps_what_it_receives(now: datetime, settings: Any) -> None:
    from users.choices import Role
    from users.models import User

    marketer = User.objects.create_user("m", role=Role.MARKETING)
    port = free_port()
    server = controller(host="127.0.0.1", port=port)
    server.start()
    settings.MAILERS = {"default": mailer_from_url(f"smtp://127.0.0.1:{port}")}
    try:
        template = services.create_template(
            by=marketer, now=now, name="T", subject="Hi {{ first_name }}", text_body="Hello",
            html_body="<p>Hello</p>",
        )  # fmt: skip
        lead = Lead.objects.create(
            email="ann@example.io", first_name="Ann", arrived_at=now, stage_changed_at=now
        )
        consenting(lead, now)
        message = services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
        assert services.run_due(now=now) == 1
    finally:
        server.stop()

    [kept] = MailboxMessage.objects.all()
    assert kept.message_id == message.message_id
    assert kept.subject == "Hi Ann"
    assert kept.recipients == ["ann@example.io"]
    assert b"Hello" in bytes(kept.raw)


@pytest.mark.django_db(transaction=True)
def test_a_message_the_mailbox_cannot_keep_is_refused_for_now_not_for_good(
    now: datetime, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smtplib

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("nurture.mailserver._store", broken)
    port = free_port()
    server = controller(host="127.0.0.1", port=port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp, pytest.raises(smtplib.SMTPDataError) as error:
            smtp.sendmail("a@example.io", ["b@example.io"], b"Subject: x\r\n\r\nbody")
    finally:
        server.stop()
    assert error.value.smtp_code == 451
