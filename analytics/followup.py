"""Follow-up figures, pure: who follows up, how fast, how often before giving up.

The unit is a rep's *turn* with a lead: one assignment to a rep (routing.Assignment),
from the moment it was given to them. A turn is

- *touched* when the rep logged a contact (call, email, meeting) on the lead after it was
  given to them, *in SLA* when the first came within the team's SLA hours, counted in
  business hours of the team's calendar;
- *dropped* when the rep handed it back (recycled, disqualified, back to nurture), with
  the number of contact attempts they made first (0, 1, … 6+);
- *leaked* when it was never touched and the lead still waits with that rep, by age.

Everything here works on whole columns (Polars, NumPy): a million turns are summed in
one pass, never a Python loop per lead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from routing.rules import BusinessCalendar

# How many attempts a turn had before it was dropped, and how old the untouched ones are.
ATTEMPT_BUCKETS = ("0", "1", "2", "3", "4", "5", "6+")
AGE_BUCKETS = ("< 1 day", "1–3 days", "3–7 days", "7–30 days", "30+ days")
_AGE_EDGES_HOURS = (24, 72, 168, 720)

# The turn frame's columns, as analytics.services reads them.
TURN_SCHEMA: dict[str, pl.DataType] = {
    "turn_id": pl.Int64(),
    "lead_id": pl.Int64(),
    "owner_id": pl.Int64(),
    "team_id": pl.Int64(),
    "assigned_at": pl.Datetime("us", "UTC"),
    "first_touch_at": pl.Datetime("us", "UTC"),
    "attempts": pl.Int64(),
    "dropped": pl.Boolean(),
    "waiting": pl.Boolean(),
}


def business_seconds(moment: pl.Expr, calendar: BusinessCalendar) -> pl.Expr:
    """For each UTC moment, the working seconds of `calendar` from 1970-01-01 to it.

    The difference of two such numbers is the working time between two moments, so a
    column of durations costs two vectorised passes: local date and time of day (Polars
    knows the zone's daylight-saving rules), the full working days before that date
    (business_day_count with the calendar's weekdays and holidays), and the part of the
    day's window already past.
    """
    local = moment.dt.convert_time_zone(calendar.timezone)
    day = local.dt.date()
    seconds = (
        local.dt.hour().cast(pl.Int64) * 3600
        + local.dt.minute().cast(pl.Int64) * 60
        + local.dt.second().cast(pl.Int64)
    )
    week_mask = [day_number in calendar.workdays for day_number in range(7)]
    holidays = sorted(calendar.holidays)
    opens = calendar.start.hour * 3600 + calendar.start.minute * 60
    closes = calendar.end.hour * 3600 + calendar.end.minute * 60
    full_days = pl.business_day_count(
        pl.lit(date(1970, 1, 1)), day, week_mask=week_mask, holidays=holidays
    ).cast(pl.Int64)
    workday = day.dt.is_business_day(week_mask=week_mask, holidays=holidays)
    today = pl.when(workday).then(seconds.clip(opens, closes) - opens).otherwise(0)
    return full_days * (closes - opens) + today


def business_hours(start: pl.Expr, end: pl.Expr, calendar: BusinessCalendar) -> pl.Expr:
    """Working hours from each start to its end (null where the end is)."""
    return (business_seconds(end, calendar) - business_seconds(start, calendar)) / 3600


@dataclass(frozen=True)
class Figures:
    """The follow-up of one rep, team or campaign over a period."""

    key: int | None
    name: str
    assigned: int = 0
    touched: int = 0
    in_sla: int = 0
    missed_sla: int = 0
    # Turns whose SLA is decided: touched, or untouched past their deadline.
    sla_decided: int = 0
    clock_hours: tuple[float | None, float | None] = (None, None)  # median, 90th percentile
    business_hours: tuple[float | None, float | None] = (None, None)
    dropped: int = 0
    attempts: dict[str, int] = field(default_factory=dict)
    leaked: dict[str, int] = field(default_factory=dict)

    @property
    def untouched(self) -> int:
        return self.assigned - self.touched

    @property
    def follow_up_rate(self) -> float | None:
        return self.touched / self.assigned if self.assigned else None

    @property
    def in_sla_rate(self) -> float | None:
        return self.in_sla / self.assigned if self.assigned else None

    @property
    def sla_compliance(self) -> float | None:
        return self.in_sla / self.sla_decided if self.sla_decided else None

    @property
    def leaked_total(self) -> int:
        return sum(self.leaked.values())

    def as_dict(self) -> dict[str, Any]:
        """The figures as the API and `leadloop report follow-up` give them."""
        return {
            "key": self.key,
            "name": self.name,
            "assigned": self.assigned,
            "touched": self.touched,
            "follow_up_rate": self.follow_up_rate,
            "in_sla": self.in_sla,
            "missed_sla": self.missed_sla,
            "sla_compliance": self.sla_compliance,
            "untouched": self.untouched,
            "speed_to_lead_hours": {
                "business_median": self.business_hours[0],
                "business_p90": self.business_hours[1],
                "clock_median": self.clock_hours[0],
                "clock_p90": self.clock_hours[1],
            },
            "dropped": self.dropped,
            "attempts_before_dropped": dict(self.attempts),
            "leaked": dict(self.leaked),
        }


# The team id of a turn without a team, in `classify`'s calendars and SLA hours.
NO_TEAM = 0


def classify(
    turns: pl.DataFrame,
    *,
    now: datetime,
    sla_hours: dict[int, float],
    calendars: dict[int, BusinessCalendar],
) -> pl.DataFrame:
    """The turn frame with what each turn was: touched, in SLA, its speed in clock and
    business hours, its attempts bucket if dropped, its age bucket if leaked.

    `calendars` and `sla_hours` are per team id, NO_TEAM for turns without a team (their
    team_id is null); every team in the frame must be in both."""
    turns = turns.with_columns(
        pl.col("team_id").fill_null(NO_TEAM).alias("_team"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("_now"),
    )
    parts = []
    for team_id, calendar in calendars.items():
        part = turns.filter(pl.col("_team") == team_id)
        if part.is_empty():
            continue
        parts.append(
            part.with_columns(
                business_hours=business_hours(
                    pl.col("assigned_at"), pl.col("first_touch_at"), calendar
                ),
                _waited=business_hours(pl.col("assigned_at"), pl.col("_now"), calendar),
                _limit=pl.lit(sla_hours[team_id], dtype=pl.Float64),
            )
        )
    if not parts:
        return turns.with_columns(
            business_hours=pl.lit(None, pl.Float64),
            _waited=pl.lit(None, pl.Float64),
            _limit=pl.lit(None, pl.Float64),
        ).pipe(_outcomes)
    return pl.concat(parts).pipe(_outcomes)


def _outcomes(turns: pl.DataFrame) -> pl.DataFrame:
    hours = (pl.col("_now") - pl.col("assigned_at")).dt.total_microseconds() / 3.6e9
    touched = pl.col("first_touch_at").is_not_null()
    attempts = pl.col("attempts").clip(0, 6)
    return (
        turns.with_columns(
            touched=touched,
            in_sla=touched & (pl.col("business_hours") <= pl.col("_limit")),
            decided=touched | (pl.col("_waited") > pl.col("_limit")),
            clock_hours=(pl.col("first_touch_at") - pl.col("assigned_at")).dt.total_microseconds()
            / 3.6e9,
            attempts_bucket=pl.when(attempts >= 6)
            .then(pl.lit("6+"))
            .otherwise(attempts.cast(pl.String)),
            age_bucket=pl.when(hours < _AGE_EDGES_HOURS[0])
            .then(pl.lit(AGE_BUCKETS[0]))
            .when(hours < _AGE_EDGES_HOURS[1])
            .then(pl.lit(AGE_BUCKETS[1]))
            .when(hours < _AGE_EDGES_HOURS[2])
            .then(pl.lit(AGE_BUCKETS[2]))
            .when(hours < _AGE_EDGES_HOURS[3])
            .then(pl.lit(AGE_BUCKETS[3]))
            .otherwise(pl.lit(AGE_BUCKETS[4])),
        )
        .with_columns(leaked=~pl.col("touched") & pl.col("waiting"))
        .drop("_team", "_now", "_waited", "_limit")
    )


def summarise(classified: pl.DataFrame, by: str, names: dict[int, str]) -> list[Figures]:
    """One Figures per value of column `by` (owner_id, team_id or campaign_id), in the
    order of `names` (then any key without a name)."""
    if classified.is_empty():
        return []
    sums = classified.group_by(by).agg(
        assigned=pl.len(),
        touched=pl.col("touched").sum(),
        in_sla=pl.col("in_sla").sum(),
        missed_sla=(pl.col("decided") & ~pl.col("in_sla")).sum(),
        sla_decided=pl.col("decided").sum(),
        clock_median=pl.col("clock_hours").median(),
        clock_p90=pl.col("clock_hours").quantile(0.9, "linear"),
        business_median=pl.col("business_hours").median(),
        business_p90=pl.col("business_hours").quantile(0.9, "linear"),
        dropped=pl.col("dropped").sum(),
    )
    attempts = _counts(classified.filter(pl.col("dropped")), by, "attempts_bucket")
    leaked = _counts(classified.filter(pl.col("leaked")), by, "age_bucket")
    order = {key: n for n, key in enumerate(names)}
    figures = []
    for row in sorted(sums.iter_rows(named=True), key=lambda r: order.get(r[by], len(order))):
        key = row[by]
        figures.append(
            Figures(
                key=key,
                name=names.get(key, "(none)") if key is not None else "(none)",
                assigned=row["assigned"],
                touched=row["touched"],
                in_sla=row["in_sla"],
                missed_sla=row["missed_sla"],
                sla_decided=row["sla_decided"],
                clock_hours=(row["clock_median"], row["clock_p90"]),
                business_hours=(row["business_median"], row["business_p90"]),
                dropped=row["dropped"],
                attempts={b: attempts.get((key, b), 0) for b in ATTEMPT_BUCKETS},
                leaked={b: leaked.get((key, b), 0) for b in AGE_BUCKETS},
            )
        )
    return figures


def _counts(frame: pl.DataFrame, by: str, bucket: str) -> dict[tuple[int | None, str], int]:
    if frame.is_empty():
        return {}
    rows = frame.group_by(by, bucket).len().iter_rows()
    return {(key, name): count for key, name, count in rows}


# The figures a link can ask for, in people's words (the lead list says which it shows).
FIGURE_LABELS: dict[str, str] = {
    "assigned": "given to a rep",
    "touched": "touched",
    "untouched": "never touched",
    "in_sla": "touched within the SLA",
    "missed_sla": "SLA missed",
    "dropped": "dropped by the rep",
    "leaked": "never touched and still waiting",
}

# The figures a link can ask for: the turns behind each number of the report.
FIGURE_FILTERS: dict[str, pl.Expr] = {
    "assigned": pl.lit(True),
    "touched": pl.col("touched"),
    "untouched": ~pl.col("touched"),
    "in_sla": pl.col("in_sla"),
    "missed_sla": pl.col("decided") & ~pl.col("in_sla"),
    "dropped": pl.col("dropped"),
    "leaked": pl.col("leaked"),
}


def figure_filter(figure: str, bucket: str = "") -> pl.Expr:
    """The turns behind `figure` (one of FIGURE_FILTERS), narrowed to an attempts bucket
    (dropped) or an age bucket (leaked). Raises KeyError / ValueError on unknown names."""
    expr = FIGURE_FILTERS[figure]
    if bucket:
        if figure == "dropped" and bucket in ATTEMPT_BUCKETS:
            return expr & (pl.col("attempts_bucket") == bucket)
        if figure == "leaked" and bucket in AGE_BUCKETS:
            return expr & (pl.col("age_bucket") == bucket)
        raise ValueError(f"{bucket!r} is not a bucket of {figure!r}")
    return expr
