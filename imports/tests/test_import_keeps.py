"""Imports keep what they are given: a choice that is none of the choices is kept as
written beside the mapped one, placeholders are empty, activity columns are engagement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command

from capture.rules import PLACEHOLDERS, is_placeholder
from imports.models import ImportJob
from imports.normalise import blank_placeholders
from imports.pipeline import ImportOptions
from imports.services import create_import_job, plan_import, preview_import, run_import
from leads.models import Lead
from qualify.models import Event


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, now: datetime, **options: object) -> ImportJob:
    job = create_import_job(path, ImportOptions(**options), now=now)  # type: ignore[arg-type]
    run_import(job, now=now)
    job.refresh_from_db()
    return job


SOURCES = (
    "Email,Lead Source\n"
    "a@acme.io,Olark Chat\n"
    "b@acme.io,Organic Search\n"
    "c@acme.io,Olark Chat\n"
    "d@acme.io,Web\n"
    "e@acme.io,\n"
)


def test_a_lead_source_that_is_none_of_the_channels_is_kept_as_written_not_replaced_by_import(
    tmp_path, org, now
) -> None:
    path = write(tmp_path / "sources.csv", SOURCES)

    job = run(path, now)

    assert list(Lead.objects.order_by("email").values_list("email", "source", "custom_fields")) == [
        ("a@acme.io", "other", {"lead_source": "Olark Chat"}),
        ("b@acme.io", "other", {"lead_source": "Organic Search"}),
        ("c@acme.io", "other", {"lead_source": "Olark Chat"}),
        ("d@acme.io", "web_form", {}),
        ("e@acme.io", "import", {}),
    ]
    assert job.warned == 0
    assert job.kept_as_written == [
        {
            "column": "Lead Source",
            "field": "source",
            "custom_field": "lead_source",
            "rows": 3,
            "values": [["Olark Chat", 2], ["Organic Search", 1]],
        }
    ]


def test_the_preview_and_the_dry_run_say_which_values_were_kept_as_written(
    tmp_path, org, now
) -> None:
    path = write(tmp_path / "sources.csv", SOURCES)

    preview = preview_import(path, ImportOptions(), now=now)
    summary = plan_import(path, ImportOptions(), now=now)

    assert [o.kept for o in preview] == [
        "source: 'Olark Chat'",
        "source: 'Organic Search'",
        "source: 'Olark Chat'",
        "",
        "",
    ]
    assert summary.kept_as_written_lines == [
        "Lead Source: 3 rows kept as written, not one of the choices:"
        " Olark Chat (2), Organic Search (1)"
    ]
    assert Lead.objects.count() == 0


def test_a_column_mapped_to_the_custom_field_itself_comes_before_the_kept_value(
    tmp_path, org, now
) -> None:
    path = write(
        tmp_path / "both.csv",
        "Email,Source,Original Source\na@acme.io,Olark Chat,Google\nb@acme.io,Olark Chat,\n",
    )

    run(path, now, mapping={"Source": "source", "Original Source": "custom:lead_source"})

    assert list(Lead.objects.order_by("email").values_list("custom_fields", flat=True)) == [
        {"lead_source": "Google"},
        {"lead_source": "Olark Chat"},
    ]


def test_the_command_line_says_what_was_kept_as_written(tmp_path, org) -> None:
    path = write(tmp_path / "sources.csv", SOURCES)
    out, err = StringIO(), StringIO()

    call_command("import", str(path), stdout=out, stderr=err)

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["kept_as_written"][0]["values"] == [["Olark Chat", 2], ["Organic Search", 1]]
    assert (
        "Lead Source: 3 rows kept as written, not one of the choices:"
        " Olark Chat (2), Organic Search (1)" in " ".join(err.getvalue().split())
    )


# --- placeholders -----------------------------------------------------------------------


def test_placeholders_in_a_file_are_empty_cells(tmp_path, org, now) -> None:
    path = write(
        tmp_path / "select.csv",
        "Email,Lead Source,Authority,Timeline,Industry,Phone,Mobile,Specialization,Country\n"
        "a@acme.io,Select,-- Select --,N/A,Select,-,+49 30 1234567,Select,Please select\n"
        "b@acme.io,none,none,-,none,,,Finance,\n",
    )

    job = run(path, now)

    assert list(
        Lead.objects.order_by("email").values_list(
            "source", "authority", "timeline", "industry", "phone", "country", "custom_fields"
        )
    ) == [
        ("import", "", "", "", "+49301234567", "", {}),
        ("import", "none", "", "", "", "", {"specialization": "Finance"}),
    ]
    assert (job.warned, job.kept_as_written) == (0, [])


PLACEHOLDER_GRID = [
    *sorted(PLACEHOLDERS),
    "Select", "-- Select --", "  Please Select…", "N/A", "n/a", "NONE", "-", "—", "???",
    "Selected", "Selection", "Nonesuch", "ドイツ", "Olark Chat", "0", "-5", "a", "Na", "Null",
]  # fmt: skip


@pytest.mark.parametrize("field", ["", "authority", "timeline", "source", "last_name"])
def test_the_files_placeholders_are_the_capture_rules(field: str) -> None:
    frame = pl.DataFrame({"v": PLACEHOLDER_GRID})

    blanked = frame.select(blank_placeholders(pl.col("v").str.strip_chars(), field))["v"]

    assert [value is None for value in blanked.to_list()] == [
        is_placeholder(value, field) for value in PLACEHOLDER_GRID
    ]


# --- activity columns -------------------------------------------------------------------

ACTIVITY = (
    "Email,TotalVisits,Total Time Spent on Website,Marketing emails opened,Last Activity Date\n"
    "a@acme.io,12,1:02:03,0,2026-10-01 09:30\n"
    "b@acme.io,3,754,2,\n"
    "c@acme.io,,,,2026-09-15\n"
    "d@acme.io,lots,,,\n"
)


def test_activity_columns_become_engagement_events_that_count_towards_the_score(
    tmp_path, org, now
) -> None:
    path = write(tmp_path / "activity.csv", ACTIVITY)

    job = run(path, now)

    events = sorted(
        (e.lead.email, e.kind, e.occurred_at, e.points, e.properties)
        for e in Event.objects.select_related("lead")
    )
    assert events == [
        ("a@acme.io", "time_on_site", datetime(2026, 10, 1, 9, 30, tzinfo=UTC), 1,
         {"seconds": 3723, "imported": True}),
        ("a@acme.io", "visit", datetime(2026, 10, 1, 9, 30, tzinfo=UTC), 12,
         {"count": 12, "imported": True}),
        ("b@acme.io", "email_open", now, 2, {"count": 2, "imported": True}),
        ("b@acme.io", "time_on_site", now, 1, {"seconds": 754, "imported": True}),
        ("b@acme.io", "visit", now, 3, {"count": 3, "imported": True}),
        ("c@acme.io", "activity", datetime(2026, 9, 15, tzinfo=UTC), 1, {"imported": True}),
    ]  # fmt: skip
    assert list(
        Lead.objects.order_by("email").values_list("email", "engagement_score", "score")
    ) == [("a@acme.io", 13, 13), ("b@acme.io", 6, 6), ("c@acme.io", 1, 1), ("d@acme.io", 0, 0)]
    assert job.warned == 1


def test_importing_the_same_activity_again_adds_nothing(tmp_path, org, now) -> None:
    path = write(tmp_path / "activity.csv", ACTIVITY)
    run(path, now)

    again = run(path, now)

    assert again.updated == 4
    assert Event.objects.count() == 6
    assert list(Lead.objects.order_by("email").values_list("engagement_score", flat=True)) == [
        13, 6, 1, 0,
    ]  # fmt: skip


def test_activity_adds_to_the_engagement_a_stored_lead_already_has(tmp_path, org, now) -> None:
    run(write(tmp_path / "first.csv", "Email,Page Views\na@acme.io,5\n"), now)

    run(write(tmp_path / "later.csv", "Email,Email Clicks\na@acme.io,2\n"), now)

    lead = Lead.objects.get()
    assert sorted(Event.objects.values_list("kind", "points")) == [
        ("email_click", 8),
        ("page_view", 5),
    ]
    assert (lead.engagement_score, lead.score) == (13, 13)
