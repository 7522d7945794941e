"""A lead outside someone's scope does not exist for them: page, writes, list and export.

The lead belongs to rep2 of EMEA. rep1 (same team, not the owner) and the Americas
manager must not reach it; marketing and admin see everything, but only sales work it.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from followup.models import Touch
from leads.models import Lead, StageChange

# role -> (sees the lead, may work it)
SCOPES = [
    ("rep1", False, False),
    ("us_manager", False, False),
    ("marketer", True, False),
    ("admin", True, True),
]


@pytest.fixture
def others_lead(org, make_lead) -> Lead:
    return make_lead("secret@acme.io", org.rep2, first_name="Secret")


@pytest.mark.parametrize(("role", "sees", "works"), SCOPES)
def test_lead_page_is_404_outside_scope(org, others_lead, client_for, role, sees, works) -> None:
    response = client_for(getattr(org, role)).get(reverse("web:lead", args=[others_lead.pk]))

    assert response.status_code == (200 if sees else 404)


@pytest.mark.parametrize(("role", "sees", "works"), SCOPES)
def test_touch_outside_scope_is_refused(org, others_lead, client_for, role, sees, works) -> None:
    response = client_for(getattr(org, role)).post(
        reverse("web:lead_touch", args=[others_lead.pk]), {"kind": "call"}
    )

    assert response.status_code == (302 if works else 403 if sees else 404)
    assert Touch.objects.filter(lead=others_lead).count() == (1 if works else 0)


@pytest.mark.parametrize(("role", "sees", "works"), SCOPES)
def test_transition_outside_scope_is_refused(
    org, others_lead, client_for, role, sees, works
) -> None:
    response = client_for(getattr(org, role)).post(
        reverse("web:lead_action", args=[others_lead.pk, "accept"])
    )

    assert response.status_code == (302 if works else 403 if sees else 404)
    others_lead.refresh_from_db()
    assert others_lead.stage == ("accepted" if works else "mql")


@pytest.mark.parametrize(("role", "sees", "works"), SCOPES)
def test_reassign_outside_scope_is_refused(org, others_lead, client_for, role, sees, works) -> None:
    response = client_for(getattr(org, role)).post(
        reverse("web:lead_reassign", args=[others_lead.pk]), {"to": "rep1"}
    )

    assert response.status_code == (302 if works else 403 if sees else 404)
    others_lead.refresh_from_db()
    assert others_lead.owner == (org.rep1 if works else org.rep2)


@pytest.mark.parametrize(("role", "sees", "works"), SCOPES)
def test_list_and_export_hold_only_leads_in_scope(
    org, make_lead, others_lead, client_for, role, sees, works
) -> None:
    make_lead("mine@acme.io", org.rep1)
    make_lead("us@acme.io", org.rep3)
    client = client_for(getattr(org, role))

    listed = {lead.email for lead in client.get(reverse("web:leads")).context["page"]}
    exported = client.get(reverse("web:leads_export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))

    expected = {
        "rep1": {"mine@acme.io"},
        "us_manager": {"us@acme.io"},
        "marketer": {"mine@acme.io", "us@acme.io", "secret@acme.io"},
        "admin": {"mine@acme.io", "us@acme.io", "secret@acme.io"},
    }[role]
    assert listed == expected
    assert {row["email"] for row in rows} == expected
    assert ("secret@acme.io" in listed) is sees


def test_rep_cannot_reassign_even_their_own_lead(org, make_lead, client_for) -> None:
    lead = make_lead("mine@acme.io", org.rep1)

    response = client_for(org.rep1).post(
        reverse("web:lead_reassign", args=[lead.pk]), {"to": "rep2"}
    )

    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner == org.rep1


def test_manager_cannot_give_a_lead_to_another_teams_rep(org, make_lead, client_for) -> None:
    lead = make_lead("mine@acme.io", org.rep1)

    response = client_for(org.manager).post(
        reverse("web:lead_reassign", args=[lead.pk]), {"to": "rep3"}
    )

    assert response.status_code == 400
    assert b"&#x27;rep3&#x27; is not a rep you may give this lead to" in response.content
    assert Lead.objects.get(pk=lead.pk).owner == org.rep1
    assert not StageChange.objects.filter(lead=lead, to_stage="accepted").exists()
