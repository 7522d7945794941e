"""A small follow-up story shared by the analytics, web and API tests."""

from __future__ import annotations

from datetime import timedelta

from capture.services import capture_lead
from conftest import HOT, MONDAY_10
from followup.services import record_touch, reject_lead
from leads.models import Lead

NOW = MONDAY_10 + timedelta(days=5)  # Saturday


def hot(n: int, org, **extra) -> Lead:  # type: ignore[no-untyped-def]
    result = capture_lead(
        {**HOT, "email": f"lead{n}@example.org", **extra},
        source="api",
        now=MONDAY_10,
        campaign=org.webinar if n % 2 == 0 else None,
    )
    lead = Lead.objects.get(pk=result.lead.pk)
    return lead


def followup_story(org):  # type: ignore[no-untyped-def]
    """Four hot leads for EMEA's two reps on Monday 10:00 (round robin): each rep gets
    two. rep1 calls both within the hour and gives up on one after that one call; rep2
    calls one on Wednesday (past the 24 working hours) and never the other."""
    leads = [hot(n, org) for n in range(4)]
    by_owner: dict[int | None, list[Lead]] = {}
    for lead in leads:
        by_owner.setdefault(lead.owner_id, []).append(lead)
    first, second = by_owner[org.rep1.pk]
    record_touch(
        first, by=org.rep1, kind="call", outcome="no_answer", now=MONDAY_10 + timedelta(minutes=30)
    )
    record_touch(
        second, by=org.rep1, kind="call", outcome="no_answer", now=MONDAY_10 + timedelta(minutes=45)
    )
    second.refresh_from_db()
    reject_lead(second, by=org.rep1, reason="no response", now=MONDAY_10 + timedelta(hours=1))
    late, never = by_owner[org.rep2.pk]
    record_touch(late, by=org.rep2, kind="email", outcome="sent", now=MONDAY_10 + timedelta(days=4))
    return {"rep1": (first, second), "rep2": (late, never)}
