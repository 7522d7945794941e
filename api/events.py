"""REST API for engagement events: batches from marketing tools, scored on arrival.

(Creating a lead, `POST /leads`, is in leads/api.py: one URL, one router.)
"""

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import AwareDatetime

from api.common import (
    InputSchema,
    Outcome,
    RowId,
    api_user,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES, ApiError, FieldErrorOut
from capture.services import EventInput, EventOutcome, record_events
from users.choices import Capability
from users.permissions import may

router = Router(tags=["events"])

MAX_BATCH = 1000
# Service field names that this API spells differently.
SERVICE_FIELDS = {"campaign_id": "campaign"}


class EventIn(InputSchema):
    kind: str = Field(
        min_length=1,
        max_length=50,
        examples=["webinar_attended"],
        description="e.g. demo_request, pricing_page_view, webinar_attended, email_click",
    )
    occurred_at: AwareDatetime = Field(description="With a UTC offset")
    email: str | None = Field(
        None, max_length=254, description="Whose event; an unknown email makes a new lead"
    )
    lead_id: RowId | None = Field(None, description="Whose event, instead of email")
    campaign: RowId | None = Field(None, description="Campaign id")
    properties: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=200, description="An event with a key seen before is skipped"
    )


class EventBatchIn(InputSchema):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventItemOut(Schema):
    index: int
    status: Literal["created", "duplicate", "rejected"]
    lead_id: int | None
    error: FieldErrorOut | None = Field(description="Why a rejected event was refused")


class EventBatchOut(Schema):
    created: int
    duplicates: int
    rejected: int
    items: list[EventItemOut] = Field(description="One per event, in the order sent")


def item_out(outcome: EventOutcome) -> dict[str, Any]:
    error = None
    if outcome.error:
        # The service says "field: message"; the API names the field inside the batch.
        field, _, message = outcome.error.partition(": ")
        field = SERVICE_FIELDS.get(field, field)
        error = {"field": f"events.{outcome.index}.{field}", "message": message}
    return {
        "index": outcome.index,
        "status": outcome.status,
        "lead_id": outcome.lead_id,
        "error": error,
    }


@router.post(
    "/events",
    response={200: EventBatchOut, **ERROR_RESPONSES},
    summary=f"Record a batch of 1 to {MAX_BATCH} engagement events",
)
def create_events(
    request: HttpRequest,
    response: HttpResponse,
    payload: EventBatchIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    """For marketing and admin tokens. Each event is created, skipped as a duplicate of
    one already stored (same idempotency_key), or rejected (unknown lead or campaign, bad
    email): the answer lists every event with its outcome, and a rejected one does not stop
    the rest. A malformed batch (wrong types, over the size limit) is refused whole with
    422. Leads whose engagement makes them sales-ready are routed at once."""
    user = api_user(request)
    now = timezone.now()
    if not may(user, Capability.POST_EVENTS):
        raise ApiError(403, "Authorization", "only marketing and admin tokens may post events")
    inputs = [
        EventInput(
            kind=item.kind,
            occurred_at=item.occurred_at,
            email=item.email,
            lead_id=item.lead_id,
            campaign_id=item.campaign,
            properties=item.properties,
            idempotency_key=item.idempotency_key,
        )
        for item in payload.events
    ]

    def work() -> Outcome:
        outcomes = record_events(inputs, now=now, by=user)
        answer = EventBatchOut(
            created=sum(1 for o in outcomes if o.status == "created"),
            duplicates=sum(1 for o in outcomes if o.status == "duplicate"),
            rejected=sum(1 for o in outcomes if o.status == "rejected"),
            items=[EventItemOut.model_validate(item_out(o)) for o in outcomes],
        )
        return 200, answer.model_dump(mode="json")

    return idempotent_answer(
        request,
        response,
        user=user,
        key=idempotency_key,
        body=payload.model_dump(mode="json"),
        now=now,
        work=work,
    )
