"""Foreign keys of an import chunk, checked set-based on PostgreSQL (apply.references_checked_per_chunk)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from capture.models import Submission
from imports import apply
from imports.pipeline import ImportOptions
from imports.services import create_import_job, run_import
from leads.models import Campaign, CampaignMember, Lead, StageChange

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite checks each key as the row goes in"
)

CSV = (
    "Email,First Name,Company,Job Title,Authority,Budget,Timeline,Notes,Country\n"
    "ann@acme.io,Ann,Acme,CTO,Decision maker,20000,now,replace our spreadsheet,Germany\n"
    "bob@globex.io,Bob,Globex,Analyst,,,,,France\n"
    "ANN@acme.io ,Ann,Acme,CTO,,,,,Germany\n"
)


def imported(tmp_path: Path, now: datetime, campaign: Campaign) -> tuple[int, ...]:
    path = tmp_path / "fair.csv"
    path.write_text(CSV)
    job = create_import_job(path, ImportOptions(campaign_id=campaign.pk), now=now)
    run_import(job, now=now)
    job.refresh_from_db()
    return job.created, job.updated, job.merged, job.rejected


def a_lead() -> Lead:
    now = timezone.now()
    return Lead.objects.create(email="ann@acme.io", arrived_at=now, stage_changed_at=now)


def sql(statement: str, *params: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def written() -> dict[str, object]:
    return {
        "leads": sorted(Lead.objects.values_list("email", "stage", "owner_id", "account_id")),
        "history": StageChange.objects.count(),
        "submissions": Submission.objects.count(),
        "members": CampaignMember.objects.count(),
    }


@pytest.mark.parametrize("privileged", [True, False])
def test_import_writes_the_same_with_either_check(
    tmp_path, org, now, monkeypatch, privileged
) -> None:
    """With the privilege the keys are checked per chunk; without it, by the row triggers
    at commit (and always on SQLite). The import's result is the same."""
    monkeypatch.setattr(apply, "may_skip_row_triggers", lambda: privileged)
    campaign = Campaign.objects.create(name="Fair")
    assert imported(tmp_path, now, campaign) == (2, 0, 1, 0)
    result = written()
    assert len(result["leads"]) == 2  # type: ignore[arg-type]
    assert result["submissions"] == 3
    assert result["members"] == 2
    assert Lead.objects.get(email="ann@acme.io").owner_id is not None


@postgres_only
@pytest.mark.django_db
def test_a_row_naming_a_missing_parent_is_refused() -> None:
    campaign = Campaign.objects.create(name="Fair")
    refused = pytest.raises(IntegrityError, match=r'"lead_id".*999999999.*"leads_lead"')
    with refused, transaction.atomic(), apply.references_checked_per_chunk():
        sql(
            "INSERT INTO leads_campaignmember (campaign_id, lead_id, status, joined_at,"
            " updated_at) VALUES (%s, 999999999, 'registered', now(), now())",
            campaign.pk,
        )
    assert not CampaignMember.objects.exists()


@postgres_only
@pytest.mark.django_db
def test_an_updated_lead_naming_a_missing_account_is_refused() -> None:
    lead = a_lead()
    refused = pytest.raises(IntegrityError, match=r'"account_id".*"leads_account"')
    with refused, transaction.atomic(), apply.references_checked_per_chunk([lead.pk]):
        sql("UPDATE leads_lead SET account_id = 999999999 WHERE id = %s", lead.pk)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_parents_stay_locked_until_the_chunk_commits() -> None:
    """As the row trigger would, the check takes a key-share lock on each parent: nobody
    can delete the campaign the chunk's rows name before the chunk commits."""
    campaign = Campaign.objects.create(name="Fair")
    lead = a_lead()
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or "localhost",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname=settings["NAME"],
        autocommit=True,
    )
    try:
        with transaction.atomic():
            with apply.references_checked_per_chunk():
                CampaignMember.objects.bulk_create(
                    [
                        CampaignMember(
                            campaign=campaign,
                            lead=lead,
                            status="registered",
                            joined_at=lead.arrived_at,
                        )
                    ]
                )
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(
                    "SELECT 1 FROM leads_campaign WHERE id = %s FOR UPDATE NOWAIT", [campaign.pk]
                )
        other.execute("SELECT 1 FROM leads_campaign WHERE id = %s FOR UPDATE NOWAIT", [campaign.pk])
    finally:
        other.close()
    assert CampaignMember.objects.filter(campaign=campaign, lead=lead).exists()


@postgres_only
@pytest.mark.django_db
def test_row_triggers_are_back_on_after_the_block() -> None:
    with transaction.atomic():
        with apply.references_checked_per_chunk():
            pass
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone() == ("origin",)
