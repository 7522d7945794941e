"""Notifications by email, through a real SMTP server (aiosmtpd on a free port): sent
after commit, never twice, each person choosing per kind."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes
from email.message import Message as EmailMessage
from typing import Any

import pytest

from leads.errors import FieldError, NotPermitted
from leads.models import Lead
from users.choices import EmailState, NotificationKind
from users.models import Notification
from users.services import (
    Message,
    email_choices,
    notify,
    notify_assigned,
    notify_many,
    send_notification_emails,
    set_email_notifications,
)


def parsed(inbox: Any) -> list[EmailMessage]:
    return [message_from_bytes(envelope.content) for envelope in inbox.messages]


def body(mail: EmailMessage) -> str:
    return str(mail.get_payload())


@pytest.fixture
def rep(org: Any) -> Any:
    org.rep1.email = "rep1@example.io"
    org.rep1.save()
    return org.rep1


def test_a_breach_is_emailed_after_commit(
    rep: Any, now: datetime, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            rep, kind=NotificationKind.SLA_BREACH, message="SLA breached: Ann", lead_id=None,
            key="sla_breach:1", now=now,
        )  # fmt: skip

    [mail] = parsed(smtp_server)
    assert mail["To"] == "rep1@example.io"
    assert mail["Subject"] == "[Leadloop] SLA breached"
    assert "SLA breached: Ann" in body(mail)
    assert Notification.objects.get().email_state == EmailState.SENT


def test_nothing_is_emailed_before_the_commit(rep: Any, now: datetime, smtp_server: Any) -> None:
    # The message is left inside a transaction that has not committed (the test's own):
    # nothing goes out, and it waits in the outbox.
    notify(
        rep, kind=NotificationKind.SLA_BREACH, message="SLA breached: Ann", lead_id=None,
        key="sla_breach:1", now=now,
    )  # fmt: skip

    assert smtp_server.messages == []
    assert Notification.objects.get().email_state == EmailState.PENDING


def test_the_outbox_sweep_sends_each_message_once(
    rep: Any, now: datetime, smtp_server: Any
) -> None:
    notify_many(
        [
            Message(rep.pk, NotificationKind.SLA_BREACH, "first", None, "k1"),
            Message(rep.pk, NotificationKind.SLA_REMINDER, "second", None, "k2"),
        ],
        now=now,
    )

    assert send_notification_emails(now=now) == 2
    assert send_notification_emails(now=now) == 0
    # The same event told again is neither a new note nor a new email.
    notify_many([Message(rep.pk, NotificationKind.SLA_BREACH, "first", None, "k1")], now=now)
    assert send_notification_emails(now=now) == 0

    assert sorted(body(mail).strip() for mail in parsed(smtp_server)) == ["first", "second"]


def test_a_claimed_message_is_not_sent_by_a_second_worker(
    rep: Any, now: datetime, smtp_server: Any
) -> None:
    notify_many([Message(rep.pk, NotificationKind.SLA_BREACH, "first", None, "k1")], now=now)
    # Another worker claimed it and died before marking it sent.
    Notification.objects.update(email_state=EmailState.SENDING)

    assert send_notification_emails(now=now) == 0
    assert smtp_server.messages == []


def test_a_person_chooses_per_kind(
    rep: Any, now: datetime, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    set_email_notifications(
        rep, by=rep, choices={NotificationKind.SLA_BREACH: False, NotificationKind.ASSIGNED: True}
    )
    rep.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        notify_many(
            [
                Message(rep.pk, NotificationKind.SLA_BREACH, "breach", None, "k1"),
                Message(rep.pk, NotificationKind.SLA_REMINDER, "reminder", None, "k2"),
            ],
            now=now,
        )
    ann = Lead.objects.create(
        email="ann@example.io", first_name="Ann", arrived_at=now, stage_changed_at=now
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify_assigned([(ann.pk, rep.pk)], now=now)

    # In the app: all three. By email: the reminder (on by default) and the new lead
    # (chosen), not the breach (turned off).
    assert Notification.objects.filter(recipient=rep).count() == 3
    assert sorted(body(mail).splitlines()[0] for mail in parsed(smtp_server)) == [
        "New lead for you: Ann",
        "reminder",
    ]
    choices = {kind: emailed for kind, _label, emailed in email_choices(rep)}
    assert choices[NotificationKind.SLA_BREACH] is False
    assert choices[NotificationKind.ASSIGNED] is True
    assert choices[NotificationKind.SLA_REMINDER] is True


def test_new_leads_are_not_emailed_unless_chosen(rep: Any, now: datetime) -> None:
    ann = Lead.objects.create(email="ann@example.io", arrived_at=now, stage_changed_at=now)
    notify_assigned([(ann.pk, rep.pk)], now=now)

    assert Notification.objects.get().email_state == EmailState.NOT_WANTED


def test_someone_without_an_address_gets_no_email(org: Any, now: datetime) -> None:
    notify_many([Message(org.rep2.pk, NotificationKind.SLA_BREACH, "b", None, "k")], now=now)

    assert Notification.objects.get().email_state == EmailState.NOT_WANTED


def test_only_oneself_chooses_and_only_known_kinds(org: Any, rep: Any) -> None:
    with pytest.raises(NotPermitted):
        set_email_notifications(rep, by=org.manager, choices={"sla_breach": False})
    with pytest.raises(FieldError) as unknown:
        set_email_notifications(rep, by=rep, choices={"gossip": True})
    assert unknown.value.field == "email_notifications"
    with pytest.raises(FieldError) as not_bool:
        set_email_notifications(rep, by=rep, choices={"sla_breach": "yes"})  # type: ignore[dict-item]
    assert not_bool.value.field == "email_notifications.sla_breach"


def test_messages_left_while_emails_are_held_are_never_emailed(
    rep: Any, now: datetime, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from users.services import emails_held

    with emails_held(), django_capture_on_commit_callbacks(execute=True):
        notify_many([Message(rep.pk, NotificationKind.SLA_BREACH, "old news", None, "k1")], now=now)
        notify(
            rep, kind=NotificationKind.SLA_REMINDER, message="old", lead_id=None, key="k2", now=now
        )

    assert send_notification_emails(now=now) == 0
    assert smtp_server.messages == []
    assert set(Notification.objects.values_list("email_state", flat=True)) == {""}
