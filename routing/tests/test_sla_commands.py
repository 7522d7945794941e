"""`leadloop sla_policies`, `leadloop teams set --holiday-country` and `leadloop
notifications --email`: the same services from the command line."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from routing.models import SlaPolicy


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_manager_adds_changes_and_removes_a_policy(org: Any) -> None:
    added = run(
        "sla_policies", "add", "EMEA", "Grade A", "--as", "manager", "--grades", "A",
        "--marquee", "--hours", "1", "--remind-before-minutes", "15",
        "--reassign-after-hours", "2", "--recycle-after-hours", "8",
    )  # fmt: skip
    assert "0\tGrade A\tA,marquee\t1 h\t15 min before\t2 h after\t8 h after" in added
    assert "-\tTeam default\tthe rest\t24 h" in added

    run("sla_policies", "set", "EMEA", "Grade A", "--as", "admin", "--recycle-after-hours", "none")
    assert SlaPolicy.objects.get().recycle_after_hours is None

    run("sla_policies", "remove", "EMEA", "Grade A", "--as", "manager")
    assert not SlaPolicy.objects.exists()


def test_bad_input_and_outsiders_are_refused_by_name(org: Any) -> None:
    with pytest.raises(CommandError, match="grades: unknown: Z"):
        run("sla_policies", "add", "EMEA", "X", "--as", "manager", "--hours", "4", "--grades", "Z")
    with pytest.raises(CommandError, match="team: you may not change"):
        run("sla_policies", "add", "EMEA", "X", "--as", "usmanager", "--hours", "4")
    with pytest.raises(CommandError, match="no team called 'Nowhere'"):
        run("sla_policies", "list", "Nowhere")


def test_a_teams_public_holidays_from_the_command_line(org: Any) -> None:
    shown = run(
        "teams", "set", "EMEA", "--as", "admin", "--holiday-country", "DE", "--holiday-region", "BY"
    )

    assert "Public holidays: DE-BY" in shown
    with pytest.raises(CommandError, match="holiday_country: 'QQ' has no public holiday calendar"):
        run("teams", "set", "EMEA", "--as", "admin", "--holiday-country", "QQ")


def test_a_person_chooses_their_emails_from_the_command_line(org: Any) -> None:
    org.rep1.email = "rep1@example.io"
    org.rep1.save()

    shown = run("notifications", "rep1", "--email-off", "sla_breach", "--email-on", "assigned")

    assert "sla_breach\tapp only\tSLA breached" in shown
    assert "assigned\temail\tNew lead for you" in shown
    with pytest.raises(CommandError, match="email_notifications: 'gossip' is not a kind"):
        run("notifications", "rep1", "--email-on", "gossip")
