"""Working a lead from its page: touches stop the clock, actions move it, bad input is a
form error next to its field and moves nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from followup.models import Opportunity, Touch
from leads.models import Lead, StageChange


def test_logging_a_call_stops_the_clock(org, make_lead, client_for) -> None:
    lead = make_lead("late@acme.io", org.rep1, days_ago=10)
    client = client_for(org.rep1)

    response = client.post(
        reverse("web:lead_touch", args=[lead.pk]),
        {"kind": "call", "outcome": "connected", "notes": "Wants a demo"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("web:lead", args=[lead.pk])
    lead.refresh_from_db()
    assert lead.first_touch_at is not None
    assert lead.touch_count == 1
    page = client.get(response["Location"])
    assert b"Clock stopped" in page.content
    assert b"Call: Connected" in page.content
    assert b"Wants a demo" in page.content


def test_htmx_touch_answers_with_the_sla_and_timeline_panel(org, make_lead, client_for) -> None:
    lead = make_lead("late@acme.io", org.rep1, days_ago=10)

    response = client_for(org.rep1).post(
        reverse("web:lead_touch", args=[lead.pk]),
        {"kind": "email", "outcome": "sent"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="activity">')
    assert "<html" not in body
    assert "Clock stopped" in body
    assert "Email: Sent" in body
    assert "Email logged." in body


def test_a_note_is_not_contact_and_the_clock_keeps_running(org, make_lead, client_for) -> None:
    lead = make_lead("late@acme.io", org.rep1, days_ago=10)

    client_for(org.rep1).post(reverse("web:lead_touch", args=[lead.pk]), {"kind": "note"})

    lead.refresh_from_db()
    assert lead.first_touch_at is None
    assert lead.touch_count == 1


def test_touch_in_the_future_is_a_form_error(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    tomorrow = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = client_for(org.rep1).post(
        reverse("web:lead_touch", args=[lead.pk]),
        {"kind": "call", "occurred_at": tomorrow},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    assert (
        '<p class="field-error" id="id_occurred_at_error">'
        "a touch cannot be logged in the future</p>" in response.content.decode()
    )
    assert Touch.objects.count() == 0


def test_rep_takes_a_team_queue_lead_by_touching_it(org, make_lead, client_for) -> None:
    lead = make_lead("queued@acme.io", None)

    client_for(org.rep2).post(reverse("web:lead_touch", args=[lead.pk]), {"kind": "call"})

    assert Lead.objects.get(pk=lead.pk).owner == org.rep2


def test_reject_without_reason_shows_the_error_and_moves_nothing(
    org, make_lead, client_for
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    response = client_for(org.rep1).post(
        reverse("web:lead_action", args=[lead.pk, "reject"]), {"reject-reason": "  "}
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="id_reject-reason_error">'
        "a reason is required to reject a lead</p>" in body
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == ("mql", org.rep1)
    assert not StageChange.objects.filter(lead=lead, to_stage="recycled").exists()


def test_reject_with_reason_recycles_the_lead(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    response = client_for(org.rep1).post(
        reverse("web:lead_action", args=[lead.pk, "reject"]), {"reject-reason": "student"}
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.segment) == ("recycled", None, "nurture")
    assert StageChange.objects.get(lead=lead, to_stage="recycled").reason == "student"


def test_the_whole_way_to_won_through_the_page(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    client = client_for(org.rep1)
    url = lambda action: reverse("web:lead_action", args=[lead.pk, action])  # noqa: E731

    answers = [
        client.post(url("accept")).status_code,
        client.post(url("convert"), {"convert-amount": "12000", "convert-name": ""}).status_code,
        client.post(url("win"), {"win-amount": ""}).status_code,
    ]

    assert answers == [302, 302, 302]
    assert Lead.objects.get(pk=lead.pk).stage == "customer"
    opportunity = Opportunity.objects.get(lead=lead)
    assert (opportunity.status, opportunity.amount) == ("won", Decimal("12000.00"))


def test_lose_without_reason_shows_the_error_and_keeps_the_deal_open(
    org, make_lead, client_for
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    client = client_for(org.rep1)
    client.post(reverse("web:lead_action", args=[lead.pk, "accept"]))
    client.post(reverse("web:lead_action", args=[lead.pk, "convert"]), {"convert-amount": "500"})

    response = client.post(reverse("web:lead_action", args=[lead.pk, "lose"]), {"lose-reason": ""})

    assert response.status_code == 400
    assert 'id="id_lose-reason_error"' in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == "opportunity"
    assert Opportunity.objects.get(lead=lead).status == "open"


def test_negative_amount_is_an_error_next_to_the_amount(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)
    client = client_for(org.rep1)
    client.post(reverse("web:lead_action", args=[lead.pk, "accept"]))

    response = client.post(
        reverse("web:lead_action", args=[lead.pk, "convert"]), {"convert-amount": "-5"}
    )

    assert response.status_code == 400
    assert (
        '<p class="field-error" id="id_convert-amount_error">'
        "an opportunity amount cannot be negative</p>" in response.content.decode()
    )
    assert Lead.objects.get(pk=lead.pk).stage == "accepted"


def test_an_action_the_stage_does_not_allow_is_an_error_not_a_500(
    org, make_lead, client_for
) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    response = client_for(org.rep1).post(reverse("web:lead_action", args=[lead.pk, "win"]))

    assert response.status_code == 400
    assert (
        "&#x27;win&#x27; is not possible for a lead in stage &#x27;mql&#x27;"
        " (only from: opportunity)" in response.content.decode()
    )
    assert Lead.objects.get(pk=lead.pk).stage == "mql"


def test_only_actions_the_lifecycle_allows_are_offered(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    as_rep = client_for(org.rep1).get(reverse("web:lead", args=[lead.pk]))
    as_marketing = client_for(org.marketer).get(reverse("web:lead", args=[lead.pk]))

    assert [action.value for action, _form in as_rep.context["actions"]] == [
        "accept",
        "reject",
        "disqualify",
    ]
    assert [action.value for action, _form in as_marketing.context["actions"]] == ["disqualify"]
    # Marketing notes what it learns; calls, emails and meetings are sales' to log.
    assert as_marketing.context["may_touch"] is True
    assert as_marketing.context["touch_form"]["kind"].field.widget.choices == [("note", "Note")]


def test_marketing_may_disqualify_with_a_reason(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    response = client_for(org.marketer).post(
        reverse("web:lead_action", args=[lead.pk, "disqualify"]),
        {"disqualify-reason": "competitor"},
    )

    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage == "disqualified"


def test_manager_reassigns_from_the_inbox_and_the_rep_is_told(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    response = client_for(org.manager).post(
        reverse("web:lead_reassign", args=[lead.pk]), {"to": "rep2", "next": "/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert Lead.objects.get(pk=lead.pk).owner == org.rep2
    assert org.rep2.notifications.get().kind == "reassigned"


def test_the_touch_form_offers_each_kinds_own_outcomes(org, make_lead, client_for) -> None:
    lead = make_lead("ann@acme.io", org.rep1)

    page = client_for(org.rep1).get(reverse("web:lead", args=[lead.pk])).content.decode()

    outcome_select = page[
        page.index('name="outcome"') : page.index("</select>", page.index('name="outcome"'))
    ]
    assert '<optgroup label="Call">' in outcome_select
    email_group = outcome_select[outcome_select.index('<optgroup label="Email">') :]
    email_group = email_group[: email_group.index("</optgroup>")]
    assert "wrong_number" not in email_group
    assert "Note" not in outcome_select
