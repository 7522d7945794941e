"""The bulk scorer of imports decides exactly what `score_profile` decides, lead by lead."""

from decimal import Decimal
from itertools import product

import polars as pl
import pytest

from qualify.rules import AUTHORITY_POINTS, TIMELINE_POINTS, Profile, score_profile
from qualify.vectorised import score_frame

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
