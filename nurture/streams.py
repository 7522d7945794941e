"""Content streams: the one service behind `/streams/`, `/api/v1/streams` and `leadloop
streams`.

A stream is an ordered pool of content pieces. Each lead its enrolment rule picks (a
list, a segment, or both) gets the next piece it has not seen — by position, skipping
every piece it was sent before, also in an earlier stay in the stream — every
`cadence_days`, optionally at a weekday and hour in the lead's time zone. A lead that has
seen every piece is "exhausted"; a piece added later makes it active again, due at once
or at its next slot. A lead leaves when the rule stops picking it, when it becomes
sales-ready or is disqualified, and when it unsubscribes (an `unsubscribed` event for the
stream's purpose, or for every purpose) or its address is suppressed.

The sweep `run_due` (LEADLOOP_SWEEPS, before the outbox; beat's "streams") does it all:
enrolment and leaving set-based (UPDATE … WHERE, and one INSERT … SELECT per stream and
time zone), then the due members in batches of one transaction each: rows locked (SKIP
LOCKED), advanced by one UPDATE per stream and time zone on the condition that they are
still due, each one's message queued through `nurture.services.queue_message` and the
batch's `PieceDelivery` rows inserted together. A run at the same moment finds nothing
due; a batch that finds a member advanced or a piece delivered by another worker rolls
back whole (the unique (lead, piece) is the last guard), so nothing is sent twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower

from leads.choices import Segment, Stage
from leads.errors import FieldError, NotPermitted
from leads.history import history_ids
from leads.models import Lead
from users.choices import Capability
from users.models import Team, User
from users.permissions import may

from . import consent, rules_streams
from .choices import LeftReason, PieceKind, Purpose, StreamMemberStatus, StreamStatus
from .models import ConsentState, EmailTemplate, LeadList, ListMember, Suppression
from .models_streams import ContentPiece, ContentStream, PieceDelivery, StreamMember
from .services import queue_messages

log = logging.getLogger(__name__)

BATCH_SIZE = 200
ACTIVE, EXHAUSTED, LEFT = (
    StreamMemberStatus.ACTIVE,
    StreamMemberStatus.EXHAUSTED,
    StreamMemberStatus.LEFT,
)
IN_STREAM = (ACTIVE, EXHAUSTED)
# A lead sales works (or that scored sales-ready) is sales' now, not marketing's.
SALES_READY = Q(stage__in=[Stage.MQL, Stage.ACCEPTED, Stage.OPPORTUNITY, Stage.CUSTOMER]) | Q(
    segment=Segment.SALES_READY
)
DISQUALIFIED = Q(stage=Stage.DISQUALIFIED) | Q(segment=Segment.DISQUALIFIED)
# The segments a stream may enrol from: the others are sales' or nobody's.
ENROL_SEGMENTS = tuple(
    v for v in Segment.values if v not in (Segment.SALES_READY, Segment.DISQUALIFIED)
)
EVERY_PURPOSE = ("", "all")


# --- Permission -------------------------------------------------------------------------


def check_may_manage(by: Any) -> None:
    """NotPermitted unless `by` may manage streams: they send marketing email, so the
    permission is `send_email` (marketing, admins)."""
    if not may(by, Capability.SEND_EMAIL):
        raise NotPermitted("streams", "only marketing and admins manage content streams")


# --- Streams ----------------------------------------------------------------------------

STREAM_FIELDS = (
    "name",
    "status",
    "cadence_days",
    "send_weekday",
    "send_hour",
    "purpose",
    "enrol_list",
    "enrol_segment",
)


def _whole(value: Any, field: str, *, least: int, most: int) -> int:
    if isinstance(value, bool):
        raise FieldError(field, "must be a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FieldError(field, f"{value!r} is not a whole number") from None
    if not least <= number <= most:
        raise FieldError(field, f"must be between {least} and {most}")
    return number


def _row_id(text: str) -> bool:
    """Whether `text` can be a row's id (digits the database's bigint holds)."""
    return text.isdigit() and int(text) < 2**63


def _lead_list(value: Any) -> LeadList | None:
    """A list by itself, its id or its name; None for none."""
    if value is None or value == "":
        return None
    if isinstance(value, LeadList):
        return value
    text = str(value).strip()
    found = LeadList.objects.filter(pk=int(text)).first() if _row_id(text) else None
    found = found or LeadList.objects.filter(name__iexact=text).first()
    if found is None:
        raise FieldError("enrol_list", f"no list called {text!r}")
    return found


def _clean_stream(fields: dict[str, Any], *, current: ContentStream | None) -> dict[str, Any]:
    unknown = set(fields) - set(STREAM_FIELDS)
    if unknown:
        raise FieldError(sorted(unknown)[0], "not a field of a content stream")
    clean: dict[str, Any] = {}
    name = str(fields.get("name") or "").strip()
    if not name:
        raise FieldError("name", "a stream needs a name")
    if len(name) > 100:
        raise FieldError("name", "at most 100 characters")
    taken = ContentStream.objects.filter(name__iexact=name)
    if current is not None:
        taken = taken.exclude(pk=current.pk)
    if taken.exists():
        raise FieldError("name", f"there is already a stream called {name!r}")
    clean["name"] = name
    status = str(fields.get("status") or StreamStatus.ACTIVE)
    if status not in StreamStatus.values:
        raise FieldError("status", f"one of {', '.join(StreamStatus.values)}")
    clean["status"] = status
    clean["cadence_days"] = _whole(fields.get("cadence_days", 7), "cadence_days", least=1, most=365)
    try:
        clean["send_weekday"] = rules_streams.weekday_number(fields.get("send_weekday"))
    except ValueError as error:
        raise FieldError("send_weekday", str(error)) from None
    hour = fields.get("send_hour")
    clean["send_hour"] = (
        None if hour is None or hour == "" else _whole(hour, "send_hour", least=0, most=23)
    )
    # The consent a piece is sent under: one of the purposes people grant (nurture.consent).
    clean["purpose"] = consent.get_purpose(
        str(fields.get("purpose") or consent.DEFAULT_PURPOSE).strip().lower(), field="purpose"
    ).slug
    clean["enrol_list"] = _lead_list(fields.get("enrol_list"))
    segment = str(fields.get("enrol_segment") or "").strip().lower().replace("-", "_")
    if segment and segment not in ENROL_SEGMENTS:
        raise FieldError(
            "enrol_segment",
            f"{segment!r}: a stream enrols leads being nurtured ({', '.join(ENROL_SEGMENTS)});"
            " sales-ready and disqualified leads leave streams",
        )
    clean["enrol_segment"] = segment
    if clean["enrol_list"] is None and not segment:
        raise FieldError(
            "enrol_list", "name a list, a segment or both: the leads the stream enrols"
        )
    return clean


def create_stream(*, by: User, now: datetime, **fields: Any) -> ContentStream:
    """A new stream (its leads join at the next sweep); FieldError names a bad field."""
    check_may_manage(by)
    clean = _clean_stream(fields, current=None)
    return ContentStream.objects.create(**clean, created_by=by, created_at=now, updated_at=now)


def update_stream(
    stream: ContentStream, *, by: User, now: datetime, **changes: Any
) -> ContentStream:
    """Change a stream; fields not named keep their values."""
    check_may_manage(by)
    current = {name: getattr(stream, name) for name in STREAM_FIELDS}
    clean = _clean_stream(current | changes, current=stream)
    for name, value in clean.items():
        setattr(stream, name, value)
    stream.updated_at = now
    stream.save()
    return stream


def pause_stream(stream: ContentStream, *, by: User, now: datetime) -> ContentStream:
    """A paused stream enrols and sends nothing until resumed."""
    return update_stream(stream, by=by, now=now, status=StreamStatus.PAUSED)


def resume_stream(stream: ContentStream, *, by: User, now: datetime) -> ContentStream:
    """Members whose piece fell due while it was paused get one piece at the next sweep
    (and the next a cadence later), never a burst of the pieces missed."""
    return update_stream(stream, by=by, now=now, status=StreamStatus.ACTIVE)


def delete_stream(stream: ContentStream, *, by: User) -> None:
    """Only a stream that has sent nothing: what was sent is the leads' history."""
    check_may_manage(by)
    if PieceDelivery.objects.filter(piece__stream=stream).exists():
        raise FieldError("stream", f"{stream.name!r} has sent pieces: pause it instead")
    stream.delete()


# --- Pieces -----------------------------------------------------------------------------

PIECE_FIELDS = ("kind", "title", "url", "template", "is_active")


def _template(value: Any) -> EmailTemplate:
    if isinstance(value, EmailTemplate):
        return value
    text = str(value or "").strip()
    if not text:
        raise FieldError("template", "name the email template that presents the piece")
    found = EmailTemplate.objects.filter(pk=int(text)).first() if _row_id(text) else None
    found = found or EmailTemplate.objects.filter(name__iexact=text).first()
    if found is None:
        raise FieldError("template", f"no email template {text!r}")
    return found


def _clean_piece(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(PIECE_FIELDS)
    if unknown:
        raise FieldError(sorted(unknown)[0], "not a field of a content piece")
    kind = str(fields.get("kind") or PieceKind.OTHER).strip().lower().replace(" ", "_")
    if kind not in PieceKind.values:
        raise FieldError("kind", f"{kind!r} is not one of {', '.join(PieceKind.values)}")
    title = str(fields.get("title") or "").strip()
    if not title:
        raise FieldError("title", "a piece needs a title")
    if len(title) > 200:
        raise FieldError("title", "at most 200 characters")
    url = str(fields.get("url") or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise FieldError("url", f"{url!r} is not an http(s) address") from None
    if len(url) > 500:
        raise FieldError("url", "at most 500 characters")
    return {
        "kind": kind,
        "title": title,
        "url": url,
        "template": _template(fields.get("template")),
        "is_active": bool(fields.get("is_active", True)),
    }


def add_piece(
    stream: ContentStream,
    *,
    by: User,
    now: datetime,
    position: int | None = None,
    **fields: Any,
) -> ContentPiece:
    """A new piece, last (or at `position`, 1 = first, the others moving down). Leads that
    had seen every piece become active again at the next sweep."""
    check_may_manage(by)
    clean = _clean_piece(fields)
    with transaction.atomic():
        ids = _ordered_ids(stream, lock=True)
        piece = ContentPiece.objects.create(
            stream=stream, position=len(ids) + 1, created_at=now, **clean
        )
        if position is not None:
            at = _whole(position, "position", least=1, most=len(ids) + 1)
            ids.insert(at - 1, piece.pk)
            _write_order(ids)
            piece.refresh_from_db(fields=["position"])
    return piece


def update_piece(piece: ContentPiece, *, by: User, **changes: Any) -> ContentPiece:
    """Change a piece (retire it with is_active false: it is sent no more)."""
    check_may_manage(by)
    current = {name: getattr(piece, name) for name in PIECE_FIELDS}
    for name, value in _clean_piece(current | changes).items():
        setattr(piece, name, value)
    piece.save()
    return piece


def delete_piece(piece: ContentPiece, *, by: User) -> None:
    """Only a piece nobody was sent; a sent one is retired instead."""
    check_may_manage(by)
    if piece.deliveries.exists():
        raise FieldError("piece", f"{piece.title!r} was sent to leads: retire it instead")
    with transaction.atomic():
        stream = piece.stream
        piece.delete()
        _write_order(_ordered_ids(stream, lock=True))


def _ordered_ids(stream: ContentStream, *, lock: bool) -> list[int]:
    pieces = ContentPiece.objects.filter(stream=stream).order_by("position", "pk")
    if lock:
        # Two people reordering at once: the second waits and orders what the first left.
        ContentStream.objects.select_for_update().filter(pk=stream.pk).first()
    return list(pieces.values_list("pk", flat=True))


def _write_order(ids: Sequence[int]) -> None:
    pieces = ContentPiece.objects.in_bulk(list(ids))
    for position, pk in enumerate(ids, start=1):
        pieces[pk].position = position
    ContentPiece.objects.bulk_update(pieces.values(), ["position"])


def reorder_pieces(stream: ContentStream, piece_ids: Iterable[Any], *, by: User) -> list[int]:
    """Put the stream's pieces in the order given (every piece of the stream, once)."""
    check_may_manage(by)
    wanted: list[int] = []
    for index, value in enumerate(piece_ids):
        try:
            wanted.append(int(value))
        except (TypeError, ValueError):
            raise FieldError(f"piece_ids[{index}]", f"{value!r} is not a piece id") from None
    with transaction.atomic():
        current = _ordered_ids(stream, lock=True)
        if len(set(wanted)) != len(wanted):
            raise FieldError("piece_ids", "a piece is named twice")
        if set(wanted) != set(current):
            stranger = sorted(set(wanted) - set(current))
            if stranger:
                raise FieldError("piece_ids", f"piece {stranger[0]} is not in {stream.name!r}")
            missing = sorted(set(current) - set(wanted))
            raise FieldError(
                "piece_ids", f"name every piece of the stream; {missing[0]} is missing"
            )
        _write_order(wanted)
    return wanted


def move_piece(piece: ContentPiece, *, by: User, offset: int) -> list[int]:
    """Move a piece up (-1) or down (+1) in its stream's order."""
    ids = _ordered_ids(piece.stream, lock=False)
    at = ids.index(piece.pk)
    to = max(0, min(len(ids) - 1, at + offset))
    ids.insert(to, ids.pop(at))
    return reorder_pieces(piece.stream, ids, by=by)


def piece_context(piece: ContentPiece) -> dict[str, Any]:
    """The merge fields a piece gives its template: `{{ piece.title }}`, `{{ piece.url }}`."""
    return {"piece": {"title": piece.title, "url": piece.url, "kind": piece.get_kind_display()}}


# --- Who is in a stream -----------------------------------------------------------------


def _rule_leads(stream: ContentStream) -> QuerySet[Lead]:
    """The leads the enrolment rule picks (with an address to send to)."""
    leads = (
        Lead.objects.filter(merged_into__isnull=True).exclude(email__isnull=True).exclude(email="")
    )
    if stream.enrol_list_id is None and not stream.enrol_segment:
        return leads.none()
    if stream.enrol_list_id is not None:
        leads = leads.filter(
            Exists(
                ListMember.objects.filter(lead_list_id=stream.enrol_list_id, lead_id=OuterRef("pk"))
            )
        )
    if stream.enrol_segment:
        leads = leads.filter(segment=stream.enrol_segment)
    return leads


def _unsubscribed(stream: ContentStream) -> Q:
    """No consent for the stream's purpose now (never given, or withdrawn: unsubscribed,
    the preference page), or an address nothing may be sent to. Consent given again
    brings the lead back."""
    granted = ConsentState.objects.filter(
        lead_id=OuterRef("pk"), purpose__slug=stream.purpose, granted=True
    )
    suppressed = Suppression.objects.filter(address=Lower(OuterRef("email")))
    return ~Q(Exists(granted)) | Q(Exists(suppressed))


def _leaving(stream: ContentStream) -> list[tuple[str, Q]]:
    """Why a member leaves, first reason first."""
    return [
        (LeftReason.UNSUBSCRIBED, _unsubscribed(stream)),
        (LeftReason.DISQUALIFIED, DISQUALIFIED),
        (LeftReason.SALES_READY, SALES_READY),
    ]


def _eligible(stream: ContentStream) -> QuerySet[Lead]:
    """The leads that belong in the stream now."""
    leads = _rule_leads(stream)
    for _reason, q in _leaving(stream):
        leads = leads.exclude(q)
    return leads


def _unseen() -> QuerySet[ContentPiece]:
    """The active pieces of the outer member's stream its lead was never sent, in order
    (a subquery of a StreamMember query)."""
    return (
        ContentPiece.objects.filter(stream_id=OuterRef("stream_id"), is_active=True)
        .exclude(
            Exists(
                PieceDelivery.objects.filter(
                    piece_id=OuterRef("pk"), lead_id=OuterRef(OuterRef("lead_id"))
                )
            )
        )
        .order_by("position", "pk")
    )


def _zones(stream: ContentStream) -> list[tuple[str, Q]]:
    """The lead groups that share a time zone (their team's, else the email default), for
    a stream with a slot; one group when any zone will do."""
    default = settings.LEADLOOP_EMAIL_TIMEZONE
    if stream.send_weekday is None and stream.send_hour is None:
        return [(default, Q())]
    zones = sorted(set(Team.objects.exclude(timezone="").values_list("timezone", flat=True)))
    groups = [(zone, Q(team__timezone=zone)) for zone in zones]
    return [*groups, (default, Q(team__isnull=True) | Q(team__timezone=""))]


def _zone_of(lead: Lead) -> str:
    team = lead.team
    return (team.timezone if team is not None else "") or settings.LEADLOOP_EMAIL_TIMEZONE


MEMBERS = StreamMember._meta.db_table


@dataclass
class Sweep:
    joined: int = 0
    left: int = 0
    sent: int = 0


def refresh_members(stream: ContentStream, *, now: datetime) -> Sweep:
    """Members leave (set-based, a reason each), leads the rule picks join or come back,
    exhausted members with a new piece become active. Idempotent at one moment."""
    done = Sweep()
    in_stream = StreamMember.objects.filter(stream=stream, status__in=IN_STREAM)
    gone = {"status": LEFT, "left_at": now, "next_due_at": None}
    with transaction.atomic():
        # One worker at a time refreshes a stream (the others wait, then find nothing to
        # do): two refreshes updating the same member rows could deadlock.
        ContentStream.objects.select_for_update().filter(pk=stream.pk).first()
        for reason, q in _leaving(stream):
            # Among the stream's members only: the checks (events, suppression) run
            # over them, not over every lead.
            leaving = Lead.objects.filter(stream_memberships__stream=stream).filter(q).values("pk")
            done.left += in_stream.filter(lead__in=leaving).update(**gone, left_reason=reason)
        done.left += in_stream.exclude(lead__in=_rule_leads(stream).values("pk")).update(
            **gone, left_reason=LeftReason.RULE
        )
        eligible = _eligible(stream)
        for zone, group in _zones(stream):
            first = rules_streams.first_due(
                now, weekday=stream.send_weekday, hour=stream.send_hour, zone=zone
            )
            done.joined += StreamMember.objects.filter(
                stream=stream, status=LEFT, lead__in=eligible.filter(group).values("pk")
            ).update(status=ACTIVE, joined_at=now, next_due_at=first, left_at=None, left_reason="")
            done.joined += _insert_new(stream, eligible.filter(group), first=first, now=now)
        StreamMember.objects.filter(stream=stream, status=EXHAUSTED).filter(
            Exists(_unseen())
        ).update(status=ACTIVE, next_due_at=Coalesce(F("next_due_at"), Value(now)))
    return done


def _insert_new(
    stream: ContentStream, leads: QuerySet[Lead], *, first: datetime, now: datetime
) -> int:
    """One INSERT … SELECT of the leads not yet in the stream. The leads in it already are
    skipped by the unique (stream, lead), ON CONFLICT DO NOTHING, not by a NOT EXISTS: the
    statement's own new rows would be scanned again for every lead (PostgreSQL plans the
    anti-join on a table whose statistics do not know them yet), which is quadratic."""
    new = leads.order_by().annotate(picked_id=F("pk")).values_list("picked_id")
    sql, params = new.query.sql_with_params()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MEMBERS} (stream_id, lead_id, status, joined_at, next_due_at, left_reason)"
            f" SELECT %s, picked.picked_id, %s, %s, %s, '' FROM ({sql}) AS picked WHERE 1 = 1"
            " ON CONFLICT DO NOTHING",
            [stream.pk, ACTIVE, adapt(now), adapt(first), *params],
        )
        return max(cursor.rowcount, 0)


# --- The sweep --------------------------------------------------------------------------


def run_due(*, now: datetime, batch_size: int = BATCH_SIZE) -> int:
    """The streams sweep: every active stream's members brought up to date, then each due
    member sent its next unseen piece. Returns how many pieces were sent (queued in the
    outbox, which applies the weekly cap, quiet hours and suppression)."""
    sent = 0
    active = list(ContentStream.objects.filter(status=StreamStatus.ACTIVE).order_by("pk"))
    for stream in active:
        refresh_members(stream, now=now)
    # The streams' ids, not a join: an UPDATE over a join becomes `id IN (subquery)`.
    due = StreamMember.objects.filter(
        status=ACTIVE, next_due_at__lte=now, stream_id__in=[stream.pk for stream in active]
    )
    # Nothing left to send them: exhausted, due at once when a new piece comes.
    due.exclude(Exists(_unseen())).update(status=EXHAUSTED)
    while True:
        try:
            count, seen = _send_batch(due, now=now, batch_size=batch_size)
        except GaveWay:
            # Another worker took some of this batch's members since they were read, or
            # sent one of its pieces: nothing of the batch was kept, and the next sweep
            # takes up what is still due.
            log.info("streams sweep: a batch gave way to another worker")
            return sent
        sent += count
        if seen < batch_size:
            return sent


class GaveWay(Exception):
    """A batch found its members or deliveries taken by another worker; rolled back."""


def _send_batch(due: QuerySet[StreamMember], *, now: datetime, batch_size: int) -> tuple[int, int]:
    """One batch of due members, in one transaction: claimed (row locks with SKIP LOCKED,
    and an UPDATE advancing their due time on the condition that they are still due, one
    per stream and time zone), each one's message queued, their deliveries inserted
    together. Rows cannot be locked on SQLite, where a claim that does not change every
    row, or a delivery of the same piece to the same lead (the unique constraint), rolls
    the whole batch back (GaveWay): nothing is sent twice. Returns (sent, members read)."""
    try:
        with transaction.atomic():
            batch = list(
                due.select_for_update(skip_locked=True, of=("self",))
                .annotate(piece_id=Subquery(_unseen().values("pk")[:1]))
                .select_related("stream", "lead__team", "lead__account", "lead__owner")
                .order_by("next_due_at", "pk")[:batch_size]
            )
            pieces = ContentPiece.objects.select_related("template").in_bulk(
                {m.piece_id for m in batch if m.piece_id is not None}  # type: ignore[attr-defined]
            )
            wanted = [(m, pieces[m.piece_id]) for m in batch if m.piece_id in pieces]  # type: ignore[attr-defined]
            empty = [m.pk for m in batch if m.piece_id not in pieces]  # type: ignore[attr-defined]
            if empty:
                StreamMember.objects.filter(pk__in=empty, status=ACTIVE).update(status=EXHAUSTED)
            groups: dict[tuple[int, str], list[StreamMember]] = defaultdict(list)
            for member, _piece in wanted:
                groups[(member.stream_id, _zone_of(member.lead))].append(member)
            for (_stream_id, zone), members in groups.items():
                stream = members[0].stream
                claimed = StreamMember.objects.filter(
                    pk__in=[m.pk for m in members], status=ACTIVE, next_due_at__lte=now
                ).update(
                    next_due_at=rules_streams.next_due(
                        now,
                        cadence_days=stream.cadence_days,
                        weekday=stream.send_weekday,
                        hour=stream.send_hour,
                        zone=zone,
                    ),
                    last_sent_at=now,
                )
                if claimed != len(members):
                    raise GaveWay
            # The messages a piece at a time: `queue_messages` renders each lead's and
            # inserts them together.
            by_piece: dict[int, list[StreamMember]] = defaultdict(list)
            for member, piece in wanted:
                by_piece[piece.pk].append(member)
            deliveries = []
            for piece_id, members in by_piece.items():
                piece = pieces[piece_id]
                messages = queue_messages(
                    [m.lead for m in members],
                    piece.template,
                    purpose=Purpose.MARKETING,
                    now=now,
                    context=piece_context(piece),
                    consent_purpose=members[0].stream.purpose,
                )
                deliveries += [
                    PieceDelivery(lead=message.lead, piece=piece, message=message, sent_at=now)
                    for message in messages
                ]
            PieceDelivery.objects.bulk_create(deliveries)
            # Those that got their last piece: exhausted until a new one comes.
            StreamMember.objects.filter(pk__in=[m.pk for m, _ in wanted]).exclude(
                Exists(_unseen())
            ).update(status=EXHAUSTED)
    except IntegrityError as error:
        raise GaveWay from error
    return len(deliveries), len(batch)


# --- Reading ----------------------------------------------------------------------------


def member_counts(stream: ContentStream) -> dict[str, int]:
    """Members by status: active, exhausted, left."""
    counts = dict(
        StreamMember.objects.filter(stream=stream)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {value: counts.get(value, 0) for value in StreamMemberStatus.values}


def streams_with_counts() -> QuerySet[ContentStream]:
    """Every stream with its members by status and its pieces (one query)."""
    return ContentStream.objects.select_related("enrol_list").annotate(
        active_count=Count("members", filter=Q(members__status=ACTIVE), distinct=True),
        exhausted_count=Count("members", filter=Q(members__status=EXHAUSTED), distinct=True),
        left_count=Count("members", filter=Q(members__status=LEFT), distinct=True),
        piece_count=Count("pieces", filter=Q(pieces__is_active=True), distinct=True),
    )


def pieces_with_counts(stream: ContentStream) -> QuerySet[ContentPiece]:
    """The stream's pieces in order, each with how many were delivered (queued for a
    lead), opened and clicked (the messages' first open and click)."""
    return (
        ContentPiece.objects.filter(stream=stream)
        .select_related("template")
        .annotate(
            delivered=Count("deliveries"),
            opened=Count("deliveries", filter=Q(deliveries__message__opened_at__isnull=False)),
            clicked=Count("deliveries", filter=Q(deliveries__message__clicked_at__isnull=False)),
        )
        .order_by("position", "pk")
    )


# --- A merge of two leads (identity.merging asks each owner to move its rows) ---------

LEAD_HISTORY: dict[str, type[models.Model]] = {
    "stream_memberships": StreamMember,
    "piece_deliveries": PieceDelivery,
}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's stream memberships and deliveries, as a merge records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the memberships and deliveries named by `ids` to the lead `to` (a merge, or
    its undo). Where `to` is in the stream already, or was sent the piece already, it
    keeps its own row and the other stays where it was (on a merged lead no one sees it),
    so an undo gives back exactly what was there; the survivor is never sent a piece the
    duplicate had."""
    members = StreamMember.objects.filter(pk__in=ids.get("stream_memberships", ()))
    deliveries = PieceDelivery.objects.filter(pk__in=ids.get("piece_deliveries", ()))
    if only_from is not None:
        members = members.filter(lead=only_from)
        deliveries = deliveries.filter(lead=only_from)
    members = members.exclude(
        stream_id__in=StreamMember.objects.filter(lead=to).values("stream_id")
    )
    deliveries = deliveries.exclude(
        piece_id__in=PieceDelivery.objects.filter(lead=to).values("piece_id")
    )
    return {
        "stream_memberships": members.update(lead=to),
        "piece_deliveries": deliveries.update(lead=to),
    }
