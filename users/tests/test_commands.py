"""`leadloop teams` and `leadloop campaigns`: the settings from the command line."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from leads.models import Campaign


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_teams_show_and_set(org: Any) -> None:
    shown = run(
        "teams", "set", "EMEA", "--as", "manager", "--sla-hours", "8", "--holidays", "2026-12-25"
    )

    assert "SLA:           8 business hours to the first touch" in shown
    assert "Holidays:      2026-12-25" in shown
    assert "  rep1\tSales rep\taccepting leads\tUTC" in shown
    with pytest.raises(CommandError, match="you may not change this team"):
        run("teams", "set", "Americas", "--as", "manager", "--sla-hours", "8")
    with pytest.raises(CommandError, match="workday_end: the working day must end after it starts"):
        run("teams", "set", "EMEA", "--as", "admin", "--workday-end", "08:00")


def test_campaigns_create_update_and_list(org: Any) -> None:
    run(
        "campaigns",
        "create",
        "Fair",
        "--as",
        "marketer",
        "--channel",
        "trade_show",
        "--cost",
        "750",
    )
    run("campaigns", "update", "Fair", "--as", "marketer", "--starts-on", "2026-04-01")
    listed = run("campaigns", "list")

    fair = Campaign.objects.get(name="Fair")
    assert (fair.channel, fair.cost, str(fair.starts_on)) == (
        "trade_show",
        Decimal("750.00"),
        "2026-04-01",
    )
    assert f"{fair.pk}\tFair\tTrade show\t750.00 EUR\t2026-04-01\t\t0" in listed.splitlines()
    with pytest.raises(CommandError, match="your role may not create or change campaigns"):
        run("campaigns", "create", "Mine", "--as", "rep1")
    with pytest.raises(CommandError, match="cost: must be an amount"):
        run("campaigns", "create", "Odd", "--as", "marketer", "--cost", "lots")


def test_people_set_as_a_manager(org: Any) -> None:
    shown = run("people", "set", "rep1", "--as", "manager", "--away", "--timezone", "Europe/Paris")

    assert shown == "rep1\tSales rep\tEMEA\taway\tEurope/Paris\tno cap\n"
    with pytest.raises(CommandError, match="role: you may not change role"):
        run("people", "set", "rep1", "--as", "manager", "--role", "admin")
    with pytest.raises(CommandError, match="team: you may not change team"):
        run("people", "set", "rep1", "--as", "manager", "--team", "none")
