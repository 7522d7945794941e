"""Pieces every API adapter shares: who is calling, idempotent writes, lead look-ups."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema, Status
from ninja.params.functions import Header
from pydantic import ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from api.models import IdempotencyKey
from leads.models import Lead
from users.access import visible_leads
from users.models import User

from .errors import ApiError

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


def idempotency_key_header() -> Any:
    """The optional `Idempotency-Key` header parameter of a write endpoint."""
    return Header(
        None,
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=200,
        description=(
            "Any unique string (a UUID is fine). A retry with the same key and body replays"
            " the first answer (with header Idempotent-Replayed: true) and changes nothing;"
            " the same key with a different body answers 409."
        ),
    )


# A row id as the database can hold it: larger numbers are refused as input, not left to
# overflow in a query.
MAX_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(v) for v in value)
    return False


class CleanInput(Schema):
    """Input whose text PostgreSQL can store and search: the NUL character is refused."""

    @field_validator("*", mode="after")
    @classmethod
    def refuse_nul_characters(cls, value: Any) -> Any:
        if contains_nul(value):
            raise PydanticCustomError("nul_character", "must not contain the NUL character")
        return value


class InputSchema(CleanInput):
    """A request body: unknown fields are refused (a typo must not be silently dropped)."""

    model_config = ConfigDict(extra="forbid")


# (status, JSON-ready body): what an idempotent write answers, and what a retry replays.
Outcome = tuple[int, dict[str, Any]]


def api_user(request: HttpRequest) -> User:
    """The user `BearerTokenAuth` authenticated; every endpoint requires one."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # pragma: no cover - the API's auth guarantees it
        raise ApiError(401, "Authorization", "send a valid API token")
    return user


def get_visible_lead(user: User, lead_id: int, queryset: QuerySet[Lead] | None = None) -> Lead:
    """The lead if `user` may see it; 404 otherwise, so a lead's existence never leaks."""
    lead = visible_leads(user, queryset).filter(pk=lead_id).first()
    if lead is None:
        raise ApiError(404, "lead_id", f"no lead with id {lead_id}")
    return lead


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(
    request: HttpRequest,
    *,
    user: User,
    key: str | None,
    body: Any,
    now: datetime,
    work: Callable[[], Outcome],
) -> tuple[int, dict[str, Any], bool]:
    """Run `work` once per (user, endpoint, Idempotency-Key); a retry gets the same answer.

    Returns (status, body, replayed). The key row is written in the same transaction as
    the work, so a crash leaves neither; two concurrent requests with one key are decided
    by the unique constraint: the loser's work is rolled back and it replays the winner's
    answer. Refusals (4xx) are not stored: the caller may fix the request and retry with
    the same key. A key reused with a different body is refused with 409.
    """
    if not key:
        status, payload = work()
        return status, payload, False
    endpoint = f"{request.method} {request.path}"[:200]
    digest = request_hash(body)
    stored = _stored(user, endpoint, key)
    if stored is not None:
        return _replay(stored, digest)
    try:
        with transaction.atomic():
            status, payload = work()
            IdempotencyKey.objects.create(
                key=key,
                user=user,
                endpoint=endpoint,
                request_hash=digest,
                status_code=status,
                response=payload,
                created_at=now,
            )
    except IntegrityError:
        stored = _stored(user, endpoint, key)
        if stored is None:
            raise
        return _replay(stored, digest)
    return status, payload, False


def _stored(user: User, endpoint: str, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, endpoint=endpoint, key=key).first()


def _replay(stored: IdempotencyKey, digest: str) -> tuple[int, dict[str, Any], bool]:
    if stored.request_hash != digest:
        raise ApiError(
            409,
            IDEMPOTENCY_HEADER,
            f"key {stored.key!r} was already used for a request with a different body;"
            " send a new key for a new request",
        )
    return stored.status_code, dict(stored.response), True


def idempotent_answer(
    request: HttpRequest,
    response: HttpResponse,
    *,
    user: User,
    key: str | None,
    body: Any,
    now: datetime,
    work: Callable[[], Outcome],
) -> Status[Any]:
    """`idempotent` as an endpoint answers it: the status and body, with the
    Idempotent-Replayed header when a retry got the stored answer."""
    status, answer, replayed = idempotent(
        request, user=user, key=key, body=body, now=now, work=work
    )
    if replayed:
        response[REPLAY_HEADER] = "true"
    return Status(status, answer)
