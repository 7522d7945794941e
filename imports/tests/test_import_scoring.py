"""An import scores a lead as the API does: the same rules over the same inputs, custom
fields (the file's and the stored lead's) and the account's fields included."""

from __future__ import annotations

from pathlib import Path

from django.test import Client

from conftest import bearer
from imports.pipeline import ImportOptions
from imports.services import create_import_job, run_import
from leads.models import Account, Lead
from qualify.document import default_document
from qualify.services import save_model


def model_on_custom_and_account_fields() -> dict[str, object]:
    document = default_document()
    document["fit"] += [
        {"label": "enterprise plan", "field": "custom.plan", "operator": "equals",
         "value": "Enterprise", "points": 15},
        {"label": "50+ seats", "field": "custom.seats", "operator": "range",
         "value": {"min": 50}, "points": 5},
        {"label": "software company", "field": "account.industry", "operator": "equals",
         "value": "Software", "points": 10},
        {"label": "named account", "field": "account.name", "operator": "starts_with",
         "value": "Acme", "points": 3},
    ]  # fmt: skip
    return document


def post_lead(client: Client, token: str, body: dict[str, object]) -> None:
    response = client.post(
        "/api/v1/leads", body, content_type="application/json", HTTP_AUTHORIZATION=token
    )
    assert response.status_code in (200, 201), response.content


def scored(email: str) -> tuple[int, int, str, list[dict[str, object]]]:
    lead = Lead.objects.get(email=email)
    return lead.fit_score, lead.score, lead.grade, lead.score_reasons


def test_an_import_and_the_api_give_the_same_score_grade_and_reasons_on_custom_and_account_fields(
    tmp_path: Path, org, now, client: Client
) -> None:
    # given a model with rules on custom fields and on the account's fields, an account
    # in software, and two leads stored with a custom field (one for each door)
    save_model(model_on_custom_and_account_fields(), by=org.marketer, now=now)
    Account.objects.create(name="Acme Robotics", domain="acme.io", industry="Software")
    token = bearer(org.marketer)
    for email in ("stored-file@acme.io", "stored-api@acme.io"):
        post_lead(client, token, {"email": email, "custom_fields": {"plan": "Enterprise"}})

    # when the same people come in by a file and through the API: a new lead of the
    # account, and the stored lead with a new custom field and a title
    path = tmp_path / "leads.csv"
    path.write_text(
        "Email,Job Title,Seats\n"
        "new-file@acme.io,Head of Operations,80\n"
        "stored-file@acme.io,Head of Operations,80\n",
        encoding="utf-8",
    )
    job = create_import_job(path, ImportOptions(), now=now)
    run_import(job, now=now)
    for email in ("new-api@acme.io", "stored-api@acme.io"):
        post_lead(
            client,
            token,
            {"email": email, "title": "Head of Operations", "custom_fields": {"seats": "80"}},
        )

    # then both doors read the file's or the request's custom field, the stored one and
    # the account's industry and name, and agree on score, grade and reasons
    new_api = scored("new-api@acme.io")
    stored_api = scored("stored-api@acme.io")
    assert [reason["label"] for reason in new_api[3]] == [
        "senior title",
        "50+ seats",
        "software company",
        "named account",
    ]
    assert [reason["label"] for reason in stored_api[3]] == [
        "senior title",
        "enterprise plan",
        "50+ seats",
        "software company",
        "named account",
    ]
    assert scored("new-file@acme.io") == new_api
    assert scored("stored-file@acme.io") == stored_api
