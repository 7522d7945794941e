"""A per-minute counter in the shared cache, for the public endpoints (forms, webhooks).

`add` creates the counter only if missing and `incr` bumps it: atomic on Redis; on the
database cache two racing requests may count once, which errs towards letting people in.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def over_limit(scope: str, limit: int, *, now: datetime) -> bool:
    """Count one request against `scope` for the current minute; True once past `limit`."""
    key = f"leadloop:rate:{scope}:{int(now.timestamp() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return count > limit


def client_ip(request: HttpRequest) -> str:
    """The address a request came from. Behind N trusted reverse proxies
    (LEADLOOP_TRUSTED_PROXIES=N) it is the N-th address from the right of
    X-Forwarded-For: entries further left are whatever the client chose to send."""
    proxies = settings.LEADLOOP_TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or "unknown"
