"""REST API for the caller's own notifications: list them, mark them read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Body, Field, Query, Router, Schema

from api.common import CleanInput, InputSchema, RowId, api_user
from api.errors import ERROR_RESPONSES
from users.services import email_choices, mark_notifications_read, set_email_notifications

router = Router(tags=["notifications"])


class NotificationFilters(CleanInput):
    unread: bool = Field(False, description="Only the ones not read yet")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class NotificationOut(Schema):
    id: int
    kind: str = Field(
        description="`assigned`, `reassigned`, `sla_breach`, `sla_reminder`, `sla_escalated` …"
    )
    label: str = Field(description="The kind in words, as the page shows it")
    message: str
    lead_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationPageOut(Schema):
    count: int = Field(description="All notifications matching the filters")
    unread: int = Field(description="All unread notifications of the caller")
    limit: int
    offset: int
    items: list[NotificationOut]


class MarkReadIn(InputSchema):
    ids: list[RowId] | None = Field(
        None,
        description="The notifications to mark read; omitted or null: all of them",
        max_length=1000,
    )


class MarkReadOut(Schema):
    marked: int = Field(description="How many were unread and are read now")


@router.get(
    "/notifications",
    response={200: NotificationPageOut, **ERROR_RESPONSES},
    summary="The caller's notifications, newest first",
)
def list_notifications(request: HttpRequest, filters: Query[NotificationFilters]) -> dict[str, Any]:
    user = api_user(request)
    notes = user.notifications.all()
    if filters.unread:
        notes = notes.filter(read_at__isnull=True)
    page = notes.order_by("-created_at", "-pk")[filters.offset : filters.offset + filters.limit]
    return {
        "count": notes.count(),
        "unread": user.notifications.filter(read_at__isnull=True).count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [
            {
                "id": note.pk,
                "kind": note.kind,
                "label": note.kind_label,
                "message": note.message,
                "lead_id": note.lead_id,
                "created_at": note.created_at,
                "read_at": note.read_at,
            }
            for note in page
        ],
    }


@router.post(
    "/notifications/read",
    response={200: MarkReadOut, **ERROR_RESPONSES},
    summary="Mark the caller's notifications read (some, or all)",
)
def mark_read(request: HttpRequest, payload: MarkReadIn) -> dict[str, Any]:
    """Marking read is idempotent: a retry marks nothing more. Ids that are not the
    caller's notifications are ignored."""
    user = api_user(request)
    return {"marked": mark_notifications_read(user, payload.ids, now=timezone.now())}


class EmailChoiceOut(Schema):
    kind: str
    label: str = Field(description="The kind in words")
    email: bool = Field(description="Also sent by email (in the app: always)")


@router.get(
    "/notifications/email",
    response={200: list[EmailChoiceOut], **ERROR_RESPONSES},
    summary="Which kinds of notification the caller also gets by email",
)
def get_email_choices(request: HttpRequest) -> list[dict[str, Any]]:
    return _choices_out(api_user(request))


@router.patch(
    "/notifications/email",
    response={200: list[EmailChoiceOut], **ERROR_RESPONSES},
    summary='Turn email on or off per kind of notification: {"sla_breach": false, …}',
)
def patch_email_choices(
    request: HttpRequest, payload: Body[dict[str, bool]]
) -> list[dict[str, Any]]:
    user = api_user(request)
    set_email_notifications(user, by=user, choices=payload)
    return _choices_out(user)


def _choices_out(user: Any) -> list[dict[str, Any]]:
    return [
        {"kind": kind, "label": label, "email": emailed}
        for kind, label, emailed in email_choices(user)
    ]
