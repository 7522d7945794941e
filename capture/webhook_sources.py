"""Setting up webhook sources and keeping their delivery log: marketing (on `/webhooks/`)
and admins save a source as they configured it; the endpoint (api.hooks) logs
every request it answers for a source, and the capture clean-up sweep keeps the newest
deliveries of each. Rotating a source's token is `capture.services.rotate_webhook_token`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from leads.errors import FieldError

from .models import WebhookDelivery, WebhookSource

ERROR_MAX = WebhookDelivery._meta.get_field("error").max_length or 500


def save_webhook_source(source: WebhookSource) -> WebhookSource:
    """Create or change a webhook source whose fields a form has set and checked (the
    model's clean(): the mapping, a Zoom source's secret; the slug being unused).

    Raises FieldError("slug") when another source took the slug in the meantime: the
    unique constraint decides between two people saving at once.
    """
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError as exc:
        raise FieldError("slug", f"{source.slug!r} is used by another webhook source") from exc
    return source


@dataclass(frozen=True)
class DeliveryReport:
    """What the endpoint made of one request, as the delivery log keeps it."""

    status_code: int
    outcome: str  # a DeliveryOutcome
    rejection: str = ""  # a DeliveryRejection, for a rejected delivery
    events_recorded: int = 0
    duplicates: int = 0
    items_rejected: int = 0
    error: str = ""  # "field: message", the refusal's or the first rejected item's
    body_bytes: int | None = None


def record_webhook_delivery(
    source: WebhookSource,
    report: DeliveryReport,
    *,
    client_ip: str,
    now: datetime,
    authenticated: bool = True,
) -> WebhookDelivery:
    """Log one request to `source`'s endpoint. Written on its own, outside the delivery's
    work, so a delivery whose work was rolled back is still logged."""
    return WebhookDelivery.objects.create(
        source=source,
        received_at=now,
        status_code=report.status_code,
        outcome=report.outcome,
        rejection=report.rejection,
        events_recorded=report.events_recorded,
        duplicates=report.duplicates,
        items_rejected=report.items_rejected,
        client_ip=_address(client_ip),
        body_bytes=report.body_bytes,
        error=_storable(report.error)[:ERROR_MAX],
        authenticated=authenticated,
    )


def _address(text: str) -> str | None:
    """`text` as an IP address column takes it, or None when it is not one (a proxy may
    forward anything; PostgreSQL's inet takes no IPv6 zone)."""
    try:
        return str(ipaddress.ip_address(text.partition("%")[0].strip()))
    except ValueError:
        return None


def _storable(text: str) -> str:
    # Messages may quote what the sender wrote: no NUL (PostgreSQL) nor lone surrogate.
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def prune_webhook_deliveries(*, keep: int) -> int:
    """Delete all but the newest `keep` deliveries of every source that carried its token,
    and as many of those that did not (kept apart: requests anyone can send must not push
    the sender's own out of the log). Returns how many went."""
    if keep < 1:
        raise ValueError("keep at least one delivery per source")
    deleted = 0
    crowded = (
        WebhookDelivery.objects.values("source", "authenticated")
        .annotate(logged=Count("pk"))
        .filter(logged__gt=keep)
        .values_list("source", "authenticated")
    )
    for source_id, authenticated in crowded:
        of_kind = WebhookDelivery.objects.filter(source_id=source_id, authenticated=authenticated)
        boundary = list(
            of_kind.order_by("-received_at", "-pk").values_list("received_at", "pk")[
                keep - 1 : keep
            ]
        )
        if not boundary:  # pruned meanwhile by another sweep
            continue
        (oldest_kept_at, oldest_kept_pk) = boundary[0]
        count, _ = of_kind.filter(
            Q(received_at__lt=oldest_kept_at) | Q(received_at=oldest_kept_at, pk__lt=oldest_kept_pk)
        ).delete()
        deleted += count
    return deleted
