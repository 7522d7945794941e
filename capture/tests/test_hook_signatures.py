"""Signed webhooks: a source with a signing secret takes only deliveries signed with it,
as its tool signs them (Leadloop's header, or Zoom's), and answers Zoom's URL check."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from capture.models import WebhookSource
from leads.models import Lead
from qualify.models import Event

from .webhook_samples import ZOOM_MAPPING, zoom

pytestmark = pytest.mark.usefixtures("fresh_rate_limit")

SECRET = "s3cret-shared-with-the-tool"
ZOOM_SECRET = "zoom-secret-token-1234"
BODY = b'{"email": "ann@acme.io"}'
# openssl dgst -sha256 -hmac s3cret-shared-with-the-tool of BODY
BODY_SIGNATURE = "sha256=cecdd95ca1824996750815e309539ca87c627aeb8a8991a67b72db928fa6e3cf"


@pytest.fixture
def signed_hook(org: Any) -> WebhookSource:
    return WebhookSource.objects.create(
        name="Demo tool", slug="demo", mapping={"kind": "demo_booked"}, signing_secret=SECRET
    )


@pytest.fixture
def zoom_hook(org: Any) -> WebhookSource:
    return WebhookSource.objects.create(
        name="Zoom webinars",
        slug="zoom",
        campaign=org.webinar,
        channel="webinar",
        mapping=ZOOM_MAPPING,
        signature_scheme="zoom",
        signing_secret=ZOOM_SECRET,
    )


def post(client: Client, source: WebhookSource, body: bytes, **headers: str) -> Any:
    return client.post(
        f"/hooks/{source.slug}/",
        body,
        content_type="application/json",
        headers={"X-Leadloop-Token": source.token, **headers},
    )


def zoom_headers(body: bytes, at: datetime, secret: str = ZOOM_SECRET) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    message = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {"x-zm-signature": f"v0={digest}", "x-zm-request-timestamp": timestamp}


def test_a_delivery_signed_with_the_sources_secret_is_recorded(
    client: Client, clock: datetime, signed_hook: WebhookSource
) -> None:
    response = post(client, signed_hook, BODY, **{"X-Leadloop-Signature": BODY_SIGNATURE})

    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert list(Event.objects.values_list("lead__email", "kind")) == [
        ("ann@acme.io", "demo_booked")
    ]


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (None, "missing: send sha256=<hex HMAC-SHA256 of the body with the secret>"),
        ("", "missing: send sha256=<hex HMAC-SHA256 of the body with the secret>"),
        (BODY_SIGNATURE.removeprefix("sha256="), "does not match the body and the source's secret"),
        (BODY_SIGNATURE[:-1] + "0", "does not match the body and the source's secret"),
        ("sha256=" + hmac.new(b"other", BODY, "sha256").hexdigest(),
         "does not match the body and the source's secret"),
        ("sha256=é", "does not match the body and the source's secret"),
    ],
)  # fmt: skip
def test_a_missing_or_wrong_signature_is_refused_with_401_naming_the_header(
    client: Client,
    clock: datetime,
    signed_hook: WebhookSource,
    signature: str | None,
    message: str,
) -> None:
    headers = {} if signature is None else {"X-Leadloop-Signature": signature}

    response = post(client, signed_hook, BODY, **headers)

    assert response.status_code == 401
    assert response.json()["errors"] == [{"field": "X-Leadloop-Signature", "message": message}]
    assert Event.objects.count() == 0


def test_a_signature_of_another_body_does_not_carry_over(
    client: Client, clock: datetime, signed_hook: WebhookSource
) -> None:
    tampered = BODY.replace(b"ann", b"eve")

    response = post(client, signed_hook, tampered, **{"X-Leadloop-Signature": BODY_SIGNATURE})

    assert response.status_code == 401
    assert Lead.objects.count() == 0


def test_a_signed_delivery_still_needs_the_token(
    client: Client, clock: datetime, signed_hook: WebhookSource
) -> None:
    response = client.post(
        "/hooks/demo/",
        BODY,
        content_type="application/json",
        headers={"X-Leadloop-Signature": BODY_SIGNATURE},
    )

    assert response.status_code == 403


def test_a_zoom_delivery_signed_the_zoom_way_is_recorded(
    client: Client, clock: datetime, zoom_hook: WebhookSource
) -> None:
    body = json.dumps(zoom()).encode()

    response = post(client, zoom_hook, body, **zoom_headers(body, clock - timedelta(minutes=4)))

    assert response.status_code == 200
    assert response.json()["created"] == 3


@pytest.mark.parametrize(
    ("sent_at", "field", "message"),
    [
        (timedelta(minutes=-5, seconds=-1), "x-zm-request-timestamp",
         "more than 5 minutes from now: a replayed or delayed delivery"),
        (timedelta(minutes=5, seconds=1), "x-zm-request-timestamp",
         "more than 5 minutes from now: a replayed or delayed delivery"),
    ],
)  # fmt: skip
def test_a_zoom_delivery_older_than_five_minutes_is_refused_as_a_replay(
    client: Client,
    clock: datetime,
    zoom_hook: WebhookSource,
    sent_at: timedelta,
    field: str,
    message: str,
) -> None:
    body = json.dumps(zoom()).encode()

    response = post(client, zoom_hook, body, **zoom_headers(body, clock + sent_at))

    assert response.status_code == 401
    assert response.json()["errors"] == [{"field": field, "message": message}]
    assert Event.objects.count() == 0


def test_a_replay_with_a_fresh_timestamp_fails_the_signature(
    client: Client, clock: datetime, zoom_hook: WebhookSource
) -> None:
    body = json.dumps(zoom()).encode()
    captured = zoom_headers(body, clock - timedelta(hours=1))
    captured["x-zm-request-timestamp"] = str(int(clock.timestamp()))

    response = post(client, zoom_hook, body, **captured)

    assert response.status_code == 401
    assert response.json()["errors"] == [
        {"field": "x-zm-signature", "message": "does not match the body and the source's secret"}
    ]


@pytest.mark.parametrize(
    ("headers", "field", "message"),
    [
        ({}, "x-zm-signature", "missing: Zoom signs every delivery"),
        ({"x-zm-signature": "v0=ab"}, "x-zm-request-timestamp", "missing or not epoch seconds"),
        ({"x-zm-signature": "v0=ab", "x-zm-request-timestamp": "soon"}, "x-zm-request-timestamp",
         "missing or not epoch seconds"),
        ({"X-Leadloop-Signature": BODY_SIGNATURE}, "x-zm-signature",
         "missing: Zoom signs every delivery"),
    ],
)  # fmt: skip
def test_a_zoom_delivery_without_zooms_headers_is_refused(
    client: Client,
    clock: datetime,
    zoom_hook: WebhookSource,
    headers: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = post(client, zoom_hook, json.dumps(zoom()).encode(), **headers)

    assert response.status_code == 401
    assert response.json()["errors"] == [{"field": field, "message": message}]


def test_zooms_url_validation_is_answered_with_the_encrypted_token(
    client: Client, clock: datetime, zoom_hook: WebhookSource
) -> None:
    body = json.dumps(
        {
            "event": "endpoint.url_validation",
            "event_ts": 1654503849680,
            "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
        }
    ).encode()

    response = post(client, zoom_hook, body, **zoom_headers(body, clock))

    assert response.status_code == 200
    # openssl dgst -sha256 -hmac zoom-secret-token-1234 of the plain token
    assert response.json() == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": "0a616cf8dace36e7bb11e72f7950c046ffcabf73a57ddce9cb5157b8b573c0f0",
    }
    assert (Event.objects.count(), Lead.objects.count()) == (0, 0)


def test_an_unsigned_url_validation_is_refused_so_the_secret_signs_nothing_for_others(
    client: Client, clock: datetime, zoom_hook: WebhookSource
) -> None:
    # Answering it would hand out the HMAC of any text, e.g. a forged "v0:<ts>:<body>".
    body = {"event": "endpoint.url_validation", "payload": {"plainToken": "v0:1:{}"}}

    response = post(client, zoom_hook, json.dumps(body).encode())

    assert response.status_code == 401
    assert "encryptedToken" not in response.json()


def test_a_url_validation_without_a_plain_token_names_it(
    client: Client, clock: datetime, zoom_hook: WebhookSource
) -> None:
    body = json.dumps({"event": "endpoint.url_validation", "payload": {}}).encode()

    response = post(client, zoom_hook, body, **zoom_headers(body, clock))

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "payload.plainToken", "message": "missing: Zoom's URL validation sends one"}
    ]


# --- the admin ---------------------------------------------------------------------------


def admin_form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Zoom webinars",
        "slug": "zoom",
        "signature_scheme": "zoom",
        "signing_secret": "",
        "campaign": "",
        "channel": "webinar",
        "unknown_email": "create",
        "mapping": json.dumps(ZOOM_MAPPING),
        "is_active": "on",
        **changes,
    }


def test_the_admin_stores_the_secret_as_typed_and_shows_it_only_masked(
    client: Client, org: Any
) -> None:
    client.force_login(org.admin)
    secret = "wr0ng-but-long-zoom-secret"

    created = client.post("/admin/capture/webhooksource/add/", admin_form(signing_secret=secret))
    source = WebhookSource.objects.get()
    page = client.get(f"/admin/capture/webhooksource/{source.pk}/change/").content.decode()
    listing = client.get("/admin/capture/webhooksource/").content.decode()

    assert created.status_code == 302
    assert (source.signature_scheme, source.signing_secret) == ("zoom", secret)
    assert secret not in page
    assert "Set: ••••••••cret." in page
    assert secret not in listing
    assert "Zoom (x-zm-signature) (••••••••cret)" in listing


def test_the_admin_keeps_the_secret_when_left_empty_and_removes_it_when_asked(
    client: Client, org: Any, signed_hook: WebhookSource
) -> None:
    client.force_login(org.admin)
    url = f"/admin/capture/webhooksource/{signed_hook.pk}/change/"
    form = admin_form(name="Demo tool", slug="demo", signature_scheme="leadloop")

    kept = client.post(url, form)
    signed_hook.refresh_from_db()
    assert (kept.status_code, signed_hook.signing_secret) == (302, SECRET)

    replaced = client.post(url, form | {"signing_secret": "a-new-one"})
    signed_hook.refresh_from_db()
    assert (replaced.status_code, signed_hook.signing_secret) == (302, "a-new-one")

    removed = client.post(url, form | {"remove_signing_secret": "on"})
    signed_hook.refresh_from_db()
    assert (removed.status_code, signed_hook.signing_secret) == (302, "")


def test_the_admin_refuses_a_zoom_source_without_its_secret(client: Client, org: Any) -> None:
    client.force_login(org.admin)

    response = client.post("/admin/capture/webhooksource/add/", admin_form())

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "signing_secret": ["Zoom needs its app's Secret Token here"]
    }
    assert WebhookSource.objects.count() == 0
