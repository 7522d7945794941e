"""`leadloop import` as an operator uses it."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from imports.models import ImportJob
from leads.models import CampaignMember, Lead


def call(*args: str) -> dict[str, object]:
    out, err = StringIO(), StringIO()
    call_command("import", *args, stdout=out, stderr=err)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, out.getvalue()
    return json.loads(lines[0])


def test_the_command_ends_with_a_one_line_json_summary(tmp_path: Path, org) -> None:
    path = tmp_path / "webinar.csv"
    path.write_text("Email,Name\na@acme.io,Ann Lee\na@acme.io,Ann B. Lee\nbad,Bad\n")
    rejects = tmp_path / "rejects.csv"

    summary = call(
        str(path), "--campaign", "Webinar", "--status", "attended", "--rejects", str(rejects)
    )

    assert {k: summary[k] for k in ("created", "updated", "merged", "rejected", "rows")} == {
        "created": 1,
        "updated": 0,
        "merged": 1,
        "rejected": 1,
        "rows": 3,
    }
    assert isinstance(summary["seconds"], float)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name) == ("Ann B.", "Lee")
    assert CampaignMember.objects.get().status == "attended"
    assert "bad" in rejects.read_text(encoding="utf-8-sig")


def test_map_and_key_options(tmp_path: Path, org) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("Ref;Mail;Shoe\nR1;a@acme.io;42\n")

    summary = call(
        str(path), "--map", "Ref=external_id", "--map", "Shoe=ignore", "--key", "external_id",
        "--delimiter", ";",
    )  # fmt: skip

    assert summary["created"] == 1
    lead = Lead.objects.get()
    assert (lead.external_id, lead.email, lead.custom_fields) == ("R1", "a@acme.io", {})


def test_a_dry_run_writes_nothing(tmp_path: Path, org) -> None:
    path = tmp_path / "dry.csv"
    path.write_text("Email\na@acme.io\nb@acme.io\n")

    summary = call(str(path), "--dry-run", "--campaign", "Brand new")

    assert (summary["created"], summary["rows"]) == (2, 2)
    assert Lead.objects.count() == 0
    assert ImportJob.objects.count() == 0
    assert not CampaignMember.objects.exists()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "no such file"),
        ("Name,Company\nAnn,Acme\n", [], "no column holds the email.*--map COLUMN=email"),
        ("%PDF-1.7\nstuff\n", [], "in.csv: it is a PDF document, not a CSV file"),
        ("Email,Shoe\na@acme.io,1\n", ["--map", "Shoe=shoe_size"], "unknown field 'shoe_size'"),
        ("Email\na@acme.io\n", ["--map", "Nope=email"], "the file has no column 'Nope'"),
        ("Email\na@acme.io\n", ["--map", "Email"], "expected COLUMN=FIELD"),
        ("Email\na@acme.io\n", ["--encoding", "klingon"], "unknown encoding"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, org, content, args, message) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_text(content)

    with pytest.raises(CommandError, match=message):
        call_command("import", str(path), *args, stdout=StringIO(), stderr=StringIO())
    assert Lead.objects.count() == 0
    assert ImportJob.objects.count() == 0
