"""The follow-up figures through the page, the API and the CLI: one service under all."""

from __future__ import annotations

import csv
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.tests.stories import NOW, followup_story
from conftest import bearer

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(org, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return followup_story(org)


def test_manager_page_charts_tables_and_links_to_the_leads_behind(client, org, story) -> None:  # type: ignore[no-untyped-def]
    client.force_login(org.manager)
    page = client.get("/reports/follow-up/")
    assert page.status_code == 200
    html = page.content.decode()
    for chart in ("rate", "speed", "attempts", "leakage"):
        assert f'id="followup-{chart}-chart"' in html
        assert f'id="followup-{chart}-table"' in html
    assert org.rep1.display_name in html and org.rep2.display_name in html
    # The "1 attempt" cell of rep1's row: the lead they gave up on after one call.
    pattern = rf'href="(/leads/\?followup=dropped&amp;by=rep&amp;key={org.rep1.pk}&amp;bucket=1)"'
    link = re.search(pattern, html)
    assert link is not None
    leads = client.get(link.group(1).replace("&amp;", "&"))
    assert leads.status_code == 200
    _, dropped = story["rep1"]
    assert f"/leads/{dropped.pk}/" in leads.content.decode()
    assert "dropped by the rep (1 attempts)" in leads.content.decode()
    assert leads.context["total"] == 1


def test_page_per_team_and_a_bad_period_is_named(client, org, story) -> None:  # type: ignore[no-untyped-def]
    client.force_login(org.admin)
    page = client.get("/reports/follow-up/", {"by": "team"})
    assert "EMEA" in page.content.decode()
    bad = client.get("/reports/follow-up/", {"since": "2026-11-20", "until": "2026-11-01"})
    assert "must not be before the start date" in bad.content.decode()


def test_api_rows_and_scope(client, org, story) -> None:  # type: ignore[no-untyped-def]
    answer = client.get(
        "/api/v1/reports/follow-up", {"by": "rep"}, HTTP_AUTHORIZATION=bearer(org.manager)
    )
    assert answer.status_code == 200
    rows = {row["name"]: row for row in answer.json()["rows"]}
    rep1 = rows[org.rep1.display_name]
    assert rep1["attempts_before_dropped"]["1"] == 1
    assert rep1["speed_to_lead_hours"]["clock_median"] == pytest.approx(0.5, abs=0.02)
    other = client.get("/api/v1/reports/follow-up", HTTP_AUTHORIZATION=bearer(org.us_manager))
    assert other.json()["rows"] == []
    bad = client.get(
        "/api/v1/reports/follow-up", {"by": "planet"}, HTTP_AUTHORIZATION=bearer(org.admin)
    )
    assert bad.status_code == 422


def test_cli_table_and_csv(org, story) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("report", "follow-up", "--as", "manager", stdout=out)
    text = out.getvalue()
    assert "Attempts before dropping" in text and org.rep1.display_name in text
    out = StringIO()
    call_command("report", "follow-up", "--as", "admin", "--by", "team", "--csv", stdout=out)
    rows = list(csv.DictReader(StringIO(out.getvalue())))
    assert rows[0]["name"] == "EMEA" and rows[0]["given"] == "4" and rows[0]["touched"] == "3"
    with pytest.raises(CommandError, match="no active user"):
        call_command("report", "follow-up", "--as", "nobody", stdout=StringIO())


def test_the_exact_count_answers_the_same_through_the_api_and_the_cli(client, org, story) -> None:  # type: ignore[no-untyped-def]
    auth = {"HTTP_AUTHORIZATION": bearer(org.admin)}
    for by in ("rep", "team"):
        rolled = client.get("/api/v1/reports/follow-up", {"by": by}, **auth).json()
        exact = client.get("/api/v1/reports/follow-up", {"by": by, "exact": "true"}, **auth).json()
        assert rolled == exact and rolled["rows"]
    outputs = []
    for extra in ([], ["--exact"]):
        out = StringIO()
        call_command("report", "follow-up", "--as", "admin", "--csv", *extra, stdout=out)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] and org.rep1.display_name in outputs[0]
