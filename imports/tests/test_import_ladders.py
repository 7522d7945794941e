"""An imported sales-ready lead gets the clock and the SLA ladder a lead that came in
through a form gets: its policy is picked by its grade and account, and the rungs
(reminder, reassignment, hand-back) are written, so the escalation sweep acts on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from capture.services import capture_lead
from conftest import HOT
from imports.pipeline import ImportOptions
from imports.services import create_import_job, run_import
from leads.models import Lead
from routing.models import SlaStep
from routing.sla import create_sla_policy

FILE_HOT = "dm,20000,now,replace it"


def since_assigned(lead: Lead, when: datetime | None) -> timedelta:
    assert when is not None and lead.assigned_at is not None
    return when - lead.assigned_at


def ladder_of(lead: Lead) -> list[tuple[str, timedelta]]:
    return sorted(
        (step.kind, since_assigned(lead, step.due_at))
        for step in SlaStep.objects.filter(lead=lead, done_at__isnull=True)
    )


def test_imported_leads_get_their_grades_clock_and_ladder(
    tmp_path: Path, org: Any, now: datetime
) -> None:
    create_sla_policy(
        org.emea, by=org.manager, name="Hot", grades=["A", "B"], hours=1,
        remind_before_minutes=15, reassign_after_hours=2, recycle_after_hours=8,
    )  # fmt: skip
    path = tmp_path / "hot.csv"
    path.write_text(
        "Email,Authority,Budget,Timeline,Notes,Country\n"
        + "".join(f"hot{i}@acme{i}.io,{FILE_HOT},Germany\n" for i in range(3))
    )
    job = create_import_job(path, ImportOptions(), now=now, by=org.admin)
    run_import(job, now=now)
    capture_lead({"email": "form@acme9.io", **HOT, "country": "DE"}, source="api", now=now)
    through_a_form = Lead.objects.get(email="form@acme9.io")

    imported = list(Lead.objects.filter(email__startswith="hot").order_by("email"))
    assert len(imported) == 3
    assert {lead.grade for lead in imported} <= {"A", "B"}
    assert through_a_form.grade in {"A", "B"}
    expected = ladder_of(through_a_form)
    assert [kind for kind, _ in expected] == ["reassign", "recycle", "remind"]
    for lead in imported:
        assert lead.owner_id is not None
        assert since_assigned(lead, lead.sla_due_at) == since_assigned(
            through_a_form, through_a_form.sla_due_at
        )
        assert ladder_of(lead) == expected
