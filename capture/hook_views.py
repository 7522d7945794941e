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
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from leadloop.api_errors import error_body

from .choices import SignatureScheme
from .models import WebhookSource
from .ratelimit import over_limit
from .services import EventOutcome, receive_webhook
from .signatures import signature_error, zoom_url_validation
from .webhooks import MappingConfigError, PayloadError

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Leadloop-Token"
# 1000 webinar participants with their answers fit easily; more is not one delivery.
MAX_BODY_BYTES = 1024 * 1024


def refusal(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse(error_body([(field, message)]), status=status)


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
    if request.method != "POST":
        response = refusal(405, "method", "send the webhook with POST")
        response["Allow"] = "POST"
        return response
    source = (
        WebhookSource.objects.select_related("campaign").filter(slug=slug, is_active=True).first()
    )
    if source is None:
        return refusal(404, "slug", f"no active webhook source {slug!r}")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_BODY_BYTES + 1
    if length > MAX_BODY_BYTES:
        return refusal(413, "body", f"larger than {MAX_BODY_BYTES} bytes")
    token = request.headers.get(TOKEN_HEADER) or request.GET.get("token") or ""
    if not hmac.compare_digest(token.encode(), source.token.encode()):
        return refusal(403, "token", f"send the source's token as {TOKEN_HEADER} or ?token=")
    now = timezone.now()
    if _over_rate_limit(source, now):
        response = refusal(
            429,
            "body",
            f"more than {settings.LEADLOOP_HOOK_RATE_PER_MINUTE} deliveries this minute",
        )
        response["Retry-After"] = "60"
        return response
    if request.content_type != "application/json":
        return refusal(415, "Content-Type", "must be application/json")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return refusal(413, "body", f"larger than {MAX_BODY_BYTES} bytes")
    if source.signing_secret:
        error = signature_error(
            source.signature_scheme, source.signing_secret, body, request.headers, now=now
        )
        if error is not None:
            return refusal(401, error.header, error.message)
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return refusal(400, "body", "is not valid JSON")
    if source.signing_secret and source.signature_scheme == SignatureScheme.ZOOM:
        try:
            validation = zoom_url_validation(source.signing_secret, payload)
        except PayloadError as exc:
            return refusal(422, exc.field, exc.message)
        if validation is not None:
            return JsonResponse(validation)
    try:
        outcomes = receive_webhook(source, payload, now=now)
    except PayloadError as exc:
        return refusal(422, exc.field, exc.message)
    except MappingConfigError as exc:
        # The source's configuration is at fault, not the sender: a 5xx makes the tool
        # retry later, once an admin has fixed the mapping.
        log.error("webhook source %s has an invalid mapping: %s", source.slug, exc)
        return JsonResponse(
            error_body(exc.errors, detail="this webhook source's mapping is invalid"), status=503
        )
    return JsonResponse(
        {
            "source": source.slug,
            "created": sum(1 for o in outcomes if o.status == "created"),
            "duplicates": sum(1 for o in outcomes if o.status == "duplicate"),
            "rejected": sum(1 for o in outcomes if o.status == "rejected"),
            "items": [item_out(o) for o in outcomes],
        }
    )
