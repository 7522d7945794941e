"""REST API for content streams (`nurture.streams`), marketing and admins only (403 for
other roles, 422 naming the field at fault): streams (CRUD; pause and resume by PATCHing
`status`), their pieces (CRUD and the order), members counted by status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from api.common import (
    InputSchema,
    Outcome,
    RowId,
    api_user,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES, ApiError
from leads.errors import FieldError
from nurture import streams
from nurture.choices import PieceKind, StreamStatus
from nurture.models import ContentPiece, ContentStream
from users.models import User

router = Router(tags=["streams"])

WEEKDAY_HELP = "0 = Monday … 6 = Sunday (or the day's name), in the lead's time zone"


class MembersOut(Schema):
    active: int
    exhausted: int
    left: int


class PieceOut(Schema):
    id: int
    position: int
    kind: PieceKind
    title: str
    url: str
    template_id: int
    is_active: bool
    delivered: int = Field(description="Leads it was sent to (queued in the outbox)")
    opened: int
    clicked: int


class StreamOut(Schema):
    id: int
    name: str
    status: StreamStatus
    cadence_days: int
    send_weekday: int | None = Field(description=WEEKDAY_HELP)
    send_hour: int | None = Field(description="0–23, in the lead's time zone")
    purpose: str = Field(description="The consent purpose its email is sent for")
    enrol_list_id: int | None
    enrol_segment: str
    members: MembersOut
    pieces: list[PieceOut]
    created_at: datetime
    updated_at: datetime


class StreamIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    status: StreamStatus = StreamStatus.ACTIVE
    cadence_days: int = Field(7, ge=1, le=365)
    send_weekday: int | str | None = Field(None, description=WEEKDAY_HELP)
    send_hour: int | None = Field(None, ge=0, le=23)
    purpose: str = Field("newsletter", max_length=50)
    enrol_list_id: RowId | None = Field(None, description="Enrol the members of this list")
    enrol_segment: str = Field("", description="Enrol the leads of this segment (nurture)")


class StreamPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    status: StreamStatus | None = Field(None, description="paused: nothing enrolled or sent")
    cadence_days: int | None = Field(None, ge=1, le=365)
    send_weekday: int | str | None = Field(None, description=WEEKDAY_HELP)
    send_hour: int | None = Field(None, ge=0, le=23)
    purpose: str | None = Field(None, max_length=50)
    enrol_list_id: RowId | None = None
    enrol_segment: str | None = None


class PieceIn(InputSchema):
    title: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=500)
    template_id: RowId = Field(description="The email template that presents the piece")
    kind: PieceKind = PieceKind.OTHER
    is_active: bool = True
    position: int | None = Field(None, ge=1, description="1 = first; default: last")


class PiecePatch(InputSchema):
    title: str | None = Field(None, min_length=1, max_length=200)
    url: str | None = Field(None, max_length=500)
    template_id: RowId | None = None
    kind: PieceKind | None = None
    is_active: bool | None = Field(None, description="false retires the piece")


class OrderIn(InputSchema):
    piece_ids: list[RowId] = Field(description="Every piece of the stream, in the new order")


class StreamPageOut(Schema):
    count: int
    items: list[StreamOut]


# The service's field names where the API's differ (it takes ids).
API_NAMES = {"enrol_list": "enrol_list_id", "template": "template_id"}


class _AsApiFields:
    """A refusal names the field as the request wrote it (not contextlib.contextmanager:
    it writes `__traceback__` on the exception, and FieldError is frozen)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if isinstance(error, FieldError) and error.field in API_NAMES:
            raise type(error)(API_NAMES[error.field], error.message) from None


_as_api_fields = _AsApiFields


def _manager(request: HttpRequest) -> User:
    user = api_user(request)
    streams.check_may_manage(user)
    return user


def _stream(stream_id: int) -> ContentStream:
    found = ContentStream.objects.filter(pk=stream_id).first()
    if found is None:
        raise ApiError(404, "stream_id", f"no content stream with id {stream_id}")
    return found


def _piece(stream: ContentStream, piece_id: int) -> ContentPiece:
    found = ContentPiece.objects.filter(stream=stream, pk=piece_id).first()
    if found is None:
        raise ApiError(404, "piece_id", f"no piece with id {piece_id} in {stream.name!r}")
    return found


def piece_out(piece: ContentPiece) -> dict[str, Any]:
    return {
        "id": piece.pk,
        "position": piece.position,
        "kind": piece.kind,
        "title": piece.title,
        "url": piece.url,
        "template_id": piece.template_id,
        "is_active": piece.is_active,
        "delivered": getattr(piece, "delivered", 0),
        "opened": getattr(piece, "opened", 0),
        "clicked": getattr(piece, "clicked", 0),
    }


def stream_out(stream: ContentStream) -> dict[str, Any]:
    return {
        "id": stream.pk,
        "name": stream.name,
        "status": stream.status,
        "cadence_days": stream.cadence_days,
        "send_weekday": stream.send_weekday,
        "send_hour": stream.send_hour,
        "purpose": stream.purpose,
        "enrol_list_id": stream.enrol_list_id,
        "enrol_segment": stream.enrol_segment,
        "members": streams.member_counts(stream),
        "pieces": [piece_out(p) for p in streams.pieces_with_counts(stream)],
        "created_at": stream.created_at,
        "updated_at": stream.updated_at,
    }


def _fields(payload: InputSchema, *, partial: bool) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=partial)
    if "enrol_list_id" in data:
        data["enrol_list"] = data.pop("enrol_list_id")
    if "template_id" in data:
        data["template"] = data.pop("template_id")
    return data


@router.get("/streams", response={200: StreamPageOut, **ERROR_RESPONSES},
            summary="Content streams")  # fmt: skip
def list_streams(request: HttpRequest) -> dict[str, Any]:
    _manager(request)
    found = ContentStream.objects.order_by("name")
    return {"count": found.count(), "items": [stream_out(s) for s in found]}


@router.post("/streams", response={201: StreamOut, **ERROR_RESPONSES},
             summary="Create a stream (its leads join at the next sweep)")  # fmt: skip
def post_stream(
    request: HttpRequest,
    response: HttpResponse,
    payload: StreamIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    user = _manager(request)
    now = timezone.now()

    def work() -> Outcome:
        with _as_api_fields():
            made = streams.create_stream(by=user, now=now, **_fields(payload, partial=False))
        return 201, StreamOut.model_validate(stream_out(made)).model_dump(mode="json")

    return idempotent_answer(
        request,
        response,
        user=user,
        key=idempotency_key,
        body=payload.model_dump(mode="json"),
        now=now,
        work=work,
    )


@router.get("/streams/{stream_id}", response={200: StreamOut, **ERROR_RESPONSES},
            summary="A stream with its pieces and members")  # fmt: skip
def get_stream(request: HttpRequest, stream_id: int) -> dict[str, Any]:
    _manager(request)
    return stream_out(_stream(stream_id))


@router.patch("/streams/{stream_id}", response={200: StreamOut, **ERROR_RESPONSES},
              summary="Change a stream; status paused or active pauses or resumes it")  # fmt: skip
def patch_stream(request: HttpRequest, stream_id: int, payload: StreamPatch) -> dict[str, Any]:
    user = _manager(request)
    with _as_api_fields():
        stream = streams.update_stream(
            _stream(stream_id), by=user, now=timezone.now(), **_fields(payload, partial=True)
        )
    return stream_out(stream)


@router.delete("/streams/{stream_id}", response={204: None, **ERROR_RESPONSES},
               summary="Delete a stream that has sent nothing (else pause it)")  # fmt: skip
def delete_stream(request: HttpRequest, stream_id: int) -> Status[None]:
    user = _manager(request)
    streams.delete_stream(_stream(stream_id), by=user)
    return Status(204, None)


@router.get("/streams/{stream_id}/members", response={200: MembersOut, **ERROR_RESPONSES},
            summary="How many leads are in the stream, by status")  # fmt: skip
def get_members(request: HttpRequest, stream_id: int) -> dict[str, int]:
    _manager(request)
    return streams.member_counts(_stream(stream_id))


@router.get("/streams/{stream_id}/pieces", response={200: list[PieceOut], **ERROR_RESPONSES},
            summary="The stream's pieces in order, with delivered, opened and clicked")  # fmt: skip
def list_pieces(request: HttpRequest, stream_id: int) -> list[dict[str, Any]]:
    _manager(request)
    return [piece_out(p) for p in streams.pieces_with_counts(_stream(stream_id))]


@router.post("/streams/{stream_id}/pieces", response={201: PieceOut, **ERROR_RESPONSES},
             summary="Add a piece (last, or at position)")  # fmt: skip
def post_piece(request: HttpRequest, stream_id: int, payload: PieceIn) -> Status[dict[str, Any]]:
    user = _manager(request)
    fields = _fields(payload, partial=False)
    position = fields.pop("position")
    with _as_api_fields():
        piece = streams.add_piece(
            _stream(stream_id), by=user, now=timezone.now(), position=position, **fields
        )
    return Status(201, piece_out(piece))


# Before /pieces/{piece_id}, whose pattern would take "order" first.
@router.put("/streams/{stream_id}/pieces/order", response={200: list[PieceOut], **ERROR_RESPONSES},
            summary="Reorder the pieces: every piece of the stream, once")  # fmt: skip
def put_order(request: HttpRequest, stream_id: int, payload: OrderIn) -> list[dict[str, Any]]:
    user = _manager(request)
    stream = _stream(stream_id)
    streams.reorder_pieces(stream, payload.piece_ids, by=user)
    return [piece_out(p) for p in streams.pieces_with_counts(stream)]


@router.patch("/streams/{stream_id}/pieces/{piece_id}", response={200: PieceOut, **ERROR_RESPONSES},
              summary="Change a piece; is_active false retires it")  # fmt: skip
def patch_piece(
    request: HttpRequest, stream_id: int, piece_id: int, payload: PiecePatch
) -> dict[str, Any]:
    user = _manager(request)
    with _as_api_fields():
        piece = streams.update_piece(
            _piece(_stream(stream_id), piece_id), by=user, **_fields(payload, partial=True)
        )
    return piece_out(piece)


@router.delete("/streams/{stream_id}/pieces/{piece_id}", response={204: None, **ERROR_RESPONSES},
               summary="Delete a piece nobody was sent (else retire it)")  # fmt: skip
def delete_piece(request: HttpRequest, stream_id: int, piece_id: int) -> Status[None]:
    user = _manager(request)
    streams.delete_piece(_piece(_stream(stream_id), piece_id), by=user)
    return Status(204, None)
