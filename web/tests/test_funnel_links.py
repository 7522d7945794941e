"""Every number of the funnel links to exactly the leads behind it; the campaign chart's
names and legend do not meet."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from django.urls import reverse
from django.utils import timezone

from analytics.services import funnel_by_campaign
from capture.services import capture_lead
from conftest import HOT, bearer
from followup.services import accept_lead
from leads.models import Campaign, Lead
from web.charts import campaign_figure, funnel_figure
from web.links import LeadLinks

LINK = re.compile(r'<td class="num (reached|current)"><a href="([^"]+)"')


def make_funnel(org):  # type: ignore[no-untyped-def]
    """Webinar: 2 hot leads (one accepted), 1 cold one; a trade show: 1 hot lead; and a
    webinar lead that arrived 40 days ago."""
    now = timezone.now()
    hot = [
        capture_lead(
            {**HOT, "email": f"hot{i}@acme.io"}, source="api", campaign=org.webinar, now=now
        ).lead
        for i in range(2)
    ]
    capture_lead({"email": "cold@acme.io"}, source="api", campaign=org.webinar, now=now)
    show = Campaign.objects.create(name="Trade show", channel="trade_show")
    capture_lead({**HOT, "email": "booth@acme.io"}, source="api", campaign=show, now=now)
    capture_lead(
        {**HOT, "email": "old@acme.io"},
        source="api",
        campaign=org.webinar,
        now=now - timedelta(days=40),
    )
    accept_lead(hot[0], by=org.rep1, now=now)
    return show


def test_each_funnel_number_lists_exactly_its_leads(org, client_for) -> None:
    make_funnel(org)
    client = client_for(org.marketer)
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    funnel = client.get(reverse("web:funnel"), {"campaign": org.webinar.pk, "since": since})
    steps = {step.stage: step for step in funnel.context["report"].steps}

    links = LINK.findall(funnel.content.decode())
    assert len(links) == 10
    for column, url in links:
        listed = client.get(unescape(url))
        stage = re.search(r"(?:reached|stage)=(\w+)", url).group(1)  # type: ignore[union-attr]
        expected = steps[stage].reached if column == "reached" else steps[stage].current
        assert listed.context["total"] == expected, (column, url)
    # "New — reached 3" is not the leads in "new" now (none are).
    assert steps["new"].reached == 3
    new = client.get(reverse("web:leads"), {"reached": "new", "campaign": org.webinar.pk})
    assert new.context["total"] == 4  # without the period: the old lead too
    assert links[0] == (
        "reached",
        f"/leads/?reached=new&amp;campaign={org.webinar.pk}&amp;since={since}",
    )


def test_the_per_campaign_numbers_link_to_their_leads(org, client_for) -> None:
    show = make_funnel(org)
    client = client_for(org.marketer)

    body = client.get(reverse("web:funnel")).content.decode()

    url = f"/leads/?reached=mql&amp;campaign={show.pk}"
    assert f'<a href="{url}">1</a>' in body
    assert client.get(unescape(url)).context["total"] == 1


def test_the_api_lists_the_leads_that_reached_a_stage(org, client) -> None:
    make_funnel(org)
    auth = {"Authorization": bearer(org.marketer)}
    recent = (timezone.now() - timedelta(days=7)).isoformat()

    reached = client.get("/api/v1/leads", {"reached": "accepted"}, headers=auth).json()
    since = client.get(
        "/api/v1/leads", {"reached": "new", "arrived_since": recent}, headers=auth
    ).json()
    wrong = client.get("/api/v1/leads", {"reached": "recycled"}, headers=auth)

    assert [row["email"] for row in reached["items"]] == ["hot0@acme.io"]
    assert since["count"] == 4
    assert wrong.status_code == 422


def test_the_charts_open_the_leads_behind_a_bar(org) -> None:
    make_funnel(org)
    links = LeadLinks("/leads/")
    funnels = funnel_by_campaign(org.marketer)

    figure = campaign_figure(funnels, links=links)
    steps = funnel_figure(funnels[0].steps, links=["/leads/?reached=new"]).data[0]

    assert figure.data[1].customdata[0] == f"/leads/?reached=mql&campaign={funnels[0].campaign_id}"
    assert list(steps.customdata) == ["/leads/?reached=new"]


def test_campaign_names_and_the_legend_do_not_meet(org) -> None:
    make_funnel(org)
    Campaign.objects.create(name="A campaign with a very long name indeed", channel="webinar")

    layout = campaign_figure(funnel_by_campaign(org.marketer)).layout

    # The legend sits above the plot; the axis grows its margin for rotated names.
    assert layout.legend.y >= 1
    assert layout.legend.yanchor == "bottom"
    assert layout.xaxis.automargin is True
    assert Lead.objects.count() == 5


def test_every_number_of_a_campaigns_page_lists_exactly_its_leads(org, client_for) -> None:
    make_funnel(org)
    client = client_for(org.marketer)

    page = client.get(reverse("web:campaign", args=[org.webinar.pk]))
    body = page.content.decode()
    steps = {step.stage: step for step in page.context["report"].steps}

    links = LINK.findall(body)
    assert len(links) == 2 * len(steps)
    for column, url in links:
        listed = client.get(unescape(url))
        stage = re.search(r"(?:reached|stage)=(\w+)", url).group(1)  # type: ignore[union-attr]
        expected = steps[stage].reached if column == "reached" else steps[stage].current
        assert listed.context["total"] == expected, (column, url)
    everyone = re.search(r'<a href="([^"]+)" id="campaign-leads-link">(\d+)</a>', body)
    assert everyone is not None
    assert client.get(unescape(everyone.group(1))).context["total"] == int(everyone.group(2)) == 4
    assert f"/leads/?reached=mql&amp;campaign={org.webinar.pk}" in body
