from datetime import timedelta

import pytest

from capture.models import Submission
from capture.rules import clean_lead_fields
from capture.services import EventInput, capture_lead, record_events
from conftest import HOT
from identity.rules import company_domain
from leads.errors import FieldError
from leads.models import Account, CampaignMember, Lead
from qualify.models import Event


def test_same_email_is_the_same_lead_updated_with_both_submissions(org, now) -> None:
    first = capture_lead({"email": "Ann@Acme.io ", "first_name": "Ann"}, source="api", now=now)
    second = capture_lead(
        {"email": "ann@acme.io", "title": "CTO"}, source="web_form", now=now + timedelta(hours=1)
    )

    assert (first.created, second.created) == (True, False)
    assert first.lead.pk == second.lead.pk
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.title) == ("ann@acme.io", "Ann", "CTO")
    assert list(
        Submission.objects.order_by("received_at").values_list("source", "was_created")
    ) == [
        ("api", True),
        ("web_form", False),
    ]


def test_company_account_by_domain_but_never_free_mail(org, now) -> None:
    a = capture_lead({"email": "a@acme.io", "company_name": "Acme"}, source="api", now=now).lead
    b = capture_lead({"email": "b@acme.io"}, source="api", now=now).lead
    c = capture_lead({"email": "c@gmail.com", "company_name": "Acme"}, source="api", now=now).lead

    assert a.account is not None and a.account == b.account
    assert a.account.name == "Acme"
    assert c.account is None
    assert Account.objects.filter(domain="gmail.com").count() == 0


@pytest.mark.parametrize(
    ("email", "website", "expected"),
    [
        ("x@acme.io", "", "acme.io"),
        ("x@gmail.com", "", None),
        ("x@gmail.com", "https://www.acme.io/about", "acme.io"),
        (None, "", None),
    ],
)
def test_company_domain(email, website, expected) -> None:
    assert company_domain(email, website) == expected


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "is not a valid email address"),
        ({"email": "a@b.io", "shoe_size": 42}, "shoe_size", "unknown field"),
        ({"employees": "many"}, "employees", "is not a whole number"),
        ({"budget": "-5"}, "budget", "must be a positive amount"),
        ({"timeline": "whenever"}, "timeline", "is not one of later, never, now, quarter, year"),
        ({"country": "Narnia"}, "country", "is not a country we recognise"),
        ({"email": "bob@localhost"}, "email", "It should have a period."),
        ({"first_name": "x" * 101}, "first_name", "longer than 100"),
    ],
)
def test_bad_input_names_the_field(data, field, message) -> None:
    with pytest.raises(FieldError) as error:
        clean_lead_fields(data)
    assert error.value.field == field
    assert message in error.value.message


def test_a_lead_needs_an_email_or_a_name(org, now) -> None:
    with pytest.raises(FieldError, match="email"):
        capture_lead({"title": "CTO"}, source="api", now=now)
    assert Lead.objects.count() == 0


def test_campaign_membership_only_moves_forward(org, now) -> None:
    capture_lead(
        {"email": "w@acme.io"},
        source="api",
        now=now,
        campaign=org.webinar,
        member_status="attended",
    )
    capture_lead(
        {"email": "w@acme.io"},
        source="api",
        now=now,
        campaign=org.webinar,
        member_status="registered",
    )

    assert CampaignMember.objects.get().status == "attended"


def test_events_raise_engagement_until_the_lead_is_routed(org, now) -> None:
    lead = capture_lead(
        {"email": "e@acme.io", "need": "x", "authority": "influencer", "timeline": "year"},
        source="api",
        now=now,
    ).lead
    assert (lead.stage, lead.owner) == ("nurturing", None)

    outcomes = record_events(
        [
            EventInput(
                kind="webinar_attended", occurred_at=now, email="E@acme.io", idempotency_key="k1"
            ),
            EventInput(
                kind="pricing_page_view", occurred_at=now, lead_id=lead.pk, idempotency_key="k2"
            ),
            EventInput(
                kind="webinar_attended", occurred_at=now, email="e@acme.io", idempotency_key="k1"
            ),
            EventInput(kind="page_view", occurred_at=now, lead_id=999999),
        ],
        now=now,
    )

    assert [o.status for o in outcomes] == ["created", "created", "duplicate", "rejected"]
    assert outcomes[3].error == "lead_id: no lead 999999"
    lead.refresh_from_db()
    assert (lead.engagement_score, lead.score, lead.stage) == (25, 55, "nurturing")

    record_events(
        [
            EventInput(
                kind="content_download", occurred_at=now, lead_id=lead.pk, idempotency_key="k3"
            )
        ],
        now=now,
    )
    record_events(
        [
            EventInput(
                kind="content_download", occurred_at=now, lead_id=lead.pk, idempotency_key="k3"
            )
        ],
        now=now,
    )

    lead.refresh_from_db()
    # No country: the first team by name (Americas) takes it.
    assert (lead.engagement_score, lead.stage, lead.owner) == (33, "mql", org.rep3)
    assert Event.objects.filter(lead=lead).count() == 3


def test_events_for_unknown_emails_create_leads(org, now, settings) -> None:
    outcomes = record_events(
        [EventInput(kind="page_view", occurred_at=now, email="new@acme.io")], now=now
    )
    assert outcomes[0].status == "created"
    assert Lead.objects.filter(email="new@acme.io").exists()

    settings.LEADLOOP_UNKNOWN_EVENT_EMAIL = "ignore"
    outcomes = record_events(
        [EventInput(kind="page_view", occurred_at=now, email="other@acme.io")], now=now
    )
    assert (outcomes[0].status, outcomes[0].error) == ("rejected", "email: no lead other@acme.io")


def test_hot_lead_is_scored_and_routed_on_arrival(org, now) -> None:
    lead = capture_lead({"email": "hot@acme.io", **HOT}, source="api", now=now).lead
    assert (lead.stage, lead.segment, lead.score, lead.owner) == (
        "mql",
        "sales_ready",
        70,
        org.rep1,
    )
