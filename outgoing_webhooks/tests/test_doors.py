import json

import pytest
from django.core.management import CommandError, call_command

from conftest import bearer
from outgoing_webhooks.models import Delivery, Subscription
from outgoing_webhooks.services import create_subscription

API = "/api/v1/webhook-subscriptions"


def post(client, path, body, user):
    return client.post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=bearer(user)
    )


def test_an_admin_subscribes_through_the_api_and_sees_the_secret_once(
    org, client, receiver
) -> None:
    created = post(
        client,
        API,
        {"name": "CRM", "url": receiver.url, "event_types": ["lead.won", "lead.assigned"]},
        org.admin,
    )

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["lead.assigned", "lead.won"]
    listed = client.get(API, HTTP_AUTHORIZATION=bearer(org.admin)).json()
    assert [s["name"] for s in listed] == ["CRM"]
    assert "secret" not in listed[0]
    assert listed[0]["secret_hint"] == body["secret"][:10] + "…"


def test_the_api_names_a_bad_url_and_an_unknown_event_type(org, client) -> None:
    bad_url = post(
        client,
        API,
        {"name": "x", "url": "file:///etc/passwd", "event_types": ["lead.won"]},
        org.admin,
    )
    bad_type = post(
        client,
        API,
        {"name": "x", "url": "https://crm.example.com/", "event_types": ["lead.eaten"]},
        org.admin,
    )

    assert bad_url.status_code == 422
    assert bad_url.json()["errors"] == [
        {"field": "url", "message": "'file:///etc/passwd' must start with http:// or https://"}
    ]
    assert bad_type.status_code == 422
    assert bad_type.json()["errors"][0]["field"] == "event_types"
    assert "unknown event type 'lead.eaten'" in bad_type.json()["errors"][0]["message"]


@pytest.mark.parametrize("who", ["rep1", "manager", "marketer"])
def test_only_admins_reach_outgoing_webhooks_through_any_door(org, client, now, who) -> None:
    user = getattr(org, who)
    subscription = create_subscription(
        by=org.admin, now=now, name="CRM", url="https://crm.example.com/", event_types=["lead.won"]
    )

    assert client.get(API, HTTP_AUTHORIZATION=bearer(user)).status_code == 403
    assert (
        post(
            client, API, {"name": "x", "url": "https://x.io/", "event_types": ["lead.won"]}, user
        ).status_code
        == 403
    )
    assert post(client, f"{API}/{subscription.pk}/test", {}, user).status_code == 403
    assert (
        client.get(
            f"{API}/{subscription.pk}/deliveries", HTTP_AUTHORIZATION=bearer(user)
        ).status_code
        == 403
    )
    client.force_login(user)
    assert client.get("/settings/outgoing-webhooks/").status_code == 403
    assert client.get(f"/settings/outgoing-webhooks/{subscription.pk}/").status_code == 403
    with pytest.raises(CommandError, match="only admins"):
        call_command(
            "webhooks", "create", "x", "--url", "https://x.io/", "--events", "lead.won", "--as", who
        )
    assert Subscription.objects.count() == 1


def test_test_event_delivery_log_and_retry_through_the_api(org, client, receiver) -> None:
    subscription_id = post(
        client, API, {"name": "CRM", "url": receiver.url, "event_types": ["lead.won"]}, org.admin
    ).json()["id"]
    receiver.statuses = [500]

    tested = post(client, f"{API}/{subscription_id}/test", {}, org.admin)
    assert tested.status_code == 200
    assert tested.json()["status"] == "pending"
    assert tested.json()["last_status_code"] == 500
    log = client.get(
        f"{API}/{subscription_id}/deliveries", HTTP_AUTHORIZATION=bearer(org.admin)
    ).json()
    assert log["count"] == 1
    assert log["items"][0]["event_type"] == "leadloop.test"

    retried = post(
        client, f"{API}/{subscription_id}/deliveries/{log['items'][0]['id']}/retry", {}, org.admin
    )

    assert retried.json()["status"] == "delivered"
    assert retried.json()["attempts"] == 1
    assert [r.headers["X-Leadloop-Event"] for r in receiver.requests] == ["leadloop.test"] * 2


def test_patch_and_delete_a_subscription(org, client, now) -> None:
    subscription = create_subscription(
        by=org.admin, now=now, name="CRM", url="https://crm.example.com/", event_types=["lead.won"]
    )
    auth = bearer(org.admin)

    patched = client.patch(
        f"{API}/{subscription.pk}",
        json.dumps({"is_active": False, "event_types": ["lead.lost"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert patched.status_code == 200
    assert (patched.json()["is_active"], patched.json()["event_types"]) == (False, ["lead.lost"])
    assert client.delete(f"{API}/{subscription.pk}", HTTP_AUTHORIZATION=auth).status_code == 204
    assert client.get(f"{API}/{subscription.pk}", HTTP_AUTHORIZATION=auth).status_code == 404


def test_the_cli_creates_lists_tests_and_shows_deliveries(org, receiver, capsys) -> None:
    call_command(
        "webhooks",
        "create",
        "CRM",
        "--url",
        receiver.url,
        "--events",
        "lead.won,lead.lost",
        "--as",
        "admin",
    )
    created = capsys.readouterr().out
    subscription = Subscription.objects.get()
    assert subscription.secret in created

    call_command("webhooks", "list")
    listed = capsys.readouterr().out
    assert "CRM" in listed and "lead.won,lead.lost" in listed and subscription.secret not in listed

    call_command("webhooks", "test", str(subscription.pk), "--as", "admin")
    assert "delivered" in capsys.readouterr().out
    call_command("webhooks", "deliveries", str(subscription.pk))
    out = capsys.readouterr().out
    assert "leadloop.test" in out and "200" in out
    assert Delivery.objects.get().status == "delivered"
