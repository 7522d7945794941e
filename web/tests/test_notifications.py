"""Notifications say what happened in words, open onto their lead (and are read then),
and reach the rep a lead is given to and the owner of a breached lead."""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.management import call_command
from django.urls import reverse

from capture.services import capture_lead
from conftest import HOT, bearer
from leads.models import Lead
from routing.services import assign_lead, assign_leads, run_due
from users.models import Notification
from users.services import notify


def test_the_page_shows_kinds_in_words(org, client_for, now) -> None:
    notify(org.manager, kind="sla_breach", message="late", lead_id=None, key="a", now=now)
    notify(org.manager, kind="reassigned", message="yours", lead_id=None, key="b", now=now)

    body = client_for(org.manager).get(reverse("web:notifications")).content.decode()

    assert "SLA breached" in body
    assert "Lead handed to you" in body
    assert ">sla_breach<" not in body
    assert ">reassigned<" not in body


def test_opening_a_notification_reads_it_and_shows_its_lead(
    org, make_lead, client_for, now
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    note = notify(org.rep1, kind="sla_breach", message="late", lead_id=lead.pk, key="k", now=now)
    client = client_for(org.rep1)
    listed = client.get(reverse("web:notifications")).content.decode()

    response = client.get(reverse("web:notification_open", args=[note.pk]))

    assert f'href="{reverse("web:notification_open", args=[note.pk])}"' in listed
    assert response["Location"] == reverse("web:lead", args=[lead.pk])
    note.refresh_from_db()
    assert note.read_at is not None


def test_nobody_opens_someone_elses_notification(org, client_for, now) -> None:
    note = notify(org.rep1, kind="sla_breach", message="late", lead_id=None, key="k", now=now)

    response = client_for(org.rep2).get(reverse("web:notification_open", args=[note.pk]))

    assert response.status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_a_rep_hears_of_a_lead_routed_to_them_once(org, now) -> None:
    lead = capture_lead({**HOT, "email": "ann@acme.io"}, source="api", now=now).lead

    notes = list(Notification.objects.values_list("recipient__username", "kind", "lead_id"))
    assert lead.owner is not None
    assert notes == [(lead.owner.username, "assigned", lead.pk)]
    assert Notification.objects.get().message == "New lead for you: ann@acme.io"


def test_a_rep_who_takes_a_lead_is_not_told_what_they_did(org, now) -> None:
    lead = capture_lead({"email": "cold@acme.io"}, source="api", now=now).lead

    assign_lead(lead, now=now, to=org.rep2, by=org.rep2)

    assert not Notification.objects.filter(recipient=org.rep2).exists()


def test_bulk_routing_tells_each_rep_of_their_leads(org, now) -> None:
    leads = [
        Lead.objects.create(
            email=f"p{n}@example.io",
            country="DE",
            stage="mql",
            arrived_at=now,
            stage_changed_at=now,
        )
        for n in range(6)
    ]

    assign_leads(leads, now=now)
    assign_leads([], now=now)

    counts = {
        rep: Notification.objects.filter(recipient__username=rep, kind="assigned").count()
        for rep in ("rep1", "rep2")
    }
    assert counts == {"rep1": 3, "rep2": 3}


def test_a_breach_tells_the_owner_as_well_as_the_manager(org, now) -> None:
    lead = capture_lead({**HOT, "email": "late@acme.io"}, source="api", now=now).lead
    Notification.objects.all().delete()

    run_due(now=now + timedelta(days=4))
    run_due(now=now + timedelta(days=5))

    notes = Notification.objects.filter(kind="sla_breach").order_by("recipient__username")
    assert lead.owner is not None
    assert list(notes.values_list("recipient__username", "lead_id")) == [
        ("manager", lead.pk),
        (lead.owner.username, lead.pk),
    ]


def test_the_api_lists_and_marks_notifications_read(org, client, now) -> None:
    first = notify(org.rep1, kind="assigned", message="a", lead_id=None, key="a", now=now)
    notify(org.rep1, kind="sla_breach", message="b", lead_id=None, key="b", now=now)
    notify(org.rep2, kind="sla_breach", message="c", lead_id=None, key="c", now=now)
    auth = {"Authorization": bearer(org.rep1)}

    listed = client.get("/api/v1/notifications", headers=auth).json()
    marked = client.post(
        "/api/v1/notifications/read",
        {"ids": [first.pk]},
        content_type="application/json",
        headers=auth,
    ).json()
    unread = client.get("/api/v1/notifications", {"unread": "true"}, headers=auth).json()
    rest = client.post(
        "/api/v1/notifications/read", {}, content_type="application/json", headers=auth
    ).json()

    assert (listed["count"], listed["unread"]) == (2, 2)
    assert {(item["kind"], item["label"]) for item in listed["items"]} == {
        ("assigned", "New lead for you"),
        ("sla_breach", "SLA breached"),
    }
    assert marked == {"marked": 1}
    assert [item["message"] for item in unread["items"]] == ["b"]
    assert rest == {"marked": 1}
    assert Notification.objects.filter(recipient=org.rep2, read_at__isnull=True).count() == 1


def test_the_cli_lists_and_marks_notifications_read(org, now) -> None:
    first = notify(org.rep1, kind="assigned", message="a", lead_id=None, key="a", now=now)
    notify(org.rep1, kind="sla_breach", message="b", lead_id=None, key="b", now=now)
    out = io.StringIO()

    call_command("notifications", "rep1", "--read", str(first.pk), stdout=out)
    call_command("notifications", "rep1", "--unread", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "1 marked read"
    assert [line.split("\t")[2:] for line in lines[1:]] == [["SLA breached", "", "b"]]
