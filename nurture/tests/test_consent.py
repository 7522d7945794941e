"""Consent per purpose: every door records it through nurture.consent with its source, the
person's own withdrawal wins, the outbox sends marketing only with consent (and with
one-click unsubscribe headers, checked at a real SMTP server)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from capture.models import WebForm, WebhookSource
from capture.services import receive_webhook
from conftest import bearer
from imports.pipeline import ImportOptions
from imports.services import create_import_job, run_import
from leads.errors import FieldError, NotPermitted
from leads.models import Campaign, Lead
from nurture import consent, services, tokens
from nurture.choices import ConsentSource, MessageStatus, Purpose
from nurture.models import Consent, ConsentState, EmailTemplate

from .conftest import consenting


@pytest.fixture(autouse=True)
def fresh_rate_limit(db: None) -> Iterator[None]:
    # The public pages' rate counters live in the cache, which test transactions miss.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def template(org: Any, now: datetime) -> EmailTemplate:
    return services.create_template(
        by=org.marketer, now=now, name="News", subject="News for {{ first_name }}",
        text_body="Hello {{ first_name|default:'there' }}",
    )  # fmt: skip


def make_lead(now: datetime, email: str = "ann@acme.io", **fields: Any) -> Lead:
    return Lead.objects.create(email=email, arrived_at=now, stage_changed_at=now, **fields)


def answers(lead: Lead) -> dict[str, bool]:
    """The lead's current answer per purpose it answered."""
    return {row.purpose.slug: row.granted for row in consent.current(lead) if row.consent}


def sources(lead: Lead) -> list[tuple[str, bool, str]]:
    return [
        (row.purpose.slug, row.granted, row.source)
        for row in Consent.objects.filter(lead=lead).order_by("pk")
    ]


# --- Who may change what ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "granted", "source", "refused"),
    [
        (None, True, "form", False),
        (None, False, "form", True),  # a stranger never withdraws
        (None, False, "webhook", True),
        (None, False, "import", False),
        (("unsubscribe", False), True, "form", True),  # the person's withdrawal wins
        (("unsubscribe", False), True, "webhook", True),
        (("preference_page", False), True, "api", True),
        (("preference_page", False), True, "import", True),
        (("unsubscribe", False), True, "preference_page", False),  # the person again
        (("unsubscribe", False), True, "person", False),  # a colleague, on their word
        (("person", False), True, "form", False),
        (("form", True), False, "unsubscribe", False),
        (("api", True), False, "import", False),
    ],
)
def test_who_may_grant_and_withdraw(
    current: tuple[str, bool] | None, granted: bool, source: str, refused: bool
) -> None:
    state = (
        None
        if current is None
        else ConsentState(granted=current[1], source=current[0], at=datetime.now())  # noqa: DTZ005
    )

    assert bool(consent.decide(state, granted=granted, source=source)) == refused


def test_an_unsubscribe_click_again_writes_nothing(org: Any, now: datetime) -> None:
    lead = make_lead(now)
    consent.record(lead, "newsletter", granted=False, source="unsubscribe", now=now)

    again = consent.record(lead, "newsletter", granted=False, source="unsubscribe", now=now)

    assert again.consent is None
    assert Consent.objects.filter(lead=lead).count() == 1


# --- Every door ----------------------------------------------------------------------


def test_a_form_records_the_grant_and_a_later_form_without_the_box_withdraws_nothing(
    org: Any, client: Client
) -> None:
    WebForm.objects.create(
        slug="news", name="Newsletter sign-up", fields=["email"],
        consent_text="Send me the newsletter", consent_purpose="newsletter",
    )  # fmt: skip
    url = reverse("capture:form", args=["news"])

    client.post(url, {"email": "ann@acme.io", "consent": "on"})
    client.post(url, {"email": "ann@acme.io"})

    lead = Lead.objects.get(email="ann@acme.io")
    [given] = Consent.objects.filter(lead=lead)
    assert (given.source, given.reference, given.text) == (
        "form", "Newsletter sign-up (news)", "Send me the newsletter"
    )  # fmt: skip
    assert answers(lead) == {"newsletter": True}


def test_a_form_cannot_resubscribe_someone_who_unsubscribed(org: Any, client: Client) -> None:
    WebForm.objects.create(
        slug="news", name="News", fields=["email"], consent_text="Send me news",
        consent_purpose="newsletter",
    )  # fmt: skip
    lead = make_lead(datetime.now().astimezone())
    consent.record(lead, "newsletter", granted=False, source="unsubscribe", now=lead.arrived_at)

    client.post(reverse("capture:form", args=["news"]), {"email": lead.email, "consent": "on"})

    assert answers(lead) == {"newsletter": False}
    assert sources(lead) == [("newsletter", False, "unsubscribe")]


def test_the_api_takes_consent_with_the_lead(org: Any, client: Client) -> None:
    response = client.post(
        "/api/v1/leads",
        {
            "email": "ann@acme.io",
            "consent": [
                {"purpose": "newsletter", "granted": True, "text": "Send me the newsletter"},
                {"purpose": "events", "granted": False},
            ],
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.marketer),
    )

    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email="ann@acme.io")
    assert sources(lead) == [("newsletter", True, "api"), ("events", False, "api")]
    given = Consent.objects.filter(lead=lead).first()
    assert given is not None
    assert given.reference == "API token cli (marketer)"


def test_a_rep_may_not_send_consent_with_a_lead(org: Any, client: Client) -> None:
    response = client.post(
        "/api/v1/leads",
        {"email": "ann@acme.io", "consent": [{"purpose": "newsletter", "granted": False}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.rep1),
    )

    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "consent"
    assert not Lead.objects.exists()


def test_the_api_refuses_an_unknown_purpose_before_storing_the_lead(
    org: Any, client: Client
) -> None:
    response = client.post(
        "/api/v1/leads",
        {"email": "ann@acme.io", "consent": [{"purpose": "spam", "granted": True}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.marketer),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "consent.0.purpose"
    assert not Lead.objects.exists()


def test_a_webhook_grants_consent_and_its_no_withdraws_nothing(org: Any, now: datetime) -> None:
    known = make_lead(now, "bob@acme.io")
    consent.record(known, "events", granted=True, source="person", now=now)
    source = WebhookSource.objects.create(
        name="Webinar tool", slug="tool", campaign=org.webinar, channel="webinar",
        mapping={"items": "attendees", "kind": "webinar_registered",
                 "consent": {"purpose": "events", "granted": "opted_in",
                             "text": {"value": "Invite me to webinars"}}},
    )  # fmt: skip

    outcomes = receive_webhook(
        source,
        {"attendees": [
            {"email": "ann@acme.io", "opted_in": "Yes"},
            {"email": "bob@acme.io", "opted_in": False},
        ]},
        now=now,
    )  # fmt: skip

    assert [o.status for o in outcomes] == ["created", "created"]
    ann = Lead.objects.get(email="ann@acme.io")
    [given] = Consent.objects.filter(lead=ann)
    assert (given.source, given.reference, given.text) == (
        "webhook", "webhook tool", "Invite me to webinars"
    )  # fmt: skip
    assert answers(known) == {"events": True}


def test_a_webhook_source_must_name_a_known_purpose(org: Any) -> None:
    source = WebhookSource(
        name="Tool", slug="tool", channel="webinar",
        mapping={"kind": "webinar_registered", "consent": {"purpose": "spam", "granted": "x"}},
    )  # fmt: skip

    with pytest.raises(ValidationError, match="no consent purpose 'spam'"):
        source.clean()


def test_an_import_grants_and_withdraws_from_crm_columns(
    org: Any, now: datetime, tmp_path: Path
) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        "Email,Marketing contact status,HasOptedOutOfEmail\n"
        "ann@acme.io,Marketing contact,false\n"
        "bob@acme.io,Non-marketing contact,\n"
        "cid@acme.io,Marketing contact,true\n",
        encoding="utf-8",
    )
    job = create_import_job(path, ImportOptions(consent_purpose="product_updates"), now=now)

    run_import(job, now=now)

    got = {
        lead.email: sources(lead)
        for lead in Lead.objects.filter(email__in=["ann@acme.io", "bob@acme.io", "cid@acme.io"])
    }
    assert got == {
        "ann@acme.io": [("product_updates", True, "import")],
        "bob@acme.io": [],
        # An opt-out beside a "yes": the opt-out wins.
        "cid@acme.io": [("product_updates", False, "import")],
    }
    assert Consent.objects.filter(source="import").first().reference == (  # type: ignore[union-attr]
        f"import #{job.pk} (crm.csv)"
    )


def test_a_trade_show_list_records_its_consent_as_the_trade_show(
    org: Any, now: datetime, tmp_path: Path
) -> None:
    show = Campaign.objects.create(name="Expo Berlin", channel="trade_show")
    path = tmp_path / "badges.csv"
    path.write_text("Email,Opted in\nann@acme.io,yes\n", encoding="utf-8")
    job = create_import_job(path, ImportOptions(campaign_id=show.pk), now=now)

    run_import(job, now=now)

    [given] = Consent.objects.filter(lead__email="ann@acme.io")
    assert (given.purpose.slug, given.source, given.reference) == (
        "newsletter", "trade_show", f"Expo Berlin: import #{job.pk} (badges.csv)"
    )  # fmt: skip


def test_an_import_names_an_existing_purpose(org: Any, now: datetime, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("Email\nann@acme.io\n", encoding="utf-8")

    with pytest.raises(FieldError, match="no consent purpose 'spam'"):
        create_import_job(path, ImportOptions(consent_purpose="spam"), now=now)


# --- People inside the app -------------------------------------------------------------


def test_marketing_records_what_a_person_said_and_a_rep_may_not(org: Any, now: datetime) -> None:
    lead = make_lead(now)
    consent.record(lead, "newsletter", granted=False, source="unsubscribe", now=now)

    done = consent.record_by_person(
        lead, "newsletter", granted=True, by=org.marketer, now=now, text="asked on the phone"
    )

    assert done.consent is not None
    assert (done.consent.source, done.consent.by, done.consent.reference) == (
        "person", org.marketer, "marketer"
    )  # fmt: skip
    assert answers(lead) == {"newsletter": True}
    with pytest.raises(NotPermitted):
        consent.record_by_person(lead, "newsletter", granted=False, by=org.rep1, now=now)


def test_the_api_shows_and_records_a_leads_consent_for_marketing_only(
    org: Any, client: Client, now: datetime
) -> None:
    lead = make_lead(now, owner=org.rep1, team=org.emea, stage="mql")
    url = f"/api/v1/leads/{lead.pk}/consent"
    body = {"purpose": "events", "granted": True, "text": "Said yes at the booth"}

    recorded = client.post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=bearer(org.admin)
    )
    refused = [
        client.post(
            url,
            {"purpose": "events", "granted": False},
            content_type="application/json",
            HTTP_AUTHORIZATION=bearer(user),
        ).status_code
        for user in (org.rep1, org.manager)
    ]
    seen_by_rep = client.get(url, HTTP_AUTHORIZATION=bearer(org.rep1))
    shown = client.get(url, HTTP_AUTHORIZATION=bearer(org.marketer)).json()

    assert recorded.status_code == 201
    assert refused == [403, 403]
    assert seen_by_rep.status_code == 200
    events = next(row for row in shown["current"] if row["purpose"] == "events")
    assert events["granted"] is True
    assert events["since"]["source"] == "person"
    assert events["since"]["by"] == "admin"
    assert events["since"]["text"] == "Said yes at the booth"
    assert [row["purpose"] for row in shown["history"]] == ["events"]


def test_the_cli_shows_sets_and_lists(org: Any, now: datetime) -> None:
    lead = make_lead(now, owner=org.rep1, team=org.emea, stage="mql")
    out = io.StringIO()

    call_command(
        "consent", "set", str(lead.pk), "newsletter", "--granted", "--text", "by letter",
        "--as", "marketer", stdout=out,
    )  # fmt: skip
    call_command("consent", "show", str(lead.pk), "--as", "marketer", stdout=out)
    call_command("consent", "purposes", stdout=out)
    text = out.getvalue()

    assert f"lead {lead.pk}: newsletter granted" in text
    assert "newsletter: granted" in text
    assert "agreed to: by letter" in text
    assert "product_updates\tProduct updates" in text
    with pytest.raises(CommandError, match="only marketing and admins"):
        call_command(
            "consent", "set", str(lead.pk), "newsletter", "--withdrawn", "--as", "rep1",
            stdout=out,
        )  # fmt: skip


def test_purposes_are_managed_by_marketing_through_the_api(org: Any, client: Client) -> None:
    made = client.post(
        "/api/v1/consent-purposes",
        {"slug": "case_studies", "name": "Case studies", "description": "Customer stories"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.marketer),
    )
    by_rep = client.post(
        "/api/v1/consent-purposes",
        {"slug": "other", "name": "Other"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.rep1),
    )
    hidden = client.patch(
        "/api/v1/consent-purposes/case_studies",
        {"is_active": False},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.admin),
    )
    listed = client.get("/api/v1/consent-purposes", HTTP_AUTHORIZATION=bearer(org.rep1)).json()

    assert made.status_code == 201
    assert by_rep.status_code == 403
    assert hidden.json()["is_active"] is False
    assert {"slug": "case_studies", "name": "Case studies", "description": "Customer stories",
            "is_active": False} in listed  # fmt: skip


# --- The outbox --------------------------------------------------------------------------


def test_the_outbox_suppresses_marketing_without_consent_and_test_sends_need_none(
    org: Any, template: EmailTemplate, now: datetime, sink: Any
) -> None:
    nobody = make_lead(now, "nobody@acme.io")
    withdrew = make_lead(now, "withdrew@acme.io")
    consent.record(withdrew, "newsletter", granted=False, source="unsubscribe", now=now)
    events_only = consenting(make_lead(now, "events@acme.io"), now, "events")
    yes = consenting(make_lead(now, "yes@acme.io"), now)

    queued = [
        services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)
        for lead in (nobody, withdrew, events_only, yes)
    ]
    events = services.queue_message(
        events_only, template, purpose=Purpose.MARKETING, now=now, consent_purpose="events"
    )
    services.run_due(now=now)
    tested = services.test_send(template, to="colleague@acme.io", lead=nobody, by=org.marketer,
                                now=now)  # fmt: skip

    for message in [*queued, events]:
        message.refresh_from_db()
    assert [(m.status, m.last_error) for m in queued] == [
        (MessageStatus.SUPPRESSED, "no consent for newsletter"),
        (MessageStatus.SUPPRESSED, "no consent for newsletter"),
        (MessageStatus.SUPPRESSED, "no consent for newsletter"),
        (MessageStatus.SENT, ""),
    ]
    assert events.status == MessageStatus.SENT
    assert (tested.status, tested.consent_purpose) == (MessageStatus.SENT, "")
    assert sorted(e.rcpt_tos[0] for e in sink.messages) == [
        "colleague@acme.io", "events@acme.io", "yes@acme.io"
    ]  # fmt: skip


def test_a_message_withdrawn_while_queued_is_not_sent(
    org: Any, template: EmailTemplate, now: datetime, sink: Any
) -> None:
    lead = consenting(make_lead(now), now)
    message = services.queue_message(
        lead, template, purpose=Purpose.MARKETING, now=now, send_after=now + timedelta(hours=1)
    )
    consent.record(lead, "newsletter", granted=False, source="preference_page", now=now)

    services.run_due(now=now + timedelta(hours=1))

    message.refresh_from_db()
    assert message.status == MessageStatus.SUPPRESSED
    assert sink.messages == []


def test_queue_message_refuses_an_unknown_purpose(
    org: Any, template: EmailTemplate, now: datetime
) -> None:
    with pytest.raises(FieldError, match="consent_purpose: no consent purpose 'spam'"):
        services.queue_message(
            make_lead(now), template, purpose=Purpose.MARKETING, now=now, consent_purpose="spam"
        )


def test_a_marketing_message_arrives_with_one_click_unsubscribe_that_works(
    org: Any, template: EmailTemplate, now: datetime, sink: Any, settings: Any, client: Client
) -> None:
    settings.LEADLOOP_BASE_URL = "https://leads.example.test"
    lead = consenting(make_lead(now), now)
    message = services.queue_message(lead, template, purpose=Purpose.MARKETING, now=now)

    services.run_due(now=now)

    [envelope] = sink.messages
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link, mailto = [part.strip() for part in mail["List-Unsubscribe"].split(",")]
    assert link.startswith("<https://leads.example.test/unsubscribe/")
    assert mailto.startswith("<mailto:unsubscribe@")
    assert consent.unsubscribe_headers(message) == {
        "List-Unsubscribe": mail["List-Unsubscribe"],
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    path = link[len("<https://leads.example.test") : -1]
    assert tokens.read("unsubscribe", path.rsplit("/", 1)[1]) == (message.pk, None)
    links = consent.footer_links(message)
    assert links["unsubscribe_url"] == link[1:-1]
    assert links["preferences_url"].startswith("https://leads.example.test/preferences/")
    # The mail client's one-click, as RFC 8058 has it, on the link the message carried.
    answer = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    assert answers(lead) == {"newsletter": False}


def test_a_test_send_carries_no_unsubscribe_header(
    org: Any, template: EmailTemplate, now: datetime, sink: Any
) -> None:
    services.test_send(template, to="colleague@acme.io", lead=None, by=org.marketer, now=now)

    [envelope] = sink.messages
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["List-Unsubscribe"] is None


# --- Merges ------------------------------------------------------------------------------


def test_a_merge_and_its_undo_move_consent_and_its_current_state(org: Any, now: datetime) -> None:
    from identity.merging import merge_leads, undo_merge

    ann = make_lead(now, "ann@acme.io", first_name="Ann")
    dup = make_lead(now, "ann.other@acme.io", first_name="Ann")
    consent.record(dup, "events", granted=True, source="form", now=now)

    record = merge_leads(ann, dup, by=org.admin, now=now)

    assert answers(ann) == {"events": True}
    assert answers(dup) == {}
    undo_merge(record, by=org.admin, now=now + timedelta(minutes=1))
    assert answers(dup) == {"events": True}
    assert answers(ann) == {}


def test_state_rows_follow_the_latest_answer(org: Any, now: datetime) -> None:
    lead = make_lead(now)
    consent.record(lead, "newsletter", granted=True, source=ConsentSource.API, now=now)
    consent.record(
        lead, "newsletter", granted=False, source=ConsentSource.IMPORT,
        now=now + timedelta(minutes=1),
    )  # fmt: skip

    state = ConsentState.objects.get(lead=lead)
    assert (state.granted, state.source) == (False, "import")
    assert state.consent == Consent.objects.filter(lead=lead).order_by("-pk").first()
