"""The routing screens: rules on /routing/, leave on My settings and a person's page, the
open-lead cap, and the lead page saying who routed it how (and, for managers, why)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.test import Client
from django.urls import reverse

from capture.services import capture_lead
from conftest import HOT
from routing.models import RoutingRule
from users.models import Leave, User


def test_a_manager_adds_a_rule_and_the_lead_page_says_it_decided(
    org: Any, client_for: Callable[[User], Client], clock: Any
) -> None:
    client = client_for(org.manager)
    added = client.post(reverse("web:routing"), {
        "name": "DACH enterprise", "conditions": "country in DE, AT, CH\nemployees at_least 100",
        "target": "team", "to_team": org.emea.pk, "is_active": "on",
    })  # fmt: skip
    lead = capture_lead(
        {"email": "a@acme.io", **HOT, "employees": 500}, source="api", now=clock
    ).lead

    page = client.get(reverse("web:lead", args=[lead.pk]))
    rep_page = client_for(org.rep1).get(reverse("web:lead", args=[lead.pk]))

    assert added.status_code == 302
    assert list(RoutingRule.objects.values_list("name", "conditions")) == [
        ("DACH enterprise", [
            {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
            {"field": "employees", "op": "at_least", "value": "100"},
        ]),
    ]  # fmt: skip
    text = page.content.decode()
    assert "Assigned to rep1 by rule &#x27;DACH enterprise&#x27; (round robin in team EMEA)" in text
    assert 'id="routing-explain"' in text
    assert "rule &#x27;DACH enterprise&#x27;: matches" in text
    rep_text = rep_page.content.decode()
    assert "by rule &#x27;DACH enterprise&#x27;" in rep_text
    assert 'id="routing-explain"' not in rep_text


def test_a_bad_condition_is_shown_next_to_the_field(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    response = client_for(org.manager).post(reverse("web:routing"), {
        "name": "Bad", "conditions": "country\nshoe_size is 9", "target": "team",
        "to_team": org.emea.pk,
    })  # fmt: skip

    assert response.status_code == 400
    errors = response.context["form"].errors["conditions"]
    assert errors == ["line 1: 'country' is not 'field operator value'"]
    assert not RoutingRule.objects.exists()


def test_reps_and_marketing_have_no_routing_page(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    assert client_for(org.rep1).get(reverse("web:routing")).status_code == 404
    assert client_for(org.marketer).get(reverse("web:routing")).status_code == 404
    assert client_for(org.admin).get(reverse("web:routing")).status_code == 200


def test_rules_move_up_and_are_removed(
    org: Any, client_for: Callable[[User], Client], now: Any
) -> None:
    from routing.rulebook import create_rule

    first = create_rule(
        by=org.manager, now=now, name="One", conditions=[], target="team", to_team=org.emea
    )
    second = create_rule(
        by=org.manager, now=now, name="Two", conditions=[], target="queue", to_team=org.emea
    )
    client = client_for(org.manager)

    client.post(reverse("web:routing_rule_move", args=[second.pk]), {"direction": "up"})
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Two", "One"]
    client.post(reverse("web:routing_rule_delete", args=[first.pk]))
    assert list(RoutingRule.objects.values_list("name", "position")) == [("Two", 1)]


def test_a_rep_sets_their_own_leave_on_my_settings(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.rep1)
    response = client.post(
        reverse("web:leave_add", args=[org.rep1.pk]),
        {"starts_on": "2026-12-24", "ends_on": "2026-12-31", "note": "holidays"},
    )
    backwards = client.post(
        reverse("web:leave_add", args=[org.rep1.pk]),
        {"starts_on": "2026-12-24", "ends_on": "2026-12-01"},
    )
    others = client.post(
        reverse("web:leave_add", args=[org.rep2.pk]),
        {"starts_on": "2026-12-24", "ends_on": "2026-12-31"},
    )
    page = client.get(reverse("web:my_settings"))

    assert response.status_code == 302
    assert backwards.status_code == 400
    assert backwards.context["leave_form"].errors["ends_on"] == [
        "the leave must end on or after the day it starts"
    ]
    assert others.status_code == 404
    assert list(Leave.objects.values_list("user__username", "starts_on")) == [
        ("rep1", date(2026, 12, 24))
    ]
    assert "Thu 24 Dec 2026 – Thu 31 Dec 2026 · holidays" in page.content.decode()


def test_a_manager_sets_a_reps_cap_and_leave_on_the_person_page(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.manager)
    url = reverse("web:person", args=[org.rep1.pk])

    saved = client.post(
        url, {"is_accepting_leads": "on", "max_open_leads": "12", "timezone": "UTC"}
    )
    leave = client.post(
        reverse("web:leave_add", args=[org.rep1.pk]),
        {"starts_on": "2026-12-24", "ends_on": "2026-12-26"},
    )
    page = client.get(url)
    cancelled = client.post(reverse("web:leave_cancel", args=[Leave.objects.get().pk]))

    assert (saved.status_code, leave.status_code, cancelled.status_code) == (302, 302, 302)
    assert leave["Location"] == url
    org.rep1.refresh_from_db()
    assert org.rep1.max_open_leads == 12
    assert 'id="leave-form"' in page.content.decode()
    assert not Leave.objects.exists()
