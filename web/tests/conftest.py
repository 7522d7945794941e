"""Fixtures for the web UI: leads placed with a chosen owner, at a time relative to now.

Views read the real clock, so leads are made relative to `timezone.now()`: a lead that
arrived ten days ago is overdue whatever day the suite runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT
from leads.models import Lead
from routing.services import assign_lead
from users.models import User

MakeLead = Callable[..., Lead]


@pytest.fixture
def real_now() -> datetime:
    return timezone.now()


@pytest.fixture
def make_lead(org: Any, real_now: datetime) -> MakeLead:
    """A sales-ready lead captured `days_ago`, owned by `owner` (None: the team queue)."""

    def make(
        email: str,
        owner: User | None = None,
        *,
        days_ago: float = 0,
        team: Any = None,
        **fields: Any,
    ) -> Lead:
        when = real_now - timedelta(days=days_ago)
        lead = capture_lead({**HOT, "email": email, **fields}, source="api", now=when).lead
        if owner is not None:
            assign_lead(lead, now=when, to=owner)
        else:
            Lead.objects.filter(pk=lead.pk).update(owner=None, team=team or org.emea)
        lead.refresh_from_db()
        return lead

    return make


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login
