"""Reassigning from the lead page or the team page writes the lead's history, and the
lead page's timeline tells every assignment."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from routing.models import Assignment

FIELDS = ("from_owner", "to_owner", "from_team", "to_team", "assigned_by", "how", "reason")


@pytest.fixture
def named(org: Any) -> Any:
    for user, first, last in ((org.rep1, "Rep", "One"), (org.rep2, "Rep", "Two"),
                              (org.manager, "Ana", "Manager")):  # fmt: skip
        user.first_name, user.last_name = first, last
        user.save()
    return org


def reassignments(lead: Any) -> list[tuple[Any, ...]]:
    return list(Assignment.objects.filter(lead=lead, how="reassigned").values_list(*FIELDS))


def test_the_lead_page_reassigns_with_a_reason_and_the_timeline_says_so(
    named: Any, make_lead: Any, client_for: Any
) -> None:
    lead = make_lead("ann@acme.io", named.rep1)
    client = client_for(named.manager)
    before = timezone.now()

    response = client.post(
        reverse("web:lead_reassign", args=[lead.pk]),
        {"to": named.rep2.username, "reason": " Rep One is on leave "},
    )

    assert response.status_code == 302
    assert reassignments(lead) == [
        (named.rep1.pk, named.rep2.pk, named.emea.pk, named.emea.pk, named.manager.pk,
         "reassigned", "Rep One is on leave"),
    ]  # fmt: skip
    assert before <= Assignment.objects.get(how="reassigned").assigned_at <= timezone.now()
    page = client.get(response["Location"])
    newest = page.context["timeline"][0]
    assert (newest.kind, newest.title, newest.who, newest.detail) == (
        "assignment",
        "Reassigned from Rep One to Rep Two",
        "Ana Manager",
        "Rep One is on leave",
    )
    assert b'name="reason"' in page.content


def test_the_team_pages_give_button_reassigns_without_a_reason(
    named: Any, make_lead: Any, client_for: Any
) -> None:
    lead = make_lead("ann@acme.io", named.rep1)

    response = client_for(named.manager).post(
        reverse("web:lead_reassign", args=[lead.pk]), {"to": named.rep2.username, "next": "/"}
    )

    assert (response.status_code, response["Location"]) == (302, "/")
    assert reassignments(lead) == [
        (named.rep1.pk, named.rep2.pk, named.emea.pk, named.emea.pk, named.manager.pk,
         "reassigned", ""),
    ]  # fmt: skip


def test_giving_a_lead_to_its_owner_writes_nothing(
    named: Any, make_lead: Any, client_for: Any
) -> None:
    lead = make_lead("ann@acme.io", named.rep1)

    client_for(named.manager).post(
        reverse("web:lead_reassign", args=[lead.pk]), {"to": named.rep1.username, "next": "/"}
    )

    assert reassignments(lead) == []


def test_a_reason_too_long_is_a_form_error_and_changes_nothing(
    named: Any, make_lead: Any, client_for: Any
) -> None:
    lead = make_lead("ann@acme.io", named.rep1)

    response = client_for(named.manager).post(
        reverse("web:lead_reassign", args=[lead.pk]),
        {"to": named.rep2.username, "reason": "x" * 301},
    )

    assert response.status_code == 400
    assert response.context["reassign_form"].errors["reason"]
    assert reassignments(lead) == []


def test_the_timeline_shows_routing_above_the_move_that_caused_it(
    named: Any, make_lead: Any, client_for: Any
) -> None:
    lead = make_lead("ann@acme.io", None)  # captured and routed, then left in the queue

    page = client_for(named.rep1).get(reverse("web:lead", args=[lead.pk]))

    entries = [(e.kind, e.title, e.who) for e in page.context["timeline"]]
    assert entries[:3] == [
        ("assignment", "Assigned to Rep One (round robin in team EMEA)", ""),
        ("stage", "New → MQL", ""),
        ("stage", "arrived → New", ""),
    ]
    assert "Assigned to Rep One (round robin in team EMEA)" in page.content.decode()


def test_a_rep_who_calls_a_queued_lead_takes_it(
    named: Any, make_lead: Any, client_for: Any
) -> None:
    lead = make_lead("ann@acme.io", None)
    client = client_for(named.rep2)

    client.post(reverse("web:lead_touch", args=[lead.pk]), {"kind": "call"})

    taken = Assignment.objects.filter(lead=lead, how="claimed").values_list(*FIELDS)
    assert list(taken) == [
        (None, named.rep2.pk, named.emea.pk, named.emea.pk, named.rep2.pk, "claimed", ""),
    ]
    page = client.get(reverse("web:lead", args=[lead.pk]))
    newest = page.context["timeline"][0]
    assert (newest.title, newest.who) == ("Taken from team EMEA's queue", "Rep Two")
