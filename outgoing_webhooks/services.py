"""Outgoing webhooks: setting up subscriptions, and the sweep that sends lead events.

The sweep `run_due(*, now)` does two things, each safe to run twice or in two workers
at once:

1. **collect**: read the history the other apps write, from where this app's cursor for
   each table stopped (`Cursor`): stage changes (`leads_stagechange`), assignments
   (`routing_assignment`) and SLA breach notifications (`users_notification`, kind
   `sla_breach`). Each new row is an event; each active subscription asking for its type
   gets one pending `Delivery` with the payload. Deliveries and the cursor's move are one
   transaction, and (subscription, event id) is unique, so a crash between the two, or a
   row read twice, queues nothing twice and skips nothing. No other app calls this one.
2. **send**: claim due deliveries (row locks, SKIP LOCKED on PostgreSQL: two workers
   never claim the same one), count the attempt and push `next_attempt_at` a lease
   ahead in that short transaction, then POST outside any transaction (a slow receiver
   holds no lock). A 2xx delivers; anything else waits 1, 2, 4 … minutes
   (`rules.retry_delay`) and is failed after LEADLOOP_WEBHOOK_MAX_ATTEMPTS. A worker that
   dies mid-POST leaves the delivery to be tried again once its lease has run out: a
   receiver may see an event twice in that case, and dedupes it by X-Leadloop-Event-Id.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Max, Q
from django.utils.dateparse import parse_datetime

from leads.errors import FieldError, NotPermitted
from leads.models import Lead, StageChange
from routing.choices import AssignedHow
from routing.models import Assignment
from users.choices import Capability, NotificationKind
from users.models import Notification, Team, User
from users.permissions import may

from . import sender
from .choices import TEST_EVENT, DeliveryStatus, EventType, Source
from .models import Cursor, Delivery, Subscription
from .rules import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    Gap,
    advance_cursor,
    assignment_event,
    is_success,
    retry_delay,
    signature_header,
    stage_change_event,
    url_problem,
)

SECRET_PREFIX = "whsec_"
COLLECT_BATCH_SIZE = 1000
SEND_BATCH_SIZE = 20
# How long a claimed delivery is left to the worker that claimed it: longer than a whole
# batch of POSTs at their timeout, so nobody else tries it while it is being sent.
CLAIM_LEASE = timedelta(minutes=5)

SOURCE_MODELS: dict[str, type[models.Model]] = {
    Source.STAGE_CHANGE: StageChange,
    Source.ASSIGNMENT: Assignment,
    Source.SLA_BREACH: Notification,
}


# --- Subscriptions --------------------------------------------------------------------


def check_may_manage(by: User) -> None:
    """Refuse (NotPermitted) anyone but an admin: the one check of every door."""
    if not may(by, Capability.MANAGE_WEBHOOK_SUBSCRIPTIONS):
        raise NotPermitted("subscription", "only admins set up outgoing webhooks")


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def masked(secret: str) -> str:
    """Enough of the secret to tell two apart, never enough to sign with."""
    return f"{secret[: len(SECRET_PREFIX) + 4]}…" if secret else ""


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "name" in values:
        name = str(values["name"] or "").strip()
        if not name:
            raise FieldError("name", "a subscription needs a name")
        if len(name) > 100:
            raise FieldError("name", "at most 100 characters")
        clean["name"] = name
    if "url" in values:
        url = str(values["url"] or "").strip()
        if problem := url_problem(url):
            raise FieldError("url", f"{url!r} {problem}")
        if len(url) > 2000:
            raise FieldError("url", "at most 2000 characters")
        clean["url"] = url
    if "event_types" in values:
        types = values["event_types"]
        if isinstance(types, str) or not isinstance(types, Iterable):
            raise FieldError("event_types", "a list of event types, e.g. ['lead.won']")
        chosen = [str(t).strip() for t in types]
        unknown = [t for t in chosen if t not in EventType.values]
        if unknown:
            raise FieldError(
                "event_types",
                f"unknown event type {unknown[0]!r}; known: {', '.join(EventType.values)}",
            )
        if not chosen:
            raise FieldError("event_types", "choose at least one event type")
        # In the table's order, each once.
        clean["event_types"] = [t for t in EventType.values if t in chosen]
    if "is_active" in values:
        clean["is_active"] = bool(values["is_active"])
    unknown_fields = set(values) - {"name", "url", "event_types", "is_active"}
    if unknown_fields:
        field = sorted(unknown_fields)[0]
        raise FieldError(field, "not a field of a subscription")
    return clean


def create_subscription(
    *,
    by: User,
    now: datetime,
    name: str,
    url: str,
    event_types: Iterable[str],
    is_active: bool = True,
) -> Subscription:
    """A new subscription with a fresh secret (read it from the returned object: pages
    show it once). Events are sent from now on: the cursors start at the end of the
    history the first time anyone subscribes."""
    check_may_manage(by)
    clean = _clean(
        {"name": name, "url": url, "event_types": list(event_types), "is_active": is_active}
    )
    with transaction.atomic():
        subscription = Subscription.objects.create(
            **clean, secret=new_secret(), created_by=by, created_at=now, updated_at=now
        )
        start_cursors(now=now)
    return subscription


def update_subscription(
    subscription: Subscription, *, by: User, now: datetime, **changes: Any
) -> Subscription:
    """Change a subscription's name, URL, event types or whether it is active."""
    check_may_manage(by)
    clean = _clean(changes)
    for field, value in clean.items():
        setattr(subscription, field, value)
    subscription.updated_at = now
    subscription.save(update_fields=[*clean, "updated_at"])
    return subscription


def rotate_secret(subscription: Subscription, *, by: User, now: datetime) -> str:
    """A new secret: deliveries are signed with it from the next attempt on."""
    check_may_manage(by)
    subscription.secret = new_secret()
    subscription.updated_at = now
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription.secret


def delete_subscription(subscription: Subscription, *, by: User) -> None:
    """Delete a subscription and its delivery log."""
    check_may_manage(by)
    subscription.delete()


def start_cursors(*, now: datetime) -> None:
    """Put each history table's cursor at its end, unless it is already somewhere: what
    happened before the first subscription is not sent."""
    for source, model in SOURCE_MODELS.items():
        if not Cursor.objects.filter(source=source).exists():
            end = model._default_manager.aggregate(end=Max("pk"))["end"] or 0
            Cursor.objects.get_or_create(
                source=source, defaults={"last_id": end, "updated_at": now}
            )


# --- Events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    occurred_at: datetime
    lead_id: int
    change: dict[str, Any]


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.display_name}


def _stage_events(rows: list[StageChange]) -> list[Event]:
    events = []
    for row in rows:
        event_type = stage_change_event(row.to_stage, row.reason)
        if event_type is None or row.from_stage == row.to_stage:
            continue
        events.append(
            Event(
                f"stage_change:{row.pk}",
                event_type,
                row.changed_at,
                row.lead_id,
                {
                    "from": row.from_stage or None,
                    "to": row.to_stage,
                    "reason": row.reason,
                    "by": row.changed_by_id,
                },
            )
        )
    return events


def _assignment_events(rows: list[Assignment]) -> list[Event]:
    return [
        Event(
            f"assignment:{row.pk}",
            assignment_event(row.from_owner_id),
            row.assigned_at,
            row.lead_id,
            {
                "from": row.from_owner_id,
                "to": row.to_owner_id,
                "team": row.to_team_id,
                "how": row.how,
                "rule": row.rule_name,
                "reason": row.reason,
                "by": row.assigned_by_id,
            },
        )
        for row in rows
        # Rows made up for leads assigned before assignments were recorded are not news.
        if row.how != AssignedHow.BEFORE_HISTORY
    ]


def _breach_events(rows: list[Notification]) -> list[Event]:
    """One event per breach, however many people were told of it: the notification's
    key names the lead and the deadline ("sla_breach:<lead>:<deadline>")."""
    events: dict[str, Event] = {}
    for row in rows:
        if row.kind != NotificationKind.SLA_BREACH or row.lead_id is None:
            continue
        events.setdefault(
            row.dedupe_key,
            Event(
                row.dedupe_key,
                EventType.SLA_BREACHED,
                row.created_at,
                row.lead_id,
                {"from": None, "to": None, "reason": "first touch not made in time", "by": None},
            ),
        )
    return list(events.values())


def _read(source: str, cursor: Cursor, batch_size: int) -> list[Any]:
    model = SOURCE_MODELS[source]
    wanted = Q(pk__gt=cursor.last_id)
    for first, last, _since in cursor.gaps:
        wanted |= Q(pk__gte=first, pk__lte=last)
    rows = model._default_manager.filter(wanted).order_by("pk")
    if source == Source.SLA_BREACH:
        # Every notification id moves the cursor; only breaches become events.
        rows = rows.only("pk", "kind", "lead_id", "dedupe_key", "created_at")
    return list(rows[:batch_size])


def _events(source: str, rows: list[Any]) -> list[Event]:
    if source == Source.STAGE_CHANGE:
        return _stage_events(rows)
    if source == Source.ASSIGNMENT:
        return _assignment_events(rows)
    return _breach_events(rows)


def _payloads(events: list[Event]) -> dict[str, dict[str, Any]]:
    """Each event's JSON body: the lead as it is now, and the change that was made."""
    leads = Lead.objects.select_related("owner", "team").in_bulk({e.lead_id for e in events})
    people_ids = {
        value
        for event in events
        for key, value in event.change.items()
        if key in {"from", "to", "by"} and isinstance(value, int)
    }
    people = User.objects.in_bulk(people_ids)
    teams = Team.objects.in_bulk(
        {e.change["team"] for e in events if isinstance(e.change.get("team"), int)}
    )
    payloads = {}
    for event in events:
        lead = leads.get(event.lead_id)
        if lead is None:  # erased since
            continue
        change = dict(event.change)
        if event.id.startswith("assignment:"):
            change["from"] = _person(people.get(change["from"])) if change["from"] else None
            change["to"] = _person(people.get(change["to"])) if change["to"] else None
            team = teams.get(change["team"]) if change["team"] else None
            change["team"] = team.name if team else None
        if event.type == EventType.SLA_BREACHED:
            change["due_at"] = lead.sla_due_at.isoformat() if lead.sla_due_at else None
        change["by"] = _person(people.get(change["by"])) if change["by"] else None
        payloads[event.id] = {
            "id": event.id,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "lead": lead_json(lead),
            "change": change,
        }
    return payloads


def lead_json(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "email": lead.email,
        "name": f"{lead.first_name} {lead.last_name}".strip(),
        "company": lead.company_name,
        "stage": lead.stage,
        "owner": _person(lead.owner),
        "team": lead.team.name if lead.team else None,
        "score": lead.score,
        "grade": lead.grade,
    }


def _gaps(cursor: Cursor) -> list[Gap]:
    return [
        Gap(first, last, parse_datetime(since) or cursor.updated_at)
        for first, last, since in cursor.gaps
    ]


def collect_source(source: str, *, now: datetime, batch_size: int = COLLECT_BATCH_SIZE) -> int:
    """Queue the deliveries of one history table's new rows, a batch at a time; returns
    how many were queued."""
    queued = 0
    while True:
        with transaction.atomic():
            # Another worker reading this table now: leave it to them.
            cursor = (
                Cursor.objects.select_for_update(skip_locked=True).filter(source=source).first()
            )
            if cursor is None:
                return queued
            rows = _read(source, cursor, batch_size)
            events = _events(source, rows)
            queued += _queue(events, now=now)
            last_id, gaps = advance_cursor(
                cursor.last_id,
                _gaps(cursor),
                [row.pk for row in rows],
                batch_full=len(rows) == batch_size,
                now=now,
                wait=timedelta(seconds=settings.LEADLOOP_WEBHOOK_GAP_WAIT_SECONDS),
            )
            cursor.last_id = last_id
            cursor.gaps = [[gap.first, gap.last, gap.since.isoformat()] for gap in gaps]
            cursor.updated_at = now
            cursor.save(update_fields=["last_id", "gaps", "updated_at"])
        if len(rows) < batch_size:
            return queued


def _queue(events: list[Event], *, now: datetime) -> int:
    if not events:
        return 0
    subscriptions = [
        (subscription, set(subscription.event_types))
        for subscription in Subscription.objects.filter(is_active=True)
    ]
    wanted = [e for e in events if any(e.type in types for _, types in subscriptions)]
    if not wanted:
        return 0
    payloads = _payloads(wanted)
    rows = [
        Delivery(
            subscription=subscription,
            event_id=event.id,
            event_type=event.type,
            payload=payloads[event.id],
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        for event in wanted
        if event.id in payloads
        for subscription, types in subscriptions
        if event.type in types
    ]
    # A row read twice (a gap read again, a crash before the cursor moved) queues nothing
    # twice: the unique (subscription, event id) decides.
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def collect(*, now: datetime) -> int:
    return sum(collect_source(source, now=now) for source in SOURCE_MODELS)


# --- Sending --------------------------------------------------------------------------


def _claim(*, now: datetime, batch_size: int, only: int | None = None) -> list[Delivery]:
    """Take up to `batch_size` due deliveries for this worker: locked while claimed, the
    attempt counted and the next look pushed a lease ahead, so no other worker takes them."""
    with transaction.atomic():
        due = Delivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, subscription__is_active=True
        )
        if only is not None:
            due = due.filter(pk=only)
        claimed = list(
            due.select_related("subscription").order_by("next_attempt_at", "pk")[:batch_size]
        )
        if claimed:
            Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE, last_attempt_at=now
            )
        for delivery in claimed:
            delivery.attempts += 1
    return claimed


def body_of(delivery: Delivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


def headers_for(delivery: Delivery, body: bytes, *, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: delivery.event_type,
        EVENT_ID_HEADER: delivery.event_id,
        SIGNATURE_HEADER: signature_header(delivery.subscription.secret, timestamp, body),
    }


def _attempt(delivery: Delivery, *, now: datetime) -> bool:
    body = body_of(delivery)
    # The signature's time is the real clock's, whatever `now` the sweep runs at: the
    # receiver checks it against its own.
    outcome = sender.post(
        delivery.subscription.url, body, headers_for(delivery, body, timestamp=int(time.time()))
    )
    changes: dict[str, Any] = {"last_status_code": outcome.status_code, "last_error": outcome.error}
    delivered = outcome.status_code is not None and is_success(outcome.status_code)
    if delivered:
        changes |= {
            "status": DeliveryStatus.DELIVERED,
            "delivered_at": now,
            "next_attempt_at": None,
        }
    elif outcome.is_final or delivery.attempts >= settings.LEADLOOP_WEBHOOK_MAX_ATTEMPTS:
        changes |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    else:
        changes["next_attempt_at"] = now + retry_delay(delivery.attempts)
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(**changes)
    return delivered


def send_due(*, now: datetime, batch_size: int = SEND_BATCH_SIZE) -> int:
    """POST every delivery due at `now`; returns how many attempts were made."""
    attempts = 0
    while True:
        claimed = _claim(now=now, batch_size=batch_size)
        for delivery in claimed:
            _attempt(delivery, now=now)
        attempts += len(claimed)
        if len(claimed) < batch_size:
            return attempts


def prune_deliveries(*, now: datetime, batch_size: int = 5000) -> int:
    """Delete delivered and failed deliveries older than LEADLOOP_WEBHOOK_LOG_DAYS (their
    payloads hold people's data); pending ones stay until they are sent or fail. One
    subscription at a time, on its (subscription, created_at) index."""
    cutoff = now - timedelta(days=settings.LEADLOOP_WEBHOOK_LOG_DAYS)
    deleted = 0
    for subscription_id in Subscription.objects.values_list("pk", flat=True):
        while True:
            old = Delivery.objects.filter(
                subscription_id=subscription_id, created_at__lt=cutoff
            ).exclude(status=DeliveryStatus.PENDING)
            ids = list(old.order_by("created_at").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            deleted += Delivery.objects.filter(pk__in=ids).delete()[0]
    return deleted


def run_due(*, now: datetime) -> int:
    """The sweep (settings.LEADLOOP_SWEEPS, beat's "outgoing-webhooks"): queue what the
    history says happened, send what is due, forget deliveries past the log's keeping
    time. Returns deliveries queued plus attempts made (pruning is housekeeping)."""
    queued_and_sent = collect(now=now) + send_due(now=now)
    prune_deliveries(now=now)
    return queued_and_sent


# --- An admin's hand on one delivery --------------------------------------------------


def _send_now(delivery: Delivery, *, now: datetime) -> Delivery:
    for claimed in _claim(now=now, batch_size=1, only=delivery.pk):
        _attempt(claimed, now=now)
    delivery.refresh_from_db()
    return delivery


def send_test_event(subscription: Subscription, *, by: User, now: datetime) -> Delivery:
    """Post a `leadloop.test` event to the subscription at once (it is logged like any
    other and retried like any other if the receiver fails)."""
    check_may_manage(by)
    if not subscription.is_active:
        raise FieldError("subscription", "switch the subscription on to send it a test event")
    event_id = f"test:{uuid.uuid4()}"
    delivery = Delivery.objects.create(
        subscription=subscription,
        event_id=event_id,
        event_type=TEST_EVENT,
        payload={
            "id": event_id,
            "type": TEST_EVENT,
            "occurred_at": now.isoformat(),
            "lead": None,
            "change": {
                "from": None,
                "to": None,
                "reason": f"test sent by {by.username}",
                "by": _person(by),
            },
        },
        next_attempt_at=now,
        created_at=now,
    )
    return _send_now(delivery, now=now)


def retry_delivery(delivery: Delivery, *, by: User, now: datetime) -> Delivery:
    """Try a failed (or waiting) delivery again now, with a fresh count of attempts."""
    check_may_manage(by)
    if delivery.status == DeliveryStatus.DELIVERED:
        raise FieldError("delivery", "this delivery was delivered: there is nothing to retry")
    if not delivery.subscription.is_active:
        raise FieldError("subscription", "switch the subscription on to retry its deliveries")
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now
    )
    return _send_now(delivery, now=now)
