"""Reports computed from the StageChange history, so they are exact and auditable.

Analytics reads everyone's history and writes nothing of theirs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
)

from leads.lifecycle import FUNNEL, SALES_STAGES, reached_from
from leads.models import Campaign, Lead, StageChange
from routing import rules as turn_rules
from routing.choices import RollupSpan
from routing.models import Assignment, TurnRollup
from routing.rollup import NO_CAMPAIGN, counts_of, hour_bin_sql
from users.access import visible_leads
from users.models import Team, User

from .followup import (
    AGE_BUCKETS,
    AGE_EDGES_HOURS,
    ATTEMPT_BUCKETS,
    Figures,
    percentile,
)
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
# The key of the report's "(none)" row for the leads behind its numbers: turns of no team,
# or of leads in no campaign.
NONE_KEY = -1
_BY_COLUMN = {
    "rep": "to_owner_id",
    "team": "to_team_id",
    # The campaigns the turn's lead was in when the turn was given (routing.TurnCampaign).
    "campaign": "campaigns__campaign_id",
}


def _turn_scope(user: User) -> Q | None:
    """The turns `user` may count: everyone's for admins and marketing, the team's for a
    manager, a rep's own. None: all."""
    if user.sees_everything:
        return None
    if user.is_manager:
        return Q(to_team_id=user.team_id) if user.team_id is not None else Q(pk__in=[])
    return Q(to_owner_id=user.pk)


def _turns(
    user: User, *, since: datetime | None, until: datetime | None, rep_id: int | None = None
) -> QuerySet[Assignment]:
    """The turns (assignments to a rep; to one rep if `rep_id`) given in the period that
    `user` may count."""
    # No join to the leads: a merge moves the duplicate's assignments to the survivor.
    turns = Assignment.objects.filter(to_owner__isnull=False)
    scope = _turn_scope(user)
    if scope is not None:
        turns = turns.filter(scope)
    if since is not None:
        turns = turns.filter(assigned_at__gte=since)
    if until is not None:
        turns = turns.filter(assigned_at__lt=until)
    if rep_id is not None:
        turns = turns.filter(to_owner_id=rep_id)
    return turns.order_by()


def _conditions(now: datetime) -> dict[str, Q]:
    """Each figure as a condition on a turn, at `now`."""
    touched = Q(first_touch_at__isnull=False)
    in_sla = touched & (Q(due_at__isnull=True) | Q(first_touch_at__lte=F("due_at")))
    missed = Q(first_touch_at__gt=F("due_at")) | Q(first_touch_at__isnull=True, due_at__lt=now)
    return {
        "assigned": Q(),
        "touched": touched,
        "untouched": ~touched,
        "in_sla": in_sla,
        "missed_sla": missed,
        "dropped": Q(dropped_at__isnull=False),
        "leaked": Q(
            first_touch_at__isnull=True,
            lead__owner_id=F("to_owner_id"),
            lead__stage__in=SALES_STAGES,
        ),
    }


def _bucket_condition(figure: str, bucket: str, now: datetime) -> Q:
    if figure == "dropped" and bucket in ATTEMPT_BUCKETS:
        return Q(attempts__gte=6) if bucket == "6+" else Q(attempts=int(bucket))
    if figure == "leaked" and bucket in AGE_BUCKETS:
        index = AGE_BUCKETS.index(bucket)
        older = Q()
        if index < len(AGE_EDGES_HOURS):
            older &= Q(assigned_at__gt=now - timedelta(hours=AGE_EDGES_HOURS[index]))
        if index > 0:
            older &= Q(assigned_at__lte=now - timedelta(hours=AGE_EDGES_HOURS[index - 1]))
        return older
    raise ValueError(f"{bucket!r} is not a bucket of {figure!r}")


def followup_report(
    user: User,
    *,
    by: str = "rep",
    since: datetime | None = None,
    until: datetime | None = None,
    rep_id: int | None = None,
    now: datetime,
    exact: bool = False,
) -> list[Figures]:
    """Follow-up figures per rep, team or campaign (`by`) of the turns given in the period
    (to one rep if `rep_id`):
    follow-up rate, speed to lead, SLA compliance, attempts before dropping, leakage.

    From the roll-up routing keeps (`_rollup_report`), or with `exact` from the turns
    themselves (`exact_report`). Both give the same figures, to the last count
    (analytics/tests/test_followup_rollup.py). A turn counts for the campaigns its lead
    was in when it was given (routing.TurnCampaign); per campaign, the turns of leads in
    none are the "(none)" row."""
    if by not in FOLLOWUP_BY:
        raise ValueError(f"by must be one of {', '.join(FOLLOWUP_BY)}, not {by!r}")
    # The roll-up's campaign rows are per team: one rep's figures per campaign (a rep's
    # own view, or a report narrowed to a rep) come from that rep's turns.
    one_rep = rep_id is not None or not (user.sees_everything or user.is_manager)
    if exact or (by == "campaign" and one_rep):
        return exact_report(user, by=by, since=since, until=until, rep_id=rep_id, now=now)
    return _rollup_report(user, by=by, since=since, until=until, rep_id=rep_id, now=now)


def exact_report(
    user: User,
    *,
    by: str = "rep",
    since: datetime | None = None,
    until: datetime | None = None,
    rep_id: int | None = None,
    now: datetime,
) -> list[Figures]:
    """followup_report read from every turn of the period: three grouped queries over the
    turns, whatever their number: the counts, and one histogram each of business and
    clock hours to the first touch, whose percentiles are read in Python (exact to the
    bin's width, analytics.followup.bin_width)."""
    column = _BY_COLUMN[by]
    turns = _turns(user, since=since, until=until, rep_id=rep_id)
    when = _conditions(now)
    counts: dict[str, Any] = {
        name: Count("pk", filter=when[name])
        for name in ("assigned", "touched", "in_sla", "missed_sla", "dropped")
    }
    for n, bucket in enumerate(ATTEMPT_BUCKETS):
        counts[f"attempts_{n}"] = Count(
            "pk", filter=when["dropped"] & _bucket_condition("dropped", bucket, now)
        )
    for n, bucket in enumerate(AGE_BUCKETS):
        counts[f"leaked_{n}"] = Count(
            "pk", filter=when["leaked"] & _bucket_condition("leaked", bucket, now)
        )
    # Grouped by an expression, not the bare column: SQLite would walk the rep index and
    # fetch every row by it (5× slower than scanning the table once and sorting).
    turns = turns.annotate(group_key=ExpressionWrapper(F(column) + 0, output_field=IntegerField()))
    column = "group_key"
    rows = {row[column]: row for row in turns.values(column).annotate(**counts)}
    histograms: dict[str, dict[Any, dict[float, int]]] = {}
    for hours in ("first_touch_hours", "first_touch_clock_hours"):
        per_key: dict[Any, dict[float, int]] = {}
        for key, edge, n in (
            turns.filter(**{f"{hours}__isnull": False})
            .values(column)
            .annotate(edge=hour_bin_sql(hours))
            .values(column, "edge")
            .annotate(n=Count("pk"))
            .values_list(column, "edge", "n")
        ):
            per_key.setdefault(key, {})[float(edge)] = n
        histograms[hours] = per_key
    names = _names(by, [key for key in rows if key is not None])
    order = {key: n for n, key in enumerate(names)}
    figures = []
    for key in sorted(rows, key=lambda k: (k is None, order.get(k, len(order)))):
        row = rows[key]
        business = histograms["first_touch_hours"].get(key, {})
        clock = histograms["first_touch_clock_hours"].get(key, {})
        figures.append(
            Figures(
                key=key,
                name=names.get(key, "(none)") if key is not None else "(none)",
                assigned=row["assigned"],
                touched=row["touched"],
                in_sla=row["in_sla"],
                missed_sla=row["missed_sla"],
                sla_decided=row["in_sla"] + row["missed_sla"],
                clock_hours=(percentile(clock, 0.5), percentile(clock, 0.9)),
                business_hours=(percentile(business, 0.5), percentile(business, 0.9)),
                dropped=row["dropped"],
                attempts={b: row[f"attempts_{n}"] for n, b in enumerate(ATTEMPT_BUCKETS)},
                leaked={b: row[f"leaked_{n}"] for n, b in enumerate(AGE_BUCKETS)},
            )
        )
    return figures


def _full_months(
    since: datetime | None, until: datetime | None
) -> tuple[date | None, date | None] | None:
    """The whole UTC months inside [since, until) as [first, end) (None: unbounded), or
    None when the period holds no whole month."""
    first = end = None
    if since is not None:
        first = turn_rules.month_of(since)
        if since != datetime(first.year, first.month, 1, tzinfo=UTC):
            first = _next_month(first)
    if until is not None:
        end = turn_rules.month_of(until)
    if first is not None and end is not None and first >= end:
        return None
    return first, end


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def _rollup_rows(first: date | None, end: date | None) -> Q:
    """The roll-up rows that add up to the whole months [first, end) (None: unbounded):
    the whole years' year rows and the months' rows around them."""
    first = first or date(1, 1, 1)
    end = end or date(9999, 1, 1)
    years = (first if first.month == 1 else date(first.year + 1, 1, 1), date(end.year, 1, 1))
    if years[0] >= years[1]:
        return Q(span=RollupSpan.MONTH, period__gte=first, period__lt=end)
    return (
        Q(span=RollupSpan.MONTH, period__gte=first, period__lt=years[0])
        | Q(span=RollupSpan.YEAR, period__gte=years[0], period__lt=years[1])
        | Q(span=RollupSpan.MONTH, period__gte=years[1], period__lt=end)
    )


def _rollup_report(
    user: User,
    *,
    by: str,
    since: datetime | None,
    until: datetime | None,
    rep_id: int | None,
    now: datetime,
) -> list[Figures]:
    """followup_report from routing's roll-up (routing.TurnRollup, per month, rep, team
    and campaign): the whole months of the period from it, the part-months at its ends from
    their turns (routing.rollup.counts_of, the same counts), and what depends on "now"
    or on the lead today — untouched past the deadline, leaked by age — from the
    untouched turns alone, through their partial index. So any period reads at most
    months × reps × bins roll-up rows, two part-months of turns and the untouched ones."""
    tally: dict[int | None, Counter[tuple[str, float]]] = {}

    def count(rep: int, team: int, campaign: int, figure: str, edge: float, n: int) -> None:
        # Campaign 0 rows count every turn: the rows per rep and team. Per campaign, the
        # rows of each campaign.
        if (by == "campaign") != bool(campaign):
            return
        key: int | None = {"rep": rep, "team": team or None, "campaign": campaign}[by]
        if key == NO_CAMPAIGN:
            key = None
        tally.setdefault(key, Counter())[figure, edge] += n

    months = _full_months(since, until)
    parts: list[tuple[datetime | None, datetime | None]] = [(since, until)]
    if months is not None:
        first, end = months
        rows = TurnRollup.objects.filter(_rollup_rows(first, end))
        if not user.sees_everything:
            if user.is_manager:
                rows = rows.filter(team_id=user.team_id or -1)
            else:
                rows = rows.filter(rep_id=user.pk)
        if rep_id is not None:
            rows = rows.filter(rep_id=rep_id)
        rows = rows.exclude(campaign_id=0) if by == "campaign" else rows.filter(campaign_id=0)
        group = f"{by}_id"
        for key, figure, edge, n in (
            rows.values(group, "figure", "edge")
            .annotate(n=Sum("count"))
            .values_list(group, "figure", "edge", "n")
            .order_by()
        ):
            key = None if key in (0, NO_CAMPAIGN) else key
            tally.setdefault(key, Counter())[figure, edge] += n
        # The part-months at the ends (an open end has none: the months run to it).
        ends = [
            (since, _start(first) if first is not None else None),
            (_start(end) if end is not None else None, until),
        ]
        parts = [(a, b) for a, b in ends if a is not None and b is not None and a < b]
    for part_since, part_until in parts:
        turns = _turns(user, since=part_since, until=part_until, rep_id=rep_id)
        wanted = "campaigns" if by == "campaign" else "every"
        for (rep, team, campaign, figure, edge), n in counts_of(turns, rows=wanted).items():
            count(rep, team, campaign, figure, edge, n)
    # Untouched turns: past their deadline (missed), and leaked by age.
    when = _conditions(now)
    # A lower bound however open the period: SQLite then walks the partial index of the
    # untouched turns (without one it walks the rep index over every turn, 20× slower).
    untouched = _turns(
        user, since=since or datetime(1970, 1, 1, tzinfo=UTC), until=until, rep_id=rep_id
    ).filter(first_touch_at__isnull=True)
    later: dict[str, Any] = {"missed": Count("pk", filter=Q(due_at__lt=now))}
    for n, bucket in enumerate(AGE_BUCKETS):
        later[f"leaked_{n}"] = Count(
            "pk", filter=when["leaked"] & _bucket_condition("leaked", bucket, now)
        )
    # Grouped by an expression, as exact_report does: not through the rep index.
    untouched = untouched.annotate(
        group_key=ExpressionWrapper(F(_BY_COLUMN[by]) + 0, output_field=IntegerField())
    )
    waiting: dict[int | None, dict[str, Any]] = {
        row["group_key"]: dict(row)
        for row in untouched.values("group_key").annotate(**later).order_by()
    }
    keys = [key for key, counts in tally.items() if counts[turn_rules.ASSIGNED, 0.0] > 0]
    names = _names(by, [key for key in keys if key is not None])

    order: dict[int | None, int] = {key: n for n, key in enumerate(names)}
    figures = []
    for key in sorted(keys, key=lambda k: (k is None, order.get(k, len(order)))):
        counts = tally[key]
        late = waiting.get(key, {})
        missed = counts[turn_rules.LATE, 0.0] + late.get("missed", 0)
        in_sla = counts[turn_rules.IN_SLA, 0.0]
        business = _histogram(counts, turn_rules.BUSINESS_HOURS)
        clock = _histogram(counts, turn_rules.CLOCK_HOURS)
        figures.append(
            Figures(
                key=key,
                name=names.get(key, "(none)") if key is not None else "(none)",
                assigned=counts[turn_rules.ASSIGNED, 0.0],
                touched=counts[turn_rules.TOUCHED, 0.0],
                in_sla=in_sla,
                missed_sla=missed,
                sla_decided=in_sla + missed,
                clock_hours=(percentile(clock, 0.5), percentile(clock, 0.9)),
                business_hours=(percentile(business, 0.5), percentile(business, 0.9)),
                dropped=counts[turn_rules.DROPPED, 0.0],
                attempts={
                    b: counts[turn_rules.ATTEMPTS, float(n)] for n, b in enumerate(ATTEMPT_BUCKETS)
                },
                leaked={b: late.get(f"leaked_{n}", 0) for n, b in enumerate(AGE_BUCKETS)},
            )
        )
    return figures


def _histogram(counts: Counter[tuple[str, float]], figure: str) -> dict[float, int]:
    return {edge: n for (name, edge), n in counts.items() if name == figure and n}


def _names(by: str, keys: list[int]) -> dict[int, str]:
    if by == "rep":
        people = User.objects.filter(pk__in=keys)
        return {u.pk: u.display_name for u in sorted(people, key=lambda u: u.display_name)}
    model = Team if by == "team" else Campaign
    return dict(model.objects.filter(pk__in=keys).order_by("name").values_list("pk", "name"))


def followup_lead_ids(
    user: User,
    *,
    figure: str,
    bucket: str = "",
    by: str = "rep",
    key: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    rep_id: int | None = None,
    now: datetime,
) -> QuerySet[Assignment, int]:
    """The ids of the leads behind one number of `followup_report` (a sub-query for the
    lead list): the same turns narrowed to a figure ("touched", "missed_sla", "dropped"
    with an attempts bucket, "leaked" with an age bucket …) and one rep, team or campaign
    (`key`; None: all; NONE_KEY: no team, or no campaign). Raises ValueError on an unknown figure, bucket or grouping."""
    if by not in FOLLOWUP_BY:
        raise ValueError(f"by must be one of {', '.join(FOLLOWUP_BY)}, not {by!r}")
    conditions = _conditions(now)
    if figure not in conditions:
        raise ValueError(f"{figure!r} is not a follow-up figure")
    chosen = conditions[figure]
    if bucket:
        chosen &= _bucket_condition(figure, bucket, now)
    turns = _turns(user, since=since, until=until, rep_id=rep_id).filter(chosen)
    if key == NONE_KEY:
        turns = turns.filter(**{f"{_BY_COLUMN[by]}__isnull": True})
    elif key is not None:
        turns = turns.filter(**{_BY_COLUMN[by]: key})
    return turns.values_list("lead_id", flat=True).distinct()
