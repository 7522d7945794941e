"""REST API for outgoing webhooks (admins only, as everywhere): subscriptions, their
delivery logs, a test event, a retry. The secret is in the answer of a create and of a
new secret, never again (other answers show its first characters)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from api.common import (
    CleanInput,
    InputSchema,
    Outcome,
    api_user,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES, ApiError
from outgoing_webhooks.choices import DeliveryStatus, EventType
from outgoing_webhooks.models import Delivery, Subscription
from outgoing_webhooks.services import (
    check_may_manage,
    create_subscription,
    delete_subscription,
    masked,
    retry_delivery,
    rotate_secret,
    send_test_event,
    update_subscription,
)
from users.models import User

router = Router(tags=["outgoing webhooks"])

EVENT_TYPES = ", ".join(f"`{value}`" for value in EventType.values)


class SubscriptionIn(InputSchema):
    name: str = Field(max_length=100)
    url: str = Field(max_length=2000, description="http(s) URL the events are POSTed to")
    event_types: list[str] = Field(min_length=1, description=f"Any of {EVENT_TYPES}")
    is_active: bool = True


class SubscriptionPatch(InputSchema):
    name: str | None = Field(None, max_length=100)
    url: str | None = Field(None, max_length=2000)
    event_types: list[str] | None = None
    is_active: bool | None = None


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    event_types: list[str]
    is_active: bool
    secret_hint: str = Field(description="The secret's first characters")
    created_by: str | None
    created_at: datetime
    pending: int = Field(description="Deliveries waiting to be sent or retried")
    failed: int = Field(description="Deliveries given up after the last attempt")


class SubscriptionWithSecretOut(SubscriptionOut):
    secret: str = Field(description="The signing secret: shown in this answer only")


class DeliveryFilters(CleanInput):
    status: DeliveryStatus | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class DeliveryOut(Schema):
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    payload: dict[str, Any]


class DeliveryPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[DeliveryOut]


def subscription_out(subscription: Subscription) -> dict[str, Any]:
    counts = {
        status: subscription.deliveries.filter(status=status).count()
        for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
    }
    creator = subscription.created_by
    return {
        "id": subscription.pk,
        "name": subscription.name,
        "url": subscription.url,
        "event_types": list(subscription.event_types),
        "is_active": subscription.is_active,
        "secret_hint": masked(subscription.secret),
        "created_by": creator.username if creator else None,
        "created_at": subscription.created_at,
        "pending": counts[DeliveryStatus.PENDING],
        "failed": counts[DeliveryStatus.FAILED],
    }


def delivery_out(delivery: Delivery) -> dict[str, Any]:
    return {
        field: getattr(delivery, field) for field in DeliveryOut.model_fields if field != "id"
    } | {"id": delivery.pk}


def _admin(request: HttpRequest) -> User:
    user = api_user(request)
    check_may_manage(user)
    return user


def _subscription(subscription_id: int) -> Subscription:
    found = Subscription.objects.select_related("created_by").filter(pk=subscription_id).first()
    if found is None:
        raise ApiError(404, "subscription_id", f"no webhook subscription with id {subscription_id}")
    return found


@router.get(
    "/webhook-subscriptions",
    response={200: list[SubscriptionOut], **ERROR_RESPONSES},
    summary="Outgoing webhook subscriptions",
)
def list_subscriptions(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    return [
        subscription_out(s)
        for s in Subscription.objects.select_related("created_by").order_by("name", "pk")
    ]


@router.post(
    "/webhook-subscriptions",
    response={201: SubscriptionWithSecretOut, **ERROR_RESPONSES},
    summary="Subscribe a URL to lead events (the answer holds the secret, once)",
)
def post_subscription(
    request: HttpRequest,
    response: HttpResponse,
    payload: SubscriptionIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    user = _admin(request)
    now = timezone.now()

    def work() -> Outcome:
        subscription = create_subscription(by=user, now=now, **payload.model_dump())
        answer = subscription_out(subscription) | {"secret": subscription.secret}
        return 201, SubscriptionWithSecretOut.model_validate(answer).model_dump(mode="json")

    return idempotent_answer(
        request,
        response,
        user=user,
        key=idempotency_key,
        body=payload.model_dump(mode="json"),
        now=now,
        work=work,
    )


@router.get(
    "/webhook-subscriptions/{subscription_id}",
    response={200: SubscriptionOut, **ERROR_RESPONSES},
    summary="A subscription",
)
def get_subscription(request: HttpRequest, subscription_id: int) -> dict[str, Any]:
    _admin(request)
    return subscription_out(_subscription(subscription_id))


@router.patch(
    "/webhook-subscriptions/{subscription_id}",
    response={200: SubscriptionOut, **ERROR_RESPONSES},
    summary="Change a subscription's name, URL, event types or whether it is active",
)
def patch_subscription(
    request: HttpRequest, subscription_id: int, payload: SubscriptionPatch
) -> dict[str, Any]:
    user = _admin(request)
    subscription = _subscription(subscription_id)
    changes = payload.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise ApiError(422, field, "must not be null")
    update_subscription(subscription, by=user, now=timezone.now(), **changes)
    return subscription_out(subscription)


@router.delete(
    "/webhook-subscriptions/{subscription_id}",
    response={204: None, **ERROR_RESPONSES},
    summary="Delete a subscription and its delivery log",
)
def remove_subscription(request: HttpRequest, subscription_id: int) -> Status[None]:
    user = _admin(request)
    delete_subscription(_subscription(subscription_id), by=user)
    return Status(204, None)


@router.post(
    "/webhook-subscriptions/{subscription_id}/secret",
    response={200: SubscriptionWithSecretOut, **ERROR_RESPONSES},
    summary="Issue a new secret (the answer holds it, once); the old one signs no more",
)
def post_secret(request: HttpRequest, subscription_id: int) -> dict[str, Any]:
    user = _admin(request)
    subscription = _subscription(subscription_id)
    secret = rotate_secret(subscription, by=user, now=timezone.now())
    return subscription_out(subscription) | {"secret": secret}


@router.post(
    "/webhook-subscriptions/{subscription_id}/test",
    response={200: DeliveryOut, **ERROR_RESPONSES},
    summary="Send a `leadloop.test` event now; the answer is its delivery",
)
def post_test(request: HttpRequest, subscription_id: int) -> dict[str, Any]:
    user = _admin(request)
    delivery = send_test_event(_subscription(subscription_id), by=user, now=timezone.now())
    return delivery_out(delivery)


@router.get(
    "/webhook-subscriptions/{subscription_id}/deliveries",
    response={200: DeliveryPageOut, **ERROR_RESPONSES},
    summary="A subscription's delivery log, newest first",
)
def list_deliveries(
    request: HttpRequest, subscription_id: int, filters: Query[DeliveryFilters]
) -> dict[str, Any]:
    _admin(request)
    deliveries = _subscription(subscription_id).deliveries.all()
    if filters.status:
        deliveries = deliveries.filter(status=filters.status)
    page = deliveries.order_by("-created_at", "-pk")[
        filters.offset : filters.offset + filters.limit
    ]
    return {
        "count": deliveries.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [delivery_out(delivery) for delivery in page],
    }


@router.post(
    "/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/retry",
    response={200: DeliveryOut, **ERROR_RESPONSES},
    summary="Try a failed or waiting delivery again now",
)
def post_retry(request: HttpRequest, subscription_id: int, delivery_id: int) -> dict[str, Any]:
    user = _admin(request)
    delivery = (
        _subscription(subscription_id)
        .deliveries.select_related("subscription")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise ApiError(404, "delivery_id", f"no delivery {delivery_id} of this subscription")
    return delivery_out(retry_delivery(delivery, by=user, now=timezone.now()))
