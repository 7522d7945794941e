"""The team page's SLA policies and holiday calendar, and the email choices on My
settings: the same services as the API and the CLI, refusals next to the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from routing.models import SlaPolicy
from users.models import User

GRADE_A = {
    "name": "Grade A",
    "grades": ["A"],
    "marquee": "on",
    "hours": "1",
    "remind_before_minutes": "15",
    "reassign_after_hours": "2",
    "recycle_after_hours": "8",
}


def test_a_manager_adds_a_policy_and_the_team_page_lists_it(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.manager)

    added = client.post(reverse("web:sla_policy_new", args=[org.emea.pk]), GRADE_A)
    page = client.get(reverse("web:team", args=[org.emea.pk])).content.decode()

    assert added.status_code == 302
    policy = SlaPolicy.objects.get()
    assert (policy.grades, policy.marquee, policy.hours, policy.recycle_after_hours) == (
        ["A"], True, 1, 8,
    )  # fmt: skip
    assert "Grade A" in page
    assert "grade A, marquee accounts" in page
    assert "Team default" in page


def test_a_manager_changes_and_removes_a_policy(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.manager)
    client.post(reverse("web:sla_policy_new", args=[org.emea.pk]), GRADE_A)
    policy = SlaPolicy.objects.get()
    url = reverse("web:sla_policy", args=[org.emea.pk, policy.pk])

    changed = client.post(url, {**GRADE_A, "hours": "2", "recycle_after_hours": ""})
    policy.refresh_from_db()
    assert changed.status_code == 302
    assert (policy.hours, policy.recycle_after_hours) == (2, None)

    assert client.post(url, {"delete": "1"}).status_code == 302
    assert not SlaPolicy.objects.exists()


def test_a_bad_ladder_is_refused_next_to_its_field(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    bad = client_for(org.admin).post(
        reverse("web:sla_policy_new", args=[org.emea.pk]),
        {**GRADE_A, "reassign_after_hours": "8", "recycle_after_hours": "4"},
    )

    assert bad.status_code == 400
    assert bad.context["form"].errors == {
        "recycle_after_hours": ["the hand-back must come after the reassignment"]
    }
    assert not SlaPolicy.objects.exists()


def test_another_teams_policies_are_out_of_reach(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    url = reverse("web:sla_policy_new", args=[org.americas.pk])

    assert client_for(org.manager).post(url, GRADE_A).status_code == 404
    assert (
        client_for(org.rep1).get(reverse("web:sla_policy_new", args=[org.emea.pk])).status_code
        == 404
    )


def test_a_teams_public_holidays_are_set_on_its_page(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    form = {
        "timezone": "Europe/Berlin", "workday_start": "09:00", "workday_end": "17:00",
        "workdays": ["0", "1", "2", "3", "4"], "holidays": "", "countries": "DE",
        "sla_hours": "24", "holiday_country": "DE", "holiday_region": "BY",
    }  # fmt: skip
    client = client_for(org.manager)

    saved = client.post(reverse("web:team", args=[org.emea.pk]), form)
    bad = client.post(reverse("web:team", args=[org.emea.pk]), {**form, "holiday_region": "XX"})

    assert saved.status_code == 302
    org.emea.refresh_from_db()
    assert (org.emea.holiday_country, org.emea.holiday_region) == ("DE", "BY")
    assert bad.status_code == 400
    assert list(bad.context["form"].errors) == ["holiday_region"]


def test_a_rep_chooses_which_notifications_come_by_email(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    org.rep1.email = "rep1@example.io"
    org.rep1.save()
    client = client_for(org.rep1)

    page = client.get(reverse("web:my_settings")).content.decode()
    # Ticked: new leads and reminders; unticked: everything else, the breach included.
    saved = client.post(
        reverse("web:my_settings"), {"form": "email", "assigned": "on", "sla_reminder": "on"}
    )

    assert "Email me about" in page
    assert saved.status_code == 302
    org.rep1.refresh_from_db()
    assert org.rep1.wants_email("assigned") is True
    assert org.rep1.wants_email("sla_reminder") is True
    assert org.rep1.wants_email("sla_breach") is False
