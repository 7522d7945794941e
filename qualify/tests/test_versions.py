"""The stored scoring model: version 1 as before, saving, refusing, restoring, and every
door scoring with the active version."""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from capture.services import capture_lead
from conftest import HOT, bearer
from leads.models import Lead
from qualify.document import VERSION_1, VERSION_2, VERSION_2_NOTE, ModelInvalid, default_document
from qualify.models import ScoringModelVersion
from qualify.services import active_version, restore_version, save_model, score_lead

INDUSTRY_RULE = {
    "label": "software company",
    "field": "industry",
    "operator": "equals",
    "value": "Software",
    "points": 25,
}
PLAN_RULE = {
    "label": "on a paid plan",
    "field": "custom.plan",
    "operator": "one_of",
    "value": ["pro", "team"],
    "points": 7,
}


def with_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    document = default_document()
    document["fit"].extend(rules)
    return document


def test_a_new_installation_keeps_version_1_and_scores_with_version_2(db) -> None:
    version = active_version()

    assert version is not None
    assert (version.number, version.document, version.note) == (2, VERSION_2, VERSION_2_NOTE)
    assert ScoringModelVersion.objects.get(number=1).document == VERSION_1
    # Version 2 is version 1 with the email signals counting against a lead.
    added = VERSION_2["engagement"]["rules"][len(VERSION_1["engagement"]["rules"]) :]
    assert {(rule["kind"], rule["points"] < 0) for rule in added} == {
        ("unsubscribed", True),
        ("email_bounce", True),
        ("email_complaint", True),
    }


def test_a_captured_lead_carries_grade_and_reasons(org, now: datetime) -> None:
    lead = capture_lead({"email": "ann@acme.io", **HOT}, source="api", now=now).lead

    lead.refresh_from_db()
    assert (lead.fit_score, lead.grade, lead.segment) == (70, "A", "sales_ready")
    assert lead.score_reasons == [
        {"points": 15, "label": "stated a need"},
        {"points": 20, "label": "decision maker"},
        {"points": 15, "label": "budget of 10k or more"},
        {"points": 20, "label": "buying now"},
    ]


def test_a_saved_version_becomes_active_and_scores_the_next_lead(org, now: datetime) -> None:
    version = save_model(with_rules(INDUSTRY_RULE), by=org.marketer, now=now, note="industry")

    lead = capture_lead({"email": "bo@acme.io", "industry": "Software"}, source="api", now=now).lead

    lead.refresh_from_db()
    assert (version.number, version.created_by, active_version()) == (3, org.marketer, version)
    assert lead.fit_score == 25
    assert {"points": 25, "label": "software company"} in lead.score_reasons


def test_a_bad_model_is_refused_whole_and_nothing_is_saved(org, now: datetime) -> None:
    bad = with_rules(INDUSTRY_RULE, {**PLAN_RULE, "operator": "range"})

    with pytest.raises(ModelInvalid, match="fit\\[15\\] 'on a paid plan'"):
        save_model(bad, by=org.marketer, now=now)

    assert list(
        ScoringModelVersion.objects.order_by("number").values_list("number", "is_active")
    ) == [(1, False), (2, True)]


def test_restoring_an_old_version_saves_a_new_one_copying_it(org, now: datetime) -> None:
    save_model(with_rules(INDUSTRY_RULE), by=org.marketer, now=now)

    restored = restore_version(1, by=org.admin, now=now)

    assert (restored.number, restored.document, restored.note) == (
        4,
        VERSION_1,
        "restored version 1",
    )
    assert list(
        ScoringModelVersion.objects.order_by("number").values_list("number", "is_active")
    ) == [(1, False), (2, False), (3, False), (4, True)]


def test_the_api_and_the_lead_page_give_grade_and_reasons(
    org, now: datetime, client: Client
) -> None:
    save_model(with_rules(PLAN_RULE), by=org.marketer, now=now)
    lead = capture_lead(
        {"email": "cy@acme.io", **HOT, "custom_fields": {"plan": "pro"}}, source="api", now=now
    ).lead

    detail = client.get(f"/api/v1/leads/{lead.pk}", HTTP_AUTHORIZATION=bearer(org.admin)).json()
    client.force_login(org.admin)
    page = client.get(reverse("web:lead", args=[lead.pk])).content.decode()

    assert detail["grade"] == "A"
    assert detail["score_reasons"][-1] == {"points": 7, "label": "on a paid plan"}
    assert "+7 on a paid plan" in page
    assert "+20 decision maker" in page


def test_an_import_scores_as_one_lead_at_a_time_would(org, now: datetime, tmp_path: Path) -> None:
    save_model(with_rules(INDUSTRY_RULE, PLAN_RULE), by=org.marketer, now=now)
    path = tmp_path / "leads.csv"
    path.write_text(
        "Email,Industry,Plan,Authority,Timeline\n"
        "a@acme.io,Software,pro,decision_maker,now\n"
        "b@acme.io,Retail,free,,\n"
        "c@acme.io,Software,,none,never\n"
    )

    call_command("import", str(path), stdout=StringIO(), stderr=StringIO())

    for lead in Lead.objects.order_by("email"):
        imported = (lead.fit_score, lead.score, lead.grade, lead.segment, lead.score_reasons)
        score_lead(lead, now=now)
        lead.refresh_from_db()
        assert imported == (
            lead.fit_score, lead.score, lead.grade, lead.segment, lead.score_reasons
        ), lead.email  # fmt: skip
    assert json.loads(json.dumps(Lead.objects.get(email="a@acme.io").score_reasons)) == [
        {"points": 20, "label": "decision maker"},
        {"points": 20, "label": "buying now"},
        {"points": 25, "label": "software company"},
        {"points": 7, "label": "on a paid plan"},
    ]


def test_an_import_keeps_score_history_and_a_known_leads_engagement_reasons(
    org, now: datetime, tmp_path: Path
) -> None:
    from capture.services import EventInput, record_events
    from qualify.models import ScoreChange

    known = capture_lead({"email": "a@acme.io"}, source="api", now=now).lead
    record_events([EventInput("demo_request", now, lead_id=known.pk)], now=now)
    path = tmp_path / "leads.csv"
    path.write_text("Email,Authority\na@acme.io,influencer\nb@acme.io,user\n")

    call_command("import", str(path), stdout=StringIO(), stderr=StringIO())

    known.refresh_from_db()
    assert known.score_reasons == [
        {"points": 10, "label": "influencer"},
        {"points": 40, "label": "requested a demo"},
    ]
    assert list(
        ScoreChange.objects.filter(lead__email="a@acme.io").values_list("score", flat=True)
    ) == [0, 40, 50]
    assert list(
        ScoreChange.objects.filter(lead__email="b@acme.io").values_list("score", "grade")
    ) == [(5, "D")]
