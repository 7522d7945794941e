"""Fixtures shared by the intake tests of the public endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone


@pytest.fixture
def fresh_rate_limit(db: None) -> Iterator[None]:
    # With Redis as the cache the rate counters live there, which test transactions do
    # not cover.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> datetime:
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now
