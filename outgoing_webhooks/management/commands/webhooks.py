"""`leadloop webhooks list|create|update|deliveries|test|retry`: outgoing webhooks from
the command line, through the same services as the UI and the API (admins only: the
permission table decides, for the user named by --as).

    leadloop webhooks create CRM --url https://crm.example.com/hooks --events lead.won,lead.lost --as admin
    leadloop webhooks deliveries 1 --status failed
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.errors import FieldError
from outgoing_webhooks.choices import DeliveryStatus, EventType
from outgoing_webhooks.models import Delivery, Subscription
from outgoing_webhooks.services import (
    create_subscription,
    masked,
    retry_delivery,
    send_test_event,
    update_subscription,
)
from users.models import User


def _acting(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--as: no user named {username!r}")
    return user


def _subscription(pk: int) -> Subscription:
    found = Subscription.objects.filter(pk=pk).first()
    if found is None:
        raise CommandError(f"no webhook subscription with id {pk}")
    return found


def _events(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class Command(BaseCommand):
    help = "List, create or change outgoing webhook subscriptions; their deliveries; tests."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("list", help="every subscription, its events and delivery counts")
        create = sub.add_parser("create", help="subscribe a URL; prints the secret, once")
        create.add_argument("name")
        create.add_argument("--url", required=True, help="http(s) URL to POST to")
        create.add_argument(
            "--events", required=True, help=f"comma-separated: {','.join(EventType.values)}"
        )
        create.add_argument("--inactive", action="store_true", help="create it switched off")
        update = sub.add_parser("update", help="change a subscription")
        update.add_argument("id", type=int)
        update.add_argument("--name")
        update.add_argument("--url")
        update.add_argument("--events", help="comma-separated event types (replaces them)")
        update.add_argument("--active", choices=["yes", "no"])
        deliveries = sub.add_parser("deliveries", help="a subscription's delivery log")
        deliveries.add_argument("id", type=int)
        deliveries.add_argument("--status", choices=DeliveryStatus.values)
        deliveries.add_argument("--limit", type=int, default=50)
        test = sub.add_parser("test", help="send a leadloop.test event now")
        test.add_argument("id", type=int)
        retry = sub.add_parser("retry", help="try a delivery again now")
        retry.add_argument("delivery_id", type=int)
        for command in (create, update, test, retry):
            command.add_argument("--as", dest="acting", required=True, help="who does it")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "list":
            self._list()
            return
        if verb == "deliveries":
            self._deliveries(_subscription(options["id"]), options["status"], options["limit"])
            return
        user = _acting(options["acting"])
        now = timezone.now()
        try:
            if verb == "create":
                subscription = create_subscription(
                    by=user,
                    now=now,
                    name=options["name"],
                    url=options["url"],
                    event_types=_events(options["events"]),
                    is_active=not options["inactive"],
                )
                self.stdout.write(f"{subscription.pk}\t{subscription.name}\tcreated")
                self.stdout.write(
                    f"secret\t{subscription.secret}\t(shown once: give it to the receiver)"
                )
            elif verb == "update":
                changes: dict[str, Any] = {}
                for field in ("name", "url"):
                    if options[field] is not None:
                        changes[field] = options[field]
                if options["events"] is not None:
                    changes["event_types"] = _events(options["events"])
                if options["active"] is not None:
                    changes["is_active"] = options["active"] == "yes"
                subscription = update_subscription(
                    _subscription(options["id"]), by=user, now=now, **changes
                )
                self.stdout.write(f"{subscription.pk}\t{subscription.name}\tsaved")
            elif verb == "test":
                delivery = send_test_event(_subscription(options["id"]), by=user, now=now)
                self._write_delivery(delivery)
            else:
                found = (
                    Delivery.objects.select_related("subscription")
                    .filter(pk=options["delivery_id"])
                    .first()
                )
                if found is None:
                    raise CommandError(f"no delivery with id {options['delivery_id']}")
                self._write_delivery(retry_delivery(found, by=user, now=now))
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _list(self) -> None:
        self.stdout.write("id\tname\tactive\turl\tevents\tsecret\tpending\tfailed")
        for subscription in Subscription.objects.order_by("name", "pk"):
            counts = {
                status: subscription.deliveries.filter(status=status).count()
                for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
            }
            self.stdout.write(
                "\t".join(
                    [
                        str(subscription.pk),
                        subscription.name,
                        "yes" if subscription.is_active else "no",
                        subscription.url,
                        ",".join(subscription.event_types),
                        masked(subscription.secret),
                        str(counts[DeliveryStatus.PENDING]),
                        str(counts[DeliveryStatus.FAILED]),
                    ]
                )
            )

    def _deliveries(self, subscription: Subscription, status: str | None, limit: int) -> None:
        if limit < 1:
            raise CommandError("--limit must be 1 or more")
        deliveries = subscription.deliveries.order_by("-created_at", "-pk")
        if status:
            deliveries = deliveries.filter(status=status)
        self.stdout.write(
            "id\tcreated_at\tevent\tevent_id\tstatus\tattempts\tcode\tnext_attempt_at\terror"
        )
        for delivery in deliveries[:limit]:
            self._write_delivery(delivery)

    def _write_delivery(self, delivery: Delivery) -> None:
        self.stdout.write(
            "\t".join(
                [
                    str(delivery.pk),
                    delivery.created_at.isoformat(timespec="seconds"),
                    delivery.event_type,
                    delivery.event_id,
                    delivery.status,
                    str(delivery.attempts),
                    str(delivery.last_status_code or ""),
                    delivery.next_attempt_at.isoformat(timespec="seconds")
                    if delivery.next_attempt_at
                    else "",
                    delivery.last_error,
                ]
            )
        )
