"""A per-minute request counter for the public endpoints (forms, webhooks).

On Redis the counter lives in the cache: `add` creates it only if missing and `incr`
bumps it, both atomic. Other caches (the database cache, the default) do `incr` as a read
then a write, so two racing requests could count once; there the counter is a
`RateCounter` row bumped by one `INSERT … ON CONFLICT … DO UPDATE … RETURNING` (SQLite
3.35+, PostgreSQL), atomic in the database. `prune_rate_counters` drops past minutes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.http import HttpRequest

from .models import RateCounter

SCOPE_MAX = RateCounter._meta.get_field("scope").max_length or 200


def minute_of(now: datetime) -> int:
    """Minutes since 1970-01-01 UTC: the counting window `now` falls in."""
    return int(now.timestamp() // 60)


def over_limit(scope: str, limit: int, *, now: datetime) -> bool:
    """Count one request against `scope` for the current minute; True once past `limit`."""
    if isinstance(caches[DEFAULT_CACHE_ALIAS], RedisCache):
        return _count_in_cache(scope, now) > limit
    return count_in_database(scope, now=now) > limit


def _count_in_cache(scope: str, now: datetime) -> int:
    key = f"leadloop:rate:{scope}:{minute_of(now)}"
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        return 1


def count_in_database(scope: str, *, now: datetime) -> int:
    """Add one request to `scope`'s count for the minute of `now`; returns the new count."""
    if len(scope) > SCOPE_MAX:
        # A forwarded address is whatever a proxy wrote; a long one still counts as itself.
        scope = "sha256:" + hashlib.sha256(scope.encode()).hexdigest()
    # Only quoted names are formatted into the statement; the values are bound.
    quote = connection.ops.quote_name
    table = quote(RateCounter._meta.db_table)
    count = quote("count")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({quote('scope')}, {quote('minute')}, {count})"
            " VALUES (%s, %s, 1)"
            f" ON CONFLICT ({quote('scope')}, {quote('minute')})"
            f" DO UPDATE SET {count} = {table}.{count} + 1"
            f" RETURNING {count}",
            [scope, minute_of(now)],
        )
        row = cursor.fetchone()
    assert row is not None  # RETURNING always yields the inserted or updated row
    return int(row[0])


def prune_rate_counters(*, now: datetime) -> int:
    """Delete the counts of minutes before the last one; returns how many rows went."""
    deleted, _ = RateCounter.objects.filter(minute__lt=minute_of(now) - 1).delete()
    return deleted


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
