"""Stored countries become codes: team lists and leads' countries, and back again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("leads", "0006_lean_indexes"), ("users", "0001_initial")]
AFTER = [("leads", "0007_lead_country_as_code"), ("users", "0002_team_countries_as_codes")]
THEN = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_country_names_become_codes_and_codes_names_again() -> None:
    old = migrate(BEFORE)
    old.get_model("users", "Team").objects.create(
        name="EMEA", countries=["Germany", "Deutschland", "UK", "Atlantis"]
    )
    Lead = old.get_model("leads", "Lead")
    for email, country in [("a@x.io", "Deutschland"), ("b@x.io", "UK"), ("c@x.io", "Atlantis")]:
        Lead.objects.create(email=email, country=country, arrived_at=THEN, stage_changed_at=THEN)

    new = migrate(AFTER)

    assert new.get_model("users", "Team").objects.get().countries == ["DE", "GB", "Atlantis"]
    assert dict(new.get_model("leads", "Lead").objects.values_list("email", "country")) == {
        "a@x.io": "DE",
        "b@x.io": "GB",
        "c@x.io": "Atlantis",
    }

    back = migrate(BEFORE)

    assert back.get_model("users", "Team").objects.get().countries == [
        "Germany",
        "United Kingdom",
        "Atlantis",
    ]
    assert dict(back.get_model("leads", "Lead").objects.values_list("email", "country")) == {
        "a@x.io": "Germany",
        "b@x.io": "United Kingdom",
        "c@x.io": "Atlantis",
    }
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
