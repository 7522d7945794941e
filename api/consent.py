"""REST API for consent (`nurture.consent`): a lead's consent per purpose and its history
(everyone who sees the lead), a grant or withdrawal recorded by a colleague, and the
consent purposes (marketing and admins record and manage; 403 for other roles)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from api.common import (
    InputSchema,
    Outcome,
    api_user,
    get_visible_lead,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES, ApiError
from leads.models import Lead
from nurture import consent
from nurture.models import Consent, ConsentPurpose

router = Router(tags=["consent"])

HISTORY_SHOWN = 200


class ConsentIn(InputSchema):
    """One grant or withdrawal, as `POST /leads` takes it in `consent` and `POST
    /leads/{id}/consent` takes it alone."""

    purpose: str = Field(
        min_length=1, max_length=100, description="A consent purpose's slug (GET /consent-purposes)"
    )
    granted: bool = Field(description="true: agreed; false: withdrew")
    text: str = Field("", max_length=2000, description="The words the person agreed to")


class ConsentRowOut(Schema):
    purpose: str
    granted: bool
    at: datetime
    source: str = Field(
        description="form, import, trade_show, api, webhook, preference_page, unsubscribe,"
        " person or migrated"
    )
    reference: str = Field(description="Which form, import job, API token, message or user")
    by: str | None = Field(description="Username of the colleague who recorded it")
    text: str


class PurposeStateOut(Schema):
    purpose: str
    name: str
    granted: bool
    since: ConsentRowOut | None = Field(description="The row that says so; null: never asked")


class LeadConsentOut(Schema):
    lead_id: int
    current: list[PurposeStateOut]
    history: list[ConsentRowOut] = Field(description=f"Newest first, the {HISTORY_SHOWN} last")


class PurposeOut(Schema):
    slug: str
    name: str
    description: str
    is_active: bool


class PurposeIn(InputSchema):
    slug: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    is_active: bool = True


class PurposePatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = None
    is_active: bool | None = None


def row_out(row: Consent) -> dict[str, Any]:
    return {
        "purpose": row.purpose.slug,
        "granted": row.granted,
        "at": row.at,
        "source": row.source,
        "reference": row.reference,
        "by": row.by.username if row.by is not None else None,
        "text": row.text,
    }


def lead_consent_out(lead: Lead) -> dict[str, Any]:
    return {
        "lead_id": lead.pk,
        "current": [
            {
                "purpose": state.purpose.slug,
                "name": state.purpose.name,
                "granted": state.granted,
                "since": row_out(state.consent) if state.consent is not None else None,
            }
            for state in consent.current(lead)
        ],
        "history": [row_out(row) for row in consent.history(lead)[:HISTORY_SHOWN]],
    }


def purpose_out(purpose: ConsentPurpose) -> dict[str, Any]:
    return {
        "slug": purpose.slug,
        "name": purpose.name,
        "description": purpose.description,
        "is_active": purpose.is_active,
    }


@router.get(
    "/leads/{lead_id}/consent",
    response={200: LeadConsentOut, **ERROR_RESPONSES},
    summary="A lead's consent per purpose, and its history",
)
def get_lead_consent(request: HttpRequest, lead_id: int) -> dict[str, Any]:
    lead = get_visible_lead(api_user(request), lead_id)
    return lead_consent_out(lead)


@router.post(
    "/leads/{lead_id}/consent",
    response={201: LeadConsentOut, **ERROR_RESPONSES},
    summary="Record a grant or withdrawal the person made (marketing, admins)",
)
def post_lead_consent(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: int,
    payload: ConsentIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    """Source `person`, with the caller's name: what the person said on a call or in a
    letter. It may give back a consent the person withdrew themself."""
    user = api_user(request)
    now = timezone.now()
    lead = get_visible_lead(user, lead_id)

    def work() -> Outcome:
        consent.record_by_person(
            lead, payload.purpose, granted=payload.granted, by=user, now=now, text=payload.text
        )
        return 201, LeadConsentOut.model_validate(lead_consent_out(lead)).model_dump(mode="json")

    return idempotent_answer(
        request,
        response,
        user=user,
        key=idempotency_key,
        body={"lead_id": lead_id, **payload.model_dump(mode="json")},
        now=now,
        work=work,
    )


@router.get(
    "/consent-purposes",
    response={200: list[PurposeOut], **ERROR_RESPONSES},
    summary="Consent purposes",
)
def get_purposes(request: HttpRequest) -> list[dict[str, Any]]:
    api_user(request)
    return [purpose_out(purpose) for purpose in consent.purposes()]


@router.post(
    "/consent-purposes",
    response={201: PurposeOut, **ERROR_RESPONSES},
    summary="Add a consent purpose (marketing, admins)",
)
def post_purpose(request: HttpRequest, payload: PurposeIn) -> Status[dict[str, Any]]:
    made = consent.create_purpose(
        by=api_user(request), now=timezone.now(), **payload.model_dump(mode="json")
    )
    return Status(201, purpose_out(made))


@router.patch(
    "/consent-purposes/{slug}",
    response={200: PurposeOut, **ERROR_RESPONSES},
    summary="Rename a consent purpose, describe it, offer it or not (marketing, admins)",
)
def patch_purpose(request: HttpRequest, slug: str, payload: PurposePatch) -> dict[str, Any]:
    user = api_user(request)
    found = ConsentPurpose.objects.filter(slug=slug).first()
    if found is None:
        raise ApiError(404, "slug", f"no consent purpose {slug!r}")
    changes = payload.model_dump(mode="json", exclude_unset=True)
    return purpose_out(consent.update_purpose(found, by=user, **changes))
