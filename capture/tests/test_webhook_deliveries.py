"""Every request to a webhook source's endpoint is logged with what became of it, refused
ones too, so marketing can see whether a tool's deliveries arrive and why they fail; the
log keeps the newest deliveries of each source."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from api import hooks as hook_views
from capture.models import WebhookDelivery, WebhookSource
from capture.tasks import clean_up_capture_task
from capture.webhook_sources import DeliveryReport, record_webhook_delivery
from leads.models import Lead
from qualify.models import Event

from .webhook_samples import ZOOM_MAPPING, zoom

pytestmark = pytest.mark.usefixtures("fresh_rate_limit")

SECRET = "s3cret-shared-with-the-tool"
ZOOM_SECRET = "zoom-secret-token-1234"
LOGGED = (
    "status_code", "outcome", "rejection", "events_recorded", "duplicates", "items_rejected",
    "client_ip", "body_bytes", "error",
)  # fmt: skip


@pytest.fixture
def signed_hook(org: Any) -> WebhookSource:
    return WebhookSource.objects.create(
        name="Demo tool", slug="demo", mapping={"kind": "demo_booked"}, signing_secret=SECRET
    )


def deliver(
    client: Client, source: WebhookSource, body: str, *, token: str | None = None, **headers: str
) -> Any:
    return client.post(
        f"/hooks/{source.slug}/",
        body,
        content_type="application/json",
        headers={"X-Leadloop-Token": source.token if token is None else token, **headers},
    )


def logged(source: WebhookSource) -> list[tuple[Any, ...]]:
    """The source's delivery log, newest first."""
    return list(source.deliveries.values_list(*LOGGED))


def test_an_accepted_delivery_is_logged_with_its_counts_and_size_but_not_its_payload(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    body = json.dumps(zoom())

    # when the tool delivers its participants, then the same delivery again
    first = deliver(client, webinar_hook, body)
    replay = deliver(client, webinar_hook, body)

    # then both are logged, newest first: three events, then three duplicates
    assert (first.status_code, replay.status_code) == (200, 200)
    size = len(body.encode())
    assert logged(webinar_hook) == [
        (200, "accepted", "", 0, 3, 0, "127.0.0.1", size, ""),
        (200, "accepted", "", 3, 0, 0, "127.0.0.1", size, ""),
    ]
    assert list(webinar_hook.deliveries.values_list("received_at", flat=True)) == [clock, clock]
    assert not any("bo@beta.io" in str(value) for value in logged(webinar_hook)[0])


def test_an_accepted_delivery_keeps_its_first_rejected_item(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    payload = zoom()
    payload["payload"]["object"]["participants"][1:] = [42, {"status": "attended"}]

    deliver(client, webinar_hook, json.dumps(payload))

    [delivery] = logged(webinar_hook)
    assert delivery[:6] == (200, "accepted", "", 1, 0, 2)
    assert delivery[-1] == "items.1.item: must be a JSON object"


@pytest.mark.parametrize(
    ("token", "body", "headers", "status", "rejection", "error"),
    [
        ("wrong", '{"email": "ann@acme.io"}', {}, 403, "bad_token",
         "token: send the source's token as X-Leadloop-Token or ?token="),
        (None, '{"email": "ann@acme.io"}', {}, 401, "bad_signature",
         "X-Leadloop-Signature: missing: send sha256=<hex HMAC-SHA256 of the body with the"
         " secret>"),
        (None, '{"email": "ann@acme.io"}', {"X-Leadloop-Signature": "sha256=00"}, 401,
         "bad_signature", "X-Leadloop-Signature: does not match the body and the source's secret"),
        (None, "{not json", "signed", 400, "invalid_json", "body: is not valid JSON"),
    ],
)  # fmt: skip
def test_a_refused_delivery_is_logged_with_why(
    client: Client,
    clock: datetime,
    signed_hook: WebhookSource,
    token: str | None,
    body: str,
    headers: dict[str, str] | str,
    status: int,
    rejection: str,
    error: str,
) -> None:
    if headers == "signed":
        digest = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
        headers = {"X-Leadloop-Signature": f"sha256={digest}"}
    assert isinstance(headers, dict)

    response = deliver(client, signed_hook, body, token=token, **headers)

    assert response.status_code == status
    assert logged(signed_hook) == [
        (status, "rejected", rejection, 0, 0, 0, "127.0.0.1", len(body), error)
    ]
    assert Event.objects.count() == 0


def test_a_delivery_past_the_rate_limit_is_logged_as_rate_limited(
    client: Client, clock: datetime, webinar_hook: WebhookSource, settings: Any
) -> None:
    settings.LEADLOOP_HOOK_RATE_PER_MINUTE = 1
    body = json.dumps(zoom())

    statuses = [deliver(client, webinar_hook, body).status_code for _ in range(2)]

    assert statuses == [200, 429]
    assert [row[:3] for row in logged(webinar_hook)] == [
        (429, "rejected", "rate_limited"),
        (200, "accepted", ""),
    ]
    assert logged(webinar_hook)[0][-1] == "body: more than 1 deliveries this minute"


def test_a_broken_mapping_is_logged_as_a_mapping_error(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    WebhookSource.objects.filter(pk=webinar_hook.pk).update(mapping={"email": "x"})

    response = deliver(client, webinar_hook, json.dumps(zoom()))

    assert response.status_code == 503
    assert [row[:3] for row in logged(webinar_hook)] == [(503, "rejected", "mapping_error")]
    assert logged(webinar_hook)[0][-1] == (
        "mapping.kind: required: an event kind, or a path and a map"
    )


def test_zooms_url_validation_is_logged_as_validation(
    client: Client, clock: datetime, org: Any
) -> None:
    source = WebhookSource.objects.create(
        name="Zoom", slug="zoom", mapping=ZOOM_MAPPING, signature_scheme="zoom",
        signing_secret=ZOOM_SECRET,
    )  # fmt: skip
    body = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": "abc"}})
    timestamp = str(int(clock.timestamp()))
    signature = hmac.new(
        ZOOM_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
    ).hexdigest()

    headers = {"x-zm-signature": f"v0={signature}", "x-zm-request-timestamp": timestamp}

    response = deliver(client, source, body, **headers)

    assert response.status_code == 200
    assert logged(source) == [(200, "validation", "", 0, 0, 0, "127.0.0.1", len(body), "")]


def test_unknown_slugs_log_nothing_while_a_switched_off_source_or_a_get_is_logged(
    client: Client, clock: datetime, webinar_hook: WebhookSource
) -> None:
    unknown = deliver(client, WebhookSource(slug="nope", token="t"), "{}")
    get = client.get("/hooks/zoom/")
    WebhookSource.objects.filter(pk=webinar_hook.pk).update(is_active=False)
    switched_off = deliver(client, webinar_hook, "{}")

    assert (unknown.status_code, get.status_code, switched_off.status_code) == (404, 405, 404)
    assert WebhookDelivery.objects.count() == 2
    assert logged(webinar_hook) == [
        (404, "rejected", "source_off", 0, 0, 0, "127.0.0.1", 2,
         "slug: no active webhook source 'zoom'"),
        (405, "rejected", "wrong_method", 0, 0, 0, "127.0.0.1", None,
         "method: send the webhook with POST"),
    ]  # fmt: skip


def test_a_delivery_whose_work_fails_is_still_logged_after_the_rollback(
    clock: datetime, webinar_hook: WebhookSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails_half_way(source: WebhookSource, payload: Any, *, now: datetime) -> Any:
        with transaction.atomic():
            Lead.objects.create(email="half@way.io", arrived_at=now, stage_changed_at=now)
            raise RuntimeError("database went away after half@way.io")

    monkeypatch.setattr(hook_views, "receive_webhook", fails_half_way)

    response = deliver(Client(raise_request_exception=False), webinar_hook, "{}")

    assert response.status_code == 500
    assert Lead.objects.count() == 0
    # the exception's text may quote the payload: only its class is kept
    assert logged(webinar_hook) == [
        (500, "rejected", "server_error", 0, 0, 0, "127.0.0.1", 2, "server: RuntimeError")
    ]


@pytest.mark.parametrize(
    ("forwarded", "kept"),
    [("198.51.100.7, 203.0.113.9", "203.0.113.9"), ("203.0.113.9%eth0", "203.0.113.9"),
     ("not-an-address", None)],
)  # fmt: skip
def test_behind_a_proxy_the_senders_address_is_logged_if_it_is_one(
    client: Client, clock: datetime, webinar_hook: WebhookSource, settings: Any,
    forwarded: str, kept: str | None,
) -> None:  # fmt: skip
    settings.LEADLOOP_TRUSTED_PROXIES = 1

    deliver(client, webinar_hook, "{}", token="wrong", **{"X-Forwarded-For": forwarded})

    assert list(webinar_hook.deliveries.values_list("client_ip", flat=True)) == [kept]


def test_a_long_error_is_cut_to_500_characters(client: Client, clock: datetime, org: Any) -> None:
    source = WebhookSource.objects.create(
        name="Form", slug="form", mapping={"kind": {"path": "status", "map": {"ok": "form_submit"}}}
    )
    body = json.dumps({"email": "ann@acme.io", "status": "z" * 1000})

    deliver(client, source, body)

    [delivery] = logged(source)
    assert delivery[5] == 1
    assert len(delivery[-1]) == 500
    assert delivery[-1].startswith("items.0.kind: 'zzz")


# --- keeping the newest ------------------------------------------------------------------


def log_deliveries(source: WebhookSource, times: list[datetime]) -> list[int]:
    return [
        record_webhook_delivery(
            source, DeliveryReport(200, "accepted"), client_ip="127.0.0.1", now=when
        ).pk
        for when in times
    ]


def test_the_clean_up_sweep_keeps_each_sources_newest_deliveries(
    clock: datetime, webinar_hook: WebhookSource, signed_hook: WebhookSource, settings: Any
) -> None:
    now = clock
    settings.LEADLOOP_WEBHOOK_DELIVERIES_KEPT = 3
    minutes = [now - timedelta(minutes=m) for m in (50, 40, 30, 30, 10)]
    # logged out of order: the newest by time are kept, the later-logged of a tie first
    zoom_ids = log_deliveries(webinar_hook, [minutes[4], minutes[0], minutes[2], minutes[3]])
    zoom_ids += log_deliveries(webinar_hook, [minutes[1]])
    demo_ids = log_deliveries(signed_hook, minutes[:2])

    clean_up_capture_task()

    assert list(webinar_hook.deliveries.values_list("pk", flat=True)) == [
        zoom_ids[0], zoom_ids[3], zoom_ids[2],
    ]  # fmt: skip
    assert sorted(signed_hook.deliveries.values_list("pk", flat=True)) == sorted(demo_ids)


def test_prune_webhook_deliveries_runs_the_pruning_now(
    webinar_hook: WebhookSource, now: datetime
) -> None:
    log_deliveries(webinar_hook, [now - timedelta(minutes=m) for m in range(5)])
    out = StringIO()

    call_command("prune_webhook_deliveries", "--keep", "2", stdout=out)
    call_command("prune_webhook_deliveries", "--keep", "2", stdout=out)

    assert out.getvalue().splitlines() == [
        json.dumps({"deleted_deliveries": 3}),
        json.dumps({"deleted_deliveries": 0}),
    ]
    assert list(webinar_hook.deliveries.values_list("received_at", flat=True)) == [
        now,
        now - timedelta(minutes=1),
    ]
    with pytest.raises(CommandError, match="--keep must be 1 or more"):
        call_command("prune_webhook_deliveries", "--keep", "0", stdout=out)


def test_deleting_a_source_deletes_its_log(webinar_hook: WebhookSource, now: datetime) -> None:
    log_deliveries(webinar_hook, [now])

    webinar_hook.delete()

    assert WebhookDelivery.objects.count() == 0


# --- requests without the token ------------------------------------------------------------


def test_requests_without_the_token_are_logged_within_a_budget_per_minute(
    client: Client, clock: datetime, signed_hook: WebhookSource, settings: Any
) -> None:
    settings.LEADLOOP_HOOK_UNAUTHENTICATED_LOGGED = 3
    for _ in range(10):
        assert deliver(client, signed_hook, "{}", token="forged").status_code == 403
    body = '{"email": "ann@acme.io"}'
    digest = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    for _ in range(5):
        deliver(client, signed_hook, body, **{"X-Leadloop-Signature": f"sha256={digest}"})

    kinds = list(signed_hook.deliveries.values_list("authenticated", "status_code"))
    assert kinds.count((False, 403)) == 3  # the rest of the flood is answered, not logged
    assert kinds.count((True, 200)) == 5


def test_a_flood_without_the_token_cannot_prune_real_deliveries_away(
    clock: datetime, signed_hook: WebhookSource, settings: Any
) -> None:
    settings.LEADLOOP_WEBHOOK_DELIVERIES_KEPT = 2
    real = log_deliveries(signed_hook, [clock - timedelta(minutes=m) for m in (30, 20, 10)])
    forged = [
        record_webhook_delivery(
            signed_hook,
            DeliveryReport(403, "rejected", "bad_token"),
            client_ip="203.0.113.9",
            authenticated=False,
            now=clock - timedelta(seconds=s),
        ).pk
        for s in range(5)
    ]

    clean_up_capture_task()

    kept = set(signed_hook.deliveries.values_list("pk", flat=True))
    assert kept == {real[1], real[2], forged[0], forged[1]}
