"""`leadloop streams`: the same service, the same refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import Lead
from nurture import lists, services, streams
from nurture.models import ContentStream

from .conftest import consenting


def run(*args: str) -> str:
    out = StringIO()
    call_command("streams", *args, stdout=out)
    return out.getvalue()


def test_marketing_creates_fills_pauses_and_shows_a_stream(
    org: Any, add_lead: Callable[..., Lead], now: datetime
) -> None:
    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=now)
    ann = consenting(add_lead("ann@x.io", stage="nurturing"), now)
    lists.add_leads(vip, [ann.pk], by=org.marketer, now=now)
    services.create_template(
        by=org.marketer, now=now, name="Piece", subject="{{ piece.title }}", text_body="x"
    )

    assert run(
        "create", "Newsletter", "--list", "VIP", "--cadence-days", "14", "--weekday", "tue",
        "--hour", "9", "--as", "marketer",
    ) == "created stream 'Newsletter': list 'VIP', every 14 days on Tuesday at 09:00 (active)\n"  # fmt: skip
    assert "piece 1 'Guide' added" in run(
        "add-piece", "Newsletter", "--title", "Guide", "--url", "https://e.com/guide",
        "--template", "Piece", "--kind", "whitepaper", "--as", "marketer",
    )  # fmt: skip
    assert "piece 1 'Intro' added" in run(
        "add-piece", "Newsletter", "--title", "Intro", "--url", "https://e.com/intro",
        "--template", "Piece", "--position", "1", "--as", "marketer",
    )  # fmt: skip
    assert run("pause", "Newsletter", "--as", "marketer") == "Newsletter: paused\n"
    assert run("resume", "newsletter", "--as", "admin") == "Newsletter: active\n"
    streams.refresh_members(ContentStream.objects.get(), now=now)

    assert run("list", "--as", "marketer") == (
        "Newsletter (active): 1 active, 0 exhausted, 0 left; 2 pieces\n"
    )
    shown = run("show", "Newsletter", "--as", "marketer")
    assert "members: 1 active, 0 exhausted, 0 left" in shown
    assert "1. [other] Intro https://e.com/intro — 0 delivered, 0 opened, 0 clicked" in shown
    assert "2. [whitepaper] Guide https://e.com/guide" in shown


def test_refusals_are_named(org: Any, now: datetime) -> None:
    lists.create_list(by=org.marketer, name="VIP", kind="static", now=now)
    with pytest.raises(CommandError, match="only marketing and admins"):
        run("create", "Mine", "--list", "VIP", "--as", "rep1")
    with pytest.raises(CommandError, match="only marketing and admins"):
        run("list", "--as", "rep1")
    with pytest.raises(CommandError, match="enrol_list: no list called 'Nope'"):
        run("create", "S", "--list", "Nope", "--as", "marketer")
    with pytest.raises(CommandError, match="send_weekday: 'someday' is not a weekday"):
        run("create", "S", "--list", "VIP", "--weekday", "someday", "--as", "marketer")
    with pytest.raises(CommandError, match="no content stream called 'Nope'"):
        run("pause", "Nope", "--as", "marketer")
    run("create", "S", "--list", "VIP", "--as", "marketer")
    with pytest.raises(CommandError, match="only marketing and admins"):
        run("pause", "S", "--as", "rep1")
    assert ContentStream.objects.get().status == "active"


def test_a_number_too_large_for_an_id_is_a_name_not_found(org: Any) -> None:
    with pytest.raises(CommandError, match="enrol_list: no list called '99999999999999999999'"):
        run("create", "S", "--list", "99999999999999999999", "--as", "marketer")
