"""POST /hooks/<slug>/: webinar and form tools deliver events the way they shape them."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from capture.models import Submission, WebhookSource
from capture.services import capture_lead
from leads.models import CampaignMember, Lead, StageChange
from qualify.models import Event

from .webhook_samples import TYPEFORM_MAPPING, typeform, zoom

pytestmark = pytest.mark.usefixtures("fresh_rate_limit")

UNSTORABLE = "contains the NUL character or an unpaired surrogate"


@pytest.fixture
def form_hook(org: Any) -> WebhookSource:
    return WebhookSource.objects.create(
        name="Typeform demo requests", slug="typeform", channel="web_form", mapping=TYPEFORM_MAPPING
    )


def deliver(
    client: Client,
    source: WebhookSource,
    payload: Any,
    *,
    token: str | None = None,
    content_type: str = "application/json",
) -> Any:
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(
        f"/hooks/{source.slug}/",
        body,
        content_type=content_type,
        headers={"X-Leadloop-Token": source.token if token is None else token},
    )


def test_a_webinar_delivery_records_attendance_and_creates_the_unknown_attendees(
    client: Client, clock: datetime, org: Any, webinar_hook: WebhookSource
) -> None:
    # given a nurtured German lead who registered for the webinar
    warm = capture_lead(
        {"email": "warm@de.de", "need": "forecasting", "country": "Germany"},
        source="api",
        now=clock,
        campaign=org.webinar,
    ).lead
    # when the webinar tool delivers its participants: warm attended, two strangers
    response = deliver(client, webinar_hook, zoom())

    # then every participant has an event; the strangers are new leads of the webinar
    assert response.status_code == 200
    bo, cy = Lead.objects.get(email="bo@beta.io"), Lead.objects.get(email="cy@gamma.io")
    assert response.json() == {
        "source": "zoom",
        "created": 3,
        "duplicates": 0,
        "rejected": 0,
        "items": [
            {"index": 0, "status": "created", "lead_id": warm.pk, "error": None},
            {"index": 1, "status": "created", "lead_id": bo.pk, "error": None},
            {"index": 2, "status": "created", "lead_id": cy.pk, "error": None},
        ],
    }
    assert (bo.first_name, bo.last_name, bo.company_name, bo.title, bo.source) == (
        "Bo",
        "Berg",
        "Beta",
        "Head of Finance",
        "webinar",
    )
    assert bo.first_campaign == org.webinar
    events = {e.lead.email: e for e in Event.objects.select_related("lead")}
    assert {email: (e.kind, e.points) for email, e in events.items()} == {
        "warm@de.de": ("webinar_attended", 15),
        "bo@beta.io": ("webinar_attended", 15),
        "cy@gamma.io": ("webinar_no_show", 1),
    }
    assert events["warm@de.de"].campaign == org.webinar
    assert events["warm@de.de"].properties == {
        "webhook": "zoom",
        "webinar": "Forecasting without spreadsheets",
        "seconds": 3382,
    }
    key = f"hook:{webinar_hook.pk}:86172659103:Warm@DE.de:attended"
    assert events["warm@de.de"].idempotency_key == key
    assert events["cy@gamma.io"].occurred_at.isoformat() == "2026-11-14T19:40:00+00:00"
    # campaign membership follows what each did; warm's registration moved to attended
    assert dict(
        CampaignMember.objects.filter(campaign=org.webinar).values_list("lead__email", "status")
    ) == {"warm@de.de": "attended", "bo@beta.io": "attended", "cy@gamma.io": "no-show"}
    warm.refresh_from_db()
    assert (warm.engagement_score, warm.score) == (15, 30)


def test_a_replayed_delivery_creates_no_duplicate_events_leads_or_submissions(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    first = deliver(client, webinar_hook, zoom())
    counts = (Event.objects.count(), Lead.objects.count(), Submission.objects.count())

    replay = deliver(client, webinar_hook, zoom())

    assert first.json()["created"] == 3
    assert replay.status_code == 200
    assert (replay.json()["created"], replay.json()["duplicates"]) == (0, 3)
    assert [item["status"] for item in replay.json()["items"]] == ["duplicate"] * 3
    assert (Event.objects.count(), Lead.objects.count(), Submission.objects.count()) == counts
    assert counts == (3, 3, 3)


def test_the_same_participant_twice_in_one_delivery_is_one_event(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    payload = zoom()
    participants = payload["payload"]["object"]["participants"]
    participants.append(dict(participants[1]))

    response = deliver(client, webinar_hook, payload)

    assert [item["status"] for item in response.json()["items"]] == [
        "created",
        "created",
        "created",
        "duplicate",
    ]
    assert Event.objects.filter(lead__email="bo@beta.io").count() == 1


def test_unknown_emails_are_rejected_when_the_source_says_ignore(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    known = capture_lead({"email": "warm@de.de"}, source="api", now=clock).lead
    webinar_hook.unknown_email = "ignore"
    webinar_hook.save()

    response = deliver(client, webinar_hook, zoom())

    assert response.status_code == 200
    assert response.json()["items"] == [
        {"index": 0, "status": "created", "lead_id": known.pk, "error": None},
        {
            "index": 1,
            "status": "rejected",
            "lead_id": None,
            "error": {"field": "items.1.email", "message": "no lead bo@beta.io"},
        },
        {
            "index": 2,
            "status": "rejected",
            "lead_id": None,
            "error": {"field": "items.2.email", "message": "no lead cy@gamma.io"},
        },
    ]
    assert list(Lead.objects.values_list("email", flat=True)) == ["warm@de.de"]
    assert Event.objects.count() == 1


def test_a_form_response_creates_a_sales_ready_lead_already_assigned(
    client: Client, clock: datetime, org: Any, form_hook: WebhookSource
) -> None:
    response = deliver(client, form_hook, typeform())

    assert response.status_code == 200
    assert response.json()["created"] == 1
    lead = Lead.objects.get(email="ann@acme.io")
    # fit: need 15 + decision maker 20 + buying now 20 + 250 people 10; form submit 10
    assert (lead.stage, lead.segment, lead.score) == ("mql", "sales_ready", 75)
    assert (lead.source, lead.company_name, lead.timeline) == ("web_form", "Acme", "now")
    assert lead.custom_fields == {"utm_campaign": "q4-demo"}
    assert lead.owner == org.rep1
    assert lead.sla_due_at is not None
    submission = Submission.objects.get(lead=lead)
    assert submission.payload["webhook"] == "typeform"
    assert submission.payload["item"]["token"] == "a3a12ec67a1365927098a606107fac15"
    assert Event.objects.get(lead=lead).properties == {
        "webhook": "typeform",
        "form": "Book a demo",
        "utm_source": "newsletter",
    }


def test_a_form_response_fills_in_what_a_known_lead_lacks_when_the_source_says_so(
    client: Client, clock: datetime, form_hook: WebhookSource
) -> None:
    # given a nurtured lead known by its address and a short name only
    known = capture_lead({"email": "ann@acme.io", "first_name": "A."}, source="api", now=clock)
    # when the form tool delivers Ann's answers (a hot German buyer)
    deliver(client, form_hook, typeform())
    # then the name the lead had stays, the answers it lacked are filled in, and with
    # them it moves on to sales
    lead = Lead.objects.get(pk=known.lead.pk)
    assert (lead.first_name, lead.company_name, lead.timeline) == ("A.", "Acme", "now")
    assert (lead.stage, lead.segment) == ("mql", "sales_ready")


def test_a_form_tool_can_neither_overwrite_nor_disqualify_a_known_lead(
    client: Client, clock: datetime, org: Any
) -> None:
    # given a nurtured lead whose answers are all known, and a form tool whose answer
    # "Not buying" means it will never buy
    mapping = copy.deepcopy(TYPEFORM_MAPPING)
    mapping["lead"]["timeline"]["map"]["Not buying"] = "never"
    source = WebhookSource.objects.create(
        name="Typeform", slug="typeform", channel="web_form", mapping=mapping
    )
    known = {
        "email": "ann@acme.io", "first_name": "Ann", "company_name": "Acme Ltd",
        "employees": 20, "need": "reports", "country": "FR", "timeline": "year",
        "authority": "influencer",
    }  # fmt: skip
    lead = capture_lead(known, source="api", now=clock).lead
    # when the tool delivers other answers for that address, saying it is not buying
    payload = typeform()
    payload["form_response"]["answers"][4]["choice"]["label"] = "Not buying"
    response = deliver(client, source, payload)
    # then the event is recorded, but the lead keeps every answer and stays in nurture
    assert response.json()["created"] == 1
    lead.refresh_from_db()
    assert {name: getattr(lead, name) for name in known} == known
    assert (lead.stage, lead.segment) == ("nurturing", "nurture")
    assert list(StageChange.objects.filter(lead=lead).values_list("to_stage", flat=True)) == [
        "new",
        "nurturing",
    ]


def test_an_answer_that_does_not_map_rejects_that_item_naming_the_field(
    client: Client, clock: datetime, form_hook: WebhookSource
) -> None:
    payload = typeform()
    payload["form_response"]["answers"][3]["number"] = -4

    response = deliver(client, form_hook, payload)

    assert response.status_code == 200
    assert response.json()["items"] == [
        {
            "index": 0,
            "status": "rejected",
            "lead_id": None,
            "error": {"field": "items.0.employees", "message": "cannot be negative"},
        }
    ]
    assert Lead.objects.count() == 0


@pytest.mark.parametrize("token", ["", "wrong", "x" * 43])
def test_a_wrong_token_is_refused_and_nothing_is_written(
    client: Client, clock: datetime, webinar_hook: WebhookSource, token: str
) -> None:
    response = deliver(client, webinar_hook, zoom(), token=token)

    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "token"
    assert Event.objects.count() == 0


def test_the_token_may_come_in_the_query_string(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    response = client.post(
        f"/hooks/zoom?token={webinar_hook.token}", zoom(), content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["created"] == 3


def test_an_oversize_body_is_refused_before_it_is_read(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    payload = zoom(padding="x" * (1024 * 1024))

    response = deliver(client, webinar_hook, payload)

    assert response.status_code == 413
    assert response.json()["errors"] == [{"field": "body", "message": "larger than 1048576 bytes"}]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        ("{not json", "application/json", 400, "body"),
        ('{"a": NaN}', "application/json", 400, "body"),
        (b"\xff\xfe", "application/json", 400, "body"),
        ("email=a@x.io", "application/x-www-form-urlencoded", 415, "Content-Type"),
        ('{"event": "endpoint.url_validation"}', "application/json", 422,
         "payload.object.participants"),
        (json.dumps({"payload": {"object": {"participants": [{}] * 1001}}}), "application/json",
         422, "payload.object.participants"),
    ],
)  # fmt: skip
def test_a_body_that_cannot_be_read_is_refused_whole_naming_what(
    client: Client,
    clock: datetime,
    webinar_hook: WebhookSource,
    body: Any,
    content_type: str,
    status: int,
    field: str,
) -> None:
    response = deliver(client, webinar_hook, body, content_type=content_type)

    assert response.status_code == status
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert Event.objects.count() == 0


def test_items_that_are_not_objects_are_rejected_one_by_one(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    payload = zoom()
    payload["payload"]["object"]["participants"][1:] = [42, {"status": "attended"}]

    response = deliver(client, webinar_hook, payload)

    assert response.status_code == 200
    assert [(i["status"], i["error"]) for i in response.json()["items"]] == [
        ("created", None),
        ("rejected", {"field": "items.1.item", "message": "must be a JSON object"}),
        (
            "rejected",
            {"field": "items.2.email", "message": "missing (no value at 'participant.email')"},
        ),
    ]


def test_unknown_inactive_and_get_are_refused(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    assert deliver(client, WebhookSource(slug="nope", token="t"), zoom()).status_code == 404
    assert client.get("/hooks/zoom/").status_code == 405
    webinar_hook.is_active = False
    webinar_hook.save()
    assert deliver(client, webinar_hook, zoom()).status_code == 404


def test_a_source_past_its_rate_limit_is_told_to_retry(
    client: Client, clock: datetime, webinar_hook: WebhookSource, settings: Any
) -> None:
    settings.LEADLOOP_HOOK_RATE_PER_MINUTE = 2
    statuses = [deliver(client, webinar_hook, zoom()).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_a_source_with_a_broken_mapping_answers_503_so_the_tool_retries_later(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    WebhookSource.objects.filter(pk=webinar_hook.pk).update(mapping={"email": "x"})

    response = deliver(client, webinar_hook, zoom())

    assert response.status_code == 503
    assert response.json()["errors"][0]["field"] == "mapping.kind"
    assert Event.objects.count() == 0


def test_the_admin_refuses_a_mapping_it_cannot_read(org: Any) -> None:
    source = WebhookSource(name="Bad", slug="bad", mapping={"kind": "x", "lead": {"age": "a"}})
    with pytest.raises(ValidationError) as caught:
        source.full_clean()
    assert caught.value.message_dict == {
        "mapping": ["mapping.lead.age: not a lead profile field (email is mapped above)"]
    }


def test_the_admin_shows_the_endpoint_and_token(
    client: Client, org: Any, webinar_hook: WebhookSource
) -> None:
    client.force_login(org.admin)

    page = client.get(f"/admin/capture/webhooksource/{webinar_hook.pk}/change/")

    assert page.status_code == 200
    assert "/hooks/zoom/" in page.content.decode()
    assert webinar_hook.token in page.content.decode()
    old = webinar_hook.token
    client.post(
        "/admin/capture/webhooksource/",
        {"action": "issue_new_tokens", "_selected_action": [webinar_hook.pk]},
    )
    webinar_hook.refresh_from_db()
    assert webinar_hook.token != old


def test_text_no_database_can_store_rejects_the_item_instead_of_failing(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    payload = zoom()
    payload["payload"]["object"]["participants"][0]["participant"]["org"] = "Acme\x00"
    payload["payload"]["object"]["participants"][1]["participant"]["first_name"] = "\ud800"

    response = deliver(client, webinar_hook, json.dumps(payload, ensure_ascii=True))

    assert response.status_code == 200
    assert [(i["status"], i["error"]) for i in response.json()["items"]] == [
        ("rejected", {"field": "items.0.item", "message": UNSTORABLE}),
        ("rejected", {"field": "items.1.item", "message": UNSTORABLE}),
        ("created", None),
    ]
    payload["payload"]["object"]["topic"] = "Forecasting\x00"
    response = deliver(client, webinar_hook, json.dumps(payload, ensure_ascii=True))
    assert response.json()["items"][2]["error"] == {
        "field": "items.2.properties",
        "message": UNSTORABLE,
    }
