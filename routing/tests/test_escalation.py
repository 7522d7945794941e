"""The escalation ladder, rung by rung, with an injected `now`: a reminder before the
deadline, the breach, the reassignment to the next rep, the hand-back to marketing; each
sweep run twice changes nothing, and a touched lead climbs no further."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadloop.sweeps import run_due as run_every_sweep
from leads.models import Lead, StageChange
from leads.services import update_lead
from routing import escalation
from routing import services as routing_services
from routing.models import Assignment, SlaStep
from routing.queries import timeline_entries
from routing.services import assign_lead
from routing.sla import create_sla_policy
from users.models import Notification

MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def ladder(org: Any) -> Any:
    """EMEA (UTC, 9-17): grade A leads get 1 hour, a reminder 15 minutes before,
    reassignment 2 hours after the deadline and the hand-back 8 hours after it."""
    create_sla_policy(
        org.emea,
        by=org.manager,
        name="Grade A",
        grades=["A"],
        hours=1,
        remind_before_minutes=15,
        reassign_after_hours=2,
        recycle_after_hours=8,
    )
    return org


@pytest.fixture
def lead(ladder: Any) -> Lead:
    created = Lead.objects.create(
        email="ann@example.io", first_name="Ann", country="DE", stage="mql", grade="A",
        arrived_at=MONDAY, stage_changed_at=MONDAY,
    )  # fmt: skip
    return assign_lead(created, now=MONDAY)


def kinds_of(user: Any) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("pk").values_list("kind", flat=True)
    )


def sweep(now: datetime) -> dict[str, int]:
    """Every sweep, as `leadloop run_due --now` runs them."""
    return run_every_sweep(now=now)


def test_the_clock_writes_its_rungs(lead: Lead, ladder: Any) -> None:
    steps = SlaStep.objects.filter(lead=lead).order_by("due_at")

    assert [(s.kind, s.due_at, s.done_at) for s in steps] == [
        ("remind", at(16, 10, 45), None),
        ("reassign", at(16, 13), None),
        ("recycle", at(17, 11), None),
    ]
    assert lead.owner == ladder.rep1
    assert lead.sla_due_at == at(16, 11)


def test_each_rung_in_turn_and_every_sweep_twice(lead: Lead, ladder: Any) -> None:
    # Before the reminder: nothing.
    assert escalation.run_due(now=at(16, 10, 40)) == 0

    # The reminder, to the rep, once.
    assert escalation.run_due(now=at(16, 10, 50)) == 1
    assert escalation.run_due(now=at(16, 10, 50)) == 0
    assert kinds_of(ladder.rep1) == ["assigned", "sla_reminder"]

    # The breach, to the rep and the managers (the sweep that existed).
    sweep(at(16, 11, 5))
    sweep(at(16, 11, 5))
    assert kinds_of(ladder.rep1) == ["assigned", "sla_reminder", "sla_breach"]
    assert kinds_of(ladder.manager) == ["sla_breach"]

    # Reassigned to the next rep of the round robin.
    assert escalation.run_due(now=at(16, 13, 5)) == 1
    assert escalation.run_due(now=at(16, 13, 5)) == 0
    lead.refresh_from_db()
    assert lead.owner == ladder.rep2
    last = Assignment.objects.filter(lead=lead).order_by("-pk").first()
    assert last is not None
    assert (last.from_owner_id, last.to_owner_id, last.how, last.reason) == (
        ladder.rep1.pk, ladder.rep2.pk, "reassigned", "not worked in time",
    )  # fmt: skip
    assert kinds_of(ladder.rep2) == ["reassigned"]
    assert kinds_of(ladder.rep1)[-1] == "sla_escalated"
    assert kinds_of(ladder.manager) == ["sla_breach", "sla_escalated"]
    # The clock keeps running for the new rep: no fresh deadline, so the ladder ends.
    assert lead.sla_due_at == at(16, 11)

    # Handed back to marketing the next morning, recycled with its reason.
    assert escalation.run_due(now=at(17, 11, 5)) == 1
    assert escalation.run_due(now=at(17, 11, 5)) == 0
    lead.refresh_from_db()
    assert (lead.stage, lead.owner_id, lead.team_id, lead.segment, lead.sla_due_at) == (
        "recycled", None, None, "nurture", None,
    )  # fmt: skip
    change = StageChange.objects.filter(lead=lead).order_by("-pk").first()
    assert change is not None
    assert (change.from_stage, change.to_stage, change.reason) == (
        "mql", "recycled", "not worked in time",
    )  # fmt: skip
    assert kinds_of(ladder.rep2) == ["reassigned", "sla_escalated"]

    # Every rung is in the lead's history.
    titles = [entry.title for entry in timeline_entries(lead, 20) if entry.kind == "sla"]
    assert titles == [
        "Handed back to marketing, not worked in time (policy 'Grade A')",
        "Reassigned, not worked in time (policy 'Grade A')",
        "SLA breached",
        "Reminder to the rep (policy 'Grade A')",
    ]


def test_a_late_sweep_takes_every_rung_due_in_order(lead: Lead, ladder: Any) -> None:
    # Nothing ran for a day: the reminder is pointless now, the rest still happen.
    results = sweep(at(17, 12))

    assert results["routing.escalation.run_due"] == 2
    lead.refresh_from_db()
    assert lead.stage == "recycled"
    assert list(
        SlaStep.objects.filter(lead=lead).order_by("due_at").values_list("kind", "outcome")
    ) == [
        ("remind", "skipped"),
        ("breach", "done"),
        ("reassign", "done"),
        ("recycle", "done"),
    ]
    assert sweep(at(17, 12))["routing.escalation.run_due"] == 0


def test_a_touched_lead_climbs_no_further(lead: Lead, ladder: Any) -> None:
    update_lead(lead.pk, first_touch_at=at(16, 10, 30))

    assert escalation.run_due(now=at(17, 12)) == 0

    lead.refresh_from_db()
    assert (lead.stage, lead.owner_id) == ("mql", ladder.rep1.pk)
    assert set(SlaStep.objects.filter(lead=lead).values_list("outcome", flat=True)) == {"skipped"}
    assert kinds_of(ladder.rep1) == ["assigned"]


def test_a_fresh_clock_leaves_the_old_rungs_behind(lead: Lead, ladder: Any) -> None:
    # Routed again an hour later (e.g. sent to sales again): a new clock, new rungs.
    again = assign_lead(lead, now=at(16, 11, 30))

    escalation.run_due(now=at(16, 13, 5))

    again.refresh_from_db()
    assert again.owner == ladder.rep2  # the round robin's pick, not the ladder's
    assert Assignment.objects.filter(lead=lead, reason="not worked in time").count() == 0
    pending = SlaStep.objects.filter(lead=lead, done_at__isnull=True)
    assert sorted(pending.values_list("clock_due_at", "kind")) == [
        (at(16, 11), "recycle"),  # the old clock's: skipped when its time comes
        (at(16, 12, 30), "reassign"),
        (at(16, 12, 30), "recycle"),
    ]
    escalation.run_due(now=at(17, 11, 5))
    assert SlaStep.objects.get(lead=lead, clock_due_at=at(16, 11), kind="recycle").outcome == (
        "skipped"
    )


def test_with_nobody_else_to_take_it_the_managers_hear_of_it(lead: Lead, ladder: Any) -> None:
    ladder.rep2.is_accepting_leads = False
    ladder.rep2.save()

    assert escalation.run_due(now=at(16, 13, 5)) == 1

    lead.refresh_from_db()
    assert lead.owner == ladder.rep1
    assert kinds_of(ladder.manager) == ["sla_escalated"]
    step = SlaStep.objects.get(lead=lead, kind="reassign")
    assert step.detail == "nobody else in the team could take it"


def test_the_ladder_sweep_is_in_run_due(lead: Lead) -> None:
    from django.conf import settings

    assert "routing.escalation.run_due" in settings.LEADLOOP_SWEEPS
    assert "users.services.send_notification_emails" in settings.LEADLOOP_SWEEPS
    assert routing_services.run_due(now=at(16, 11, 5)) == 1


def test_many_leads_in_batches(ladder: Any) -> None:
    leads = [
        assign_lead(
            Lead.objects.create(
                email=f"p{n}@example.io", country="DE", stage="mql", grade="A",
                arrived_at=MONDAY, stage_changed_at=MONDAY,
            ),
            now=MONDAY + timedelta(minutes=n),
        )
        for n in range(7)
    ]  # fmt: skip

    # Reminders due at 10:45 … 10:51, one a minute.
    assert escalation.run_due(now=at(16, 10, 49), batch_size=3) == 5
    assert escalation.run_due(now=at(16, 10, 58), batch_size=3) == 2
    assert SlaStep.objects.filter(kind="remind", outcome="done").count() == len(leads)


@pytest.mark.django_db(transaction=True)
def test_several_workers_take_each_rung_once() -> None:
    """Four workers sweep the same due rungs at once (PostgreSQL: SKIP LOCKED; SQLite:
    the conditional claim): every lead is reassigned exactly once."""
    import threading

    from django.db import close_old_connections, connection

    from conftest import make_user
    from users.choices import Role
    from users.models import Team

    team = Team.objects.create(name="Solo team", countries=["DE"])
    admin = make_user("boss", Role.ADMIN, is_superuser=True)
    for n in range(3):
        make_user(f"r{n}", Role.SALES_REP, team)
    create_sla_policy(team, by=admin, name="All", hours=1, reassign_after_hours=1)
    for n in range(24):
        created = Lead.objects.create(
            email=f"w{n}@example.io", country="DE", stage="mql", arrived_at=MONDAY,
            stage_changed_at=MONDAY,
        )  # fmt: skip
        assign_lead(created, now=MONDAY)
    errors: list[BaseException] = []
    acted: list[int] = []

    def work() -> None:
        try:
            acted.append(escalation.run_due(now=at(16, 13), batch_size=5))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(acted) == 24
    assert Assignment.objects.filter(reason="not worked in time").count() == 24
    assert SlaStep.objects.filter(kind="reassign", outcome="done").count() == 24


def test_the_api_shows_the_ladder_of_a_lead(lead: Lead, ladder: Any) -> None:
    from api.tests.test_settings_api import call

    escalation.run_due(now=at(16, 10, 50))

    detail = call("get", f"/leads/{lead.pk}", ladder.manager).json()
    assert [(s["kind"], s["outcome"], s["policy"]) for s in detail["sla_steps"]] == [
        ("remind", "done", "Grade A"),
        ("reassign", "", "Grade A"),
        ("recycle", "", "Grade A"),
    ]
    assert detail["sla_steps"][0]["detail"] == "reminded rep1"
