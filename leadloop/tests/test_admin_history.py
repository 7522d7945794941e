"""The admin does not go around history: history rows are only looked at, a lead's stage,
owner and team (or its deal's outcome) are not edited there, and nothing that leads hang
on (a campaign, a team, a user who owns leads) is deleted from under them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Model
from django.forms import MultiWidget
from django.test import Client
from django.urls import reverse

from capture.models import Submission, WebhookDelivery, WebhookSource
from capture.services import EventInput, capture_lead, record_events
from capture.webhook_sources import DeliveryReport, record_webhook_delivery
from conftest import HOT
from followup.models import Opportunity, Touch
from followup.services import accept_lead, convert_lead, record_touch
from identity.merging import merge_leads
from identity.models import MergeRecord
from imports.models import ImportJob
from imports.pipeline import ImportOptions
from imports.services import create_import_job
from leads.models import Campaign, CampaignMember, Lead, StageChange
from qualify.models import Event
from routing.models import Assignment
from users.models import Team

HISTORY: list[type[Model]] = [
    StageChange,
    Touch,
    Event,
    Submission,
    CampaignMember,
    MergeRecord,
    WebhookDelivery,
    ImportJob,
    Assignment,
]


def url(model: type[Model], view: str, *args: Any) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def form_data(page: Any) -> dict[str, Any]:
    """What a browser would post back from an admin change page, unchanged: the main
    form's and every inline formset's fields (management forms included)."""
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for bound in form:
            value, widget = bound.value(), bound.field.widget
            if isinstance(widget, MultiWidget):  # a date and a time: two inputs
                for index, part in enumerate(widget.decompress(value) or []):
                    data[f"{bound.html_name}_{index}"] = "" if part is None else part
            elif value is not None and value is not False:
                data[bound.html_name] = value
    return data


@pytest.fixture
def admin_client(org) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(org.admin)
    return client


@pytest.fixture
def history(org, now, tmp_path: Path) -> dict[type[Model], Model]:  # type: ignore[no-untyped-def]
    """One row of every history table, each made by the service that writes it."""
    ann = capture_lead(
        {"email": "ann@acme.io", "first_name": "Ann", **HOT},
        source="web_form",
        campaign=org.webinar,
        now=now,
    ).lead
    twin = capture_lead({"email": "ann.lee@acme.io", "first_name": "Ann"}, source="api", now=now)
    record_touch(ann, by=ann.owner or org.rep1, kind="call", outcome="connected", now=now)
    record_events([EventInput(kind="demo_booked", occurred_at=now, lead_id=ann.pk)], now=now)
    merge_leads(ann, twin.lead, by=org.admin, now=now)
    source = WebhookSource.objects.create(name="Zoom", slug="zoom", mapping={})
    record_webhook_delivery(
        source, DeliveryReport(status_code=200, outcome="accepted"), client_ip="192.0.2.1", now=now
    )
    create_import_job(
        tmp_path / "a.csv", ImportOptions(), now=now, rejects_path=tmp_path / "rejects.csv"
    )
    rows = {model: model._default_manager.order_by("pk").first() for model in HISTORY}
    assert all(rows.values()), rows
    return rows  # type: ignore[return-value]


def test_history_rows_cannot_be_added_changed_or_deleted_in_the_admin(
    admin_client, history
) -> None:
    found = {}
    for model, row in history.items():
        change = url(model, "change", row.pk)
        page = admin_client.get(change)
        changelist = admin_client.get(url(model, "changelist"))
        found[model._meta.label] = {
            "add": admin_client.get(url(model, "add")).status_code,
            "save": admin_client.post(change, {}).status_code,
            "delete": admin_client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code,
            "save button": 'name="_save"' in page.content.decode(),
            "delete link": url(model, "delete", row.pk) in page.content.decode(),
            "delete selected": 'value="delete_selected"' in changelist.content.decode(),
        }
        admin_client.post(
            url(model, "changelist"),
            {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
        )

    refused = {
        "add": 403, "save": 403, "delete": 403,
        "save button": False, "delete link": False, "delete selected": False,
    }  # fmt: skip
    assert found == {model._meta.label: refused for model in HISTORY}
    assert all(model._default_manager.filter(pk=row.pk).exists() for model, row in history.items())


def test_history_rows_list_and_open_read_only(admin_client, history) -> None:
    found = {}
    for model, row in history.items():
        page = admin_client.get(url(model, "change", row.pk))
        found[model._meta.label] = (
            admin_client.get(url(model, "changelist")).status_code,
            page.status_code,
            page.context["title"].split()[0],
        )

    assert found == {model._meta.label: (200, 200, "View") for model in HISTORY}


@pytest.fixture
def ann(org, now) -> Lead:  # type: ignore[no-untyped-def]
    """A sales-ready lead from Germany: routed to an EMEA rep, with its history."""
    lead = capture_lead({"email": "ann@acme.io", "first_name": "Ann", **HOT}, source="api", now=now)
    assert (lead.lead.team, lead.lead.stage) == (org.emea, "mql")
    return lead.lead


def test_the_admin_cannot_change_a_leads_stage_owner_or_team(org, admin_client, ann) -> None:
    change = url(Lead, "change", ann.pk)
    owner, history_before = ann.owner, StageChange.objects.filter(lead=ann).count()
    other_rep = org.rep2 if owner == org.rep1 else org.rep1
    data = form_data(admin_client.get(change))

    response = admin_client.post(
        change,
        {
            **data,
            "first_name": "Annie",
            "stage": "customer",
            "owner": other_rep.pk,
            "team": org.americas.pk,
            "score": 99,
            "sla_due_at_0": "2030-01-01",
            "merged_into": "",
        },
    )

    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.first_name == "Annie"  # a person's details may be corrected
    assert (ann.stage, ann.owner, ann.team) == ("mql", owner, org.emea)
    assert ann.score != 99
    assert StageChange.objects.filter(lead=ann).count() == history_before


def test_a_leads_country_is_chosen_from_the_list_and_stored_as_a_code(admin_client, ann) -> None:
    change = url(Lead, "change", ann.pk)
    data = form_data(admin_client.get(change))

    typed = admin_client.post(change, {**data, "country": "Deutschland"})
    chosen = admin_client.post(change, {**data, "country": "AT"})

    assert typed.status_code == 200  # refused: not one of the choices
    assert chosen.status_code == 302
    ann.refresh_from_db()
    assert ann.country == "AT"


def test_the_lead_admin_says_where_stage_and_owner_are_changed(admin_client, ann) -> None:
    page = admin_client.get(url(Lead, "change", ann.pk))
    html = page.content.decode()

    assert "They change on the lead's page in the app" in html
    assert f'href="{reverse("web:lead", args=[ann.pk])}"' in html
    form = page.context["adminform"].form
    for name in ("stage", "owner", "team", "score", "sla_due_at", "merged_into"):
        assert name not in form.fields, name
    assert {"first_name", "phone", "email"} <= set(form.fields)


def test_the_admin_cannot_win_or_lose_an_opportunity(org, admin_client, ann, now) -> None:
    accept_lead(ann, by=ann.owner, now=now)
    deal = convert_lead(ann, by=ann.owner, amount=Decimal("5000"), now=now)
    change = url(Opportunity, "change", deal.pk)
    data = form_data(admin_client.get(change))

    response = admin_client.post(
        change,
        {
            **data,
            "amount": "7500.00",
            "status": "won",
            "closed_at_0": "2026-11-20",
            "closed_at_1": "12:00",
        },
    )

    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.status, deal.closed_at, deal.amount) == ("open", None, Decimal("7500.00"))
    ann.refresh_from_db()
    assert ann.stage == "opportunity"
    assert admin_client.get(url(Opportunity, "add")).status_code == 403
    assert (
        admin_client.post(url(Opportunity, "delete", deal.pk), {"post": "yes"}).status_code == 403
    )


@pytest.fixture
def webinar_leads(org, now) -> int:  # type: ignore[no-untyped-def]
    for email in ("ann@acme.io", "bob@acme.io"):
        capture_lead({"email": email, **HOT}, source="web_form", campaign=org.webinar, now=now)
    return 2


def test_deleting_a_campaign_with_leads_is_refused_naming_how_many(
    org, admin_client, webinar_leads
) -> None:
    delete = url(Campaign, "delete", org.webinar.pk)

    page = admin_client.get(delete)
    response = admin_client.post(delete, {"post": "yes"})

    for answer in (page, response):
        html = answer.content.decode()
        assert answer.status_code == 200
        assert "has leads, so it cannot be deleted" in html
        assert "“Webinar” has 2 leads" in html
        assert 'name="post"' not in html  # no confirm button
    assert Campaign.objects.filter(pk=org.webinar.pk).exists()
    assert CampaignMember.objects.filter(campaign=org.webinar).count() == 2


def test_delete_selected_refuses_campaigns_with_leads_and_deletes_those_without(
    org, admin_client, webinar_leads
) -> None:
    empty = Campaign.objects.create(name="Trade show")
    changelist = url(Campaign, "changelist")
    both = {"action": "delete_selected", "_selected_action": [org.webinar.pk, empty.pk]}

    response = admin_client.post(changelist, {**both, "post": "yes"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Some of the selected campaigns have leads, so none was deleted" in html
    assert "“Webinar” has 2 leads" in html
    assert set(Campaign.objects.values_list("name", flat=True)) == {"Webinar", "Trade show"}

    alone = {"action": "delete_selected", "_selected_action": [empty.pk], "post": "yes"}
    assert admin_client.post(changelist, alone).status_code == 302
    assert set(Campaign.objects.values_list("name", flat=True)) == {"Webinar"}


def test_deleting_a_team_with_leads_is_refused_and_one_without_is_deleted(
    org, admin_client, ann
) -> None:
    empty = Team.objects.create(name="APAC")

    refused = admin_client.post(url(Team, "delete", org.emea.pk), {"post": "yes"})
    bulk = admin_client.post(
        url(Team, "changelist"),
        {"action": "delete_selected", "_selected_action": [org.emea.pk], "post": "yes"},
    )
    deleted = admin_client.post(url(Team, "delete", empty.pk), {"post": "yes"})

    assert refused.status_code == bulk.status_code == 200
    assert "“EMEA” has 1 lead:" in refused.content.decode()
    assert "“EMEA” has 1 lead:" in bulk.content.decode()
    assert deleted.status_code == 302
    assert set(Team.objects.values_list("name", flat=True)) == {"EMEA", "Americas"}
    ann.refresh_from_db()
    assert ann.team == org.emea


def test_deleting_a_user_who_owns_leads_is_refused(org, admin_client, ann) -> None:
    owner = ann.owner

    response = admin_client.post(url(type(owner), "delete", owner.pk), {"post": "yes"})

    assert response.status_code == 200
    assert f"“{owner.username}” owns 1 lead:" in response.content.decode()
    ann.refresh_from_db()
    assert ann.owner == owner
