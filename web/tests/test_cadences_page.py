"""The cadences page: managers write cadences, rules and their team's minimum attempts;
reps read them; the same services as the API and the CLI decide."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from followup.models import AttemptPolicy, Cadence, CadenceRule

pytestmark = pytest.mark.django_db


def test_a_manager_creates_a_cadence_from_lines(org: Any, client_for: Any) -> None:
    client = client_for(org.manager)

    response = client.post(
        reverse("web:cadence_new"),
        {"name": "Enterprise", "steps": "0 call: call at once\n1 linkedin: connect\n3 email"},
    )

    assert response.status_code == 302
    cadence = Cadence.objects.get(name="Enterprise")
    assert [(s.day_offset, s.channel, s.instructions) for s in cadence.steps.all()] == [
        (0, "call", "call at once"),
        (1, "linkedin", "connect"),
        (3, "email", ""),
    ]
    page = client.get(reverse("web:cadences"))
    assert "Enterprise" in page.content.decode()
    assert b'href="/cadences/" aria-current="page"' in page.content


def test_a_bad_step_line_is_named(org: Any, client_for: Any) -> None:
    response = client_for(org.manager).post(
        reverse("web:cadence_new"), {"name": "Odd", "steps": "0 call\n2 fax"}
    )

    assert response.status_code == 400
    assert "line 2: &#x27;fax&#x27; is no channel" in response.content.decode()


def test_steps_out_of_order_are_refused(org: Any, client_for: Any) -> None:
    response = client_for(org.manager).post(
        reverse("web:cadence_new"), {"name": "Odd", "steps": "3 call\n1 email"}
    )

    assert response.status_code == 400
    assert "day 1 comes before the step above it" in response.content.decode()


def test_a_manager_orders_the_rules_and_sets_the_teams_minimum(org: Any, client_for: Any) -> None:
    client = client_for(org.manager)
    rules = {
        "rules-TOTAL_FORMS": "2", "rules-INITIAL_FORMS": "0",
        "rules-0-cadence": "Standard follow-up", "rules-0-grade": "A",
        "rules-1-cadence": "",
    }  # fmt: skip

    assert client.post(reverse("web:cadence_rules"), rules).status_code == 302
    policy = client.post(
        reverse("web:attempt_policy", args=[org.emea.pk]),
        {f"team-{org.emea.pk}-min_attempts": "5", f"team-{org.emea.pk}-min_channels": "3"},
    )
    other = client.post(
        reverse("web:attempt_policy", args=[org.americas.pk]),
        {f"team-{org.americas.pk}-min_attempts": "1", f"team-{org.americas.pk}-min_channels": "1"},
    )

    assert list(CadenceRule.objects.values_list("grade", flat=True)) == ["A"]
    assert policy.status_code == 302
    assert AttemptPolicy.objects.get(team=org.emea).min_channels == 3
    assert other.status_code == 403
    assert not AttemptPolicy.objects.filter(team=org.americas).exists()


def test_reps_read_and_may_not_change(org: Any, client_for: Any) -> None:
    client = client_for(org.rep1)

    assert client.get(reverse("web:cadences")).status_code == 200
    assert client.get(reverse("web:cadence_new")).status_code == 403
    default = Cadence.objects.get(is_default=True)
    response = client.post(
        reverse("web:cadence_edit", args=[default.pk]), {"name": "Mine", "steps": "0 call"}
    )
    assert response.status_code == 403
    assert client_for(org.marketer).get(reverse("web:cadences")).status_code == 403
