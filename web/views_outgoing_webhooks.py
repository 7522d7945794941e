"""Outgoing webhooks in the UI (admins only; everyone else gets 403): the subscriptions,
a subscription's page with its form, its secret (shown once, after it is made), a test
event, and its delivery log with a retry button per delivery. Each button calls one
service of `outgoing_webhooks.services`."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.errors import FieldError, NotPermitted
from outgoing_webhooks.choices import DeliveryStatus, EventType
from outgoing_webhooks.models import Subscription
from outgoing_webhooks.rules import EVENT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER
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

from .decorators import viewer_page

DELIVERIES_PER_PAGE = 50
# The secret of a subscription just made (or given a new secret), for its page to show
# once: kept in the session between the POST and the page it redirects to.
SECRET_KEY = "outgoing_webhook_secret"


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.CharField(
        label="Target URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://crm.example.com/hooks/leadloop"}),
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(t.value, f"{t.value} — {t.label}") for t in EventType],
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(required=False, initial=True)


def _admin(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    try:
        check_may_manage(user)
    except NotPermitted as error:
        raise PermissionDenied(error.message) from error
    return user


@viewer_page
def subscriptions(request: HttpRequest) -> HttpResponse:
    _admin(request)
    rows = Subscription.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DELIVERED)),
    ).order_by("name", "pk")
    return render(
        request,
        "web/outgoing_webhooks.html",
        {"rows": [{"subscription": s, "secret": masked(s.secret)} for s in rows]},
    )


def _save(request: HttpRequest, user: User, subscription: Subscription | None) -> Any:
    """The form posted, saved through the service; the form with its errors if not."""
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        return form
    values = form.cleaned_data
    try:
        if subscription is None:
            saved = create_subscription(by=user, now=timezone.now(), **values)
            request.session[SECRET_KEY] = {"pk": saved.pk, "secret": saved.secret}
            messages.success(request, f"Subscription “{saved.name}” created.")
        else:
            saved = update_subscription(subscription, by=user, now=timezone.now(), **values)
            messages.success(request, f"Subscription “{saved.name}” saved.")
    except FieldError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return form
    return redirect("web:outgoing_webhook", pk=saved.pk)


@viewer_page
def subscription_new(request: HttpRequest) -> HttpResponse:
    user = _admin(request)
    if request.method == "POST":
        result = _save(request, user, None)
        if isinstance(result, HttpResponse):
            return result
        return render(request, "web/outgoing_webhook.html", {"form": result}, status=400)
    form = SubscriptionForm(initial={"is_active": True})
    return render(request, "web/outgoing_webhook.html", {"form": form})


@viewer_page
def subscription(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    found = get_object_or_404(Subscription, pk=pk)
    status = 200
    if request.method == "POST":
        result = _save(request, user, found)
        if isinstance(result, HttpResponse):
            return result
        form, status = result, 400
    else:
        form = SubscriptionForm(
            initial={
                "name": found.name,
                "url": found.url,
                "event_types": found.event_types,
                "is_active": found.is_active,
            }
        )
    shown = request.session.pop(SECRET_KEY, None)
    deliveries = found.deliveries.order_by("-created_at", "-pk")
    chosen_status = request.GET.get("status", "")
    if chosen_status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=chosen_status)
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "subscription": found,
        "secret": shown["secret"] if shown and shown.get("pk") == found.pk else None,
        "masked_secret": masked(found.secret),
        "page": page,
        "rows": [
            {"delivery": d, "payload": json.dumps(d.payload, indent=2, ensure_ascii=False)}
            for d in page
        ],
        "statuses": DeliveryStatus.choices,
        "chosen_status": chosen_status,
        "headers": {
            "signature": SIGNATURE_HEADER,
            "event": EVENT_HEADER,
            "event_id": EVENT_ID_HEADER,
        },
    }
    return render(request, "web/outgoing_webhook.html", context, status=status)


def _refused(request: HttpRequest, error: FieldError) -> None:
    messages.error(request, error.message)


@viewer_page
@require_POST
def subscription_test(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    found = get_object_or_404(Subscription, pk=pk)
    try:
        delivery = send_test_event(found, by=user, now=timezone.now())
    except FieldError as error:
        _refused(request, error)
    else:
        if delivery.status == DeliveryStatus.DELIVERED:
            messages.success(
                request, f"Test event delivered: the receiver answered {delivery.last_status_code}."
            )
        else:
            messages.error(
                request, f"Test event not delivered: {delivery.last_error or 'no answer'}."
            )
    return redirect("web:outgoing_webhook", pk=pk)


@viewer_page
@require_POST
def subscription_secret(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    found = get_object_or_404(Subscription, pk=pk)
    secret = rotate_secret(found, by=user, now=timezone.now())
    request.session[SECRET_KEY] = {"pk": found.pk, "secret": secret}
    messages.success(request, "New secret issued: the old one signs nothing from now on.")
    return redirect("web:outgoing_webhook", pk=pk)


@viewer_page
@require_POST
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _admin(request)
    found = get_object_or_404(Subscription, pk=pk)
    delete_subscription(found, by=user)
    messages.success(request, f"Subscription “{found.name}” deleted with its delivery log.")
    return redirect("web:outgoing_webhooks")


@viewer_page
@require_POST
def delivery_retry(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    user = _admin(request)
    found = get_object_or_404(Subscription, pk=pk)
    delivery = get_object_or_404(found.deliveries.select_related("subscription"), pk=delivery_pk)
    try:
        delivery = retry_delivery(delivery, by=user, now=timezone.now())
    except FieldError as error:
        _refused(request, error)
    else:
        if delivery.status == DeliveryStatus.DELIVERED:
            messages.success(
                request, f"Delivered on retry: the receiver answered {delivery.last_status_code}."
            )
        else:
            messages.error(
                request,
                f"Still not delivered: {delivery.last_error or 'no answer'}. It is retried later.",
            )
    return redirect("web:outgoing_webhook", pk=pk)
