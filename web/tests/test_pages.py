"""Every page renders for every role, with what that role is there for."""

from __future__ import annotations

import zoneinfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from capture.models import WebForm
from identity.queries import lead_ids_with_phone
from leads.models import Lead
from users.models import Notification

ROLES = ["rep1", "manager", "marketer", "admin"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "page",
    [
        "web:home", "web:leads", "web:funnel", "web:notifications", "web:forms",
        "web:campaigns", "web:duplicates", "web:merges", "web:my_settings",
    ],
)  # fmt: skip
def test_each_page_renders_for_each_role(org, make_lead, client_for, role, page) -> None:
    make_lead("ann@acme.io", org.rep1, first_name="Ann")
    # A free-mail lead has no account and no company: pages must not trip over that.
    make_lead("bob@gmail.com", org.rep1, first_name="Bob")
    make_lead("cy@gmail.com", None, first_name="Cy")
    WebForm.objects.create(slug="demo", name="Demo request", fields=["email"])

    response = client_for(getattr(org, role)).get(reverse(page))

    assert response.status_code == 200
    assert b'class="nav"' in response.content
    assert b"Times shown in UTC." in response.content


@pytest.mark.parametrize("role", ROLES)
def test_lead_page_renders_for_each_role_that_sees_it(org, make_lead, client_for, role) -> None:
    lead = make_lead("ann@acme.io", org.rep1, first_name="Ann", last_name="Lee")

    response = client_for(getattr(org, role)).get(reverse("web:lead", args=[lead.pk]))

    assert response.status_code == 200
    assert b"Ann Lee" in response.content
    assert b'id="timeline"' in response.content


def test_pages_need_a_login(client, org) -> None:
    response = client.get(reverse("web:home"))

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_login_page_logs_in_and_lands_on_the_inbox(client, org) -> None:
    page = client.get(reverse("web:login"))
    response = client.post(reverse("web:login"), {"username": "rep1", "password": "pass-rep1"})

    assert page.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_log_out_is_a_post(org, client_for) -> None:
    client = client_for(org.rep1)

    response = client.post(reverse("web:logout"))

    assert response.status_code == 302
    assert client.get(reverse("web:home")).status_code == 302


def test_rep_inbox_lists_own_leads_by_deadline_and_the_team_queue(
    org, make_lead, client_for
) -> None:
    make_lead("fresh@acme.io", org.rep1, days_ago=0, first_name="Fresh")
    make_lead("oldest@acme.io", org.rep1, days_ago=10, first_name="Oldest")
    make_lead("older@acme.io", org.rep1, days_ago=8, first_name="Older")
    make_lead("queued@acme.io", None, first_name="Queued")
    make_lead("other@acme.io", org.rep2, first_name="Other")

    response = client_for(org.rep1).get(reverse("web:home"))

    mine, queue = (
        [lead.lead.first_name for lead in rows]
        for rows in (response.context["mine"], response.context["queue"])
    )
    assert mine == ["Oldest", "Older", "Fresh"]
    assert queue == ["Queued"]
    assert [row.sla.state for row in response.context["mine"]] == ["overdue", "overdue", "running"]
    assert b"overdue by " in response.content
    assert b"Team queue" in response.content


def test_touched_leads_come_after_untouched_ones(org, make_lead, client_for) -> None:
    touched = make_lead("touched@acme.io", org.rep1, days_ago=10, first_name="Touched")
    make_lead("waiting@acme.io", org.rep1, days_ago=1, first_name="Waiting")
    client = client_for(org.rep1)
    client.post(reverse("web:lead_touch", args=[touched.pk]), {"kind": "call"})

    response = client.get(reverse("web:home"))

    assert [row.lead.first_name for row in response.context["mine"]] == ["Waiting", "Touched"]
    assert [row.sla.state for row in response.context["mine"]] == ["running", "missed"]
    assert b"clock stopped" in response.content


def test_manager_sees_the_team_overdue_first_with_a_reassign_control(
    org, make_lead, client_for
) -> None:
    make_lead("fresh@acme.io", org.rep2, days_ago=0, first_name="Fresh")
    make_lead("late@acme.io", org.rep1, days_ago=10, first_name="Late")
    make_lead("us@acme.io", org.rep3, days_ago=10, first_name="Elsewhere")

    response = client_for(org.manager).get(reverse("web:home"))

    assert [row.lead.first_name for row in response.context["rows"]] == ["Late", "Fresh"]
    assert [rep.username for rep in response.context["reps"]] == ["rep1", "rep2"]
    assert response.content.count(b'name="to"') == 2


def test_marketing_home_counts_leads_per_stage(org, make_lead, client_for) -> None:
    make_lead("a@acme.io", org.rep1)
    make_lead("b@acme.io", org.rep2)

    response = client_for(org.marketer).get(reverse("web:home"))

    counts = {stage: n for stage, _label, n in response.context["overview"].by_stage}
    assert counts["mql"] == 2
    assert counts["new"] == 0
    assert [lead.email for lead in response.context["overview"].recent] == [
        "b@acme.io",
        "a@acme.io",
    ]


def test_notifications_list_and_mark_read(org, client_for, real_now) -> None:
    note = Notification.objects.create(
        recipient=org.manager,
        kind="sla_breach",
        message="SLA breached: Ann",
        dedupe_key="k",
        created_at=real_now,
    )
    client = client_for(org.manager)

    page = client.get(reverse("web:notifications"))
    response = client.post(reverse("web:notifications"), {"id": str(note.pk)})

    assert b"SLA breached: Ann" in page.content
    assert b'id="unread-count">1<' in page.content
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None
    assert b"unread-count" not in client.get(reverse("web:notifications")).content


def test_times_are_shown_in_the_viewers_time_zone(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    org.rep1.timezone = "Asia/Tokyo"
    org.rep1.save()

    response = client_for(org.rep1).get(reverse("web:lead", args=[lead.pk]))

    local = lead.arrived_at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert local.strftime("%H:%M").encode() in response.content
    assert b"Times shown in Asia/Tokyo." in response.content


def test_the_lead_page_names_the_country_in_the_viewers_language(
    org, make_lead, client_for
) -> None:
    lead = make_lead("ann@acme.de", org.rep1, country="Deutschland")

    french = client_for(org.rep1).get(
        reverse("web:lead", args=[lead.pk]), headers={"accept-language": "fr"}
    )

    assert lead.country == "DE"
    assert "<dt>Country</dt><dd>Allemagne</dd>" in french.content.decode()


@pytest.mark.parametrize("typed", ["+49 30 1234567", "0049 (30) 123-4567", "030 1234567"])
def test_the_lead_list_finds_a_phone_as_typed_through_its_indexed_key(
    org, make_lead, client_for, typed
) -> None:
    make_lead("ann@acme.de", org.rep1, first_name="Ann", phone="030/123 45 67", country="DE")
    make_lead("bob@acme.de", org.rep1, first_name="Bob", phone="+49 30 7654321")

    response = client_for(org.rep1).get(reverse("web:leads"), {"q": typed})

    assert [lead.email for lead in response.context["page"]] == ["ann@acme.de"]


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL scans a table this small, by design"
)
def test_a_phone_search_uses_the_index_not_a_scan_of_the_leads(db) -> None:
    plan = Lead.objects.filter(pk__in=lead_ids_with_phone(["+49301234567"])).explain()

    assert "USING INDEX matchkeys_phone (phone_key=?)" in plan


def many_leads(org, count: int, *, owner) -> None:  # type: ignore[no-untyped-def]
    """`count` MQLs of the EMEA team owned by `owner` (None: the team queue), in one
    INSERT: a list's paging is about rows, not about how they arrived."""
    at = timezone.now()
    Lead.objects.bulk_create(
        Lead(
            email=f"{owner.username if owner else 'queue'}{i}@acme.io",
            stage="mql",
            stage_changed_at=at,
            arrived_at=at,
            team=org.emea,
            owner=owner,
            sla_due_at=at,
        )
        for i in range(count)
    )


def test_the_team_list_counts_every_lead_and_pages_them(org, client_for) -> None:
    many_leads(org, 205, owner=None)

    client = client_for(org.manager)
    first = client.get(reverse("web:home"))
    last = client.get(reverse("web:home"), {"page": 5})

    assert first.context["page"].paginator.count == 205
    assert 'Team leads <span class="count-pill">205</span>' in first.content.decode()
    assert len(first.context["rows"]) == 50
    assert len(last.context["rows"]) == 5
    assert "Page 1 of 5" in first.content.decode()


def test_the_reps_inbox_and_queue_count_every_lead_and_page_them(org, client_for) -> None:
    many_leads(org, 203, owner=None)
    many_leads(org, 52, owner=org.rep1)

    client = client_for(org.rep1)
    response = client.get(reverse("web:home"), {"queue": 5})

    body = response.content.decode()
    assert 'My leads <span class="count-pill">52</span>' in body
    assert 'Team queue <span class="count-pill">203</span>' in body
    assert len(response.context["mine"]) == 50
    assert len(response.context["queue"]) == 3
