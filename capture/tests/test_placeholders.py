"""What a drop-down nobody answered says ("Select", "-- Select --", "N/A") is no answer, at
every door: the API, the public form and webhooks (imports: imports/tests/test_import_keeps.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from capture.models import WebForm
from capture.rules import check_lead_fields, is_placeholder
from capture.webhooks import map_payload
from conftest import bearer
from leads.models import Lead

from .webhook_samples import FLAT_FORM, FLAT_MAPPING


@pytest.fixture(autouse=True)
def fresh_rate_limit(db: None) -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize(
    ("raw", "field", "placeholder"),
    [
        ("Select", "", True),
        ("-- Select --", "timeline", True),
        ("Please select…", "authority", True),
        ("N/A", "", True),
        ("none", "industry", True),
        ("-", "", True),
        ("none", "authority", False),  # an authority of "none": no buying authority
        ("Na", "last_name", False),  # people are called Na, Nil or Null
        ("N/A", "last_name", True),
        ("Selected Works", "", False),
        ("ドイツ", "country", False),
        (3, "employees", False),
    ],
)
def test_a_placeholder_is_a_value_that_only_says_nothing_was_chosen(
    raw: Any, field: str, placeholder: bool
) -> None:
    assert is_placeholder(raw, field) is placeholder


def test_placeholders_clean_to_nothing_and_raise_no_error() -> None:
    cleaned, errors = check_lead_fields(
        {
            "email": "ann@acme.io",
            "authority": "-- Select --",
            "timeline": "Select",
            "country": "Please select",
            "employees": "N/A",
            "industry": "none",
            "custom_fields": {"specialization": "Select", "city": "Mumbai"},
        }
    )

    assert errors == []
    assert cleaned == {"email": "ann@acme.io", "custom_fields": {"city": "Mumbai"}}


def test_the_api_takes_a_placeholder_as_no_answer(
    org: Any, clock: datetime, client: Client
) -> None:
    response = client.post(
        "/api/v1/leads",
        {
            "email": "ann@acme.io",
            "authority": "Select",
            "timeline": "-- Select --",
            "country": "N/A",
            "custom_fields": {"lead_profile": "Select"},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.marketer),
    )

    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.authority, lead.timeline, lead.country, lead.custom_fields) == ("", "", "", {})


def test_the_public_form_takes_a_placeholder_as_no_answer(org: Any, client: Client) -> None:
    WebForm.objects.create(
        slug="demo", name="Request a demo", fields=["email", "timeline", "country"]
    )

    response = client.post(
        reverse("capture:form", args=["demo"]),
        {"email": "ann@acme.io", "timeline": "-- Select --", "country": "Select"},
    )

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.timeline, lead.country) == ("", "")


def test_a_webhook_delivery_takes_a_placeholder_as_no_answer() -> None:
    payload = {
        **FLAT_FORM,
        "q6_timeline": "-- Select --",
        "q7_country": "Please select",
        "q8_industry": "N/A",
    }
    mapping = {
        **FLAT_MAPPING,
        "lead": {
            **FLAT_MAPPING["lead"],
            "timeline": "q6_timeline",
            "country": "q7_country",
            "industry": "q8_industry",
        },
    }

    mapped, errors = map_payload(payload, mapping, now=datetime(2026, 11, 16, 10, tzinfo=UTC))

    assert errors == []
    assert mapped[0].lead == {"first_name": "Li", "last_name": "Wu"}
