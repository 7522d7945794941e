import json
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from capture.services import capture_lead
from conftest import HOT
from followup.services import accept_lead, convert_lead, lose_lead, win_lead
from leadloop.sweeps import run_due as all_sweeps
from leads.models import StageChange
from outgoing_webhooks.choices import DeliveryStatus
from outgoing_webhooks.models import Delivery
from outgoing_webhooks.rules import verify_signature
from outgoing_webhooks.services import create_subscription, run_due
from routing.services import reassign_lead


def subscribe(org, receiver, now, types, **extra):
    return create_subscription(
        by=org.admin, now=now, name="CRM", url=receiver.url, event_types=types, **extra
    )


def events(receiver):
    return [(r.headers["X-Leadloop-Event"], json.loads(r.body)) for r in receiver.requests]


def test_a_won_lead_is_posted_signed_with_the_subscriptions_secret(org, now, receiver) -> None:
    subscription = subscribe(org, receiver, now, ["lead.won"])
    lead = capture_lead(
        {"email": "ana@acme.io", "first_name": "Ana", **HOT}, source="api", now=now
    ).lead
    accept_lead(lead, by=org.rep1, now=now)
    convert_lead(lead, by=org.rep1, amount=Decimal("5000"), now=now)
    win_lead(lead, by=org.rep1, now=now + timedelta(hours=1))

    run_due(now=now + timedelta(hours=2))

    [request] = receiver.requests
    assert request.path == "/hooks/leadloop"
    assert request.headers["X-Leadloop-Event"] == "lead.won"
    assert verify_signature(
        subscription.secret,
        request.headers["X-Leadloop-Signature"],
        request.body,
        now=int(time.time()),
    )
    assert not verify_signature(
        "whsec_other", request.headers["X-Leadloop-Signature"], request.body, now=int(time.time())
    )
    payload = json.loads(request.body)
    won = StageChange.objects.get(lead=lead, to_stage="customer")
    assert request.headers["X-Leadloop-Event-Id"] == payload["id"] == f"stage_change:{won.pk}"
    assert payload["type"] == "lead.won"
    assert payload["occurred_at"] == (now + timedelta(hours=1)).isoformat()
    assert payload["lead"] == {
        "id": lead.pk,
        "email": "ana@acme.io",
        "name": "Ana",
        "company": "",
        "stage": "customer",
        "owner": {"id": org.rep1.pk, "username": "rep1", "name": org.rep1.display_name},
        "team": "EMEA",
        "score": lead.score,
        "grade": lead.grade,
    }
    assert payload["change"] == {
        "from": "opportunity",
        "to": "customer",
        "reason": "won",
        "by": {"id": org.rep1.pk, "username": "rep1", "name": org.rep1.display_name},
    }
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_each_subscription_gets_only_the_event_types_it_asked_for(org, now, receiver) -> None:
    subscribe(org, receiver, now, ["lead.assigned", "lead.lost"])
    lead = capture_lead({"email": "b@acme.io", **HOT}, source="api", now=now).lead
    accept_lead(lead, by=org.rep1, now=now)
    convert_lead(lead, by=org.rep1, amount=Decimal("5000"), now=now)
    lose_lead(lead, by=org.rep1, reason="went with a rival", now=now)

    run_due(now=now)

    # Deliveries carry occurred_at: the order they arrive in is not promised.
    received = sorted(events(receiver), key=lambda event: event[0])
    assert [
        (kind, body["change"].get("how") or body["change"]["reason"]) for kind, body in received
    ] == [
        ("lead.assigned", "round_robin"),
        ("lead.lost", "lost: went with a rival"),
    ]
    assigned = received[0][1]["change"]
    assert assigned["to"]["username"] == "rep1"
    assert assigned["team"] == "EMEA"


def test_reassignment_and_sla_breach_are_events(org, now, receiver) -> None:
    subscribe(org, receiver, now, ["lead.reassigned", "lead.sla_breached"])
    late = capture_lead({"email": "late@acme.io", **HOT}, source="api", now=now).lead
    reassign_lead(late, to=org.rep2, by=org.manager, reason="rep1 is away", now=now)
    after_deadline = now + timedelta(days=3, minutes=1)

    # `leadloop run_due`: the SLA sweep marks the breach, then this one sends it.
    assert all_sweeps(now=after_deadline)["outgoing_webhooks.services.run_due"] == 4

    kinds = [(kind, body["lead"]["email"]) for kind, body in events(receiver)]
    assert kinds == [("lead.reassigned", "late@acme.io"), ("lead.sla_breached", "late@acme.io")]
    reassigned = events(receiver)[0][1]["change"]
    assert (reassigned["from"]["username"], reassigned["to"]["username"]) == ("rep1", "rep2")
    assert reassigned["by"]["username"] == "manager"
    assert reassigned["reason"] == "rep1 is away"


def test_a_failing_receiver_is_retried_with_growing_waits_until_it_answers(
    org, now, receiver
) -> None:
    subscribe(org, receiver, now, ["lead.created"])
    receiver.statuses = [500, 503, 500]
    capture_lead({"email": "c@acme.io"}, source="api", now=now)

    run_due(now=now)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500: receiver is down"
    assert delivery.next_attempt_at == now + timedelta(minutes=1)

    run_due(now=now + timedelta(seconds=59))  # not due yet
    assert len(receiver.requests) == 1
    run_due(now=now + timedelta(minutes=1))
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (2, now + timedelta(minutes=3))
    run_due(now=now + timedelta(minutes=3))
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (3, now + timedelta(minutes=7))
    run_due(now=now + timedelta(minutes=7))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 4, 200)
    assert delivery.delivered_at == now + timedelta(minutes=7)
    assert len({r.headers["X-Leadloop-Event-Id"] for r in receiver.requests}) == 1
    assert len(receiver.requests) == 4


def test_a_delivery_is_failed_after_the_last_attempt(org, now, receiver, settings) -> None:
    settings.LEADLOOP_WEBHOOK_MAX_ATTEMPTS = 2
    subscribe(org, receiver, now, ["lead.created"])
    receiver.statuses = [500, 500, 500]
    capture_lead({"email": "c@acme.io"}, source="api", now=now)

    for minutes in (0, 1, 2, 60):
        run_due(now=now + timedelta(minutes=minutes))

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    assert len(receiver.requests) == 2


def test_running_the_sweep_twice_sends_nothing_twice(org, now, receiver) -> None:
    subscribe(org, receiver, now, ["lead.created", "lead.assigned", "lead.sales_ready"])
    capture_lead({"email": "d@acme.io", **HOT}, source="api", now=now)

    first = run_due(now=now)
    second = run_due(now=now)

    assert (first, second) == (6, 0)
    assert sorted(kind for kind, _ in events(receiver)) == [
        "lead.assigned",
        "lead.created",
        "lead.sales_ready",
    ]


def test_events_while_nobody_subscribes_or_a_subscription_is_off_are_not_sent(
    org, now, receiver
) -> None:
    capture_lead({"email": "before@acme.io"}, source="api", now=now)
    subscription = subscribe(org, receiver, now, ["lead.created"], is_active=False)
    capture_lead({"email": "while-off@acme.io"}, source="api", now=now)
    run_due(now=now)
    subscription.is_active = True
    subscription.save()
    capture_lead({"email": "after@acme.io"}, source="api", now=now)

    run_due(now=now)

    assert [body["lead"]["email"] for _, body in events(receiver)] == ["after@acme.io"]


def test_a_row_committed_after_the_sweep_passed_its_id_is_still_sent(org, now, receiver) -> None:
    """PostgreSQL hands out ids at insert: a slow transaction's row may appear after a
    later id was read. The cursor keeps the missing id and reads it again."""
    subscribe(org, receiver, now, ["lead.disqualified"])
    lead = capture_lead({"email": "e@acme.io"}, source="api", now=now).lead
    other = capture_lead({"email": "f@acme.io"}, source="api", now=now).lead
    slow_id = StageChange.objects.latest("pk").pk + 1
    StageChange.objects.create(
        pk=slow_id + 1,
        lead=other,
        from_stage="new",
        to_stage="disqualified",
        changed_at=now,
        reason="spam",
    )
    run_due(now=now)
    StageChange.objects.create(
        pk=slow_id,
        lead=lead,
        from_stage="new",
        to_stage="disqualified",
        changed_at=now,
        reason="test",
    )

    run_due(now=now + timedelta(minutes=1))
    run_due(now=now + timedelta(minutes=2))

    assert [body["lead"]["email"] for _, body in events(receiver)] == ["f@acme.io", "e@acme.io"]


def test_a_private_address_is_refused_unless_allowed(org, now, receiver, settings) -> None:
    subscribe(org, receiver, now, ["lead.created"])
    settings.LEADLOOP_WEBHOOK_ALLOW_PRIVATE = False
    capture_lead({"email": "g@acme.io"}, source="api", now=now)

    run_due(now=now)

    delivery = Delivery.objects.get()
    assert receiver.requests == []
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("refused: 127.0.0.1 is the private address 127.0.0.1")


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_event_once(now, receiver) -> None:
    from conftest import make_user
    from users.choices import Role

    admin = make_user("boss", Role.ADMIN)
    create_subscription(
        by=admin, now=now, name="CRM", url=receiver.url, event_types=["lead.created"]
    )
    for i in range(30):
        capture_lead({"email": f"w{i}@acme.io"}, source="api", now=now)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            start.wait()
            run_due(now=now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    emails = sorted(json.loads(r.body)["lead"]["email"] for r in receiver.requests)
    assert emails == sorted(f"w{i}@acme.io" for i in range(30))
    assert Delivery.objects.filter(status="delivered", attempts=1).count() == 30


def test_the_log_forgets_sent_and_failed_deliveries_after_its_keeping_time(
    org, now, receiver, settings
) -> None:
    settings.LEADLOOP_WEBHOOK_LOG_DAYS = 30
    subscribe(org, receiver, now, ["lead.created"])
    capture_lead({"email": "old@acme.io"}, source="api", now=now)
    run_due(now=now)
    receiver.statuses = [500, 500]
    capture_lead({"email": "waiting@acme.io"}, source="api", now=now + timedelta(days=30))
    run_due(now=now + timedelta(days=30))

    run_due(now=now + timedelta(days=31))  # the first is 31 days old, the second waits

    assert sorted(Delivery.objects.values_list("payload__lead__email", "status")) == [
        ("waiting@acme.io", "pending")
    ]


def test_a_redirect_is_not_followed_and_the_log_says_where_it_pointed(org, now, receiver) -> None:
    subscribe(org, receiver, now, ["lead.created"])
    receiver.statuses = [301]
    capture_lead({"email": "r@acme.io"}, source="api", now=now)

    run_due(now=now)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 301)
    assert delivery.last_error == (
        "redirected to http://elsewhere.example/hooks: redirects are not followed, change the URL"
    )
    assert len(receiver.requests) == 1


def test_two_subscriptions_each_get_their_own_events_signed_with_their_own_secret(
    org, now, receiver
) -> None:
    base = receiver.url.rsplit("/", 1)[0]
    sales = create_subscription(
        by=org.admin, now=now, name="Sales bot", url=f"{base}/sales", event_types=["lead.assigned"]
    )
    finance = create_subscription(
        by=org.admin, now=now, name="Finance", url=f"{base}/finance", event_types=["lead.won"]
    )
    lead = capture_lead({"email": "two@acme.io", **HOT}, source="api", now=now).lead
    accept_lead(lead, by=org.rep1, now=now)
    convert_lead(lead, by=org.rep1, amount=Decimal("100"), now=now)
    win_lead(lead, by=org.rep1, now=now)

    run_due(now=now)

    secrets = {"/hooks/sales": sales.secret, "/hooks/finance": finance.secret}
    got = sorted((r.path, r.headers["X-Leadloop-Event"]) for r in receiver.requests)
    assert got == [("/hooks/finance", "lead.won"), ("/hooks/sales", "lead.assigned")]
    for request in receiver.requests:
        assert verify_signature(
            secrets[request.path],
            request.headers["X-Leadloop-Signature"],
            request.body,
            now=int(time.time()),
        )
