"""Signed webhook deliveries: checking the HMAC-SHA256 a sender made with the source's
signing secret, and answering Zoom's endpoint URL validation. Pure functions of the
secret, the raw body, the headers and the time; no database.

Two schemes, chosen per source (`WebhookSource.signature_scheme`):

- leadloop: header `X-Leadloop-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body;
- zoom: header `x-zm-signature: v0=<hex>`, the HMAC-SHA256 of `v0:<timestamp>:<body>`,
  where the timestamp is header `x-zm-request-timestamp` (epoch seconds). A timestamp
  more than five minutes from now is refused: a captured delivery cannot be replayed
  later, and changing its timestamp breaks the signature.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .choices import SignatureScheme
from .webhooks import PayloadError

LEADLOOP_HEADER = "X-Leadloop-Signature"
LEADLOOP_PREFIX = "sha256="
ZOOM_HEADER = "x-zm-signature"
ZOOM_PREFIX = "v0="
ZOOM_TIMESTAMP_HEADER = "x-zm-request-timestamp"
ZOOM_MAX_AGE = timedelta(minutes=5)
ZOOM_URL_VALIDATION = "endpoint.url_validation"
MASK = "••••••••"
# Shorter secrets are shown as dots only: their last characters are too much of them.
MASK_SHOWS_END_FROM = 16


@dataclass(frozen=True)
class SignatureError:
    """Why a delivery's signature is refused, naming the header at fault."""

    header: str
    message: str


def hmac_hex(secret: str, message: bytes) -> str:
    """HMAC-SHA256 of `message` keyed with `secret`, as lowercase hex."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _matches(expected: str, sent: str) -> bool:
    # Header values may hold any Latin-1 text; compare_digest on str takes ASCII only.
    return hmac.compare_digest(expected.encode(), sent.strip().lower().encode("utf-8", "replace"))


def signature_error(
    scheme: str, secret: str, body: bytes, headers: Mapping[str, str], *, now: datetime
) -> SignatureError | None:
    """None when the delivery is signed with `secret` as `scheme` says, else why not.

    `headers` must look names up without regard to case, as Django's `request.headers`.
    """
    if scheme == SignatureScheme.ZOOM:
        return _zoom_error(secret, body, headers, now=now)
    sent = headers.get(LEADLOOP_HEADER) or ""
    if not sent:
        return SignatureError(
            LEADLOOP_HEADER, "missing: send sha256=<hex HMAC-SHA256 of the body with the secret>"
        )
    if not sent.startswith(LEADLOOP_PREFIX) or not _matches(
        hmac_hex(secret, body), sent[len(LEADLOOP_PREFIX) :]
    ):
        return SignatureError(LEADLOOP_HEADER, "does not match the body and the source's secret")
    return None


def _zoom_error(
    secret: str, body: bytes, headers: Mapping[str, str], *, now: datetime
) -> SignatureError | None:
    sent = headers.get(ZOOM_HEADER) or ""
    if not sent:
        return SignatureError(ZOOM_HEADER, "missing: Zoom signs every delivery")
    timestamp = (headers.get(ZOOM_TIMESTAMP_HEADER) or "").strip()
    try:
        seconds = int(timestamp)
    except ValueError:
        return SignatureError(ZOOM_TIMESTAMP_HEADER, "missing or not epoch seconds")
    if abs(now.timestamp() - seconds) > ZOOM_MAX_AGE.total_seconds():
        return SignatureError(
            ZOOM_TIMESTAMP_HEADER, "more than 5 minutes from now: a replayed or delayed delivery"
        )
    message = b"v0:" + timestamp.encode() + b":" + body
    if not sent.startswith(ZOOM_PREFIX) or not _matches(
        hmac_hex(secret, message), sent[len(ZOOM_PREFIX) :]
    ):
        return SignatureError(ZOOM_HEADER, "does not match the body and the source's secret")
    return None


def zoom_url_validation(secret: str, payload: Any) -> dict[str, str] | None:
    """Zoom's answer to its endpoint check, or None when `payload` is not that check.

    Zoom posts `{"event": "endpoint.url_validation", "payload": {"plainToken": …}}` and
    expects the token back with its HMAC under the secret. Call it only on a delivery
    whose signature was checked: it signs whatever text it is given, so answering an
    unsigned request would sign an attacker's `v0:<timestamp>:<body>` for them.
    """
    if not isinstance(payload, dict) or payload.get("event") != ZOOM_URL_VALIDATION:
        return None
    inner = payload.get("payload")
    plain = inner.get("plainToken") if isinstance(inner, dict) else None
    if not isinstance(plain, str) or not plain:
        raise PayloadError("payload.plainToken", "missing: Zoom's URL validation sends one")
    return {"plainToken": plain, "encryptedToken": hmac_hex(secret, plain.encode())}


def masked(secret: str) -> str:
    """A secret as pages show it once saved: dots, and the last four characters of a long
    one so that a person can tell which secret is set; empty when there is none."""
    if not secret:
        return ""
    if len(secret) < MASK_SHOWS_END_FROM:
        return MASK
    return MASK + secret[-4:]
