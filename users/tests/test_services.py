"""users.services: messages in the app, written once, read by their recipient only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from users.models import Notification
from users.services import mark_notifications_read, notify


def test_the_same_event_notifies_once(org: Any, now: datetime) -> None:
    first = notify(
        org.manager, kind="sla_breach", message="late", lead_id=None, key="sla:1", now=now
    )
    again = notify(
        org.manager,
        kind="sla_breach",
        message="late again",
        lead_id=None,
        key="sla:1",
        now=now + timedelta(hours=1),
    )

    assert again.pk == first.pk
    assert list(Notification.objects.values_list("message", "created_at")) == [("late", now)]


def test_the_same_key_for_another_recipient_is_another_message(org: Any, now: datetime) -> None:
    notify(org.manager, kind="x", message="m", lead_id=None, key="k", now=now)
    notify(org.us_manager, kind="x", message="m", lead_id=None, key="k", now=now)

    assert Notification.objects.count() == 2


def test_marking_read_marks_the_chosen_or_all_of_ones_own(org: Any, now: datetime) -> None:
    mine = [
        notify(org.rep1, kind="x", message=f"m{n}", lead_id=None, key=f"k{n}", now=now)
        for n in range(3)
    ]
    theirs = notify(org.rep2, kind="x", message="m", lead_id=None, key="k0", now=now)
    later = now + timedelta(minutes=5)

    assert mark_notifications_read(org.rep1, [mine[0].pk, theirs.pk], now=later) == 1
    assert mark_notifications_read(org.rep1, [], now=later) == 0
    assert mark_notifications_read(org.rep1, now=later + timedelta(minutes=1)) == 2
    assert mark_notifications_read(org.rep1, now=later + timedelta(minutes=2)) == 0

    read_at = dict(Notification.objects.values_list("pk", "read_at"))
    assert read_at == {
        mine[0].pk: later,
        mine[1].pk: later + timedelta(minutes=1),
        mine[2].pk: later + timedelta(minutes=1),
        theirs.pk: None,
    }
