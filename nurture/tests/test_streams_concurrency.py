"""Workers running the streams sweep at the same moment share the due members and send
each lead its piece exactly once (row locks with SKIP LOCKED, the conditional claim and
the unique (lead, piece)).

SQLite serialises writers, so it cannot show the race: the test skips on the SQLite pass
(CI runs the suite a second time on PostgreSQL, where it runs)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

import pytest
from django.db import close_old_connections, connection

from leads.models import Lead
from nurture import lists, services, streams
from nurture.models import Message, PieceDelivery, StreamMember
from users.choices import Role
from users.models import User

from .conftest import consenting


@pytest.mark.django_db(transaction=True)
def test_workers_at_once_send_each_lead_its_piece_exactly_once(now: datetime) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the race shows on PostgreSQL only")
    marketer = User.objects.create_user("m", role=Role.MARKETING)
    template = services.create_template(
        by=marketer, now=now, name="T", subject="{{ piece.title }}", text_body="{{ piece.url }}"
    )
    vip = lists.create_list(by=marketer, name="VIP", kind="static", now=now)
    stream = streams.create_stream(by=marketer, now=now, name="News", enrol_list=vip)
    for title in ("One", "Two"):
        streams.add_piece(
            stream, by=marketer, now=now, title=title, url="https://e.com", template=template
        )
    leads = [
        Lead.objects.create(email=f"p{i}@x.io", arrived_at=now, stage_changed_at=now)
        for i in range(40)
    ]
    for lead in leads:
        consenting(lead, now)
    lists.add_leads(vip, [lead.pk for lead in leads], by=marketer, now=now)
    workers = 4
    barrier = threading.Barrier(workers)
    sent: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            sent.append(streams.run_due(now=now, batch_size=5))
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
    assert sum(sent) == 40
    assert Message.objects.count() == 40
    per_lead = Counter(PieceDelivery.objects.values_list("lead_id", "piece__title"))
    assert set(per_lead.values()) == {1}
    assert {title for _lead, title in per_lead} == {"One"}
    assert StreamMember.objects.filter(status="active").count() == 40
