"""The bulk scorer of imports decides exactly what `score_profile` decides, lead by lead,
and moves each lead as `stage_for_segment` would."""

from decimal import Decimal
from itertools import product

import polars as pl
import pytest

from leads.choices import Segment, Stage
from leads.models import Lead
from qualify.rules import (
    AUTHORITY_POINTS,
    TIMELINE_POINTS,
    Profile,
    score_profile,
    stage_for_segment,
)
from qualify.services import segment_move_reason
from qualify.vectorised import move_reason_expr, move_reason_sql, score_frame, to_stage_expr

NEEDS = ["", "  ", "replace our spreadsheet"]
TITLES = [
    "",
    "CTO",
    "Head of IT",
    "co-founder",
    "VP Sales",
    "vice president, EMEA",
    "Directorate assistant",
    "Chef de projet",
    "chief happiness officer",
    "Ceo",
    "Product Owner",
]
BUDGETS = [None, "0", "0.01", "9999.99", "10000", "10000.00", "250000"]
TIMELINES = ["", "bogus", *TIMELINE_POINTS]
EMPLOYEES = [None, 0, 49, 50, 199, 200, 5000]
ENGAGEMENT = [-5, 0, 12, 45, 80]


@pytest.mark.parametrize("authority", ["", "bogus", *AUTHORITY_POINTS])
@pytest.mark.parametrize("is_marquee", [False, True])
def test_vectorised_score_equals_score_profile(authority: str, is_marquee: bool) -> None:
    grid = list(product(NEEDS, TITLES, BUDGETS, TIMELINES, EMPLOYEES, ENGAGEMENT))
    expected = [
        score_profile(
            Profile(
                need=need,
                authority=authority,
                budget=Decimal(budget) if budget is not None else None,
                timeline=timeline,
                title=title,
                employees=employees,
                is_marquee=is_marquee,
                engagement=engagement,
            )
        )
        for need, title, budget, timeline, employees, engagement in grid
    ]
    frame = pl.DataFrame(
        {
            "need": [g[0] or None for g in grid],
            "authority": [authority or None] * len(grid),
            "title": [g[1] or None for g in grid],
            "budget": [float(g[2]) if g[2] is not None else None for g in grid],
            "timeline": [g[3] or None for g in grid],
            "employees": [g[4] for g in grid],
            "is_marquee": [is_marquee] * len(grid),
            "engagement": [g[5] for g in grid],
        },
        schema_overrides={"employees": pl.Int64, "budget": pl.Float64},
    )

    scored = score_frame(frame)
    assert isinstance(scored, pl.DataFrame)

    got = list(zip(scored["fit_score"], scored["score"], scored["segment"], strict=True))
    assert got == [(s.fit, s.total, s.segment) for s in expected]


# Engagement and engagement-at-recycle pairs on both sides of the re-engagement threshold.
RECYCLE_CASES = [(0, None), (19, None), (20, None), (45, 30), (50, 30), (50, 31), (5, 40)]


def test_the_stage_move_twins_agree_with_stage_for_segment_on_every_case() -> None:
    grid = list(product(Stage.values, Segment.values, RECYCLE_CASES))
    frame = pl.DataFrame(
        {
            "stage": [stage for stage, _, _ in grid],
            "segment": [segment for _, segment, _ in grid],
            "engagement": [engagement for _, _, (engagement, _) in grid],
            "at_recycle": [at for _, _, (_, at) in grid],
        },
        schema={"stage": pl.String, "segment": pl.String, "engagement": pl.Int64,
                "at_recycle": pl.Int64},
    )  # fmt: skip
    moved = frame.with_columns(
        to_stage=to_stage_expr(
            pl.col("stage"), pl.col("segment"), pl.col("engagement"), pl.col("at_recycle")
        )
    )

    expected = [
        stage_for_segment(stage, segment, engagement, at)
        for stage, segment, (engagement, at) in grid
    ]
    assert moved["to_stage"].to_list() == expected
    # Every kind of move happens somewhere in the grid, so the check means something.
    assert {Stage.MQL, Stage.NURTURING, Stage.DISQUALIFIED, None} <= set(expected)


@pytest.mark.parametrize("to_stage", [Stage.MQL, Stage.NURTURING, Stage.DISQUALIFIED])
@pytest.mark.parametrize("score", [-45, 0, 7, 60, 135])
def test_the_move_reason_twins_say_what_segment_move_reason_says(
    to_stage: str, score: int, db: None
) -> None:
    from django.db import connection

    lead = Lead(score=score, stage=Stage.NEW)
    expected = segment_move_reason(lead, to_stage)

    frame = pl.DataFrame({"score": [score], "to_stage": [to_stage]})
    polars_reason = frame.select(move_reason_expr(pl.col("score"), pl.col("to_stage")))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {move_reason_sql('s', 't')} FROM (SELECT %s AS s, %s AS t) AS v",
            [score, to_stage],
        )
        (sql_reason,) = cursor.fetchone()

    assert polars_reason.item() == sql_reason == expected
