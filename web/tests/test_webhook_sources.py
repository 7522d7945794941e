"""Marketing connects webinar and form tools on /webhooks/, then the tools deliver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from capture.models import WebhookDelivery, WebhookSource
from capture.signatures import hmac_hex
from capture.tests.webhook_samples import ZOOM_MAPPING, zoom
from capture.webhook_sources import DeliveryReport, record_webhook_delivery
from leads.models import CampaignMember, Lead
from qualify.models import Event

SECRET = "whsec-0123456789abcdef-XYZW"


@pytest.fixture(autouse=True)
def fresh_rate_limit(db: None) -> Iterator[None]:
    # The hook endpoint's rate counters live in the cache, outside test transactions.
    cache.clear()
    yield
    cache.clear()


def set_up(client: Client, url: str | None = None, **overrides: Any) -> Any:
    data: dict[str, Any] = {
        "name": "Zoom webinars",
        "slug": "",
        "campaign": "",
        "channel": "webinar",
        "mapping": json.dumps(ZOOM_MAPPING),
        "unknown_email": "create",
        "is_active": "on",
        "signature_scheme": "leadloop",
        "signing_secret": "",
    }
    return client.post(url or reverse("web:webhook_new"), data | overrides)


def deliver(url_with_token: str, body: str, **headers: str) -> Any:
    """POST as the tool does: to the URL the page shows, token in the query string."""
    parts = urlsplit(url_with_token)
    return Client().post(
        f"{parts.path}?{parts.query}", body, content_type="application/json", headers=headers
    )


def endpoint_with_token(source: WebhookSource) -> str:
    return f"http://testserver/hooks/{source.slug}/?token={source.token}"


def log(
    source: WebhookSource, *, minutes_ago: float, outcome: str, rejection: str = "", **fields: Any
) -> WebhookDelivery:
    """A delivery in the source's log, as the endpoint records one."""
    report = DeliveryReport(status_code=200, outcome=outcome, rejection=rejection, **fields)
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return record_webhook_delivery(source, report, client_ip="198.51.100.7", now=when)


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_marketing_sets_up_a_source_and_the_tool_delivers_events(org, client_for, role) -> None:
    client = client_for(getattr(org, role))

    # given a source set up on the page, for the webinar campaign
    created = set_up(client, campaign=str(org.webinar.pk))
    source = WebhookSource.objects.get()
    page = client.get(reverse("web:webhook_edit", args=[source.pk]))

    # when the tool posts a webinar's participants to the URL the page shows
    url = page.context["endpoint_with_token"]
    response = deliver(url, json.dumps(zoom()))

    # then the page gave the endpoint with its token, and every participant has an event
    assert created.status_code == 302
    assert created["Location"] == reverse("web:webhook_edit", args=[source.pk])
    assert (source.name, source.slug, source.campaign, source.channel, source.is_active) == (
        "Zoom webinars",
        "zoom-webinars",
        org.webinar,
        "webinar",
        True,
    )
    assert source.mapping == ZOOM_MAPPING
    assert url == f"http://testserver/hooks/zoom-webinars/?token={source.token}"
    assert f"'http://testserver/hooks/zoom-webinars/?token={source.token}'" in page.context["curl"]
    assert response.status_code == 200
    assert (response.json()["created"], response.json()["rejected"]) == (3, 0)
    assert sorted(Event.objects.values_list("lead__email", "kind")) == [
        ("bo@beta.io", "webinar_attended"),
        ("cy@gamma.io", "webinar_no_show"),
        ("warm@de.de", "webinar_attended"),
    ]
    assert CampaignMember.objects.filter(campaign=org.webinar).count() == 3


def test_the_example_delivery_on_the_page_records_one_event(org, client_for) -> None:
    client = client_for(org.marketer)
    set_up(client, campaign=str(org.webinar.pk))
    source = WebhookSource.objects.get()

    page = client.get(reverse("web:webhook_edit", args=[source.pk]))
    response = deliver(page.context["endpoint_with_token"], page.context["example_body"])

    assert response.status_code == 200
    assert response.json()["created"] == 1
    event = Event.objects.select_related("lead").get()
    assert (event.lead.email, event.kind, event.campaign) == (
        "jane.doe@example.com",
        "webinar_no_show",  # "absent", the first value the mapping's map knows
        org.webinar,
    )
    assert (event.lead.first_name, event.lead.company_name) == ("Jane", "Example Inc")
    # the curl command posts exactly that body
    assert f"-d '{page.context['example_body']}'" in page.context["curl"]


def test_the_list_shows_each_source_with_its_endpoint(org, client_for) -> None:
    WebhookSource.objects.create(name="Typeform", slug="typeform", mapping={"kind": "form_submit"})
    WebhookSource.objects.create(
        name="Zoom", slug="zoom", mapping=ZOOM_MAPPING, campaign=org.webinar,
        signing_secret=SECRET, signature_scheme="zoom", is_active=False,
    )  # fmt: skip
    client = client_for(org.marketer)

    response = client.get(reverse("web:webhooks"))

    body = response.content.decode()
    assert response.status_code == 200
    assert [row["source"].name for row in response.context["rows"]] == ["Typeform", "Zoom"]
    assert [row["endpoint"] for row in response.context["rows"]] == [
        "http://testserver/hooks/typeform/",
        "http://testserver/hooks/zoom/",
    ]
    assert [row["masked_secret"] for row in response.context["rows"]] == ["", "••••••••XYZW"]
    assert SECRET not in body
    zoom_source = WebhookSource.objects.get(slug="zoom")
    assert zoom_source.token not in body
    assert f'href="/webhooks/{zoom_source.pk}/edit/"' in body
    assert 'href="/webhooks/new/"' in body
    assert '<span class="badge grey">off</span>' in body
    assert 'href="/webhooks/" aria-current="page">Webhooks</a>' in body


def test_the_list_takes_the_same_queries_for_many_sources(
    org, client_for, django_assert_max_num_queries
) -> None:
    for number in range(20):
        source = WebhookSource.objects.create(
            name=f"Tool {number}", slug=f"tool-{number}", campaign=org.webinar,
            mapping={"kind": "form_submit"},
        )  # fmt: skip
        log(source, minutes_ago=number, outcome="accepted")
    client = client_for(org.marketer)

    # session, user, the navigation's badges, the count for the pager, the sources with
    # their campaigns and logs
    with django_assert_max_num_queries(5):
        response = client.get(reverse("web:webhooks"))

    assert len(response.context["rows"]) == 20


def test_the_list_counts_each_sources_deliveries_of_the_last_day_and_names_the_last(
    org, client_for
) -> None:
    zoom_source = WebhookSource.objects.create(name="Zoom", slug="zoom", mapping=ZOOM_MAPPING)
    WebhookSource.objects.create(name="Typeform", slug="typeform", mapping={"kind": "form_submit"})
    log(zoom_source, minutes_ago=25 * 60, outcome="rejected", rejection="bad_token")
    log(zoom_source, minutes_ago=120, outcome="accepted", events_recorded=3)
    log(zoom_source, minutes_ago=90, outcome="validation")
    log(zoom_source, minutes_ago=60, outcome="accepted", duplicates=3)
    log(zoom_source, minutes_ago=5, outcome="rejected", rejection="bad_signature")
    client = client_for(org.marketer)

    response = client.get(reverse("web:webhooks"))

    body = response.content.decode()
    typeform_row, zoom_row = response.context["rows"]
    assert (typeform_row["source"].recent_deliveries, typeform_row["last_delivery"]) == (0, None)
    assert (
        zoom_row["source"].recent_deliveries,
        zoom_row["source"].recent_accepted,
        zoom_row["source"].recent_rejected,
    ) == (4, 2, 1)
    assert zoom_row["last_delivery"] == {"ago": "5m ago", "outcome": "rejected: bad signature"}
    assert (
        '<td class="deliveries">4<div class="sub">2 accepted · 1 rejected</div>'
        '<div class="sub">last delivery: 5m ago, rejected: bad signature</div></td>'
    ) in body
    assert (
        '<td class="deliveries">0<div class="sub">0 accepted · 0 rejected</div>'
        '<div class="sub">no delivery yet</div></td>'
    ) in body


def test_a_sources_page_lists_its_last_50_deliveries_newest_first(org, client_for) -> None:
    client = client_for(org.marketer)
    set_up(client)
    source = WebhookSource.objects.get()
    for minutes_ago in range(60, 10, -1):
        log(source, minutes_ago=minutes_ago, outcome="accepted", events_recorded=1)

    # when the tool delivers, then someone posts with an old token
    deliver(endpoint_with_token(source), json.dumps(zoom()))
    deliver(f"http://testserver/hooks/{source.slug}/?token=old", "{}")
    page = client.get(reverse("web:webhook_edit", args=[source.pk]))

    body = page.content.decode()
    rows = page.context["deliveries"]
    assert len(rows) == 50
    assert [(r["delivery"].status_code, r["outcome"]) for r in rows[:3]] == [
        (403, "rejected: bad token"),
        (200, "accepted"),
        (200, "accepted"),
    ]
    assert [r["delivery"].received_at for r in rows] == sorted(
        (r["delivery"].received_at for r in rows), reverse=True
    )
    assert (rows[1]["delivery"].events_recorded, rows[2]["delivery"].client_ip) == (
        3,
        "198.51.100.7",
    )
    assert '<section class="card" id="deliveries">' in body
    assert "<h2>Recent deliveries</h2>" in body
    assert (
        '<td class="num">403</td>\n        <td><span class="badge red">rejected: bad token</span></td>'
    ) in body
    assert "token: send the source&#x27;s token as X-Leadloop-Token or ?token=" in body
    assert '<span class="badge green">accepted</span>' in body


def test_a_new_sources_page_has_no_delivery_log_and_an_unused_one_says_so(org, client_for) -> None:
    client = client_for(org.marketer)
    source = WebhookSource.objects.create(name="Zoom", slug="zoom", mapping=ZOOM_MAPPING)

    new = client.get(reverse("web:webhook_new"))
    edit = client.get(reverse("web:webhook_edit", args=[source.pk]))

    assert b'id="deliveries"' not in new.content
    assert edit.context["deliveries"] == []
    assert b"No deliveries yet: they are listed here as the tool sends them." in edit.content


@pytest.mark.parametrize("role", ["rep1", "manager"])
def test_sales_may_not_see_the_delivery_log(org, client_for, role) -> None:
    source = WebhookSource.objects.create(name="Zoom", slug="zoom", mapping=ZOOM_MAPPING)
    log(source, minutes_ago=1, outcome="rejected", rejection="bad_token", error="token: wrong")
    client = client_for(getattr(org, role))

    listing = client.get(reverse("web:webhooks"))
    page = client.get(reverse("web:webhook_edit", args=[source.pk]))

    assert (listing.status_code, page.status_code) == (403, 403)
    for response in (listing, page):
        assert b"198.51.100.7" not in response.content
        assert b"token: wrong" not in response.content


@pytest.mark.parametrize("role", ["rep1", "manager"])
def test_sales_may_not_set_up_webhooks(org, client_for, role) -> None:
    source = WebhookSource.objects.create(name="Zoom", slug="zoom", mapping=ZOOM_MAPPING)
    token = source.token
    client = client_for(getattr(org, role))
    edit = reverse("web:webhook_edit", args=[source.pk])

    assert client.get(reverse("web:webhooks")).status_code == 403
    assert client.get(reverse("web:webhook_new")).status_code == 403
    assert set_up(client).status_code == 403
    assert client.get(edit).status_code == 403
    assert set_up(client, edit, name="Changed").status_code == 403
    assert client.post(reverse("web:webhook_token", args=[source.pk])).status_code == 403
    assert b'href="/webhooks/"' not in client.get(reverse("web:home")).content
    source.refresh_from_db()
    assert (source.name, source.token, WebhookSource.objects.count()) == ("Zoom", token, 1)


def test_signed_out_people_are_sent_to_log_in(org) -> None:
    source = WebhookSource.objects.create(name="Zoom", slug="zoom", mapping=ZOOM_MAPPING)
    urls = [
        reverse("web:webhooks"),
        reverse("web:webhook_new"),
        reverse("web:webhook_edit", args=[source.pk]),
    ]

    for url in urls:
        response = Client().get(url)
        assert (response.status_code, response["Location"]) == (302, f"/login/?next={url}")
    token_url = reverse("web:webhook_token", args=[source.pk])
    assert Client().post(token_url)["Location"] == f"/login/?next={token_url}"


def test_broken_json_is_shown_next_to_the_mapping_and_nothing_is_saved(org, client_for) -> None:
    client = client_for(org.marketer)

    response = set_up(client, mapping='{\n  "kind": "form_submit",\n}')

    body = response.content.decode()
    assert response.status_code == 400
    assert response.context["form"].errors["mapping"] == [
        "Not valid JSON: Expecting property name enclosed in double quotes (line 3, column 1)."
    ]
    assert (
        '<div class="field-errors" id="id_mapping_error"><p class="field-error">Not valid' in body
    )
    # what was typed stays in the box, to be fixed
    assert "  &quot;kind&quot;: &quot;form_submit&quot;,\n}</textarea>" in body
    assert WebhookSource.objects.count() == 0


def test_mapping_errors_name_the_path_that_is_wrong(org, client_for) -> None:
    client = client_for(org.marketer)
    mapping = {"items": 5, "email": "participant..email", "lead": {"shoe_size": "size"}}

    response = set_up(client, mapping=json.dumps(mapping))

    assert response.status_code == 400
    assert response.context["form"].errors["mapping"] == [
        'mapping.items: must be a path, or "" for a single-object payload',
        "mapping.kind: required: an event kind, or a path and a map",
        "mapping.email: cannot read a path from 'participant..email'",
        "mapping.lead.shoe_size: not a lead profile field (email is mapped above)",
    ]
    assert "mapping.kind: required" in response.content.decode()
    assert WebhookSource.objects.count() == 0


def test_a_zoom_source_needs_its_secret_and_a_taken_slug_is_refused(org, client_for) -> None:
    WebhookSource.objects.create(name="Old", slug="zoom-webinars", mapping=ZOOM_MAPPING)
    client = client_for(org.marketer)

    no_secret = set_up(client, slug="new-zoom", signature_scheme="zoom")
    taken = set_up(client, slug="zoom-webinars")
    made = set_up(client)

    assert no_secret.status_code == taken.status_code == 400
    assert 'id="id_signing_secret_error">Zoom needs its app&#x27;s Secret Token here<' in (
        no_secret.content.decode()
    )
    assert taken.context["form"].errors["slug"] == ["Another webhook source uses this address."]
    assert made.status_code == 302
    assert sorted(WebhookSource.objects.values_list("slug", flat=True)) == [
        "zoom-webinars",
        "zoom-webinars-2",
    ]


def test_editing_keeps_the_secret_when_left_blank(org, client_for) -> None:
    client = client_for(org.marketer)
    set_up(client, signing_secret=SECRET)
    source = WebhookSource.objects.get()
    url = reverse("web:webhook_edit", args=[source.pk])

    page = client.get(url)
    saved = set_up(client, url, name="Zoom (EMEA)", slug="zoom-webinars", signing_secret="")
    source.refresh_from_db()
    unsigned = deliver(endpoint_with_token(source), json.dumps(zoom()))
    signed = deliver(
        endpoint_with_token(source),
        json.dumps(zoom()),
        **{"X-Leadloop-Signature": "sha256=" + hmac_hex(SECRET, json.dumps(zoom()).encode())},
    )

    assert SECRET not in page.content.decode()
    assert "Set: ••••••••XYZW" in page.content.decode()
    assert page.context["signature_headers"] == [
        "X-Leadloop-Signature: sha256=<hex HMAC-SHA256 of the raw body,"
        " keyed with the signing secret>"
    ]
    assert "SECRET='paste-the-signing-secret-here'" in page.context["curl"]
    assert saved.status_code == 302
    assert (source.name, source.signing_secret) == ("Zoom (EMEA)", SECRET)
    assert unsigned.status_code == 401
    assert unsigned.json()["errors"][0]["field"] == "X-Leadloop-Signature"
    assert signed.status_code == 200


def test_the_secret_can_be_replaced_or_removed(org, client_for) -> None:
    client = client_for(org.marketer)
    set_up(client, signing_secret=SECRET)
    source = WebhookSource.objects.get()
    url = reverse("web:webhook_edit", args=[source.pk])

    both = set_up(client, url, signing_secret="another-secret", remove_signing_secret="on")
    source.refresh_from_db()
    kept = source.signing_secret
    set_up(client, url, signing_secret="another-secret")
    source.refresh_from_db()
    replaced = source.signing_secret
    set_up(client, url, remove_signing_secret="on")
    source.refresh_from_db()

    assert both.status_code == 400
    assert both.context["form"].errors["remove_signing_secret"] == [
        "Type a new secret or remove it, not both."
    ]
    assert (kept, replaced, source.signing_secret) == (SECRET, "another-secret", "")
    assert deliver(endpoint_with_token(source), json.dumps(zoom())).status_code == 200


def test_a_new_token_stops_the_old_one(org, client_for) -> None:
    client = client_for(org.marketer)
    set_up(client)
    source = WebhookSource.objects.get()
    old_url = endpoint_with_token(source)

    refused_get = client.get(reverse("web:webhook_token", args=[source.pk]))
    rotated = client.post(reverse("web:webhook_token", args=[source.pk]))
    source.refresh_from_db()
    page = client.get(rotated["Location"])
    old = deliver(old_url, json.dumps(zoom()))
    new = deliver(page.context["endpoint_with_token"], json.dumps(zoom()))

    assert refused_get.status_code == 405
    assert rotated.status_code == 302
    assert page.context["endpoint_with_token"] == endpoint_with_token(source) != old_url
    assert "the old one no longer works" in page.content.decode()
    assert old.status_code == 403
    assert old.json()["errors"][0]["field"] == "token"
    assert new.status_code == 200
    assert Lead.objects.count() == 3


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_setup_pages_render(org, client_for, role) -> None:
    source = WebhookSource.objects.create(
        name="Zoom", slug="zoom", mapping=ZOOM_MAPPING, signing_secret=SECRET,
        signature_scheme="zoom",
    )  # fmt: skip
    client = client_for(getattr(org, role))

    new = client.get(reverse("web:webhook_new"))
    edit = client.get(reverse("web:webhook_edit", args=[source.pk]))

    assert new.status_code == edit.status_code == 200
    assert b'id="webhook-form"' in new.content and b'id="connect"' not in new.content
    assert json.loads(new.context["form"]["mapping"].value())["kind"] == "form_submit"
    assert b'id="rotate-token"' in edit.content
    assert SECRET not in edit.content.decode()
    assert edit.context["signature_headers"][0].startswith("x-zm-request-timestamp: ")
    assert '-H "x-zm-signature: v0=$SIG"' in edit.context["curl"]
