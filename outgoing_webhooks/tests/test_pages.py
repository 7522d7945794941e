from outgoing_webhooks.models import Delivery, Subscription

PAGES = "/settings/outgoing-webhooks/"


def test_an_admin_creates_a_subscription_and_sees_its_secret_once(org, client, receiver) -> None:
    client.force_login(org.admin)

    created = client.post(
        f"{PAGES}new/",
        {
            "name": "CRM",
            "url": receiver.url,
            "event_types": ["lead.won", "lead.sla_breached"],
            "is_active": "on",
        },
        follow=True,
    )

    subscription = Subscription.objects.get()
    assert subscription.event_types == ["lead.sla_breached", "lead.won"]
    assert subscription.created_by == org.admin
    assert subscription.secret in created.content.decode()
    assert 'data-copy="secret-value"' in created.content.decode()
    again = client.get(f"{PAGES}{subscription.pk}/").content.decode()
    assert subscription.secret not in again
    assert subscription.secret[:10] + "…" in again
    listed = client.get(PAGES).content.decode()
    assert "CRM" in listed and subscription.secret not in listed


def test_the_form_names_a_url_that_is_not_http(org, client) -> None:
    client.force_login(org.admin)

    answer = client.post(
        f"{PAGES}new/",
        {"name": "CRM", "url": "ftp://files.example.com/", "event_types": ["lead.won"]},
    )

    assert answer.status_code == 400
    assert "must start with http:// or https://" in answer.content.decode()
    assert not Subscription.objects.exists()


def test_send_test_event_then_retry_from_the_delivery_log(org, client, receiver) -> None:
    client.force_login(org.admin)
    client.post(
        f"{PAGES}new/",
        {"name": "CRM", "url": receiver.url, "event_types": ["lead.won"], "is_active": "on"},
    )
    subscription = Subscription.objects.get()
    receiver.statuses = [502]

    tested = client.post(f"{PAGES}{subscription.pk}/test/", follow=True).content.decode()
    assert "Test event not delivered: HTTP 502" in tested
    delivery = Delivery.objects.get()
    assert f'data-retry="{delivery.pk}"' in tested

    retried = client.post(
        f"{PAGES}{subscription.pk}/deliveries/{delivery.pk}/retry/", follow=True
    ).content.decode()

    assert "Delivered on retry: the receiver answered 200." in retried
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert len(receiver.requests) == 2


def test_the_incoming_webhooks_page_points_admins_to_outgoing_ones(org, client) -> None:
    client.force_login(org.admin)
    assert 'id="outgoing-webhooks-link"' in client.get("/webhooks/").content.decode()
    client.force_login(org.marketer)
    assert 'id="outgoing-webhooks-link"' not in client.get("/webhooks/").content.decode()


def test_the_delivery_log_page_costs_the_same_few_queries_however_long_it_is(
    org, client, now, django_assert_max_num_queries
) -> None:
    from outgoing_webhooks.services import create_subscription

    subscription = create_subscription(
        by=org.admin, now=now, name="CRM", url="https://crm.example.com/", event_types=["lead.won"]
    )
    Delivery.objects.bulk_create(
        Delivery(
            subscription=subscription,
            event_id=f"e{i}",
            event_type="lead.won",
            payload={"i": i},
            created_at=now,
        )
        for i in range(120)
    )
    client.force_login(org.admin)

    with django_assert_max_num_queries(12):
        page = client.get(f"/settings/outgoing-webhooks/{subscription.pk}/?status=pending")
    with django_assert_max_num_queries(10):
        listed = client.get("/settings/outgoing-webhooks/")

    assert page.content.decode().count("data-retry=") == 50
    assert "Page 1 of 3" in page.content.decode()
    assert listed.status_code == 200
