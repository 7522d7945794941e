"""The CSV export in people's words: labels, owners' names, the viewer's zone, the
qualification answers, the currency, and custom fields on request."""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from leads.models import Lead
from users.models import User


def export(client: Client, **params: Any) -> list[dict[str, str]]:
    response = client.get(reverse("web:leads_export"), params)
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(body)))


def test_the_export_speaks_peoples_words(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client], settings: Any
) -> None:
    settings.LEADLOOP_CURRENCY = "USD"
    User.objects.filter(pk=org.rep1.pk).update(
        first_name="Rita", last_name="Rep", timezone="Europe/Berlin"
    )
    lead = make_lead("ann@acme.io", org.rep1, custom_fields={"shoe_size": "42", "email": "x"})
    org.rep1.refresh_from_db()
    client = client_for(org.rep1)

    plain = export(client)
    custom = export(client, custom_fields="1")

    row = plain[0]
    words = ("stage", "segment", "owner", "need", "authority", "timeline", "country")
    assert {k: row[k] for k in words} == {
        "country": "Germany",
        "stage": "MQL",
        "segment": "Sales-ready",
        "owner": "Rita Rep",
        "need": "replace our spreadsheet",
        "authority": "Decision maker",
        "timeline": "Now",
    }
    assert row["budget (USD)"] == "20000.00"
    assert row["source"] == "API"
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert row["arrived_at"] == lead.arrived_at.astimezone(berlin).isoformat(timespec="seconds")
    assert "shoe_size" not in row
    assert (custom[0]["shoe_size"], custom[0]["custom: email"], custom[0]["email"]) == (
        "42",
        "x",
        "ann@acme.io",
    )


def test_custom_fields_are_neutralised_too(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client]
) -> None:
    make_lead("ann@acme.io", org.rep1, custom_fields={"=evil": "+1+1"})

    rows = export(client_for(org.rep1), custom_fields="1")

    assert rows[0]["'=evil"] == "'+1+1"
