"""An import's routing is written to each routed lead's history, set-based."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imports.models import ImportJob
from imports.pipeline import ImportOptions
from imports.services import create_import_job, run_import
from leads.models import Lead
from routing.models import Assignment
from users.models import Team

HOT = "dm,20000,now,replace it"
FIELDS = ("lead__email", "from_owner", "to_owner", "from_team", "to_team", "assigned_by", "how")


def run(path: Path, now: datetime, text: str, by: Any = None) -> ImportJob:
    path.write_text(text)
    job = create_import_job(path, ImportOptions(), now=now, by=by)
    run_import(job, now=now)
    return job


def test_each_routed_lead_gets_one_history_row(tmp_path: Path, org: Any, now: datetime) -> None:
    Team.objects.filter(pk=org.emea.pk).update(last_assigned_user=org.rep1)
    org.marquee.owner = org.rep3
    org.marquee.save()
    rows = "".join(f"hot{i}@acme{i}.io,{HOT},Germany\n" for i in range(3))
    rows += f"cio@bigco.com,{HOT},France\ncold@acme.io,,,,,Germany\n"

    run(
        tmp_path / "hot.csv",
        now,
        f"Email,Authority,Budget,Timeline,Notes,Country\n{rows}",
        org.admin,
    )

    history = list(Assignment.objects.order_by("lead__email").values_list(*FIELDS, "assigned_at"))
    emea, americas = org.emea.pk, org.americas.pk
    assert history == [
        ("cio@bigco.com", None, org.rep3.pk, None, americas, None, "account_owner", now),
        ("hot0@acme0.io", None, org.rep2.pk, None, emea, None, "round_robin", now),
        ("hot1@acme1.io", None, org.rep1.pk, None, emea, None, "round_robin", now),
        ("hot2@acme2.io", None, org.rep2.pk, None, emea, None, "round_robin", now),
    ]
    assert {row[0]: row[2] for row in history} == dict(
        Lead.objects.filter(owner__isnull=False).values_list("email", "owner_id")
    )


def test_a_stored_lead_says_whom_it_came_from(tmp_path: Path, org: Any, now: datetime) -> None:
    run(tmp_path / "a.csv", now, "Email,Country\nann@acme.io,France\n")
    Lead.objects.update(owner=org.rep2, team=org.emea)  # e.g. a rep worked it in nurture
    later = now + timedelta(days=1)

    run(tmp_path / "b.csv", later, f"Email,Authority,Budget,Timeline,Notes\nann@acme.io,{HOT}\n")

    assert list(Assignment.objects.values_list(*FIELDS, "assigned_at")) == [
        ("ann@acme.io", org.rep2.pk, org.rep1.pk, org.emea.pk, org.emea.pk, None, "round_robin",
         later),
    ]  # fmt: skip


@pytest.mark.parametrize("count", [3, 150])
def test_the_history_is_one_insert_however_many_leads(
    tmp_path: Path, org: Any, now: datetime, count: int
) -> None:
    rows = "".join(f"hot{i}@acme.io,{HOT},Germany\n" for i in range(count))

    with CaptureQueriesContext(connection) as queries:
        run(tmp_path / "hot.csv", now, f"Email,Authority,Budget,Timeline,Notes,Country\n{rows}")

    table = Assignment._meta.db_table
    inserts = [q for q in queries if q["sql"].startswith(f'INSERT INTO "{table}"')]
    assert len(inserts) == 1
    assert Assignment.objects.count() == count
