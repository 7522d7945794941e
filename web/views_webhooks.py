"""Webhook sources in the UI: marketing (and admins) connect webinar and form tools.

`/webhooks/` lists the sources; a source's page sets it up with `WebhookSourceSetupForm`
(the admin's form: the model's clean() names the mapping key at fault, the signing
secret is never shown back) and calls `save_webhook_source`. Once saved, the page shows
what to give the tool: the endpoint with its token, a curl command delivering an
example the mapping reads (`capture.webhooks.example_payload`) and, for a source with a
signing secret, how to sign it. A new token is issued with a POST; the old one stops
working at once. Both pages show the source's delivery log (`WebhookDelivery`): the list
counts the last 24 hours and names the last outcome, a source's page lists its newest
deliveries. Sales people get 403 here, as on the form builder.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from capture.choices import DeliveryOutcome, SignatureScheme
from capture.forms import WebhookSourceSetupForm
from capture.models import WebhookDelivery, WebhookSource
from capture.services import rotate_webhook_token
from capture.signatures import (
    LEADLOOP_HEADER,
    LEADLOOP_PREFIX,
    ZOOM_HEADER,
    ZOOM_PREFIX,
    ZOOM_TIMESTAMP_HEADER,
    masked,
)
from capture.webhook_sources import save_webhook_source
from capture.webhooks import TOKEN_HEADER, example_payload
from leads.errors import FieldError
from users.choices import Capability
from users.models import User
from users.permissions import may

from .decorators import viewer_page
from .display import delivery_outcome, format_duration

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

SECRET_PLACEHOLDER = "paste-the-signing-secret-here"
# The hex HMAC-SHA256 of what is on stdin, keyed with $SECRET (OpenSSL 1.1 and 3).
HMAC_PIPE = "openssl dgst -sha256 -hmac \"$SECRET\" -hex | sed 's/.* //'"
RECENT = timedelta(hours=24)
DELIVERIES_SHOWN = 50


class DeliverySummary(TypedDict):
    """What the list of sources shows of each one's delivery log."""

    recent_deliveries: int
    recent_accepted: int
    recent_rejected: int
    last_delivery_at: datetime | None
    last_outcome: str | None
    last_rejection: str | None


PAGE_SIZE = 50


def _connector(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    if not may(user, Capability.CONNECT_WEBHOOKS):
        raise PermissionDenied("webhook sources are set up by marketing")
    return user


def endpoint_url(request: HttpRequest, source: WebhookSource) -> str:
    """Where the tool posts, as an absolute URL (without the token)."""
    return request.build_absolute_uri(reverse("hooks:receive", args=[source.slug]))


def signature_headers(source: WebhookSource) -> list[str]:
    """The headers a signed delivery carries, as the page explains them."""
    if not source.signing_secret:
        return []
    if source.signature_scheme == SignatureScheme.ZOOM:
        return [
            f"{ZOOM_TIMESTAMP_HEADER}: <epoch seconds, at most 5 minutes from now>",
            f"{ZOOM_HEADER}: {ZOOM_PREFIX}<hex HMAC-SHA256 of v0:<timestamp>:<raw body>,"
            " keyed with the signing secret>",
        ]
    return [
        f"{LEADLOOP_HEADER}: {LEADLOOP_PREFIX}<hex HMAC-SHA256 of the raw body,"
        " keyed with the signing secret>"
    ]


def curl_command(source: WebhookSource, url: str, body: str) -> str:
    """A shell command that delivers `body` to the source, signed when it has a secret.

    The secret is never put on the page: the command asks for it in $SECRET.
    """
    post = f"curl -s -X POST {shlex.quote(url)} \\\n  -H 'Content-Type: application/json'"
    if not source.signing_secret:
        return f"{post} \\\n  -d {shlex.quote(body)}"
    lines = [f"SECRET='{SECRET_PLACEHOLDER}'", f"BODY={shlex.quote(body)}"]
    if source.signature_scheme == SignatureScheme.ZOOM:
        lines += [
            "TS=$(date +%s)",
            f'SIG=$(printf \'v0:%s:%s\' "$TS" "$BODY" | {HMAC_PIPE})',
            f'{post} \\\n  -H "{ZOOM_TIMESTAMP_HEADER}: $TS"'
            f' -H "{ZOOM_HEADER}: {ZOOM_PREFIX}$SIG" \\\n  -d "$BODY"',
        ]
    else:
        lines += [
            f'SIG=$(printf %s "$BODY" | {HMAC_PIPE})',
            f'{post} \\\n  -H "{LEADLOOP_HEADER}: {LEADLOOP_PREFIX}$SIG" \\\n  -d "$BODY"',
        ]
    return "\n".join(lines)


def _connection(request: HttpRequest, source: WebhookSource) -> dict[str, Any]:
    """What the tool needs, for the page of a saved source."""
    endpoint = endpoint_url(request, source)
    with_token = f"{endpoint}?token={source.token}"
    example = example_payload(source.mapping, now=timezone.now())
    body = json.dumps(example, ensure_ascii=False) if example is not None else ""
    return {
        "endpoint": endpoint,
        "endpoint_with_token": with_token,
        "token_header": TOKEN_HEADER,
        "example_body": body,
        "curl": curl_command(source, with_token, body or "<the tool's JSON>"),
        "signature_headers": signature_headers(source),
        "masked_secret": masked(source.signing_secret),
    }


def _with_deliveries(
    sources: QuerySet[WebhookSource], *, now: datetime
) -> QuerySet[WithAnnotations[WebhookSource, DeliverySummary]]:
    """`sources` with their deliveries of the last 24 hours counted and their last one,
    each a subquery on the (source, received_at) index: one query however many sources."""

    def recent(**outcome: str) -> Coalesce:
        counted = (
            WebhookDelivery.objects.filter(
                source=OuterRef("pk"), received_at__gte=now - RECENT, **outcome
            )
            .order_by()
            .values("source")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    last = WebhookDelivery.objects.filter(source=OuterRef("pk")).order_by("-received_at", "-pk")
    return sources.annotate(
        recent_deliveries=recent(),
        recent_accepted=recent(outcome=DeliveryOutcome.ACCEPTED),
        recent_rejected=recent(outcome=DeliveryOutcome.REJECTED),
        last_delivery_at=Subquery(last.values("received_at")[:1]),
        last_outcome=Subquery(last.values("outcome")[:1]),
        last_rejection=Subquery(last.values("rejection")[:1]),
    )


@viewer_page
def webhooks(request: HttpRequest) -> HttpResponse:
    _connector(request)
    now = timezone.now()
    sources = _with_deliveries(
        WebhookSource.objects.select_related("campaign").order_by("name"), now=now
    )
    page = Paginator(sources, PAGE_SIZE).get_page(request.GET.get("page"))
    shown: list[WithAnnotations[WebhookSource, DeliverySummary]] = list(page.object_list)
    rows = [
        {
            "source": source,
            "endpoint": endpoint_url(request, source),
            "masked_secret": masked(source.signing_secret),
            "last_delivery": (
                {
                    "ago": _ago(now - source.last_delivery_at),
                    "outcome": delivery_outcome(
                        source.last_outcome or "", source.last_rejection or ""
                    ),
                }
                if source.last_delivery_at is not None
                else None
            ),
        }
        for source in shown
    ]
    may_send = may(request.user, Capability.MANAGE_WEBHOOK_SUBSCRIPTIONS)  # type: ignore[arg-type]
    return render(
        request, "web/webhooks.html", {"rows": rows, "page": page, "may_send_webhooks": may_send}
    )


def _recent_deliveries(source: WebhookSource) -> list[dict[str, Any]]:
    """The source's newest deliveries, newest first, for its page."""
    deliveries = source.deliveries.order_by("-received_at", "-pk")[:DELIVERIES_SHOWN]
    return [
        {"delivery": delivery, "outcome": delivery_outcome(delivery.outcome, delivery.rejection)}
        for delivery in deliveries
    ]


def _edit(request: HttpRequest, source: WebhookSource | None) -> HttpResponse:
    if request.method == "POST":
        form = WebhookSourceSetupForm(request.POST, instance=source)
        if form.is_valid():
            try:
                saved = save_webhook_source(form.save(commit=False))
            except FieldError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                verb = "created" if source is None else "saved"
                messages.success(request, f"Webhook source “{saved.name}” {verb}.")
                return redirect("web:webhook_edit", pk=saved.pk)
        if source is not None:
            # Validating wrote the posted values onto the instance; the page shows the saved ones.
            source.refresh_from_db()
        status = 400
    else:
        form = WebhookSourceSetupForm(instance=source)
        status = 200
    context: dict[str, Any] = {"form": form, "source": source}
    if source is not None:
        context.update(_connection(request, source))
        context["deliveries"] = _recent_deliveries(source)
        context["deliveries_shown"] = DELIVERIES_SHOWN
    return render(request, "web/webhook_source.html", context, status=status)


@viewer_page
def webhook_new(request: HttpRequest) -> HttpResponse:
    _connector(request)
    return _edit(request, None)


@viewer_page
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _connector(request)
    return _edit(
        request, get_object_or_404(WebhookSource.objects.select_related("campaign"), pk=pk)
    )


@viewer_page
@require_POST
def webhook_token(request: HttpRequest, pk: int) -> HttpResponse:
    _connector(request)
    source = get_object_or_404(WebhookSource, pk=pk)
    rotate_webhook_token(source)
    messages.success(
        request,
        f"New token issued for “{source.name}”: the old one no longer works."
        " Give the tool the new endpoint URL below.",
    )
    return redirect("web:webhook_edit", pk=source.pk)


def _ago(delta: timedelta) -> str:
    return "under a minute ago" if delta < timedelta(minutes=1) else f"{format_duration(delta)} ago"
