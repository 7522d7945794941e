"""Rule-based lead scoring: pure functions over a plain profile, no database.

score = fit (need, authority, budget, timeline, company) + engagement (event points).
The segment follows from the score, except that a marquee account is always sales-ready
and a lead that says it will never buy is disqualified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

SALES_READY_THRESHOLD = 60
DISQUALIFY_THRESHOLD = -20

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
        add(15, "stated a need")
    match profile.authority:
        case "decision_maker":
            add(20, "decision maker")
        case "influencer":
            add(10, "influencer")
        case "user":
            add(5, "user of the product")
        case "none":
            add(-10, "no buying authority")
        case _:
            if SENIOR_TITLE.search(profile.title):
                add(10, "senior title")
    if profile.budget is not None:
        if profile.budget >= 10_000:
            add(15, "budget of 10k or more")
        elif profile.budget > 0:
            add(8, "has a budget")
    match profile.timeline:
        case "now":
            add(20, "buying now")
        case "quarter":
            add(15, "buying this quarter")
        case "year":
            add(5, "buying this year")
        case "never":
            add(-30, "will never buy")
    if profile.employees is not None:
        if profile.employees >= 200:
            add(10, "company of 200+ people")
        elif profile.employees >= 50:
            add(5, "company of 50+ people")
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
