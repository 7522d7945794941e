"""Reports computed from the StageChange history, so they are exact and auditable.

Analytics reads everyone's history and writes nothing of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from followup.choices import CONTACT_KINDS
from followup.models import Touch
from leads.choices import Stage
from leads.lifecycle import FUNNEL, SALES_STAGES, reached_from
from leads.models import Campaign, CampaignMember, Lead, StageChange
from routing.models import Assignment
from routing.rules import BusinessCalendar
from routing.services import calendar_of
from users.access import visible_leads
from users.models import Team, User

from .followup import NO_TEAM, TURN_SCHEMA, Figures, classify, figure_filter, summarise
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


# --- Follow-up figures (analytics.followup) ---------------------------------------------

FOLLOWUP_BY = ("rep", "team", "campaign")
_BY_COLUMN = {"rep": "owner_id", "team": "team_id", "campaign": "campaign_id"}
# A turn ends "dropped" when its rep moved the lead to one of these.
DROPPED_TO = (Stage.RECYCLED, Stage.DISQUALIFIED, Stage.NURTURING)


def _turn_scope(user: User) -> Q | None:
    """The turns `user` may count: everyone's for admins and marketing, the team's for a
    manager, a rep's own. None: all."""
    if user.sees_everything:
        return None
    if user.is_manager:
        return Q(to_team_id=user.team_id) if user.team_id is not None else Q(pk__in=[])
    return Q(to_owner_id=user.pk)


def followup_turns(
    user: User,
    *,
    since: datetime | None,
    until: datetime | None,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> pl.DataFrame:
    """Every turn (an assignment to a rep) given in the period that `user` may count, with
    its first contact and attempts by that rep since, and whether the rep dropped it.
    One query: the touches and the drop are correlated sub-queries on their indexes
    (touch_lead, stagechange_lead)."""
    contacts = Touch.objects.filter(
        lead_id=OuterRef("lead_id"),
        user_id=OuterRef("to_owner_id"),
        occurred_at__gte=OuterRef("assigned_at"),
        kind__in=CONTACT_KINDS,
    )
    turns = Assignment.objects.filter(
        to_owner__isnull=False, lead__merged_into__isnull=True
    ).order_by()
    scope = _turn_scope(user)
    if scope is not None:
        turns = turns.filter(scope)
    if since is not None:
        turns = turns.filter(assigned_at__gte=since)
    if until is not None:
        turns = turns.filter(assigned_at__lt=until)
    if owner_id is not None:
        turns = turns.filter(to_owner_id=owner_id)
    if team_id is not None:
        turns = turns.filter(to_team_id=team_id)
    rows = turns.annotate(
        first_touch_at=Subquery(contacts.order_by("occurred_at").values("occurred_at")[:1]),
        attempts=Coalesce(
            Subquery(contacts.values("lead_id").annotate(n=Count("pk")).values("n")[:1]), 0
        ),
        dropped=Exists(
            StageChange.objects.filter(
                lead_id=OuterRef("lead_id"),
                changed_by_id=OuterRef("to_owner_id"),
                changed_at__gte=OuterRef("assigned_at"),
                from_stage__in=SALES_STAGES,
                to_stage__in=DROPPED_TO,
            )
        ),
        waiting=Q(lead__owner_id=F("to_owner_id"), lead__stage__in=SALES_STAGES),
    ).values_list(
        "pk",
        "lead_id",
        "to_owner_id",
        "to_team_id",
        "assigned_at",
        "first_touch_at",
        "attempts",
        "dropped",
        "waiting",
    )
    return pl.DataFrame(list(rows), schema=TURN_SCHEMA, orient="row")


def _classified(
    user: User,
    *,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> pl.DataFrame:
    turns = followup_turns(user, since=since, until=until, owner_id=owner_id, team_id=team_id)
    teams = Team.objects.filter(pk__in=turns["team_id"].drop_nulls().unique().to_list())
    default = float(settings.LEADLOOP_DEFAULT_SLA_HOURS)
    calendars = {NO_TEAM: BusinessCalendar(), **{t.pk: calendar_of(t) for t in teams}}
    sla_hours = {NO_TEAM: default, **{t.pk: float(t.sla_hours or default) for t in teams}}
    return classify(turns, now=now, sla_hours=sla_hours, calendars=calendars)


def _with_campaigns(classified: pl.DataFrame) -> pl.DataFrame:
    """One row per turn and campaign its lead is a member of (a lead in two campaigns
    counts in both; one in none, under "(none)")."""
    members = pl.DataFrame(
        list(
            CampaignMember.objects.filter(
                lead_id__in=classified["lead_id"].unique().to_list()
            ).values_list("lead_id", "campaign_id")
        ),
        schema={"lead_id": pl.Int64, "campaign_id": pl.Int64},
        orient="row",
    )
    return classified.join(members, on="lead_id", how="left")


def _names(by: str, keys: list[int]) -> dict[int, str]:
    if by == "rep":
        people = User.objects.filter(pk__in=keys)
        return {u.pk: u.display_name for u in sorted(people, key=lambda u: u.display_name)}
    model = Team if by == "team" else Campaign
    return dict(model.objects.filter(pk__in=keys).order_by("name").values_list("pk", "name"))


def followup_report(
    user: User,
    *,
    by: str = "rep",
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> list[Figures]:
    """Follow-up figures per rep, team or campaign (`by`) of the turns given in the period:
    follow-up rate, speed to lead, SLA compliance, attempts before dropping, leakage."""
    if by not in FOLLOWUP_BY:
        raise ValueError(f"by must be one of {', '.join(FOLLOWUP_BY)}, not {by!r}")
    classified = _classified(
        user, since=since, until=until, now=now, owner_id=owner_id, team_id=team_id
    )
    if by == "campaign":
        classified = _with_campaigns(classified)
    column = _BY_COLUMN[by]
    keys = classified[column].drop_nulls().unique().to_list() if classified.height else []
    return summarise(classified, column, _names(by, keys))


def followup_lead_ids(
    user: User,
    *,
    figure: str,
    bucket: str = "",
    by: str = "rep",
    key: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime,
) -> list[int]:
    """The leads behind one number of `followup_report`: the same turns, narrowed to a
    figure ("touched", "missed_sla", "dropped" with an attempts bucket, "leaked" with an
    age bucket …) and one rep, team or campaign (`key`; None: all)."""
    if by not in FOLLOWUP_BY:
        raise ValueError(f"by must be one of {', '.join(FOLLOWUP_BY)}, not {by!r}")
    chosen = figure_filter(figure, bucket)
    classified = _classified(user, since=since, until=until, now=now)
    if by == "campaign":
        classified = _with_campaigns(classified)
    if key is not None:
        classified = classified.filter(pl.col(_BY_COLUMN[by]) == key)
    return classified.filter(chosen)["lead_id"].unique().sort().to_list()
