"""Rescoring reads every lead's signals in bulk (leads.sql.read_frame): the values must
come back exactly as the one-by-one scorer reads them through the ORM."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from leads.models import Lead
from leads.sql import datetime_text, read_frame
from qualify.models import EngagementSignal


@pytest.mark.django_db
def test_floats_text_nulls_and_times_come_back_exactly_as_stored() -> None:
    # given signals with a float SQLite's JSON would round (0.1 + 0.2), text that needs
    # escaping, an empty key, and no time at all
    at = datetime(2026, 11, 16, 10, 0, 0, 123456, tzinfo=UTC)
    lead = Lead.objects.create(email="ada@example.com", stage_changed_at=at, arrived_at=at)
    EngagementSignal.objects.create(
        lead=lead, key='page_view:url:contains:"/pricing"\n', kind="päge_view", count=0.1 + 0.2,
        total=3, as_of=at,
    )  # fmt: skip
    EngagementSignal.objects.create(lead=lead, key="", kind="email_open", count=1e-300, total=1)

    # when they are read in bulk
    frame = read_frame(
        {
            "key": ("key", pl.String()),
            "kind": ("kind", pl.String()),
            "count": ("count", pl.Float64()),
            "total": ("total", pl.Int64()),
            "as_of": (datetime_text("as_of"), pl.Datetime("us", "UTC")),
        },
        EngagementSignal._meta.db_table,
        key="id",
    ).sort("total", descending=True)

    # then every value is the one stored
    assert frame.rows() == [
        ('page_view:url:contains:"/pricing"\n', "päge_view", 0.1 + 0.2, 3, at),
        ("", "email_open", 1e-300, 1, None),
    ]
