"""Rule-based scoring of many leads at once, and the stage move it calls for, as Polars
expressions (and, for the reason of a move, SQL).

Built from the very tables `qualify.rules.score_profile` reads (points, tiers, the senior
title pattern, the thresholds), so a bulk import scores a lead exactly as the one-by-one
path would; `qualify/tests/test_vectorised.py` checks the two agree over a grid of
profiles.

Columns read: need, authority, title, timeline (strings, null = empty), budget (float,
null = none), employees (integer, null = unknown), is_marquee (bool), engagement (int).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from leads.choices import Segment, Stage

from .rules import (
    AUTHORITY_POINTS,
    BUDGET_TIERS,
    DISQUALIFY_THRESHOLD,
    EMPLOYEE_TIERS,
    NEED_POINTS,
    OPEN_STAGES,
    REENGAGEMENT_POINTS,
    SALES_READY_THRESHOLD,
    SENIOR_TITLE,
    SENIOR_TITLE_POINTS,
    TIMELINE_POINTS,
)

SCORE_INPUTS = (
    "need",
    "authority",
    "title",
    "timeline",
    "budget",
    "employees",
    "is_marquee",
    "engagement",
)


def _points_from_table(column: str, table: dict[str, tuple[int, str]]) -> pl.Expr:
    return (
        pl.col(column)
        .replace_strict(
            {key: points for key, (points, _) in table.items()},
            default=0,
            return_dtype=pl.Int64,
        )
        .fill_null(0)
    )


def _points_from_tiers(column: str, tiers: tuple[tuple[int, bool, int, str], ...]) -> pl.Expr:
    value = pl.col(column)
    expr: Any = None  # a when/then chain, growing one tier at a time
    for threshold, inclusive, points, _ in tiers:
        condition = value >= threshold if inclusive else value > threshold
        expr = (
            pl.when(condition).then(pl.lit(points))
            if expr is None
            else expr.when(condition).then(pl.lit(points))
        )
    if expr is None:
        return pl.lit(0)
    result: pl.Expr = expr.otherwise(pl.lit(0))
    return result.fill_null(0).cast(pl.Int64)


def fit_expr() -> pl.Expr:
    """The fit score, the same sum `qualify.rules.fit_score` adds up."""
    need = (
        pl.when(pl.col("need").fill_null("").str.strip_chars() != "")
        .then(pl.lit(NEED_POINTS[0]))
        .otherwise(pl.lit(0))
    )
    authority = pl.col("authority").fill_null("")
    senior = pl.col("title").fill_null("").str.contains(f"(?i){SENIOR_TITLE.pattern}")
    authority_points = (
        pl.when(authority.is_in(list(AUTHORITY_POINTS)))
        .then(_points_from_table("authority", AUTHORITY_POINTS))
        .when(senior)
        .then(pl.lit(SENIOR_TITLE_POINTS[0]))
        .otherwise(pl.lit(0))
    )
    return (
        need.cast(pl.Int64)
        + authority_points.cast(pl.Int64)
        + _points_from_tiers("budget", BUDGET_TIERS)
        + _points_from_table("timeline", TIMELINE_POINTS)
        + _points_from_tiers("employees", EMPLOYEE_TIERS)
    )


def score_frame(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Add fit_score, engagement_points, score and segment, as `score_profile` decides them."""
    scored = frame.with_columns(
        fit_score=fit_expr(),
        engagement_points=pl.col("engagement").fill_null(0).clip(lower_bound=0).cast(pl.Int64),
    ).with_columns(score=pl.col("fit_score") + pl.col("engagement_points"))
    return scored.with_columns(
        segment=pl.when(pl.col("is_marquee").fill_null(False))
        .then(pl.lit("sales_ready"))
        .when(
            (pl.col("timeline").fill_null("") == "never")
            | (pl.col("score") <= DISQUALIFY_THRESHOLD)
        )
        .then(pl.lit("disqualified"))
        .when(pl.col("score") >= SALES_READY_THRESHOLD)
        .then(pl.lit("sales_ready"))
        .otherwise(pl.lit("nurture"))
    )


def to_stage_expr(
    stage: pl.Expr, segment: pl.Expr, engagement: pl.Expr, engagement_at_recycle: pl.Expr
) -> pl.Expr:
    """The stage a freshly scored lead moves to, or null when it stays:
    `qualify.rules.stage_for_segment`, vectorised (checked against it on a grid of every
    stage × segment × recycle case in qualify/tests/test_vectorised.py)."""
    reengaged = (
        engagement.fill_null(0) - engagement_at_recycle.fill_null(0)
    ) >= REENGAGEMENT_POINTS
    return (
        pl.when(~stage.is_in(list(OPEN_STAGES)))
        .then(None)
        .when((segment == Segment.SALES_READY) & (stage == Stage.RECYCLED) & ~reengaged)
        .then(None)
        .when(segment == Segment.SALES_READY)
        .then(pl.lit(Stage.MQL))
        .when((segment == Segment.DISQUALIFIED) & (stage != Stage.RECYCLED))
        .then(pl.lit(Stage.DISQUALIFIED))
        .when(stage == Stage.NEW)
        .then(pl.lit(Stage.NURTURING))
        .otherwise(None)
    )


def move_reason_expr(score: pl.Expr, to_stage: pl.Expr) -> pl.Expr:
    """Why a lead moved to the stage of its segment: `qualify.services.segment_move_reason`,
    vectorised."""
    return (
        pl.when(to_stage == Stage.DISQUALIFIED)
        .then(pl.format("score {}: not a fit", score))
        .otherwise(pl.format("score {}", score))
    )


def move_reason_sql(score: str, to_stage: str) -> str:
    """The same reason as an SQL expression over two columns, for history the database
    writes from rows it holds (`leads.bulk.insert_arrivals_and_moves`)."""
    return (
        f"'score ' || {score} || CASE WHEN {to_stage} = '{Stage.DISQUALIFIED}'"
        " THEN ': not a fit' ELSE '' END"
    )
