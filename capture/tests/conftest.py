"""Fixtures shared by the intake tests of the public endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from capture.models import WebhookSource

from .webhook_samples import ZOOM_MAPPING


@pytest.fixture
def fresh_rate_limit(db: None) -> Iterator[None]:
    # With Redis as the cache the rate counters live there, which test transactions do
    # not cover.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def webinar_hook(org: Any) -> WebhookSource:
    """A Zoom-like webinar tool's source, feeding the webinar campaign."""
    return WebhookSource.objects.create(
        name="Zoom webinars",
        slug="zoom",
        campaign=org.webinar,
        channel="webinar",
        mapping=ZOOM_MAPPING,
    )
