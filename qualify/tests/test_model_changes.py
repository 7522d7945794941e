"""Changing the scoring model: the what-if preview, applying (rescoring every lead and
routing the new sales-ready ones), through the services, the CLI and the API."""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from capture.services import capture_lead
from conftest import bearer
from leads.models import Lead
from qualify.document import default_document, from_yaml, to_yaml
from qualify.models import ScoringModelVersion
from qualify.services import active_version, preview_model

SOFTWARE = {
    "label": "software company",
    "field": "industry",
    "operator": "equals",
    "value": "Software",
    "points": 50,
}
WARM = {"need": "forecasting", "authority": "influencer", "timeline": "year", "country": "DE"}


def with_software_rule() -> dict[str, Any]:
    document = default_document()
    document["fit"].append(dict(SOFTWARE))
    return document


@pytest.fixture
def leads(org: Any, now: datetime) -> dict[str, Lead]:
    """Two warm software leads, a warm retail one, a cold software one (all in nurture)."""
    made = {}
    for name, industry, profile in [
        ("sw1", "Software", WARM),
        ("sw2", "Software", WARM),
        ("retail", "Retail", WARM),
        ("cold", "Software", {"country": "DE"}),
    ]:
        made[name] = capture_lead(
            {"email": f"{name}@acme.io", "industry": industry, **profile}, source="api", now=now
        ).lead
    return made


def test_the_preview_counts_moves_and_grades_and_changes_nothing(
    leads: dict[str, Lead], now: datetime
) -> None:
    preview = preview_model(with_software_rule(), now=now)

    assert preview.leads == 4
    assert preview.moves == {"nurture→sales_ready": 2}
    assert preview.grades_changed == 3
    assert preview.grade_moves == {"grade B→A": 2, "grade D→A": 1}
    assert sorted(s["name"] for s in preview.samples["nurture→sales_ready"]) == [
        "sw1@acme.io",
        "sw2@acme.io",
    ]
    assert set(Lead.objects.values_list("segment", flat=True)) == {"nurture"}
    assert ScoringModelVersion.objects.count() == 2  # versions 1 and 2, as installed


def test_the_cli_exports_yaml_and_applies_it_ending_with_a_json_line(
    leads: dict[str, Lead], tmp_path: Path, org: Any
) -> None:
    exported = StringIO()
    call_command("scoring", "export", stdout=exported)
    assert from_yaml(exported.getvalue()) == default_document()
    path = tmp_path / "model.yaml"
    path.write_text(to_yaml(with_software_rule()))

    dry = StringIO()
    call_command("scoring", "apply", str(path), "--dry-run", stdout=dry)
    out = StringIO()
    call_command("scoring", "apply", str(path), "--by", "marketer", stdout=out)

    dry_lines = dry.getvalue().strip().splitlines()
    assert "  2 move nurture → sales_ready" in dry_lines
    assert json.loads(dry_lines[-1])["leads_rescored"] == 0
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert {k: summary[k] for k in ("leads_rescored", "moves", "grades_changed")} == {
        "leads_rescored": 4,
        "moves": {"nurture→sales_ready": 2},
        "grades_changed": 3,
    }
    # The new sales-ready leads are routed as an event would route them.
    software = Lead.objects.filter(email__in=["sw1@acme.io", "sw2@acme.io"])
    assert {(lead.stage, lead.owner is not None) for lead in software} == {("mql", True)}
    version = active_version()
    assert version is not None
    assert (version.number, version.created_by, version.rescore_summary) == (
        3,
        org.marketer,
        summary | {"seconds": version.rescore_summary["seconds"]},  # type: ignore[index]
    )


def test_the_cli_refuses_a_bad_model_naming_the_rule(tmp_path: Path, db: None) -> None:
    document = with_software_rule()
    document["fit"][-1]["operator"] = "range"
    path = tmp_path / "model.yaml"
    path.write_text(to_yaml(document))

    with pytest.raises(CommandError) as refused:
        call_command("scoring", "apply", str(path), stdout=StringIO())

    assert "fit[14] 'software company': operator range does not apply to industry" in str(
        refused.value
    )
    assert ScoringModelVersion.objects.count() == 2  # versions 1 and 2, as installed


def put(client: Client, path: str, body: Any, user: Any) -> Any:
    return client.put(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=bearer(user)
    )


def test_the_api_previews_applies_and_restores_the_same_document(
    leads: dict[str, Lead],
    org: Any,
    client: Client,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": bearer(org.marketer)}
    current = client.get("/api/v1/scoring/model", **auth).json()
    assert current["document"] == default_document()

    preview = client.post(
        "/api/v1/scoring/model/preview",
        json.dumps(with_software_rule()),
        content_type="application/json",
        **auth,
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        applied = put(client, "/api/v1/scoring/model", with_software_rule(), org.marketer)

    assert preview.get("moves") == {"nurture→sales_ready": 2}, preview
    assert applied.status_code == 200
    assert applied.json()["version"]["number"] == 3
    assert (
        client.get("/api/v1/scoring/versions/3", **auth).json()["version"]["rescore_summary"][
            "leads_rescored"
        ]
        == 4
    )
    assert Lead.objects.get(email="sw1@acme.io").segment == "sales_ready"

    restored = client.post("/api/v1/scoring/versions/2/restore", **auth).json()
    assert (restored["version"]["number"], restored["document"]) == (4, default_document())
    assert [v["number"] for v in client.get("/api/v1/scoring/versions", **auth).json()] == [
        4,
        3,
        2,
        1,
    ]


def test_the_api_refuses_a_bad_model_whole_and_other_roles(
    org: Any, client: Client, db: None
) -> None:
    bad = with_software_rule()
    bad["fit"][-1]["field"] = "shoe_size"

    refused = put(client, "/api/v1/scoring/model", bad, org.marketer)
    forbidden = put(client, "/api/v1/scoring/model", default_document(), org.rep1)

    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "field": "fit[14] 'software company'",
            "message": "unknown field 'shoe_size' (lead fields, account.<field> or custom.<key>)",
        }
    ]
    assert forbidden.status_code == 403
    assert ScoringModelVersion.objects.count() == 2  # versions 1 and 2, as installed


def test_rescoring_everything_set_based_gives_what_scoring_one_by_one_gives(
    org: Any, now: datetime
) -> None:
    from datetime import timedelta

    from capture.services import EventInput, record_events
    from demo.story import demo_scoring_document
    from qualify.services import rescore_all, save_model, score_lead

    people: list[dict[str, Any]] = [
        {"email": "a@bigco.com", "industry": "Software", **WARM},
        {"email": "b@acme.io", "title": "VP Sales", "custom_fields": {"plan": "pro", "seats": 12}},
        {"email": "c@acme.io", "budget": "9999.99", "employees": 250, "timeline": "never"},
        {"email": "d@acme.io", "first_name": "Dee", "need": "  ", "authority": "none"},
    ]
    made = [capture_lead(p, source="api", now=now).lead for p in people]
    record_events(
        [
            EventInput("pricing_page_view", now - timedelta(days=d), lead_id=made[d % 4].pk)
            for d in range(12)
        ]
        + [EventInput("unsubscribed", now, lead_id=made[3].pk),
           EventInput("webinar_attended", now - timedelta(days=200), lead_id=made[1].pk)],
        now=now,
    )  # fmt: skip
    document = demo_scoring_document()
    document["fit"].append(
        {"label": "big team", "field": "custom.seats", "operator": "range",
         "value": {"min": 10}, "points": 6}
    )  # fmt: skip
    later = now + timedelta(days=45)
    version = save_model(document, by=org.marketer, now=later)

    summary = rescore_all(version, now=later)

    assert summary["leads_rescored"] == 4
    for lead in Lead.objects.order_by("email"):
        bulk = (lead.engagement_score, lead.fit_score, lead.score, lead.grade, lead.segment,
                lead.score_reasons)  # fmt: skip
        score_lead(lead, now=later)
        lead.refresh_from_db()
        assert bulk == (
            lead.engagement_score, lead.fit_score, lead.score, lead.grade, lead.segment,
            lead.score_reasons,
        ), lead.email  # fmt: skip
    assert any(
        r["label"] == "engagement faded"
        for r in Lead.objects.get(email="a@bigco.com").score_reasons
    )
