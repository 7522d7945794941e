"""`leadloop tasks` and `leadloop cadences`: the same services as the page and the API."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from capture.services import capture_lead
from conftest import HOT
from followup.models import Cadence, CadenceRule, Task

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_rep_lists_and_completes_tasks(org: Any, clock: datetime) -> None:
    lead = capture_lead(
        {**HOT, "email": "ann@de.de", "first_name": "Ann"}, source="api", now=clock
    ).lead
    task = Task.objects.get(lead=lead)

    listed = run("tasks", "list", "--as", "rep1")
    done = run("tasks", "complete", str(task.pk), "--as", "rep1", "--outcome", "no_answer")

    assert listed.split("\t")[:6] == [str(task.pk), clock.isoformat(timespec="minutes"), "call",
                                     "1/6", str(lead.pk), "Ann"]  # fmt: skip
    following = Task.objects.get(lead=lead, status="open")
    assert done.splitlines() == [
        f"task {task.pk} done: Call, No answer",
        f"next: task {following.pk}, Email due {clock.isoformat(timespec='minutes')}",
    ]
    assert run("tasks", "list", "--as", "rep2") == ""
    with pytest.raises(CommandError, match=f"no task {following.pk} on a list rep2 works"):
        run("tasks", "complete", str(following.pk), "--as", "rep2", "--outcome", "connected")
    with pytest.raises(
        CommandError,
        match="outcome: 'wrong_number' is not an outcome of an email task: one of sent,",
    ):
        run("tasks", "complete", str(following.pk), "--as", "rep1", "--outcome", "wrong_number")
    with pytest.raises(CommandError, match="may not see rep1's tasks"):
        run("tasks", "list", "--as", "rep2", "--owner", "rep1")


def test_managers_set_cadences_rules_and_minimum_attempts(org: Any) -> None:
    created = run("cadences", "create", "Enterprise", "--as", "manager",
                  "--step", "0 call: call at once", "--step", "1 linkedin")  # fmt: skip
    run("cadences", "rules", "--as", "manager", "--rule", "Enterprise;grade=A")
    run("cadences", "policy", "EMEA", "--as", "manager", "--attempts", "5", "--channels", "2")

    assert created.startswith("cadence ")
    assert [s.channel for s in Cadence.objects.get(name="Enterprise").steps.all()] == [
        "call",
        "linkedin",
    ]
    assert list(CadenceRule.objects.values_list("grade", flat=True)) == ["A"]
    listing = run("cadences", "list")
    assert "  1. Enterprise;grade=A" in listing
    assert "  EMEA: 5 attempts over 2 channels" in listing
    with pytest.raises(CommandError, match="your role may not change cadences"):
        run("cadences", "create", "Mine", "--as", "rep1", "--step", "0 call")
    with pytest.raises(CommandError, match="step 1: 'fax' is no channel"):
        run("cadences", "create", "Fax", "--as", "manager", "--step", "0 fax")
