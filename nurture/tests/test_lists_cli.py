"""`leadloop lists`: the same service, the same refusals, members within what one sees."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import Lead


def run(*args: str) -> str:
    out = StringIO()
    call_command("lists", *args, stdout=out)
    return out.getvalue()


def test_marketing_creates_refreshes_and_fills_lists(
    org: Any, add_lead: Callable[..., Lead]
) -> None:
    de = add_lead("de@x.io", country="DE", owner=org.rep1, team=org.emea)
    add_lead("us@x.io", country="US", owner=org.rep3, team=org.americas)

    assert "1 members" in run("create", "Germany", "--as", "marketer", "--when", "country is de")
    assert "0 joined, 0 left" in run("refresh", "Germany", "--as", "marketer")
    assert "created static list 'VIP'" in run("create", "VIP", "--static", "--as", "marketer")
    assert "1 added" in run("add", "VIP", str(de.pk), "--as", "marketer")
    shown = run("show", "Germany", "--as", "marketer")
    assert "when country is DE" in shown and "de@x.io" in shown
    assert "1 removed" in run("remove", "VIP", str(de.pk), "--as", "marketer")
    assert "Germany (smart): 1 members" in run("list", "--as", "marketer")


def test_a_rep_sees_only_their_members_and_may_not_change_lists(
    org: Any, add_lead: Callable[..., Lead]
) -> None:
    add_lead("us@x.io", country="US", owner=org.rep3, team=org.americas)
    run("create", "Everyone", "--as", "marketer")

    assert "Everyone (smart): 0 members" in run("list", "--as", "rep1")
    with pytest.raises(CommandError, match="only marketing and admins"):
        run("create", "Mine", "--as", "rep1")


def test_a_bad_line_is_refused_naming_it(org: Any) -> None:
    with pytest.raises(CommandError, match="line 2: unknown operator 'near'"):
        run(
            "create", "Bad", "--as", "marketer", "--when", "grade is A", "--when", "country near DE"
        )
