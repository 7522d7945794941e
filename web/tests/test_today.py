"""The Today page: a rep's tasks in the order to do them, completing one brings up the
next (htmx), a manager looks at one rep, nobody completes another rep's task."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from followup.models import Enrolment, Task
from leads.models import Lead

pytestmark = pytest.mark.django_db


def open_task(lead: Lead) -> Task:
    return Task.objects.get(lead=lead, status="open")


def test_a_rep_sees_their_tasks_most_urgent_first(
    org: Any, make_lead: Any, client_for: Any
) -> None:
    make_lead("old@acme.io", org.rep1, days_ago=3, first_name="Olga")
    fresh = make_lead("new@acme.io", org.rep1, first_name="Fred")
    Lead.objects.filter(pk=fresh.pk).update(grade="A")
    make_lead("theirs@acme.io", org.rep2, first_name="Theo")

    response = client_for(org.rep1).get(reverse("web:today"))

    assert response.status_code == 200
    rows = [row.task.lead.first_name for row in response.context["rows"]]
    # Olga's first-touch deadline is nearer (she arrived 3 days ago) than Fred's.
    assert rows == ["Olga", "Fred"]
    assert b'href="/today/" aria-current="page"' in response.content


def test_completing_a_task_logs_the_touch_and_shows_the_next(
    org: Any, make_lead: Any, client_for: Any
) -> None:
    lead = make_lead("ann@acme.io", org.rep1, first_name="Ann")
    call = open_task(lead)

    response = client_for(org.rep1).post(
        reverse("web:task_complete", args=[call.pk]),
        {f"task-{call.pk}-outcome": "left_voicemail", f"task-{call.pk}-notes": "back at 3"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert "Call with Ann logged: Left voicemail. Next: Email, due" in text
    following = open_task(lead)
    assert following.channel == "email"
    assert f'id="task-{following.pk}"' in text
    assert lead.touches.get().outcome == "left_voicemail"


def test_a_task_without_its_outcome_is_refused_on_the_page(
    org: Any, make_lead: Any, client_for: Any
) -> None:
    call = open_task(make_lead("ann@acme.io", org.rep1))

    response = client_for(org.rep1).post(
        reverse("web:task_complete", args=[call.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 400
    assert "say how it went: one of connected" in response.content.decode()
    assert open_task(call.lead) == call


def test_another_rep_cannot_see_or_complete_the_task(
    org: Any, make_lead: Any, client_for: Any
) -> None:
    call = open_task(make_lead("ann@acme.io", org.rep1))

    for outsider in (org.rep2, org.us_manager):
        response = client_for(outsider).post(
            reverse("web:task_complete", args=[call.pk]), {f"task-{call.pk}-outcome": "connected"}
        )
        assert response.status_code == 404
    assert client_for(org.marketer).get(reverse("web:today")).status_code == 403
    assert open_task(call.lead) == call


def test_a_manager_sees_the_team_and_filters_to_one_rep(
    org: Any, make_lead: Any, client_for: Any
) -> None:
    make_lead("ann@acme.io", org.rep1, first_name="Ann")
    make_lead("bob@acme.io", org.rep2, first_name="Bob")
    make_lead("cy@acme.io", org.rep3, first_name="Cy", country="US")
    client = client_for(org.manager)

    team = client.get(reverse("web:today"))
    one = client.get(reverse("web:today"), {"rep": "rep2"})

    assert sorted(r.task.lead.first_name for r in team.context["rows"]) == ["Ann", "Bob"]
    assert [r.task.lead.first_name for r in one.context["rows"]] == ["Bob"]


def test_rejecting_for_no_response_too_early_says_what_is_missing(
    org: Any, make_lead: Any, client_for: Any
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    client = client_for(org.rep1)
    client.post(reverse("web:lead_touch", args=[lead.pk]), {"kind": "call", "outcome": "no_answer"})

    response = client.post(
        reverse("web:lead_action", args=[lead.pk, "reject"]), {"reject-reason": "no response"}
    )

    assert response.status_code == 400
    assert "not yet: 1 of 6 attempts, only calls so far" in response.content.decode()
    # The lead's follow-up panel says where it stands, and what is up next.
    page = client.get(reverse("web:lead", args=[lead.pk])).content.decode()
    assert "Attempts: 1 of 6 attempts, only calls so far. Not yet droppable" in page
    assert 'Next: <span class="badge blue">Email</span> step 2 of 6' in page
    assert Enrolment.objects.get(lead=lead).status == "active"
