"""REST API for campaigns: list, one with its funnel, create and change (marketing and
admins: `leads.services.create_campaign` / `update_campaign`, which check the permission
table and validate; 403 for other roles, 422 naming a bad field)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from analytics.services import funnel_report
from api.common import (
    InputSchema,
    Outcome,
    api_user,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES, ApiError
from leads.choices import Channel
from leads.models import Campaign
from leads.services import create_campaign, update_campaign
from users.access import visible_leads

router = Router(tags=["campaigns"])


class CampaignOut(Schema):
    id: int
    name: str
    channel: str
    cost: Decimal
    currency: str
    starts_on: date | None
    ends_on: date | None
    leads: int = Field(description="Members of the campaign among the leads you may see")


class FunnelStepOut(Schema):
    stage: str
    label: str
    reached: int
    current: int


class CampaignDetailOut(CampaignOut):
    funnel: list[FunnelStepOut]


class CampaignPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[CampaignOut]


class CampaignIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    channel: Channel = Channel.OTHER
    cost: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    starts_on: date | None = None
    ends_on: date | None = None


class CampaignPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    channel: Channel | None = None
    cost: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    starts_on: date | None = None
    ends_on: date | None = None


class CampaignFilters(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0)


def campaign_out(campaign: Campaign, leads: int) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "channel": campaign.channel,
        "cost": campaign.cost,
        "currency": settings.LEADLOOP_CURRENCY,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "leads": leads,
    }


def _counted(request: HttpRequest) -> Any:
    scope = visible_leads(api_user(request)).values("pk")
    return Campaign.objects.annotate(
        lead_count=Count("members", filter=Q(members__lead__in=scope), distinct=True)
    ).order_by("-starts_on", "name", "pk")


def _detail(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    campaign = _counted(request).filter(pk=campaign_id).first()
    if campaign is None:
        raise ApiError(404, "campaign_id", f"no campaign with id {campaign_id}")
    report = funnel_report(api_user(request), campaign_id=campaign.pk)
    return campaign_out(campaign, campaign.lead_count) | {
        "funnel": [
            {"stage": s.stage, "label": s.label, "reached": s.reached, "current": s.current}
            for s in report.steps
        ]
    }


@router.get("/campaigns", response={200: CampaignPageOut, **ERROR_RESPONSES}, summary="Campaigns")
def list_campaigns(request: HttpRequest, filters: Query[CampaignFilters]) -> dict[str, Any]:
    campaigns = _counted(request)
    page = campaigns[filters.offset : filters.offset + filters.limit]
    return {
        "count": campaigns.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [campaign_out(c, c.lead_count) for c in page],
    }


@router.get(
    "/campaigns/{campaign_id}",
    response={200: CampaignDetailOut, **ERROR_RESPONSES},
    summary="A campaign with its funnel",
)
def get_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    return _detail(request, campaign_id)


@router.post(
    "/campaigns",
    response={201: CampaignDetailOut, **ERROR_RESPONSES},
    summary="Create a campaign",
)
def post_campaign(
    request: HttpRequest,
    response: HttpResponse,
    payload: CampaignIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    user = api_user(request)
    now = timezone.now()

    def work() -> Outcome:
        campaign = create_campaign(by=user, **payload.model_dump())
        return 201, CampaignDetailOut.model_validate(_detail(request, campaign.pk)).model_dump(
            mode="json"
        )

    body = payload.model_dump(mode="json")
    return idempotent_answer(
        request, response, user=user, key=idempotency_key, body=body, now=now, work=work
    )


@router.patch(
    "/campaigns/{campaign_id}",
    response={200: CampaignDetailOut, **ERROR_RESPONSES},
    summary="Change a campaign's name, channel, cost or dates",
)
def patch_campaign(
    request: HttpRequest, campaign_id: int, payload: CampaignPatch
) -> dict[str, Any]:
    user = api_user(request)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise ApiError(404, "campaign_id", f"no campaign with id {campaign_id}")
    changes = payload.model_dump(exclude_unset=True)
    for field in ("name", "channel", "cost"):
        if field in changes and changes[field] is None:
            raise ApiError(422, field, "must not be null")
    update_campaign(campaign, by=user, **changes)
    return _detail(request, campaign.pk)
