"""Pure decisions of outgoing webhooks: which event a history row is, how a POST is
signed, how long to wait after a failure, which URLs may be called, how far a cursor
moves. No database, no network."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from leads.choices import Stage

from .choices import EventType

SIGNATURE_HEADER = "X-Leadloop-Signature"
EVENT_HEADER = "X-Leadloop-Event"
# The same for every attempt of one event: a receiver that has seen it ignores a retry.
EVENT_ID_HEADER = "X-Leadloop-Event-Id"
# A receiver should refuse a signature older than this (replays of a captured request).
SIGNATURE_TOLERANCE = timedelta(minutes=5)

STAGE_EVENTS: dict[str, EventType] = {
    Stage.NEW: EventType.CREATED,
    Stage.NURTURING: EventType.NURTURING,
    Stage.MQL: EventType.SALES_READY,
    Stage.ACCEPTED: EventType.ACCEPTED,
    Stage.OPPORTUNITY: EventType.CONVERTED,
    Stage.CUSTOMER: EventType.WON,
    Stage.RECYCLED: EventType.RECYCLED,
    Stage.DISQUALIFIED: EventType.DISQUALIFIED,
}
# followup.services.lose_lead recycles a lead with the reason "lost: <why>".
LOST_PREFIX = "lost:"


def stage_change_event(to_stage: str, reason: str) -> EventType | None:
    """The event a move to `to_stage` is: a lost deal is `lead.lost`, not
    `lead.recycled`, though the lead is recycled by it."""
    if to_stage == Stage.RECYCLED and reason.startswith(LOST_PREFIX):
        return EventType.LOST
    return STAGE_EVENTS.get(to_stage)


def assignment_event(from_owner_id: int | None) -> EventType:
    """A lead given to someone is `lead.assigned`; taken from one rep and given to
    another, `lead.reassigned`."""
    return EventType.ASSIGNED if from_owner_id is None else EventType.REASSIGNED


# --- Signing --------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256 of "<timestamp>.<body>", keyed with the secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Leadloop-Signature value: `t=<unix seconds>,v1=<hex>` (Stripe's shape, so
    a receiver may add a v2 scheme later beside v1)."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: int, tolerance: timedelta = SIGNATURE_TOLERANCE
) -> bool:
    """What a receiver does (the README shows the same in a few lines): the header's
    timestamp is recent and one of its v1 signatures matches the body."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in parts if key.strip() == "t"]
    signatures = [value.strip() for key, value in parts if key.strip() == "v1"]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not signatures:
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance.total_seconds():
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


# --- Retries --------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 1, 2, 4, 8 … minutes,
    at most 6 hours between two attempts."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=6))


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300


# --- Where we may POST ----------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook target, or None: http(s) with a host, nothing else
    (no file:, ftp:, javascript:)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises for a port that is not a number
    except ValueError:
        return "is not a URL"
    if parts.scheme not in {"http", "https"}:
        return "must start with http:// or https://"
    if not parts.hostname:
        return "must name a host, e.g. https://crm.example.com/hooks/leadloop"
    if port == 0:
        return "port 0 cannot be called"
    return None


def private_address(addresses: Iterable[str]) -> str | None:
    """The first address that is not on the public internet (loopback, private ranges,
    link-local such as cloud metadata at 169.254.169.254, multicast, reserved), or None."""
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return str(address)
    return None


# --- Cursors --------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Gap:
    """Ids from `first` to `last` that were missing when the cursor passed them."""

    first: int
    last: int
    since: datetime


def _missing_runs(first: int, last: int, found: list[int]) -> list[tuple[int, int]]:
    """The runs of ids in [first, last] not in `found` (sorted), without walking the
    range itself: a rolled-back import may leave a gap of a million ids."""
    runs, start = [], first
    for row_id in found:
        if row_id < first or row_id > last:
            continue
        if row_id > start:
            runs.append((start, row_id - 1))
        start = max(start, row_id + 1)
    if start <= last:
        runs.append((start, last))
    return runs


def advance_cursor(
    last_id: int,
    gaps: list[Gap],
    found: Iterable[int],
    *,
    batch_full: bool,
    now: datetime,
    wait: timedelta,
    max_gaps: int = 200,
) -> tuple[int, list[Gap]]:
    """The cursor after reading `found` (ids above `last_id` or in `gaps`, in id order,
    at most a batch of them): the highest id read, and the ids still missing below it.

    With a full batch, ids above the last one read were not looked at: gaps there stay as
    they are. A gap older than `wait` is given up (its transaction rolled back); beyond
    `max_gaps` the oldest are given up too, so the sweep's query stays small.
    """
    ids = sorted(set(found))
    looked_up_to = ids[-1] if batch_full and ids else None
    kept: list[Gap] = []
    for gap in gaps:
        if now - gap.since > wait:
            continue
        upper = gap.last if looked_up_to is None else min(gap.last, looked_up_to)
        kept += [Gap(a, b, gap.since) for a, b in _missing_runs(gap.first, upper, ids)]
        if looked_up_to is not None and gap.last > looked_up_to:
            kept.append(Gap(max(gap.first, looked_up_to + 1), gap.last, gap.since))
    new_last = max([last_id, *ids])
    kept += [Gap(a, b, now) for a, b in _missing_runs(last_id + 1, new_last, ids)]
    kept.sort()
    if len(kept) > max_gaps:
        kept = sorted(sorted(kept, key=lambda gap: gap.since)[-max_gaps:])
    return new_last, kept
