"""The per-minute counter of the public endpoints, counted in the database when the cache
is not Redis: every request counts once, however many arrive at the same moment."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection

from capture.models import RateCounter
from capture.ratelimit import count_in_database, minute_of, over_limit, prune_rate_counters

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_are_each_counted_exactly_once(now: datetime) -> None:
    threads_count, per_thread = 8, 25
    barrier = threading.Barrier(threads_count)
    counts: list[int] = []
    errors: list[BaseException] = []

    def hit() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                counts.append(count_in_database("form:203.0.113.9", now=now))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    # Each request saw its own count: none was lost, none counted twice.
    assert sorted(counts) == list(range(1, threads_count * per_thread + 1))
    assert list(RateCounter.objects.values_list("scope", "count")) == [
        ("form:203.0.113.9", threads_count * per_thread)
    ]


def test_without_redis_the_limit_is_counted_per_scope_and_minute(
    db: None, settings: Any, now: datetime
) -> None:
    settings.CACHES = LOCAL_CACHE
    next_minute = now + timedelta(minutes=1)

    this_minute = [over_limit("hook:1", 2, now=now) for _ in range(3)]
    other_scope = over_limit("hook:2", 2, now=now)
    later = over_limit("hook:1", 2, now=next_minute)

    assert (this_minute, other_scope, later) == ([False, False, True], False, False)
    assert sorted(RateCounter.objects.values_list("scope", "minute", "count")) == [
        ("hook:1", minute_of(now), 3),
        ("hook:1", minute_of(next_minute), 1),
        ("hook:2", minute_of(now), 1),
    ]


def test_a_scope_too_long_for_the_table_still_counts_as_itself(db: None, now: datetime) -> None:
    long_scope = "form:" + "1.2.3.4, " * 40

    counts = [count_in_database(long_scope, now=now) for _ in range(2)]

    assert counts == [1, 2]
    assert RateCounter.objects.get().scope.startswith("sha256:")


def test_pruning_drops_the_minutes_before_the_last_one(db: None, now: datetime) -> None:
    minute = minute_of(now)
    RateCounter.objects.bulk_create(
        RateCounter(scope="hook:1", minute=minute - ago, count=1) for ago in (5, 2, 1, 0)
    )

    pruned = prune_rate_counters(now=now)

    assert pruned == 2
    assert sorted(RateCounter.objects.values_list("minute", flat=True)) == [minute - 1, minute]


def test_the_beat_clean_up_prunes_old_rate_counts(db: None, clock: datetime) -> None:
    from capture.tasks import clean_up_capture_task

    now = clock
    RateCounter.objects.create(scope="hook:1", minute=minute_of(now) - 10, count=3)
    RateCounter.objects.create(scope="hook:1", minute=minute_of(now), count=1)

    clean_up_capture_task()

    assert list(RateCounter.objects.values_list("minute", flat=True)) == [minute_of(now)]
