"""Hot pages run a fixed number of queries, however many rows they show."""

from __future__ import annotations

import pytest
from django.urls import reverse

from followup.services import record_touch
from routing.services import reassign_lead
from users.models import Notification

# session, user, unread count, and the page's own reads
MAX_QUERIES = {
    # One COUNT per paged list (the rep's own leads and the team queue; the team list):
    # the pills show true totals, not the length of a page.
    "rep_home": 8,
    "manager_home": 7,
    "marketing_home": 6,
    # +2: the List filter's choices and the static lists of the bulk action; +1 the
    # programs of the bulk enrolment.
    "leads": 10,
    # The SLA rungs taken are one more read of the timeline; the follow-up panel four
    # (the cadence run, the next task, the attempts, the team's minimum); the score
    # history (the chart) one; the consent card three (the current answers, the purposes,
    # the history).
    "lead": 20,
    # session, user, top bar, the team's reps (managers), the count, the page of tasks.
    "today": 6,
}


@pytest.mark.parametrize("rows", [1, 12])
def test_rep_inbox_queries_do_not_grow_with_rows(
    org, make_lead, client_for, django_assert_max_num_queries, rows
) -> None:
    for i in range(rows):
        make_lead(f"mine{i}@acme.io", org.rep1, days_ago=i)
        make_lead(f"queue{i}@acme.io", None)
    client = client_for(org.rep1)

    with django_assert_max_num_queries(MAX_QUERIES["rep_home"]):
        response = client.get(reverse("web:home"))

    assert len(response.context["mine"]) == rows
    assert len(response.context["queue"]) == rows


@pytest.mark.parametrize("rows", [1, 12])
def test_manager_inbox_queries_do_not_grow_with_rows(
    org, make_lead, client_for, django_assert_max_num_queries, rows
) -> None:
    for i in range(rows):
        make_lead(f"a{i}@acme.io", org.rep1 if i % 2 else org.rep2, days_ago=i)
    client = client_for(org.manager)

    with django_assert_max_num_queries(MAX_QUERIES["manager_home"]):
        response = client.get(reverse("web:home"))

    assert len(response.context["rows"]) == rows


@pytest.mark.parametrize("rows", [1, 12])
def test_overview_and_list_queries_do_not_grow_with_rows(
    org, make_lead, client_for, django_assert_max_num_queries, rows
) -> None:
    for i in range(rows):
        make_lead(f"a{i}@acme.io", org.rep1, company_name="Acme")
    client = client_for(org.marketer)

    with django_assert_max_num_queries(MAX_QUERIES["marketing_home"]):
        client.get(reverse("web:home"))
    with django_assert_max_num_queries(MAX_QUERIES["leads"]):
        response = client.get(reverse("web:leads"), {"campaign": "", "q": "acme"})

    assert response.context["total"] == rows


@pytest.mark.parametrize("touches", [1, 12])
def test_lead_page_queries_do_not_grow_with_its_history(
    org, make_lead, client_for, django_assert_max_num_queries, real_now, touches
) -> None:
    lead = make_lead("ann@acme.io", org.rep1, days_ago=1)
    for _ in range(touches):
        record_touch(lead, by=org.rep1, kind="call", now=real_now)
        reassign_lead(lead, org.rep2, now=real_now, by=org.manager)
        reassign_lead(lead, org.rep1, now=real_now, by=org.manager)
    Notification.objects.create(
        recipient=org.rep1, kind="x", message="m", dedupe_key="k", created_at=real_now
    )
    client = client_for(org.rep1)

    with django_assert_max_num_queries(MAX_QUERIES["lead"]):
        response = client.get(reverse("web:lead", args=[lead.pk]))

    kinds = [entry.kind for entry in response.context["timeline"]]
    assert kinds.count("touch") == touches
    # routed on capture, given to rep1, then to rep2 and back each time
    assert kinds.count("assignment") == 2 + 2 * touches


@pytest.mark.parametrize("rows", [1, 12])
def test_today_queries_do_not_grow_with_tasks(
    org, make_lead, client_for, django_assert_max_num_queries, rows
) -> None:
    for i in range(rows):
        make_lead(f"t{i}@acme.io", org.rep1 if i % 2 else org.rep2, days_ago=i)

    for viewer, expected in ((org.rep1, rows // 2), (org.manager, rows)):
        client = client_for(viewer)
        with django_assert_max_num_queries(MAX_QUERIES["today"]):
            response = client.get(reverse("web:today"))
        assert len(response.context["rows"]) == expected
