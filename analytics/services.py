"""Reports computed from the StageChange history, so they are exact and auditable.

Analytics reads everyone's history and writes nothing of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from leads.lifecycle import FUNNEL, reached_from
from leads.models import Campaign, Lead, StageChange
from users.access import visible_leads
from users.models import User

from .rules import OFF_FUNNEL, FunnelStep, funnel


@dataclass(frozen=True)
class CampaignFunnel:
    campaign_id: int | None
    campaign_name: str
    steps: list[FunnelStep]
    off_funnel: dict[str, int]


def _leads(
    user: User, since: datetime | None, until: datetime | None, campaign_id: int | None
) -> QuerySet[Lead]:
    leads = visible_leads(user)
    if since is not None:
        leads = leads.filter(arrived_at__gte=since)
    if until is not None:
        leads = leads.filter(arrived_at__lt=until)
    if campaign_id is not None:
        leads = leads.filter(memberships__campaign_id=campaign_id)
    return leads


def _reached_counts() -> dict[str, Any]:
    """Per funnel stage, the distinct leads that reached it (entered it or a later stage):
    the same leads the lead list's "reached" filter shows (`leads.queries.reached_stage`)."""
    return {
        stage: Count("lead_id", distinct=True, filter=Q(to_stage__in=reached_from(stage)))
        for stage in FUNNEL
    }


def funnel_report(
    user: User,
    *,
    campaign_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CampaignFunnel:
    """The funnel of the leads `user` may see, optionally of one campaign and period."""
    leads = _leads(user, since, until, campaign_id)
    reached = StageChange.objects.filter(
        lead__in=leads.values("pk"), to_stage__in=FUNNEL
    ).aggregate(**_reached_counts())
    current = dict(leads.values("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    name = "All campaigns"
    if campaign_id is not None:
        name = Campaign.objects.filter(pk=campaign_id).values_list("name", flat=True).first() or "?"
    return CampaignFunnel(
        campaign_id=campaign_id,
        campaign_name=name,
        steps=funnel(reached, current),
        off_funnel={stage: current.get(stage, 0) for stage in OFF_FUNNEL},
    )


def funnel_by_campaign(
    user: User, *, since: datetime | None = None, until: datetime | None = None
) -> list[CampaignFunnel]:
    """One funnel per campaign, in two grouped queries rather than one per campaign."""
    leads = _leads(user, since, until, None)
    reached_rows = (
        StageChange.objects.filter(lead__in=leads.values("pk"), to_stage__in=FUNNEL)
        .values("lead__memberships__campaign_id")
        .annotate(**_reached_counts())
    )
    current_rows = leads.values("memberships__campaign_id", "stage").annotate(n=Count("pk"))
    reached: dict[int, dict[str, int]] = {}
    for row in reached_rows:
        counts: dict[str, Any] = dict(row)
        campaign = counts.pop("lead__memberships__campaign_id")
        if campaign is not None:
            reached[campaign] = counts
    current: dict[int, dict[str, int]] = {}
    for crow in current_rows:
        if crow["memberships__campaign_id"] is not None:
            current.setdefault(crow["memberships__campaign_id"], {})[crow["stage"]] = crow["n"]
    result = []
    for campaign in Campaign.objects.filter(pk__in=set(reached) | set(current)).order_by("name"):
        now_in = current.get(campaign.pk, {})
        result.append(
            CampaignFunnel(
                campaign_id=campaign.pk,
                campaign_name=campaign.name,
                steps=funnel(reached.get(campaign.pk, {}), now_in),
                off_funnel={stage: now_in.get(stage, 0) for stage in OFF_FUNNEL},
            )
        )
    return result
