"""Amounts people read say their currency (LEADLOOP_CURRENCY): a lead's budget, its deals,
the forms that ask for an amount or a budget, the merge screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from capture.models import WebForm
from followup.services import accept_lead
from identity.models import DuplicateCandidate
from leads.models import Lead
from users.models import User


def test_a_leads_budget_and_deal_forms_say_the_currency(
    org: Any,
    make_lead: Callable[..., Lead],
    client_for: Callable[[User], Client],
    settings: Any,
    real_now: Any,
) -> None:
    settings.LEADLOOP_CURRENCY = "USD"
    lead = make_lead("ann@acme.io", org.rep1)
    accept_lead(lead, by=org.rep1, now=real_now)

    page = client_for(org.rep1).get(reverse("web:lead", args=[lead.pk])).content.decode()

    assert '<dd id="lead-budget">20000.00 USD</dd>' in page
    assert "Expected amount (USD)" in page


def test_the_public_forms_budget_says_the_currency(db: None, client: Client, settings: Any) -> None:
    settings.LEADLOOP_CURRENCY = "CHF"
    WebForm.objects.create(name="Demo", slug="demo", fields=["email", "budget"])

    page = client.get("/f/demo/").content.decode()

    assert "Budget (CHF)" in page


def test_the_merge_screen_shows_budgets_with_the_currency(
    org: Any, make_lead: Callable[..., Lead], client_for: Callable[[User], Client], settings: Any
) -> None:
    settings.LEADLOOP_CURRENCY = "GBP"
    make_lead("ann@acme.io", org.rep1, first_name="Ann", last_name="Lee", phone="+49 30 1234567")
    make_lead(
        "ann.lee@gmail.com", org.rep1, first_name="Ann", last_name="Lee", phone="030 1234567",
        budget="5000",
    )  # fmt: skip
    candidate = DuplicateCandidate.objects.get()

    response = client_for(org.rep1).get(reverse("web:duplicate", args=[candidate.pk]))

    rows = {row["key"]: row for row in response.context["rows"]}
    assert sorted([*rows["budget"]["first"], *rows["budget"]["second"]]) == [
        "20000.00 GBP",
        "5000.00 GBP",
    ]
