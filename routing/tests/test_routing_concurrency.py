"""Two workers routing at once on PostgreSQL, each thread on its own connection: every
lead is assigned once, caps hold, and round robin stays even.

SQLite serialises writers, so it cannot show the race: the test skips on the SQLite pass
(CI runs the suite a second time on PostgreSQL, where it runs; a missing PostgreSQL
server fails that pass at connection time, never skips).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

import pytest
from django.db import close_old_connections, connection

from capture.services import capture_lead
from conftest import HOT, make_user
from leads.models import Lead
from routing.models import Assignment
from routing.rulebook import create_rule
from users.choices import Role
from users.models import Notification, Team


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the race shows on PostgreSQL only")


def run_workers(workers: int, arrivals: int, now: datetime) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(worker, arrivals, workers):
                capture_lead({"email": f"c{i}@acme.io", **HOT}, source="api", now=now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_double_assign_and_respect_caps(postgres, now) -> None:
    team = Team.objects.create(name="DACH", countries=["DE"])
    manager = make_user("boss", Role.SALES_MANAGER, team)
    caps = {"ana": 4, "ben": 4, "cem": 8}
    reps = {
        name: make_user(name, Role.SALES_REP, team, max_open_leads=cap)
        for name, cap in caps.items()
    }
    create_rule(by=manager, now=now, name="DACH", conditions=[
        {"field": "country", "op": "is", "value": "DE"}], target="team", to_team=team)  # fmt: skip

    errors = run_workers(2, 20, now)

    assert errors == []
    owned = Counter(
        Lead.objects.filter(owner__isnull=False).values_list("owner__username", flat=True)
    )
    # 16 places in all, filled in proportion to the caps; the other 4 wait in the queue.
    assert owned == {"ana": 4, "ben": 4, "cem": 8}
    assert Lead.objects.filter(owner__isnull=True, team=team).count() == 4
    # One assignment per lead: no lead was handed out twice.
    per_lead = Counter(Assignment.objects.values_list("lead_id", flat=True))
    assert sorted(per_lead.values()) == [1] * 20
    assert set(
        Assignment.objects.filter(to_owner__isnull=False).values_list("rule_name", flat=True)
    ) == {"DACH"}
    assert Notification.objects.filter(kind="queued", recipient=manager).count() == 4
    assert set(reps) == set(owned)


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_a_team_evenly_without_caps(postgres, now) -> None:
    team = Team.objects.create(name="Solo", countries=["DE"])
    for name in ("ana", "ben", "cem", "dora"):
        make_user(name, Role.SALES_REP, team)

    errors = run_workers(2, 24, now)

    assert errors == []
    owned = Counter(Lead.objects.values_list("owner__username", flat=True))
    assert owned == {"ana": 6, "ben": 6, "cem": 6, "dora": 6}
    assert Assignment.objects.count() == 24
