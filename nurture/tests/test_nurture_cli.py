"""`leadloop nurture list|show|pause|resume|enrol|export|apply`."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead
from nurture import services
from nurture.models import Enrolment, Program

YAML = """\
name: Recording
description: ''
status: active
purpose: events
allow_reentry: false
entry: []
goals: []
steps:
- name: mail
  kind: send_email
  template: Welcome
- name: a day
  kind: wait
  days: 1
"""


def run(*args: str) -> str:
    out = StringIO()
    call_command("nurture", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def template(org: Any, now: datetime) -> None:
    services.create_template(by=org.marketer, now=now, name="Welcome", subject="Hi", text_body="Hi")


def test_apply_export_enrol_pause_resume_show(
    org: Any, now: datetime, template: None, tmp_path: Path
) -> None:
    path = tmp_path / "program.yaml"
    path.write_text(YAML)
    ann = Lead.objects.create(
        email="a@x.de", stage="nurturing", arrived_at=now, stage_changed_at=now
    )

    assert run("apply", str(path), "--dry-run", "--as", "marketer") == (
        "would create 'Recording' (active): 2 steps added, 0 changed, 0 removed, 0 runs ended\n"
    )
    assert not Program.objects.exists()
    run("apply", str(path), "--as", "marketer")
    assert run("export", "Recording") == YAML
    assert run("enrol", "Recording", str(ann.pk), "--as", "marketer") == "Recording: 1 enrolled\n"
    assert run("pause", "Recording", "--as", "marketer") == "Recording: paused\n"
    assert run("resume", "Recording", "--as", "marketer") == "Recording: active\n"
    assert run("list") == "Recording (active, purpose events): 2 steps, 1 leads in it\n"
    assert run("show", "Recording").splitlines() == [
        "Recording (active, purpose events): 1 active, 0 completed, 0 goal, 0 exited",
        "  1. mail [send_email]: 1 at it, 1 reached, 0 sent, 0 opened, 0 clicked",
        "  2. a day [wait]: 0 at it, 0 reached",
    ]
    assert Enrolment.objects.count() == 1
    assert run("export") == YAML  # every program: one YAML document each


def test_apply_refuses_a_bad_file_whole(
    org: Any, now: datetime, template: None, tmp_path: Path
) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(
        YAML + "---\n" + YAML.replace("Recording", "Other").replace("days: 1", "days: x")
    )

    with pytest.raises(CommandError) as refused:
        run("apply", str(path), "--as", "marketer")

    assert str(refused.value) == (
        f"{path}: document 2: steps[1] 'a day'.days: 'x' is not a whole number (nothing was applied)"
    )
    assert not Program.objects.exists()


def test_changes_need_a_user_who_may(
    org: Any, now: datetime, template: None, tmp_path: Path
) -> None:
    path = tmp_path / "program.yaml"
    path.write_text(YAML)
    with pytest.raises(CommandError, match="--as: name the user"):
        run("apply", str(path))
    with pytest.raises(CommandError, match="programs: only marketing and admins manage programs"):
        run("apply", str(path), "--as", "rep1")
