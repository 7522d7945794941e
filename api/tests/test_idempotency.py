"""Idempotency-Key on API writes: a retry replays the first answer and changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from api.models import IdempotencyKey
from capture.models import Submission
from conftest import HOT, bearer
from leads.models import Lead, StageChange
from users.models import User


def send(client: Client, body: dict[str, Any], token: str, key: str) -> Any:
    return client.post(
        "/api/v1/leads",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_retry_with_the_same_key_replays_the_answer_and_creates_nothing(
    org: Any, clock: datetime, client: Client
) -> None:
    # given a lead created with an Idempotency-Key
    token = bearer(org.marketer)
    body = {"email": "hot@buyer.de", **HOT}
    first = send(client, body, token, "k-1")
    # when the client retries the very same request
    retry = send(client, body, token, "k-1")
    # then it gets the same status and body, marked as a replay, and nothing new exists
    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 1
    assert StageChange.objects.count() == 2
    assert IdempotencyKey.objects.get().status_code == 201


def test_the_same_key_with_another_body_is_refused(
    org: Any, clock: datetime, client: Client
) -> None:
    token = bearer(org.marketer)
    send(client, {"email": "a@x.com"}, token, "k-1")
    # when the key is reused for a different lead
    response = send(client, {"email": "b@x.com"}, token, "k-1")
    # then 409 names the header, and the second lead was not created
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "field": "Idempotency-Key",
            "message": "key 'k-1' was already used for a request with a different body;"
            " send a new key for a new request",
        }
    ]
    assert list(Lead.objects.values_list("email", flat=True)) == ["a@x.com"]


def test_keys_belong_to_one_user(org: Any, clock: datetime, client: Client) -> None:
    # given marketing used key k-1
    send(client, {"email": "a@x.com"}, bearer(org.marketer), "k-1")
    # when the admin uses the same key for the same body
    response = send(client, {"email": "a@x.com"}, bearer(org.admin), "k-1")
    # then it is a request of its own: the lead is updated, not replayed
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert Submission.objects.count() == 2


def test_a_refused_request_stores_no_key_so_the_fixed_retry_works(
    org: Any, clock: datetime, client: Client
) -> None:
    token = bearer(org.marketer)
    refused = send(client, {"email": "a@x.com", "campaign": "Nope"}, token, "k-1")
    fixed = send(client, {"email": "a@x.com", "campaign": "Webinar"}, token, "k-1")
    assert refused.status_code == 422
    assert fixed.status_code == 201
    assert IdempotencyKey.objects.count() == 1


def test_an_overlong_key_is_refused_naming_the_header(
    org: Any, clock: datetime, client: Client
) -> None:
    response = send(client, {"email": "a@x.com"}, bearer(org.marketer), "k" * 201)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert Lead.objects.count() == 0


def test_a_concurrent_duplicate_is_rolled_back_and_replays_the_winner(
    org: Any, clock: datetime, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a request with key k-1 that has committed
    token = bearer(org.marketer)
    body = {"email": "hot@buyer.de", **HOT}
    first = send(client, body, token, "k-1")
    # and a twin that looked for the key just before that commit, so found nothing
    from api import common as api_common

    real_stored = api_common._stored
    calls: list[str] = []

    def stored_after_the_race(user: User, endpoint: str, key: str) -> IdempotencyKey | None:
        calls.append(key)
        return None if len(calls) == 1 else real_stored(user, endpoint, key)

    monkeypatch.setattr(api_common, "_stored", stored_after_the_race)
    # when the twin does its work and then inserts the same key
    twin = send(client, body, token, "k-1")
    # then the unique constraint stops it: its work is rolled back and it replays the first
    assert twin.status_code == 201
    assert twin.json() == first.json()
    assert twin.headers["Idempotent-Replayed"] == "true"
    assert Submission.objects.count() == 1
    assert len(calls) == 2
