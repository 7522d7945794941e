"""Workers sweeping the outbox at the same moment share the work and never send one
message twice (row locks with SKIP LOCKED on PostgreSQL; the conditional claim on
SQLite)."""

from __future__ import annotations

import threading
from datetime import datetime
from email import message_from_bytes
from typing import Any

import pytest
from django.db import close_old_connections, connection

from leads.models import Lead
from nurture import services
from nurture.choices import MessageStatus, Purpose
from nurture.models import Message
from users.choices import Role
from users.models import User

from .conftest import consenting


@pytest.mark.django_db(transaction=True)
def test_workers_at_once_send_each_message_exactly_once(
    now: datetime, sink: Any, settings: Any
) -> None:
    settings.LEADLOOP_EMAIL_WEEKLY_CAP = 100
    marketer = User.objects.create_user("m", role=Role.MARKETING)
    template = services.create_template(
        by=marketer, now=now, name="T", subject="Hi {{ first_name }}", text_body="Hello"
    )
    for i in range(40):
        lead = Lead.objects.create(
            email=f"p{i}@example{i % 4}.io", first_name=f"P{i}", arrived_at=now,
            stage_changed_at=now,
        )  # fmt: skip
        consenting(lead, now)
        services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
    workers = 4
    barrier = threading.Barrier(workers)
    sent: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            sent.append(services.run_due(now=now, batch_size=5))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    received = [message_from_bytes(e.content)["To"] for e in sink.messages]
    assert sorted(received) == sorted(set(received)) and len(received) == 40
    assert sum(sent) == 40
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
