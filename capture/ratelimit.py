"""A per-minute counter in the shared cache, for the public endpoints (forms, webhooks).

`add` creates the counter only if missing and `incr` bumps it: atomic on Redis; on the
database cache two racing requests may count once, which errs towards letting people in.
"""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache


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
