"""REST API for reports, computed from the stage history of the leads the caller may see."""

from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime

from analytics.services import CampaignFunnel, followup_report, funnel_by_campaign, funnel_report
from api.common import RowId, api_user
from api.errors import ERROR_RESPONSES, ApiError
from leads.models import Campaign
from users.models import User

router = Router(tags=["reports"])


class FunnelQuery(Schema):
    campaign: RowId | None = Field(None, description="Campaign id: only its members")
    since: AwareDatetime | None = Field(None, description="Leads that arrived at or after")
    until: AwareDatetime | None = Field(None, description="Leads that arrived before")
    by_campaign: bool = Field(False, description="One funnel per campaign")


class FunnelStepOut(Schema):
    stage: str
    label: str
    reached: int = Field(description="Leads that ever got this far")
    current: int = Field(description="Leads in this stage now")
    conversion: float | None = Field(description="Share of the previous step; null for the first")


class FunnelOut(Schema):
    campaign_id: int | None
    campaign_name: str
    steps: list[FunnelStepOut]
    off_funnel: dict[str, int] = Field(description="Leads now nurturing, recycled, disqualified")


class FunnelsOut(Schema):
    campaigns: list[FunnelOut]


def funnel_out(report: CampaignFunnel) -> dict[str, Any]:
    return {
        "campaign_id": report.campaign_id,
        "campaign_name": report.campaign_name,
        "steps": [
            {
                "stage": step.stage,
                "label": step.label,
                "reached": step.reached,
                "current": step.current,
                "conversion": step.conversion,
            }
            for step in report.steps
        ],
        "off_funnel": dict(report.off_funnel),
    }


@router.get(
    "/reports/funnel",
    response={200: FunnelOut | FunnelsOut, **ERROR_RESPONSES},
    summary="The lead funnel: how many reached each stage, how many are there now",
)
def get_funnel(request: HttpRequest, filters: Query[FunnelQuery]) -> dict[str, Any]:
    """One funnel (optionally of one campaign), or with `by_campaign=true` one per
    campaign as `{"campaigns": [...]}`. Counts only leads the caller may see."""
    user = api_user(request)
    if filters.since and filters.until and filters.since >= filters.until:
        raise ApiError(422, "until", "must be after since")
    if filters.by_campaign:
        if filters.campaign is not None:
            raise ApiError(422, "campaign", "cannot be combined with by_campaign")
        reports = funnel_by_campaign(user, since=filters.since, until=filters.until)
        return {"campaigns": [funnel_out(report) for report in reports]}
    if filters.campaign is not None and not Campaign.objects.filter(pk=filters.campaign).exists():
        raise ApiError(422, "campaign", f"no campaign with id {filters.campaign}")
    report = funnel_report(
        user, campaign_id=filters.campaign, since=filters.since, until=filters.until
    )
    return funnel_out(report)


class FollowupQuery(Schema):
    by: Literal["rep", "team", "campaign"] = Field(
        "rep", description="One row per rep, team or campaign"
    )
    since: AwareDatetime | None = Field(None, description="Leads given to a rep at or after")
    until: AwareDatetime | None = Field(None, description="Leads given to a rep before")
    rep: str | None = Field(None, description="Only the leads given to this rep (username)")
    exact: bool = Field(
        False,
        description="Count every turn of the period instead of reading the monthly roll-up"
        " (the same figures, slower)",
    )


class FollowupRowOut(Schema):
    key: int | None = Field(description="The rep's, team's or campaign's id (null: none)")
    name: str
    assigned: int = Field(description="Leads given to a rep in the period (one per hand-over)")
    touched: int = Field(description="…that the rep called, emailed or met afterwards")
    follow_up_rate: float | None
    in_sla: int = Field(description="…first touched within the team's SLA (business hours)")
    missed_sla: int
    sla_compliance: float | None = Field(description="in_sla / leads whose SLA is decided")
    untouched: int
    speed_to_lead_hours: dict[str, float | None] = Field(
        description="median and p90 hours to the first touch, business and clock"
    )
    dropped: int = Field(description="Leads the rep handed back")
    attempts_before_dropped: dict[str, int] = Field(description="0, 1, … 6+ attempts")
    leaked: dict[str, int] = Field(description="Never touched, still with the rep, by age")


class FollowupOut(Schema):
    by: str
    rows: list[FollowupRowOut]


@router.get(
    "/reports/follow-up",
    response={200: FollowupOut, **ERROR_RESPONSES},
    summary="Follow-up figures: rate, speed to lead, SLA, attempts, leakage",
)
def get_followup(request: HttpRequest, filters: Query[FollowupQuery]) -> dict[str, Any]:
    """Per rep, team or campaign, the leads given to reps in the period: how many were
    touched and how fast, SLA compliance, attempts before a lead was dropped, and the ones
    never touched. Counts only what the caller may see: a manager their team, a rep
    themselves."""
    user = api_user(request)
    if filters.since and filters.until and filters.since >= filters.until:
        raise ApiError(422, "until", "must be after since")
    rep_id = None
    if filters.rep:
        rep_id = User.objects.filter(username=filters.rep).values_list("pk", flat=True).first()
        if rep_id is None:
            raise ApiError(422, "rep", f"no user called {filters.rep!r}")
    figures = followup_report(
        user,
        by=filters.by,
        since=filters.since,
        until=filters.until,
        rep_id=rep_id,
        now=timezone.now(),
        exact=filters.exact,
    )
    return {"by": filters.by, "rows": [f.as_dict() for f in figures]}
