"""Funnel page and CSV export: numbers a marketer would read and cells a spreadsheet opens."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT
from followup.services import accept_lead
from leads.models import Campaign
from web.display import csv_safe

ROW = re.compile(
    r'<tr data-stage="(\w+)">.*?reached">(?:<a [^>]*>)?(\d+)<.*?current">(?:<a [^>]*>)?(\d+)<'
    r'.*?conversion">([^<]*)<',
    re.S,
)


@pytest.fixture
def webinar_leads(org):  # type: ignore[no-untyped-def]
    """Webinar: 2 hot leads (one accepted by rep1), 1 cold; a trade show: 1 hot lead."""
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
    accept_lead(hot[0], by=org.rep1, now=now)
    return show


def test_funnel_page_has_the_chart_and_the_table(org, webinar_leads, client_for) -> None:
    response = client_for(org.marketer).get(reverse("web:funnel"), {"campaign": org.webinar.pk})

    body = response.content.decode()
    assert response.status_code == 200
    assert '<div id="funnel-chart"' in body
    assert '<div id="campaign-chart"' in body
    assert "/static/plotly/plotly.min.js" in body
    assert "cdn.plot.ly" not in body
    assert ROW.findall(body) == [
        ("new", "3", "0", "—"),
        ("mql", "2", "1", "67 %"),
        ("accepted", "1", "1", "50 %"),
        ("opportunity", "0", "0", "0 %"),
        ("customer", "0", "0", "0 %"),
    ]


def test_funnel_per_campaign_table_lists_each_campaign(org, webinar_leads, client_for) -> None:
    response = client_for(org.marketer).get(reverse("web:funnel"))

    per_campaign = {
        f.campaign_name: [step.reached for step in f.steps]
        for f in response.context["per_campaign"]
    }
    assert per_campaign == {"Trade show": [1, 1, 0, 0, 0], "Webinar": [3, 2, 1, 0, 0]}
    assert ROW.findall(response.content.decode())[0] == ("new", "4", "0", "—")


def test_funnel_period_in_the_future_counts_nothing(org, webinar_leads, client_for) -> None:
    response = client_for(org.marketer).get(
        reverse("web:funnel"), {"since": "2999-01-01", "until": "2999-01-31"}
    )

    assert [step.reached for step in response.context["report"].steps] == [0, 0, 0, 0, 0]
    assert response.context["per_campaign"] == []


def test_funnel_rejects_a_period_that_ends_before_it_starts(org, client_for) -> None:
    response = client_for(org.marketer).get(
        reverse("web:funnel"), {"since": "2026-02-01", "until": "2026-01-01"}
    )

    assert response.status_code == 200
    assert "must not be before the start date" in response.content.decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd()", "'=cmd()"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        ("", ""),
        (42, 42),
    ],
)
def test_csv_safe_neutralises_formula_cells(value, expected) -> None:
    assert csv_safe(value) == expected


def test_csv_export_neutralises_formulas_and_follows_the_filters(
    org, make_lead, client_for
) -> None:
    make_lead("evil@acme.io", org.rep1, first_name="=cmd()", company_name="@SUM(1)")
    make_lead("plain@acme.io", org.rep1, first_name="Ann", company_name="Acme")

    response = client_for(org.rep1).get(reverse("web:leads_export"), {"q": "evil"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["email"], row["first_name"], row["company"]) for row in rows] == [
        ("evil@acme.io", "'=cmd()", "'@SUM(1)")
    ]
    assert rows[0]["owner"] == "rep1"


def test_lead_list_filters_in_the_database_and_paginates(org, make_lead, client_for) -> None:
    for i in range(55):
        make_lead(f"p{i:02}@acme.io", org.rep1, company_name="Acme")
    make_lead("other@globex.io", org.rep1, company_name="Globex")
    client = client_for(org.rep1)

    first = client.get(reverse("web:leads"), {"q": "acme", "stage": "mql"})
    second = client.get(reverse("web:leads"), {"q": "acme", "stage": "mql", "page": 2})
    globex = client.get(reverse("web:leads"), {"q": "globex"})

    assert first.context["total"] == 55
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert [lead.email for lead in globex.context["page"]] == ["other@globex.io"]
    assert 'href="?q=acme&amp;stage=mql&amp;page=2"' in first.content.decode()


def test_lead_list_filters_by_owner_segment_and_campaign(org, make_lead, client_for) -> None:
    make_lead("mine@acme.io", org.rep1)
    make_lead("yours@acme.io", org.rep2)
    make_lead("queue@acme.io", None)
    capture_lead({"email": "cold@acme.io"}, source="api", campaign=org.webinar, now=timezone.now())
    client = client_for(org.manager)

    def emails(**params: object) -> set[str]:
        return {lead.email for lead in client.get(reverse("web:leads"), params).context["page"]}

    assert emails(owner=org.rep2.pk) == {"yours@acme.io"}
    assert emails(owner="none", segment="sales_ready") == {"queue@acme.io"}
    assert emails(owner=org.rep3.pk) == set()  # not a choice for this manager: nothing


def test_lead_list_by_campaign_for_marketing(org, make_lead, client_for) -> None:
    make_lead("mine@acme.io", org.rep1)
    capture_lead({"email": "cold@acme.io"}, source="api", campaign=org.webinar, now=timezone.now())

    response = client_for(org.marketer).get(reverse("web:leads"), {"campaign": org.webinar.pk})

    assert [lead.email for lead in response.context["page"]] == ["cold@acme.io"]


def test_lead_list_answers_htmx_with_the_results_only(org, make_lead, client_for) -> None:
    make_lead("mine@acme.io", org.rep1)

    response = client_for(org.rep1).get(reverse("web:leads"), headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "mine@acme.io" in body
