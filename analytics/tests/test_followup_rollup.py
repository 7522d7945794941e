"""The follow-up report read from routing's roll-up gives what the turns themselves give.

Random histories over four months (across a new year) go through the services a user's actions call
(arrival and routing, touches, hand-backs, reassignments, queue claims), then every
report — per rep and per team, any period, as anyone — is compared with `exact_report`,
the reference that reads every turn."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics.services import exact_report, followup_report
from capture.services import capture_lead
from conftest import HOT
from followup.services import drop_lead, record_touch, reject_lead
from leads.models import Lead
from routing import rollup
from routing.models import TurnRollup
from routing.services import reassign_lead

pytestmark = pytest.mark.django_db

# Four months across a new year: the roll-up's year rows and month rows both count.
START = datetime(2025, 10, 20, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)


def random_history(org, seed: int, leads: int = 40) -> None:  # type: ignore[no-untyped-def]
    """`leads` hot leads arriving over four months, each then touched (soon, late or
    never, once or many times), maybe reassigned, maybe handed back."""
    rng = random.Random(seed)
    reps = [org.rep1, org.rep2, org.rep3]
    for n in range(leads):
        arrived = START + timedelta(hours=rng.randrange(0, 24 * 118))
        country = rng.choice(["Germany", "France", "United States"])
        result = capture_lead(
            {**HOT, "email": f"r{seed}-{n}@example.org", "country": country},
            source="api",
            now=arrived,
            campaign=org.webinar if n % 3 == 0 else None,
        )
        lead = Lead.objects.get(pk=result.lead.pk)
        moment = arrived
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            moment += timedelta(hours=rng.choice([0.2, 0.7, 5, 30, 80, 300]))
            if moment >= NOW:
                break
            action = rng.random()
            lead.refresh_from_db()
            if lead.stage not in ("mql", "accepted"):
                break
            if action < 0.6 and lead.owner is not None:
                record_touch(lead, by=lead.owner, kind="call", outcome="no_answer", now=moment)
            elif action < 0.75:
                to = rng.choice(reps)
                reassign_lead(lead, to, now=moment, by=org.admin, reason="test")
            elif action < 0.9 and lead.owner is not None:
                reject_lead(lead, by=lead.owner, reason="no response", now=moment)
            elif lead.owner is not None:
                drop_lead(lead, "disqualified", by=org.admin, reason="student", now=moment)


def periods() -> list[tuple[datetime | None, datetime | None]]:
    month = datetime(2025, 12, 1, tzinfo=UTC)
    return [
        (None, None),  # all time: whole years only
        (month, datetime(2026, 1, 1, tzinfo=UTC)),  # one whole month
        (None, datetime(2026, 2, 3, tzinfo=UTC)),  # a year, a month, a part-month
        (month + timedelta(days=9, hours=5), month + timedelta(days=20)),  # inside a month
        (START + timedelta(days=13, hours=3), NOW - timedelta(days=8)),  # parts at both ends
        (month + timedelta(days=3), None),  # a part-month, then whole months
        (None, month + timedelta(days=17, hours=2)),  # whole months, then a part-month
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_history_reports_the_same_from_the_roll_up_as_from_the_turns(org, seed) -> None:  # type: ignore[no-untyped-def]
    random_history(org, seed)
    assert rollup.stored() == rollup.recount()
    for viewer in (org.admin, org.manager, org.rep1, org.us_manager):
        for by in ("rep", "team", "campaign"):
            for since, until in periods():
                for rep_id in (None, org.rep2.pk):
                    args: dict[str, Any] = {
                        "by": by,
                        "since": since,
                        "until": until,
                        "rep_id": rep_id,
                        "now": NOW,
                    }
                    assert followup_report(viewer, **args) == exact_report(viewer, **args), (
                        viewer.username,
                        args,
                    )
    everyone = followup_report(org.admin, by="rep", now=NOW)
    assert sum(f.assigned for f in everyone) > 30  # the history is not empty
    webinar, none = followup_report(org.admin, by="campaign", now=NOW)
    assert webinar.name == org.webinar.name and 5 < webinar.assigned < 30
    assert none.name == "(none)" and none.assigned > webinar.assigned
    assert any(f.dropped for f in everyone) and any(f.leaked_total for f in everyone)


def test_the_exact_flag_reads_the_turns(org) -> None:  # type: ignore[no-untyped-def]
    random_history(org, 4, leads=12)
    TurnRollup.objects.all().delete()  # a roll-up gone wrong shows only without `exact`
    assert followup_report(org.admin, by="rep", now=NOW) == []
    assert followup_report(org.admin, by="campaign", now=NOW) == []
    assert followup_report(org.admin, by="campaign", now=NOW, exact=True) == exact_report(
        org.admin, by="campaign", now=NOW
    )
    assert followup_report(org.admin, by="rep", now=NOW, exact=True) == exact_report(
        org.admin, by="rep", now=NOW
    )
    assert rollup.rebuild() > 0
    assert followup_report(org.admin, by="rep", now=NOW) == exact_report(
        org.admin, by="rep", now=NOW
    )
