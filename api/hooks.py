"""The public webhook endpoint `POST /hooks/<slug>/`: webinar and form tools post their own
JSON here, and the source's mapping turns it into engagement events.

The senders are servers elsewhere, so the endpoint is CSRF-exempt and defends itself: the
source's secret token (header `X-Leadloop-Token`, or `?token=` for tools that only let
you paste a URL), a cap on the body, a per-source rate limit (capture.ratelimit) and,
for a source with a signing secret, an HMAC signature of the raw body
(capture.signatures: a missing or wrong one is a 401 naming the header). A Zoom source
answers Zoom's endpoint URL validation itself, once its signature is checked. Every
answer is JSON; refusals use the REST API's error shape `{detail, errors: [{field,
message}]}`. A delivery that was read answers 200 with one outcome per item (created,
duplicate or rejected naming `items.<index>.<field>`): senders retry anything else, and
retrying an item that cannot be mapped would not help.

Every request for an existing source, refused or not, is logged as a `WebhookDelivery`
(status, outcome, counts, the sender's address, the first error; not the payload) once it
is answered, so marketing can see on the source's page whether and why deliveries fail.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from capture.choices import DeliveryOutcome, DeliveryRejection, SignatureScheme
from capture.models import WebhookSource
from capture.ratelimit import client_ip, over_limit
from capture.services import EventOutcome, receive_webhook
from capture.signatures import signature_error, zoom_url_validation
from capture.webhook_sources import DeliveryReport, record_webhook_delivery
from capture.webhooks import TOKEN_HEADER, MappingConfigError, PayloadError

from .errors import error_body

log = logging.getLogger(__name__)

# 1000 webinar participants with their answers fit easily; more is not one delivery.
MAX_BODY_BYTES = 1024 * 1024


def refusal(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse(error_body([(field, message)]), status=status)


@dataclass(frozen=True)
class Answer:
    """The response to one request, and what the source's delivery log keeps of it."""

    response: JsonResponse
    report: DeliveryReport


def _refused(
    status: int, rejection: str, field: str, message: str, *, body_bytes: int | None
) -> Answer:
    return Answer(
        refusal(status, field, message),
        DeliveryReport(
            status_code=status,
            outcome=DeliveryOutcome.REJECTED,
            rejection=rejection,
            error=f"{field}: {message}",
            body_bytes=body_bytes,
        ),
    )


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb cannot store them.
    raise ValueError(f"{name} is not a JSON value")


def _over_rate_limit(source: WebhookSource, now: datetime) -> bool:
    """Count this delivery against its source's current minute; True once past the limit."""
    return over_limit(f"hook:{source.pk}", settings.LEADLOOP_HOOK_RATE_PER_MINUTE, now=now)


def item_out(outcome: EventOutcome) -> dict[str, Any]:
    error = None
    if outcome.error:
        field, _, message = outcome.error.partition(": ")
        error = {"field": f"items.{outcome.index}.{field}", "message": message}
    return {
        "index": outcome.index,
        "status": outcome.status,
        "lead_id": outcome.lead_id,
        "error": error,
    }


@csrf_exempt
def receive(request: HttpRequest, slug: str) -> JsonResponse:
    now = timezone.now()
    source = WebhookSource.objects.select_related("campaign").filter(slug=slug).first()
    if source is None:
        # Nothing to log a delivery against.
        if request.method != "POST":
            return _method_refusal().response
        return refusal(404, "slug", f"no active webhook source {slug!r}")
    try:
        answer = _answer(request, source, now=now)
    except Exception as exc:
        # Logged, then answered 500 as before: the tool retries, and the idempotency keys
        # keep what a first attempt stored from counting twice. Only the exception's
        # class is kept: its text may quote the payload.
        report = DeliveryReport(
            status_code=500,
            outcome=DeliveryOutcome.REJECTED,
            rejection=DeliveryRejection.SERVER_ERROR,
            error=f"server: {type(exc).__name__}",
            body_bytes=_announced_length(request),
        )
        _log(request, source, report, now=now)
        raise
    _log(request, source, answer.report, now=now)
    return answer.response


def _has_token(request: HttpRequest, source: WebhookSource) -> bool:
    token = request.headers.get(TOKEN_HEADER) or request.GET.get("token") or ""
    return hmac.compare_digest(token.encode(), source.token.encode())


def _log(
    request: HttpRequest, source: WebhookSource, report: DeliveryReport, *, now: datetime
) -> None:
    """Log the request in the source's deliveries. Those without the token (anyone can
    send them) only up to a budget per minute: a flood of them cannot fill the table."""
    authenticated = _has_token(request, source)
    budget = settings.LEADLOOP_HOOK_UNAUTHENTICATED_LOGGED
    if not authenticated and over_limit(f"hook-log:{source.pk}", budget, now=now):
        return
    record_webhook_delivery(
        source, report, client_ip=client_ip(request), authenticated=authenticated, now=now
    )


def _method_refusal() -> Answer:
    answer = _refused(
        405, DeliveryRejection.WRONG_METHOD, "method", "send the webhook with POST", body_bytes=None
    )
    answer.response["Allow"] = "POST"
    return answer


def _announced_length(request: HttpRequest) -> int | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return length if length >= 0 else None


def _answer(request: HttpRequest, source: WebhookSource, *, now: datetime) -> Answer:
    """Check and read one delivery to `source` and record its events."""
    if request.method != "POST":
        return _method_refusal()
    length = _announced_length(request)
    if not source.is_active:
        return _refused(
            404,
            DeliveryRejection.SOURCE_OFF,
            "slug",
            f"no active webhook source {source.slug!r}",
            body_bytes=length,
        )
    if length is None or length > MAX_BODY_BYTES:
        return _refused(
            413,
            DeliveryRejection.TOO_LARGE,
            "body",
            f"larger than {MAX_BODY_BYTES} bytes",
            body_bytes=length,
        )
    if not _has_token(request, source):
        return _refused(
            403,
            DeliveryRejection.BAD_TOKEN,
            "token",
            f"send the source's token as {TOKEN_HEADER} or ?token=",
            body_bytes=length,
        )
    if _over_rate_limit(source, now):
        answer = _refused(
            429,
            DeliveryRejection.RATE_LIMITED,
            "body",
            f"more than {settings.LEADLOOP_HOOK_RATE_PER_MINUTE} deliveries this minute",
            body_bytes=length,
        )
        answer.response["Retry-After"] = "60"
        return answer
    if request.content_type != "application/json":
        return _refused(
            415,
            DeliveryRejection.NOT_JSON_TYPE,
            "Content-Type",
            "must be application/json",
            body_bytes=length,
        )
    body = request.body
    size = len(body)
    if size > MAX_BODY_BYTES:
        return _refused(
            413,
            DeliveryRejection.TOO_LARGE,
            "body",
            f"larger than {MAX_BODY_BYTES} bytes",
            body_bytes=size,
        )
    if source.signing_secret:
        error = signature_error(
            source.signature_scheme, source.signing_secret, body, request.headers, now=now
        )
        if error is not None:
            return _refused(
                401, DeliveryRejection.BAD_SIGNATURE, error.header, error.message, body_bytes=size
            )
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return _refused(
            400, DeliveryRejection.INVALID_JSON, "body", "is not valid JSON", body_bytes=size
        )
    if source.signing_secret and source.signature_scheme == SignatureScheme.ZOOM:
        try:
            validation = zoom_url_validation(source.signing_secret, payload)
        except PayloadError as exc:
            return _refused(
                422, DeliveryRejection.BAD_PAYLOAD, exc.field, exc.message, body_bytes=size
            )
        if validation is not None:
            return Answer(
                JsonResponse(validation),
                DeliveryReport(
                    status_code=200, outcome=DeliveryOutcome.VALIDATION, body_bytes=size
                ),
            )
    try:
        outcomes = receive_webhook(source, payload, now=now)
    except PayloadError as exc:
        return _refused(422, DeliveryRejection.BAD_PAYLOAD, exc.field, exc.message, body_bytes=size)
    except MappingConfigError as exc:
        # The source's configuration is at fault, not the sender: a 5xx makes the tool
        # retry later, once an admin has fixed the mapping.
        log.error("webhook source %s has an invalid mapping: %s", source.slug, exc)
        return Answer(
            JsonResponse(
                error_body(exc.errors, detail="this webhook source's mapping is invalid"),
                status=503,
            ),
            DeliveryReport(
                status_code=503,
                outcome=DeliveryOutcome.REJECTED,
                rejection=DeliveryRejection.MAPPING_ERROR,
                error=str(exc),
                body_bytes=size,
            ),
        )
    items = [item_out(o) for o in outcomes]
    counts = {
        status: sum(1 for o in outcomes if o.status == status)
        for status in ("created", "duplicate", "rejected")
    }
    first_error = next((item["error"] for item in items if item["error"] is not None), None)
    return Answer(
        JsonResponse(
            {
                "source": source.slug,
                "created": counts["created"],
                "duplicates": counts["duplicate"],
                "rejected": counts["rejected"],
                "items": items,
            }
        ),
        DeliveryReport(
            status_code=200,
            outcome=DeliveryOutcome.ACCEPTED,
            events_recorded=counts["created"],
            duplicates=counts["duplicate"],
            items_rejected=counts["rejected"],
            error=f"{first_error['field']}: {first_error['message']}" if first_error else "",
            body_bytes=size,
        ),
    )
