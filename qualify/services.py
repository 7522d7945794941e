"""Scoring a lead and moving it to the stage its segment calls for."""

from __future__ import annotations

from datetime import datetime

from leads.choices import Segment, Stage
from leads.models import Lead
from leads.services import transition_lead
from users.models import User

from .rules import Profile, Score, has_reengaged, score_profile

# Stages from which a fresh score may move a lead on; later stages are sales' call.
OPEN_STAGES = frozenset({Stage.NEW, Stage.NURTURING, Stage.RECYCLED})


def profile_of(lead: Lead) -> Profile:
    return Profile(
        need=lead.need,
        authority=lead.authority,
        budget=lead.budget,
        timeline=lead.timeline,
        title=lead.title,
        employees=lead.employees if lead.employees is not None else _account_employees(lead),
        is_marquee=bool(lead.account_id and lead.account and lead.account.is_marquee),
        engagement=lead.engagement_score,
    )


def _account_employees(lead: Lead) -> int | None:
    return lead.account.employees if lead.account_id and lead.account else None


def score_lead(lead: Lead) -> Score:
    """Recompute and store the lead's score and segment."""
    result = score_profile(profile_of(lead))
    lead.fit_score, lead.score, lead.segment = result.fit, result.total, result.segment
    Lead.objects.filter(pk=lead.pk).update(
        fit_score=result.fit, score=result.total, segment=result.segment
    )
    return result


def apply_segment(lead: Lead, *, now: datetime, by: User | None = None) -> bool:
    """Move an open lead to the stage of its segment. True when it became an MQL."""
    if lead.stage not in OPEN_STAGES:
        return False
    if lead.segment == Segment.SALES_READY:
        if lead.stage == Stage.RECYCLED and not has_reengaged(
            lead.engagement_score, lead.engagement_at_recycle
        ):
            return False
        transition_lead(lead, Stage.MQL, now=now, by=by, reason=f"score {lead.score}")
        return True
    if lead.segment == Segment.DISQUALIFIED and lead.stage != Stage.RECYCLED:
        transition_lead(
            lead, Stage.DISQUALIFIED, now=now, by=by, reason=f"score {lead.score}: not a fit"
        )
    elif lead.stage == Stage.NEW:
        transition_lead(lead, Stage.NURTURING, now=now, by=by, reason=f"score {lead.score}")
    return False
