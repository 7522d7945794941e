"""capture_emails: the leads for many new addresses made together, as capture_lead makes
each one (the events API uses it for a batch's unknown emails)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from django.db import IntegrityError, close_old_connections, connection

from capture import services
from capture.choices import Submitter
from capture.models import Submission, WebhookSource
from capture.services import (
    EventInput,
    NewPerson,
    capture_emails,
    capture_lead,
    capture_people,
    receive_webhook,
    record_events,
)
from conftest import HOT
from identity.merging import merge_leads
from identity.models import DuplicateCandidate, LeadMatchKeys
from leads.errors import FieldError
from leads.models import Account, CampaignMember, Lead, StageChange

DOMAINS = ("acme.io", "bigco.io", "gmail.com", "newco.io")


def shape(lead: Lead) -> tuple[Any, ...]:
    """What a captured lead is, leaving out what differs by nature (ids, the address)."""
    lead.refresh_from_db()
    history = list(
        StageChange.objects.filter(lead=lead)
        .order_by("pk")
        .values_list("from_stage", "to_stage", "reason")
    )
    submission = Submission.objects.get(lead=lead)
    return (
        lead.stage,
        lead.segment,
        lead.fit_score,
        lead.score,
        lead.source,
        lead.account.domain if lead.account else None,
        lead.owner_id is not None,
        lead.sla_due_at is not None,
        history,
        (submission.source, sorted(submission.payload), submission.was_created),
        LeadMatchKeys.objects.filter(lead=lead).exists(),
    )


@pytest.fixture
def accounts(org: Any) -> None:
    Account.objects.create(name="Acme", domain="acme.io")
    Account.objects.create(name="BigCo", domain="bigco.io", is_marquee=True)


def test_each_lead_is_what_capture_lead_makes(accounts: None, now: datetime) -> None:
    singly = {d: capture_lead({"email": f"one@{d}"}, source="api", now=now).lead for d in DOMAINS}

    together = capture_emails([f" Two@{d}" for d in DOMAINS], source="api", now=now)

    for domain in DOMAINS:
        made = together[f" Two@{domain}"]
        assert isinstance(made, Lead)
        assert made.email == f"two@{domain}"
        assert shape(made) == shape(singly[domain]), domain
    # nurture for the plain ones; the marquee account's lead went to sales, routed
    assert shape(together[" Two@bigco.io"])[:1] == ("mql",)  # type: ignore[arg-type]
    assert together[" Two@bigco.io"].owner_id is not None  # type: ignore[union-attr]
    # one account per company domain, none for free mail
    assert Account.objects.filter(domain="newco.io").count() == 1
    assert not Account.objects.filter(domain="gmail.com").exists()


def test_an_address_that_is_not_one_is_refused_as_capture_lead_refuses_it(
    org: Any, now: datetime
) -> None:
    with pytest.raises(FieldError) as singly:
        capture_lead({"email": "not-an-email"}, source="api", now=now)

    together = capture_emails(["not-an-email", "ann@acme.io"], source="api", now=now)

    assert isinstance(together["not-an-email"], FieldError)
    assert str(together["not-an-email"]) == str(singly.value)
    assert isinstance(together["ann@acme.io"], Lead)
    assert Lead.objects.count() == 1


def test_an_address_a_merge_freed_reaches_the_survivor(org: Any, now: datetime) -> None:
    kept = capture_lead({"email": "ann@acme.io", "first_name": "Ann"}, source="api", now=now).lead
    gone = capture_lead({"email": "ann.b@acme.io", "first_name": "Ann"}, source="api", now=now)
    merge_leads(kept, gone.lead, by=org.admin, now=now)

    together = capture_emails(["ann.b@acme.io", "bob@acme.io"], source="api", now=now)

    assert together["ann.b@acme.io"] == kept
    assert Lead.objects.filter(merged_into__isnull=True).count() == 2


def test_when_someone_else_creates_an_address_meanwhile_each_goes_through_capture_lead(
    org: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def race(*args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "_create_leads", race)

    together = capture_emails(["ann@acme.io", "bob@acme.io"], source="api", now=now)

    made = [lead for lead in together.values() if isinstance(lead, Lead)]
    assert sorted(str(lead.email) for lead in made) == ["ann@acme.io", "bob@acme.io"]
    assert Submission.objects.count() == 2


@pytest.mark.parametrize("people", [3, 30])
def test_queries_do_not_grow_with_the_number_of_new_people(
    org: Any, now: datetime, people: int, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(25):
        made = capture_emails([f"p{n}@co{n % 4}.io" for n in range(people)], source="api", now=now)
    assert all(isinstance(lead, Lead) for lead in made.values())
    assert Lead.objects.filter(stage="nurturing").count() == people


def test_an_events_batch_makes_its_unknown_people_together(org: Any, now: datetime) -> None:
    emails = [f"guest{n}@webinar{n % 3}.io" for n in range(20)] + ["nope"]
    outcomes = record_events(
        [EventInput("webinar_attended", now, email=e, idempotency_key=e) for e in emails],
        now=now,
    )

    assert [o.status for o in outcomes] == ["created"] * 20 + ["rejected"]
    assert outcomes[-1].error and outcomes[-1].error.startswith("email:")
    leads = Lead.objects.filter(email__startswith="guest")
    assert leads.count() == 20
    # each arrived, was scored with its event and moved to its segment's stage
    assert set(leads.values_list("engagement_score", flat=True)) == {
        Lead.objects.get(email="guest0@webinar0.io").engagement_score
    }
    assert StageChange.objects.filter(lead__in=leads, from_stage="").count() == 20


def test_two_ways_of_writing_one_address_make_one_lead(org: Any, now: datetime) -> None:
    together = capture_emails(["Ann@Acme.io", " ann@acme.io"], source="api", now=now)

    assert together["Ann@Acme.io"] == together[" ann@acme.io"]
    assert Lead.objects.count() == 1
    assert sorted(Submission.objects.values_list("payload__email", "was_created")) == [
        (" ann@acme.io", False),
        ("Ann@Acme.io", True),
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_naming_the_same_new_people_make_each_one_once(
    now: datetime,
) -> None:
    emails = [f"new{i}@acme.io" for i in range(30)]
    errors: list[BaseException] = []

    def post(worker: int) -> None:
        try:
            record_events(
                [
                    EventInput("email_open", now, email=e, idempotency_key=f"{worker}:{e}")
                    for e in emails
                ],
                now=now,
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=post, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Lead.objects.count() == 30
    # every batch's event counted once on the one lead per person
    assert set(Lead.objects.values_list("engagement_score", flat=True)) == {3}
    assert StageChange.objects.filter(from_stage="").count() == 30


def profile(local: str, domain: str = "acme.io") -> dict[str, Any]:
    return {
        "email": f"{local}@{domain}", "first_name": "Ann", "last_name": "Lee",
        "phone": "+49 30 1234567", "company_name": "Acme GmbH", "title": "CTO",
        "country": "Germany", **HOT,
    }  # fmt: skip


def test_people_with_profiles_and_campaign_status_are_what_capture_lead_makes(
    org: Any, now: datetime
) -> None:
    item = {"webhook": "zoom", "item": {"id": 7}}
    singly = capture_lead(
        profile("one"), source="webinar", now=now, campaign=org.webinar,
        member_status="attended", payload=item,
    ).lead  # fmt: skip

    [together] = capture_people(
        [NewPerson(profile("two"), member_status="attended", payload=item)],
        source="webinar",
        now=now,
        campaign=org.webinar,
    )

    assert isinstance(together, Lead)
    assert shape(together) == shape(singly)
    for lead in (singly, together):
        assert (lead.first_name, lead.phone, lead.first_campaign_id) == (
            "Ann", "+49 30 1234567", org.webinar.pk,
        )  # fmt: skip
        assert CampaignMember.objects.get(lead=lead).status == "attended"
        assert Submission.objects.get(lead=lead).payload == item
    # same phone and name: the duplicate check ran for the new one
    assert (
        DuplicateCandidate.objects.filter(lead_a=singly, lead_b=together).exists()
        or DuplicateCandidate.objects.filter(lead_a=together, lead_b=singly).exists()
    )


def test_a_new_account_is_named_after_the_first_persons_company(org: Any, now: datetime) -> None:
    first, second = profile("a", "newco.io"), profile("b", "newco.io")
    first["company_name"], second["company_name"] = "NewCo", "Other"

    capture_people([NewPerson(first), NewPerson(second)], source="api", now=now)

    assert Account.objects.get(domain="newco.io").name == "NewCo"


def test_a_webhook_makes_its_new_attendees_together_and_treats_a_repeat_as_known(
    org: Any, now: datetime
) -> None:
    source = WebhookSource.objects.create(
        name="Webinar tool", slug="tool", campaign=org.webinar, channel="webinar",
        mapping={"items": "attendees", "kind": "webinar_attended",
                 "lead": {"first_name": "first"}},
    )  # fmt: skip
    attendees = [{"email": f"guest{n}@acme.io", "first": f"G{n}"} for n in range(5)]
    attendees.append({"email": "guest0@acme.io", "first": "Again"})

    outcomes = receive_webhook(source, {"attendees": attendees}, now=now)

    assert [o.status for o in outcomes] == ["created"] * 6
    assert Lead.objects.count() == 5
    assert CampaignMember.objects.filter(campaign=org.webinar).count() == 5
    assert Lead.objects.get(email="guest3@acme.io").first_name == "G3"


def test_a_tools_batch_only_fills_in_known_people_as_capture_lead_does(
    org: Any, now: datetime
) -> None:
    # given a nurtured lead with a name and a timeline
    ann = capture_lead(
        {"email": "ann@acme.io", "first_name": "Ann", "need": "reports", "timeline": "year"},
        source="api",
        now=now,
    ).lead
    # when a tool's batch names her with other answers, and a new person twice
    made = capture_people(
        [
            NewPerson(
                {"email": "ann@acme.io", "first_name": "Eve", "phone": "1", "timeline": "never"}
            ),
            NewPerson({"email": "bob@acme.io", "first_name": "Bob"}),
            NewPerson({"email": "bob@acme.io", "first_name": "Robert", "phone": "2"}),
        ],
        source="webinar",
        now=now,
        submitter=Submitter.TOOL,
    )
    # then Ann's blanks are filled in and nothing else; Bob is made once, and his second
    # mention, by then a known lead, fills in the phone he lacked
    bob = Lead.objects.get(email="bob@acme.io")
    assert [lead.pk if isinstance(lead, Lead) else lead for lead in made] == [
        ann.pk,
        bob.pk,
        bob.pk,
    ]
    ann.refresh_from_db()
    assert (ann.first_name, ann.phone, ann.timeline, ann.stage) == ("Ann", "1", "year", "nurturing")
    bob.refresh_from_db()
    assert (bob.first_name, bob.phone) == ("Bob", "2")
    assert Submission.objects.filter(lead=bob).count() == 2
