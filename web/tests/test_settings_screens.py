"""The settings screens: people, teams, campaigns and one's own time zone, in the app
rather than in Django admin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from capture.models import WebForm
from leads.models import Campaign, Lead
from leads.services import add_to_campaign
from users.models import User


def test_a_manager_sets_their_reps_intake_and_zone_but_not_their_role(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.manager)
    url = reverse("web:person", args=[org.rep1.pk])

    page = client.get(url)
    response = client.post(url, {"timezone": "Europe/Berlin", "role": "admin"})

    assert list(page.context["form"].fields) == ["is_accepting_leads", "max_open_leads", "timezone"]
    assert response.status_code == 302
    org.rep1.refresh_from_db()
    assert (org.rep1.role, org.rep1.is_accepting_leads, org.rep1.timezone) == (
        "sales_rep",
        False,
        "Europe/Berlin",
    )


def test_a_manager_sees_only_their_own_team(org: Any, client_for: Callable[[User], Client]) -> None:
    client = client_for(org.manager)

    listed = [p.username for p in client.get(reverse("web:people")).context["people"]]
    other_rep = client.get(reverse("web:person", args=[org.rep3.pk]))
    other_team = client.get(reverse("web:team", args=[org.americas.pk]))
    teams = [t.name for t in client.get(reverse("web:teams")).context["teams"]]

    assert listed == ["manager", "rep1", "rep2"]
    assert (other_rep.status_code, other_team.status_code) == (404, 404)
    assert teams == ["EMEA"]


def test_a_rep_has_no_people_or_team_screens(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.rep1)

    assert client.get(reverse("web:people")).status_code == 404
    assert client.get(reverse("web:teams")).status_code == 404


def test_an_admin_moves_a_rep_to_another_team_as_a_manager(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.admin)

    response = client.post(
        reverse("web:person", args=[org.rep1.pk]),
        {
            "role": "sales_manager",
            "team": org.americas.pk,
            "is_accepting_leads": "on",
            "timezone": "America/New_York",
        },
    )

    assert response.status_code == 302
    org.rep1.refresh_from_db()
    assert (org.rep1.role, org.rep1.team, org.rep1.timezone) == (
        "sales_manager",
        org.americas,
        "America/New_York",
    )


TEAM = {
    "timezone": "Europe/Berlin",
    "workday_start": "08:00",
    "workday_end": "16:30",
    "workdays": ["0", "1", "2", "3"],
    "holidays": "2026-12-25\n2026-12-24",
    "countries": "Germany, Austria",
    "sla_hours": "8",
}


def test_a_manager_sets_their_teams_calendar(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    response = client_for(org.manager).post(reverse("web:team", args=[org.emea.pk]), TEAM)

    assert response.status_code == 302
    org.emea.refresh_from_db()
    assert (
        org.emea.timezone,
        org.emea.workday_start,
        org.emea.workday_end,
        org.emea.workdays,
        org.emea.holidays,
        org.emea.countries,
        org.emea.sla_hours,
    ) == (
        "Europe/Berlin",
        time(8),
        time(16, 30),
        [0, 1, 2, 3],
        ["2026-12-24", "2026-12-25"],
        ["DE", "AT"],
        8,
    )


def test_a_bad_calendar_is_refused_next_to_its_field(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.admin)
    url = reverse("web:team", args=[org.emea.pk])

    backwards = client.post(url, {**TEAM, "workday_end": "07:00"})
    bad_day = client.post(url, {**TEAM, "holidays": "Christmas"})

    assert backwards.status_code == 400
    assert backwards.context["form"].errors == {
        "workday_end": ["the working day must end after it starts"]
    }
    assert bad_day.context["form"].errors == {
        "holidays": ["'Christmas' is not a date (YYYY-MM-DD)"]
    }
    org.emea.refresh_from_db()
    assert org.emea.timezone == "UTC"


def test_marketing_creates_a_campaign_and_its_page_shows_cost_funnel_and_leads(
    org: Any, client_for: Callable[[User], Client], make_lead: Callable[..., Lead], settings: Any
) -> None:
    settings.LEADLOOP_CURRENCY = "CHF"
    client = client_for(org.marketer)

    created = client.post(
        reverse("web:campaign_new"),
        {"name": "Trade show Basel", "channel": "trade_show", "cost": "1200", "starts_on": ""},
    )
    campaign = Campaign.objects.get(name="Trade show Basel")
    for email in ("ann@acme.io", "bob@acme.io"):
        lead = make_lead(email, org.rep1)
        add_to_campaign(lead, campaign, now=lead.arrived_at)
    page = client.get(reverse("web:campaign", args=[campaign.pk]))
    listing = client.get(reverse("web:campaigns")).content.decode()

    assert created.status_code == 302
    assert (campaign.channel, campaign.cost) == ("trade_show", Decimal("1200.00"))
    body = page.content.decode()
    assert "<tr><th>Cost</th><td>1200.00 CHF</td></tr>" in body
    assert "<tr><th>Cost per lead</th><td>600.00 CHF</td></tr>" in body
    reached = {step.stage: step.reached for step in page.context["report"].steps}
    assert (reached["new"], reached["mql"], reached["accepted"]) == (2, 2, 0)
    assert page.context["total"] == 2
    assert "Cost (CHF)" in listing


def test_a_campaign_refusal_names_the_field(org: Any, client_for: Callable[[User], Client]) -> None:
    client = client_for(org.marketer)

    response = client.post(
        reverse("web:campaign_new"),
        {"name": "Webinar", "channel": "webinar", "cost": "5"},
    )
    backwards = client.post(
        reverse("web:campaign_edit", args=[org.webinar.pk]),
        {
            "name": "Webinar",
            "channel": "webinar",
            "cost": "5",
            "starts_on": "2026-05-02",
            "ends_on": "2026-05-01",
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "name": ["there is already a campaign called 'Webinar'"]
    }
    assert backwards.context["form"].errors == {
        "ends_on": ["a campaign cannot end before it starts"]
    }


def test_sales_may_look_at_campaigns_but_not_change_them(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.rep1)

    assert client.get(reverse("web:campaigns")).status_code == 200
    assert client.get(reverse("web:campaign", args=[org.webinar.pk])).status_code == 200
    assert client.get(reverse("web:campaign_new")).status_code == 403
    assert client.post(reverse("web:campaign_edit", args=[org.webinar.pk])).status_code == 403


def test_anyone_sets_their_own_time_zone_and_every_page_says_it(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.rep1)

    saved = client.post(reverse("web:my_settings"), {"timezone": "Europe/Berlin"})
    bad = client.post(reverse("web:my_settings"), {"timezone": "Mars/Olympus"})
    home = client.get(reverse("web:home")).content.decode()

    assert saved.status_code == 302
    assert bad.status_code == 400
    assert "Times shown in Europe/Berlin." in home
    org.rep1.refresh_from_db()
    assert org.rep1.timezone == "Europe/Berlin"


def test_pages_outside_the_uis_views_render_in_the_viewers_zone_too(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    WebForm.objects.create(name="Demo", slug="demo")
    User.objects.filter(pk=org.marketer.pk).update(timezone="Asia/Tokyo")
    org.marketer.refresh_from_db()

    page = client_for(org.marketer).get(reverse("capture:embed", args=["demo"]))

    assert "Times shown in Asia/Tokyo." in page.content.decode()


@pytest.mark.parametrize("rows", [1, 12])
def test_the_campaign_page_and_list_do_not_grow_with_rows(
    org: Any,
    make_lead: Callable[..., Lead],
    client_for: Callable[[User], Client],
    django_assert_max_num_queries: Any,
    rows: int,
) -> None:
    for i in range(rows):
        lead = make_lead(f"l{i}@acme.io", org.rep1 if i % 2 else org.rep2)
        add_to_campaign(lead, org.webinar, now=lead.arrived_at)
    client = client_for(org.manager)

    with django_assert_max_num_queries(9):
        page = client.get(reverse("web:campaign", args=[org.webinar.pk]))
    # The lists count their rows for the pager: one COUNT more, whatever the rows.
    with django_assert_max_num_queries(5):
        client.get(reverse("web:campaigns"))
    with django_assert_max_num_queries(5):
        client.get(reverse("web:people"))

    assert len(page.context["page"].object_list) == rows
