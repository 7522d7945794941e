from decimal import Decimal

import pytest

from qualify.rules import Profile, score_profile


@pytest.mark.parametrize(
    ("profile", "fit", "segment"),
    [
        (Profile(), 0, "nurture"),
        (
            Profile(need="x", authority="decision_maker", budget=Decimal(20000), timeline="now"),
            70,
            "sales_ready",
        ),
        (Profile(need="x", authority="influencer", timeline="year"), 30, "nurture"),
        (Profile(title="VP Sales", timeline="quarter", employees=500), 35, "nurture"),
        (Profile(authority="none", timeline="never"), -40, "disqualified"),
        (Profile(timeline="never", need="x", authority="decision_maker"), 5, "disqualified"),
    ],
)
def test_fit_decides_the_segment(profile: Profile, fit: int, segment: str) -> None:
    result = score_profile(profile)
    assert (result.fit, result.segment) == (fit, segment)


def test_engagement_can_make_a_lead_sales_ready() -> None:
    cold = Profile(need="x", authority="influencer", timeline="year")
    assert score_profile(cold).segment == "nurture"
    warm = Profile(need="x", authority="influencer", timeline="year", engagement=30)
    assert (score_profile(warm).total, score_profile(warm).segment) == (60, "sales_ready")


def test_marquee_account_is_always_sales_ready() -> None:
    result = score_profile(Profile(is_marquee=True, timeline="never"))
    assert result.segment == "sales_ready"
    assert "marquee account: always sales-ready" in result.reasons


@pytest.mark.parametrize(
    ("engagement", "at_recycle", "expected"),
    [(0, None, False), (19, None, False), (20, None, True), (45, 30, False), (50, 30, True)],
)
def test_recycled_leads_must_reengage(engagement, at_recycle, expected) -> None:
    from qualify.rules import has_reengaged

    assert has_reengaged(engagement, at_recycle) is expected


@pytest.mark.parametrize(
    ("stage", "segment", "engagement", "at_recycle", "to_stage"),
    [
        ("new", "sales_ready", 0, None, "mql"),
        ("new", "nurture", 0, None, "nurturing"),
        ("new", "disqualified", 0, None, "disqualified"),
        ("nurturing", "sales_ready", 5, None, "mql"),
        ("nurturing", "nurture", 5, None, None),
        ("nurturing", "disqualified", 5, None, "disqualified"),
        ("recycled", "sales_ready", 19, 0, None),
        ("recycled", "sales_ready", 20, 0, "mql"),
        ("recycled", "disqualified", 0, 0, None),
        ("recycled", "nurture", 50, 0, None),
        ("mql", "disqualified", 0, None, None),
        ("accepted", "sales_ready", 0, None, None),
        ("disqualified", "sales_ready", 90, None, None),
    ],
)
def test_only_open_leads_move_to_their_segments_stage(
    stage, segment, engagement, at_recycle, to_stage
) -> None:
    from qualify.rules import stage_for_segment

    assert stage_for_segment(stage, segment, engagement, at_recycle) == to_stage
