"""A rep's action that takes a lead out of their sight lands on the inbox; the manager
sees, read-only, the leads the team handed back and why."""

from __future__ import annotations

import csv
import io

from django.urls import reverse

from conftest import bearer
from followup.actions import NotAllowed, act_on_lead
from leads.models import Lead
from users.choices import LeadAction


def reject(client, lead: Lead, reason: str = "no budget this year"):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("web:lead_action", args=[lead.pk, "reject"]), {"reject-reason": reason}
    )


def test_rejecting_lands_on_the_inbox_with_the_message(org, make_lead, client_for) -> None:
    lead = make_lead("gone@acme.io", org.rep1)
    client = client_for(org.rep1)

    response = reject(client, lead)

    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Lead rejected and handed back to marketing." in page.content.decode()


def test_an_action_that_keeps_the_lead_in_sight_stays_on_its_page(
    org, make_lead, client_for
) -> None:
    lead = make_lead("kept@acme.io", org.rep1)

    response = client_for(org.rep1).post(reverse("web:lead_action", args=[lead.pk, "accept"]))

    assert response["Location"] == reverse("web:lead", args=[lead.pk])


def test_the_manager_sees_the_teams_rejected_leads_and_why(org, make_lead, client_for) -> None:
    lead = make_lead("gone@acme.io", org.rep1)
    reject(client_for(org.rep1), lead, "student, no budget")
    manager = client_for(org.manager)

    listed = manager.get(reverse("web:leads"), {"stage": "recycled"})
    page = manager.get(reverse("web:lead", args=[lead.pk]))

    assert listed.context["total"] == 1
    assert [row.pk for row in listed.context["page"].object_list] == [lead.pk]
    assert page.status_code == 200
    body = page.content.decode()
    assert "Read-only: handed back by rep1" in body
    assert "student, no budget" in body
    assert page.context["actions"] == []
    assert page.context["may_touch"] is False
    assert page.context["reassign_form"] is None


def test_another_teams_manager_does_not_see_them(org, make_lead, client_for) -> None:
    lead = make_lead("gone@acme.io", org.rep1)
    reject(client_for(org.rep1), lead)

    assert client_for(org.us_manager).get(reverse("web:lead", args=[lead.pk])).status_code == 404


def test_every_action_on_a_handed_back_lead_is_refused(org, make_lead, client_for, now) -> None:
    lead = make_lead("gone@acme.io", org.rep1)
    reject(client_for(org.rep1), lead)
    lead.refresh_from_db()

    for action in (LeadAction.LOG_NOTE, LeadAction.DISQUALIFY):
        try:
            act_on_lead(lead, action, by=org.manager, now=now, reason="x")
        except NotAllowed as error:
            assert error.field == "lead"
        else:
            raise AssertionError(f"{action} was allowed")
    response = client_for(org.manager).post(
        reverse("web:lead_action", args=[lead.pk, "disqualify"]), {"disqualify-reason": "x"}
    )
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == "recycled"


def test_the_api_and_the_export_agree_with_the_page(org, make_lead, client_for, client) -> None:
    lead = make_lead("gone@acme.io", org.rep1)
    other = make_lead("kept@acme.io", org.rep2)
    reject(client_for(org.rep1), lead)
    auth = {"Authorization": bearer(org.manager)}

    listed = client.get("/api/v1/leads", {"stage": "recycled"}, headers=auth).json()
    detail = client.get(f"/api/v1/leads/{lead.pk}", headers=auth)
    refused = client.post(
        f"/api/v1/leads/{lead.pk}/transitions",
        {"action": "disqualify", "reason": "x"},
        content_type="application/json",
        headers=auth,
    )
    export = client_for(org.manager).get(reverse("web:leads_export"), {"stage": "recycled"})

    assert [row["id"] for row in listed["items"]] == [lead.pk]
    assert detail.status_code == 200
    assert detail.json()["read_only"] is True
    assert refused.status_code == 403
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [int(row["id"]) for row in rows] == [lead.pk]
    assert other.pk != lead.pk
