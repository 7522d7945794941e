"""Rule-based lead scoring: pure functions over a plain profile, no database.

score = fit (need, authority, budget, timeline, company) + engagement (event points).
The segment follows from the score, except that a marquee account is always sales-ready
and a lead that says it will never buy is disqualified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from leads.choices import Segment, Stage

SALES_READY_THRESHOLD = 60
# Engagement points a recycled lead must earn after sales handed it back before it is
# sales-ready again: its profile alone was already judged by a person.
REENGAGEMENT_POINTS = 20
DISQUALIFY_THRESHOLD = -20
# Stages from which a fresh score may move a lead on; later stages are sales' call.
OPEN_STAGES = frozenset({Stage.NEW, Stage.NURTURING, Stage.RECYCLED})

# Points an engagement event adds; unknown kinds add EVENT_POINTS_DEFAULT.
EVENT_POINTS: dict[str, int] = {
    "demo_request": 40,
    "pricing_page_view": 10,
    "webinar_attended": 15,
    "webinar_registered": 5,
    "trade_show_visit": 15,
    "form_submit": 10,
    "content_download": 8,
    "email_click": 4,
    "email_open": 1,
    "page_view": 1,
}
EVENT_POINTS_DEFAULT = 1

SENIOR_TITLE = re.compile(
    r"\b(chief|c[etofm]o|vp|vice president|head|director|founder|owner|president)\b", re.I
)


# Fit points as tables, read by `fit_score` below and by the vectorised scorer of bulk
# imports (`qualify.vectorised`), so the two cannot drift apart.
NEED_POINTS = (15, "stated a need")
AUTHORITY_POINTS: dict[str, tuple[int, str]] = {
    "decision_maker": (20, "decision maker"),
    "influencer": (10, "influencer"),
    "user": (5, "user of the product"),
    "none": (-10, "no buying authority"),
}
# Only when the authority is unknown (not in the table above).
SENIOR_TITLE_POINTS = (10, "senior title")
# Tiers, first match wins: (threshold, inclusive, points, why); "inclusive" means >=, else >.
BUDGET_TIERS: tuple[tuple[int, bool, int, str], ...] = (
    (10_000, True, 15, "budget of 10k or more"),
    (0, False, 8, "has a budget"),
)
TIMELINE_POINTS: dict[str, tuple[int, str]] = {
    "now": (20, "buying now"),
    "quarter": (15, "buying this quarter"),
    "year": (5, "buying this year"),
    "never": (-30, "will never buy"),
}
EMPLOYEE_TIERS: tuple[tuple[int, bool, int, str], ...] = (
    (200, True, 10, "company of 200+ people"),
    (50, True, 5, "company of 50+ people"),
)


def _tier(
    value: Decimal | int, tiers: tuple[tuple[int, bool, int, str], ...]
) -> tuple[int, str] | None:
    for threshold, inclusive, points, why in tiers:
        if value >= threshold if inclusive else value > threshold:
            return points, why
    return None


@dataclass(frozen=True)
class Profile:
    """What scoring reads of a lead."""

    need: str = ""
    authority: str = ""
    budget: Decimal | None = None
    timeline: str = ""
    title: str = ""
    employees: int | None = None
    is_marquee: bool = False
    engagement: int = 0


@dataclass(frozen=True)
class Score:
    fit: int
    engagement: int
    total: int
    segment: str
    reasons: tuple[str, ...] = field(default=())


def fit_score(profile: Profile) -> tuple[int, list[str]]:
    points = 0
    reasons: list[str] = []

    def add(value: int, why: str) -> None:
        nonlocal points
        points += value
        reasons.append(f"{value:+d} {why}")

    if profile.need.strip():
        add(*NEED_POINTS)
    if profile.authority in AUTHORITY_POINTS:
        add(*AUTHORITY_POINTS[profile.authority])
    elif SENIOR_TITLE.search(profile.title):
        add(*SENIOR_TITLE_POINTS)
    if profile.budget is not None and (tier := _tier(profile.budget, BUDGET_TIERS)):
        add(*tier)
    if profile.timeline in TIMELINE_POINTS:
        add(*TIMELINE_POINTS[profile.timeline])
    if profile.employees is not None and (tier := _tier(profile.employees, EMPLOYEE_TIERS)):
        add(*tier)
    return points, reasons


def event_points(kind: str) -> int:
    return EVENT_POINTS.get(kind, EVENT_POINTS_DEFAULT)


def score_profile(profile: Profile) -> Score:
    fit, reasons = fit_score(profile)
    engagement = max(profile.engagement, 0)
    if engagement:
        reasons.append(f"{engagement:+d} engagement")
    total = fit + engagement
    if profile.is_marquee:
        segment = "sales_ready"
        reasons.append("marquee account: always sales-ready")
    elif profile.timeline == "never" or total <= DISQUALIFY_THRESHOLD:
        segment = "disqualified"
    elif total >= SALES_READY_THRESHOLD:
        segment = "sales_ready"
    else:
        segment = "nurture"
    return Score(
        fit=fit, engagement=engagement, total=total, segment=segment, reasons=tuple(reasons)
    )


def has_reengaged(engagement: int, engagement_at_recycle: int | None) -> bool:
    """Whether a recycled lead earned enough engagement since it was recycled."""
    return engagement - (engagement_at_recycle or 0) >= REENGAGEMENT_POINTS


def stage_for_segment(
    stage: str, segment: str, engagement: int, engagement_at_recycle: int | None
) -> str | None:
    """The stage a freshly scored lead moves to, or None when it stays where it is.

    Only open leads move: a sales-ready one to MQL (a recycled one only once it has
    re-engaged), a disqualified one out of the funnel, a new one into nurture.
    """
    if stage not in OPEN_STAGES:
        return None
    if segment == Segment.SALES_READY:
        if stage == Stage.RECYCLED and not has_reengaged(engagement, engagement_at_recycle):
            return None
        return Stage.MQL
    if segment == Segment.DISQUALIFIED and stage != Stage.RECYCLED:
        return Stage.DISQUALIFIED
    if stage == Stage.NEW:
        return Stage.NURTURING
    return None
