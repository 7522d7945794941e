"""REST API for what mail servers and providers report about sent email: bounces,
complaints, deliveries (`POST /api/v1/email/events`).

Two ways in: the API token of a user who may send email (marketing, admins), or, for a
provider or relay that cannot send a bearer token, an HMAC-SHA256 signature of the raw
body with the shared secret LEADLOOP_EMAIL_EVENTS_SECRET in the header
`X-Leadloop-Signature: sha256=<hex digest>`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.security import APIKeyHeader
from pydantic import AwareDatetime, model_validator

from api.auth import BearerTokenAuth
from api.common import InputSchema, api_user
from api.errors import ERROR_RESPONSES, ApiError, FieldErrorOut
from nurture import services, tracking

router = Router(tags=["email"])

MAX_BATCH = 1000
SIGNED = "signature"


class SignatureAuth(APIKeyHeader):
    """`X-Leadloop-Signature: sha256=<hex HMAC-SHA256 of the body>` with the shared secret."""

    param_name = "X-Leadloop-Signature"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        secret = settings.LEADLOOP_EMAIL_EVENTS_SECRET
        if not secret or not key:
            return None
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        given = key.strip().removeprefix("sha256=")
        return SIGNED if hmac.compare_digest(given, expected) else None


class EmailEventIn(InputSchema):
    type: Literal["bounce", "complaint", "delivered"]
    email: str | None = Field(None, max_length=254, description="The recipient")
    message_id: str | None = Field(
        None,
        max_length=200,
        description="The Message-ID header Leadloop gave the message (or the outbox id)",
    )
    reason: str = Field("", max_length=2000, description="The server's words, e.g. 550 5.1.1")
    at: AwareDatetime | None = Field(None, description="When it happened (default: now)")
    permanent: bool = Field(
        False, description="A hard bounce (suppress now); a soft one is counted"
    )
    id: str | None = Field(
        None, max_length=150, description="The sender's event id: a retry with it is skipped"
    )

    @model_validator(mode="after")
    def _names_someone(self) -> EmailEventIn:
        if not (self.email or self.message_id):
            raise ValueError("email or message_id is required")
        return self


class EmailEventItemOut(Schema):
    index: int
    status: Literal["recorded", "duplicate", "rejected"]
    suppressed: bool
    error: FieldErrorOut | None = None


class EmailEventsOut(Schema):
    recorded: int
    duplicates: int
    rejected: int
    items: list[EmailEventItemOut]


@router.post(
    "/email/events",
    auth=[BearerTokenAuth(), SignatureAuth()],
    response={200: EmailEventsOut, **ERROR_RESPONSES},
    summary="Bounces, complaints and deliveries: a permanent bounce or a complaint"
    " suppresses the address",
)
def post_email_events(request: HttpRequest, payload: list[EmailEventIn]) -> dict[str, Any]:
    if getattr(request, "auth", None) != SIGNED:
        services.check_may_send(api_user(request))
    if len(payload) > MAX_BATCH:
        raise ApiError(422, "body", f"at most {MAX_BATCH} events a request")
    outcomes = tracking.record_delivery_events(
        [
            tracking.DeliveryReport(
                type=item.type,
                email=item.email or "",
                message_id=item.message_id or "",
                reason=item.reason,
                at=item.at,
                is_permanent=item.permanent,
                event_key=f"api:{item.id}" if item.id else "",
            )
            for item in payload
        ],
        source="api",
        now=timezone.now(),
    )
    items = []
    for outcome in outcomes:
        error = None
        if outcome.error:
            field, _, message = outcome.error.partition(": ")
            error = {"field": f"{outcome.index}.{field}", "message": message}
        items.append(
            {
                "index": outcome.index,
                "status": outcome.status,
                "suppressed": outcome.suppressed,
                "error": error,
            }
        )
    return {
        "recorded": sum(o.status == "recorded" for o in outcomes),
        "duplicates": sum(o.status == "duplicate" for o in outcomes),
        "rejected": sum(o.status == "rejected" for o in outcomes),
        "items": items,
    }
