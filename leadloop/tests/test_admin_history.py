"""The admin does not go around history: history rows are only looked at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from capture.models import Submission, WebhookDelivery, WebhookSource
from capture.services import EventInput, capture_lead, record_events
from capture.webhook_sources import DeliveryReport, record_webhook_delivery
from conftest import HOT
from followup.models import Touch
from followup.services import record_touch
from identity.merging import merge_leads
from identity.models import MergeRecord
from imports.models import ImportJob
from imports.pipeline import ImportOptions
from imports.services import create_import_job
from leads.models import CampaignMember, StageChange
from qualify.models import Event

HISTORY: list[type[Model]] = [
    StageChange,
    Touch,
    Event,
    Submission,
    CampaignMember,
    MergeRecord,
    WebhookDelivery,
    ImportJob,
]


def url(model: type[Model], view: str, *args: Any) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


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
