"""The follow-up roll-up (routing.TurnRollup): per month and per year, rep and team, how
many turns were given, touched, in or past their SLA, dropped after how many attempts,
and the bins of their speed to lead. Kept by the writers of a turn's record in their own
transaction (`count_given`, `count_change`: each change is added to the turn's month and
to its year in one statement), refilled from the assignments by `rebuild`.

Why months and years, not days: the speed-to-lead bins of one rep's day hold about as
many rows as that day has turns (27 a rep-day in bench/bench_followup.py: ~2,000,000
bin rows for two years, as many as the turns themselves); a month's hold ~180 per rep,
still ~220,000 rows for two years of 50 reps, and a year's the same ~180. So a period
reads its whole years from year rows, the whole months around them from month rows
(at most 22 months), and the part-months at its ends exactly from the turns
(analytics.services), through the assigned_at index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from .choices import RollupSpan
from .models import Assignment, TurnCampaign, TurnRollup
from .rules import (
    ASSIGNED,
    ATTEMPTS,
    BUSINESS_HOURS,
    CLOCK_HOURS,
    DROPPED,
    IN_SLA,
    LATE,
    TOUCHED,
    TurnRecord,
    month_of,
    turn_figures,
)

# (span, first day of the period, rep id, team id or 0, campaign id or 0, figure, edge)
# → how much to add. Campaign 0: every turn; NO_CAMPAIGN: the turns of leads in none.
Key = tuple[str, date, int, int, int, str, float]
NO_CAMPAIGN = -1
BATCH = 500


class Trunc(Func):
    """Towards zero, as an integer-valued number: PostgreSQL's trunc(), SQLite's CAST (a
    plain column expression, where Django's Floor would call Python on SQLite)."""

    function = "TRUNC"
    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS INTEGER)")


def hour_bin_sql(column: str) -> Case:
    """routing.rules.hour_bin in SQL: the lower edge of the column's histogram bin."""
    hours = F(column)
    return Case(
        When(**{f"{column}__lt": 1}, then=Trunc(hours * 60) / 60.0),
        When(**{f"{column}__lt": 24}, then=Trunc(hours * 10) / 10.0),
        When(**{f"{column}__lt": 240}, then=Trunc(hours)),
        default=Trunc(hours / 24) * 24.0,
        output_field=FloatField(),
    )


def record_of(turn: Assignment) -> TurnRecord:
    return TurnRecord(
        due_at=turn.due_at,
        first_touch_at=turn.first_touch_at,
        first_touch_hours=turn.first_touch_hours,
        first_touch_clock_hours=turn.first_touch_clock_hours,
        attempts=turn.attempts,
        dropped_at=turn.dropped_at,
    )


def add(deltas: Counter[Key]) -> None:
    """Add `deltas` to the roll-up's counts: one INSERT … ON CONFLICT DO UPDATE per batch,
    so concurrent writers add to the same row without reading it first. Keys in sorted
    order: two transactions take the rows' locks in the same order, never crosswise."""
    keys = sorted(key for key, n in deltas.items() if n)
    if not keys:
        return
    table = connection.ops.quote_name(TurnRollup._meta.db_table)
    columns = "span, period, rep_id, team_id, campaign_id, figure, edge"
    with connection.cursor() as cursor:
        for start in range(0, len(keys), BATCH):
            batch = keys[start : start + BATCH]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(batch))
            params: list[Any] = []
            for key in batch:
                span, period, rep, team, campaign, figure, edge = key
                day = connection.ops.adapt_datefield_value(period)
                params += [span, day, rep, team, campaign, figure, edge, deltas[key]]
            cursor.execute(
                f"INSERT INTO {table} ({columns}, count)"
                f" VALUES {values} ON CONFLICT ({columns})"
                f" DO UPDATE SET count = {table}.count + excluded.count",
                params,
            )


def count_given(
    turns: Iterable[tuple[int | None, int | None, Iterable[int]]], *, now: datetime
) -> None:
    """New turns given at `now`: (rep id, team id, the campaigns the turn counts for)
    each; those with no rep (a team's queue) are not turns."""
    deltas: Counter[Key] = Counter()
    for rep, team, campaigns in turns:
        if rep is not None:
            for span, period in periods_of(now):
                for campaign in (0, *(tuple(campaigns) or (NO_CAMPAIGN,))):
                    who = rep if campaign == 0 else 0  # campaign rows: per team only
                    deltas[span, period, who, team or 0, campaign, ASSIGNED, 0.0] += 1
    add(deltas)


def campaigns_of(turn: Assignment) -> list[int]:
    """The campaigns `turn` counts for (TurnCampaign)."""
    return list(TurnCampaign.objects.filter(assignment=turn).values_list("campaign_id", flat=True))


def count_change(turn: Assignment, after: TurnRecord) -> None:
    """The record of `turn` (as read, with its rep, team and moment) becomes `after`."""
    if turn.to_owner_id is None:
        return
    deltas: Counter[Key] = Counter()
    campaigns = (0, *(campaigns_of(turn) or [NO_CAMPAIGN]))
    for span, period in periods_of(turn.assigned_at):
        for campaign in campaigns:
            who = turn.to_owner_id if campaign == 0 else 0  # campaign rows: per team only
            head = (span, period, who, turn.to_team_id or 0, campaign)
            for figure, edge in turn_figures(record_of(turn)):
                deltas[(*head, figure, edge)] -= 1
            for figure, edge in turn_figures(after):
                deltas[(*head, figure, edge)] += 1
    add(deltas)


def forget_campaign(campaign_id: int) -> None:
    """`campaign_id` is being deleted (its TurnCampaign rows go with it): its roll-up rows
    go, and the turns it was the only campaign of become turns of leads in none."""
    others = TurnCampaign.objects.filter(assignment=OuterRef("pk")).exclude(campaign_id=campaign_id)
    solo = Assignment.objects.filter(
        to_owner__isnull=False, campaigns__campaign_id=campaign_id
    ).filter(~Exists(others))
    deltas: Counter[Key] = Counter()
    for turn in solo.only(*TURN_FIELDS).iterator(chunk_size=5000):
        for span, period in periods_of(turn.assigned_at):
            head = (span, period, 0, turn.to_team_id or 0, NO_CAMPAIGN)
            for figure, edge in turn_figures(record_of(turn)):
                deltas[(*head, figure, edge)] += 1
    TurnRollup.objects.filter(campaign_id=campaign_id).delete()
    add(deltas)


TURN_FIELDS = (
    "assigned_at", "to_owner_id", "to_team_id", "due_at", "first_touch_at",
    "first_touch_hours", "first_touch_clock_hours", "attempts", "dropped_at",
)  # fmt: skip


def periods_of(moment: datetime) -> tuple[tuple[str, date], tuple[str, date]]:
    """The roll-up rows a turn given at `moment` counts in: its month's and its year's."""
    month = month_of(moment)
    return (RollupSpan.MONTH, month), (RollupSpan.YEAR, date(month.year, 1, 1))


def counts_of(turns: Any, *, rows: str = "all") -> Counter[tuple[int, int, int, str, float]]:
    """The roll-up counts of `turns` (a queryset of assignments) per (rep id, team id or
    0, campaign id or 0, figure, edge), computed by the database: every turn's counts
    (campaign 0), then the same over the turns' campaigns (TurnCampaign, joined); one
    grouped query for the counts and one per histogram each. (Grouped by expressions, not
    the bare columns: SQLite would walk the rep index and fetch every row by it, as
    analytics.services notes.) `rows`: "all", or only "every" turn's (campaign 0) or the
    "campaigns"' rows, what a report per rep or team, or per campaign, reads."""
    result: Counter[tuple[int, int, int, str, float]] = Counter()
    turns = turns.filter(to_owner__isnull=False)
    if rows in ("all", "every"):
        _count_into(result, turns, campaign=0)
    if rows in ("all", "campaigns"):
        # One pass over the turns joined to their campaigns (LEFT JOIN: NO_CAMPAIGN for a
        # turn in none), a row per turn and campaign.
        _count_into(result, turns, campaign="campaigns__campaign_id")
    return result


def _count_into(
    result: Counter[tuple[int, int, int, str, float]], turns: Any, *, campaign: str | int
) -> None:
    touched = Q(first_touch_at__isnull=False)
    on_time = Q(due_at__isnull=True) | Q(first_touch_at__lte=F("due_at"))
    dropped = Q(dropped_at__isnull=False)
    counts: dict[str, Any] = {
        ASSIGNED: Count("pk"),
        TOUCHED: Count("pk", filter=touched),
        IN_SLA: Count("pk", filter=touched & on_time),
        LATE: Count("pk", filter=Q(first_touch_at__gt=F("due_at"))),
        DROPPED: Count("pk", filter=dropped),
    }
    for n in range(7):
        many = Q(attempts__gte=6) if n == 6 else Q(attempts=n)
        counts[f"{ATTEMPTS}_{n}"] = Count("pk", filter=dropped & many)
    turns = turns.annotate(
        # Campaign rows are per team only (rep 0): a rep's own figures per campaign are
        # read from their turns (analytics.services).
        rollup_rep=ExpressionWrapper(
            F("to_owner_id") + 0 if campaign == 0 else Value(0), output_field=IntegerField()
        ),
        rollup_team=ExpressionWrapper(F("to_team_id") + 0, output_field=IntegerField()),
        rollup_campaign=ExpressionWrapper(
            Coalesce(F(campaign), Value(NO_CAMPAIGN)) + 0
            if isinstance(campaign, str)
            else Value(campaign),
            output_field=IntegerField(),
        ),
    )
    head = ("rollup_rep", "rollup_team", "rollup_campaign")
    for row in turns.values(*head).annotate(**counts).order_by():
        key = (row["rollup_rep"], row["rollup_team"] or 0, row["rollup_campaign"])
        for figure in (ASSIGNED, TOUCHED, IN_SLA, LATE, DROPPED):
            result[(*key, figure, 0.0)] += row[figure]
        for n in range(7):
            result[(*key, ATTEMPTS, float(n))] += row[f"{ATTEMPTS}_{n}"]
    for figure, column in (
        (BUSINESS_HOURS, "first_touch_hours"),
        (CLOCK_HOURS, "first_touch_clock_hours"),
    ):
        for rep, team, in_campaign, edge, n in (
            turns.filter(**{f"{column}__isnull": False})
            .annotate(edge=hour_bin_sql(column))
            .values(*head, "edge")
            .annotate(n=Count("pk"))
            .values_list(*head, "edge", "n")
            .order_by()
        ):
            result[(rep, team or 0, in_campaign, figure, float(edge))] += n


def _by_month(progress: Callable[[int, int], None] | None = None) -> Iterator[Counter[Key]]:
    """The roll-up of every assignment, a month at a time (through the assigned_at index)."""
    first = Assignment.objects.order_by("assigned_at").values_list("assigned_at", flat=True)
    start, end = first.first(), first.reverse().first()
    if start is None or end is None:
        return
    months = _months(month_of(start), month_of(end))
    for done, month in enumerate(months, start=1):
        until = _next_month(month)
        counts = counts_of(
            Assignment.objects.filter(
                assigned_at__gte=datetime(month.year, month.month, 1, tzinfo=UTC),
                assigned_at__lt=datetime(until.year, until.month, 1, tzinfo=UTC),
            )
        )
        yield Counter({(RollupSpan.MONTH, month, *key): n for key, n in counts.items() if n})
        if progress is not None:
            progress(done, len(months))


def rebuild(*, progress: Callable[[int, int], None] | None = None) -> int:
    """Refill the roll-up from the assignments, a month at a time (`progress(done,
    total)` after each), in one transaction: readers see the old counts or the new.
    Returns how many roll-up rows it wrote."""
    written = 0
    with transaction.atomic():
        TurnRollup.objects.all().delete()
        years: Counter[Key] = Counter()
        for counts in _by_month(progress):
            _write(counts)
            written += len(counts)
            years.update(_years(counts))
        _write(years)
        written += len(years)
    return written


def _years(months: Counter[Key]) -> Counter[Key]:
    """The year rows that month rows add up to."""
    years: Counter[Key] = Counter()
    for (_, period, rep, team, campaign, figure, edge), n in months.items():
        years[RollupSpan.YEAR, date(period.year, 1, 1), rep, team, campaign, figure, edge] += n
    return years


def _write(counts: Counter[Key]) -> None:
    """New roll-up rows, by one executemany INSERT (bulk_create spent ~40 µs a row)."""
    table = connection.ops.quote_name(TurnRollup._meta.db_table)
    rows = [
        (span, connection.ops.adapt_datefield_value(period), rep, team, campaign, figure, edge, n)
        for (span, period, rep, team, campaign, figure, edge), n in counts.items()
        if n
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (span, period, rep_id, team_id, campaign_id, figure, edge,"
            " count) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def recount() -> Counter[Key]:
    """What the roll-up should hold, computed from every assignment (for the tests):
    non-zero counts only."""
    total: Counter[Key] = Counter()
    for counts in _by_month():
        total.update(counts)
        total.update(_years(counts))
    return Counter({key: n for key, n in total.items() if n})


def stored() -> Counter[Key]:
    """What the roll-up holds: non-zero counts only."""
    rows = TurnRollup.objects.exclude(count=0).values_list(
        "span", "period", "rep_id", "team_id", "campaign_id", "figure", "edge", "count"
    )
    return Counter(
        {
            (span, period, rep, team, campaign, figure, edge): n
            for span, period, rep, team, campaign, figure, edge, n in rows
        }
    )


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _months(first: date, last: date) -> list[date]:
    months = [first]
    while months[-1] < last:
        months.append(_next_month(months[-1]))
    return months
