"""Operations on people's own records: notifications."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction

from leads.history import history_ids, move_rows
from leads.models import Lead

from .choices import NotificationKind
from .models import Notification, User

NOTIFY_BATCH_SIZE = 2000

# Notifications about a lead: its history, which follows the person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {"notifications": Notification}


def notify(
    recipient: User,
    *,
    kind: str,
    message: str,
    lead_id: int | None,
    key: str,
    now: datetime,
) -> Notification:
    """Leave `recipient` a message, once per `key`.

    The key names the event ("sla_breach:<lead>:<deadline>"), so a sweep or a retry that
    tells the same thing again finds the first message instead of writing a second; the
    unique constraint (recipient, dedupe_key) settles two callers racing for it.
    """
    notification, _created = Notification.objects.get_or_create(
        recipient=recipient,
        dedupe_key=key[:120],
        defaults={"kind": kind, "message": message[:300], "lead_id": lead_id, "created_at": now},
    )
    return notification


@dataclass(frozen=True)
class Message:
    """One notification to leave, for `notify_many`."""

    recipient_id: int
    kind: str
    message: str
    lead_id: int | None
    key: str


def notify_many(messages: Iterable[Message], *, now: datetime) -> int:
    """`notify` for many people at once, in one INSERT per NOTIFY_BATCH_SIZE rows: a
    message whose (recipient, key) is already there is skipped (the unique constraint
    decides, so a retry or a racing sweep writes nothing twice). Returns how many were
    asked for."""
    rows = [
        Notification(
            recipient_id=message.recipient_id,
            kind=message.kind,
            message=message.message[:300],
            lead_id=message.lead_id,
            dedupe_key=message.key[:120],
            created_at=now,
        )
        for message in messages
    ]
    Notification.objects.bulk_create(rows, batch_size=NOTIFY_BATCH_SIZE, ignore_conflicts=True)
    return len(rows)


# "New lead for you: <Lead.display_name>", in SQL that SQLite and PostgreSQL both read.
ASSIGNED_MESSAGE_SQL = (
    "SUBSTR('New lead for you: ' || COALESCE(NULLIF(TRIM(l.first_name || ' ' || l.last_name),"
    " ''), NULLIF(l.email, ''), 'Lead #' || l.id), 1, 300)"
)
ASSIGNED_BATCH_SIZE = 20_000


def notify_assigned(assignments: Iterable[tuple[int, int]], *, now: datetime) -> int:
    """Tell each rep of the leads just given to them: (lead id, rep id) pairs, one
    "assigned" message each, keyed by lead and moment (so a retry tells it once).

    Set-based, for the bulk paths (an import routes ~100,000 leads): one INSERT … SELECT
    per ASSIGNED_BATCH_SIZE pairs, the lead's name read from its row in the same
    statement; model instances (bulk_create) would cost seconds there. Returns how many
    pairs were given."""
    pairs = [(int(lead_id), int(owner_id)) for lead_id, owner_id in assignments]
    table = connection.ops.quote_name(Notification._meta.db_table)
    leads = connection.ops.quote_name(Lead._meta.db_table)
    head = (
        f"INSERT INTO {table} (recipient_id, kind, message, lead_id, dedupe_key, created_at)"
        f" SELECT a.owner_id, %s, {ASSIGNED_MESSAGE_SQL}, l.id, %s || l.id || %s, %s"
    )
    # WHERE true: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
    tail = f" JOIN {leads} l ON l.id = a.lead_id WHERE true ON CONFLICT DO NOTHING"
    constants = [
        NotificationKind.ASSIGNED.value,
        "assigned:",
        f":{now.isoformat()}",
        connection.ops.adapt_datetimefield_value(now),
    ]
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(pairs), ASSIGNED_BATCH_SIZE):
            batch = pairs[start : start + ASSIGNED_BATCH_SIZE]
            if connection.vendor == "postgresql":
                source = " FROM unnest(%s::bigint[], %s::bigint[]) AS a(lead_id, owner_id)"
                values: list[Any] = [[p[0] for p in batch], [p[1] for p in batch]]
            else:
                source = (
                    " FROM (SELECT json_extract(value, '$[0]') AS lead_id,"
                    " json_extract(value, '$[1]') AS owner_id FROM json_each(%s)) a"
                )
                values = [json.dumps(batch)]
            cursor.execute(head + source + tail, [*constants, *values])
    return len(pairs)


def open_notification(user: User, notification_id: int, *, now: datetime) -> Notification | None:
    """`user` opens one of their messages: it is marked read and returned (None: no
    such message of theirs)."""
    found = user.notifications.filter(pk=notification_id).first()
    if found is not None and found.read_at is None:
        mark_notifications_read(user, [found.pk], now=now)
        found.read_at = now
    return found


def mark_notifications_read(
    user: User, ids: Collection[int] | None = None, *, now: datetime
) -> int:
    """Mark `user`'s unread messages read: those with `ids`, or all of them when None.
    Someone else's messages are never touched. Returns how many were marked."""
    with transaction.atomic():
        unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
        if ids is not None:
            unread = unread.filter(pk__in=list(ids))
        return unread.update(read_at=now)


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the notifications about the lead, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the notifications named by `ids` to the lead `to` (a merge, or its undo)."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)
