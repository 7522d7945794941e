"""The steps of the import wizard in the web UI, as services over the import engine.

upload (`open_import`) → mapping (`inspect_job`, `save_import_choices`) → preview
(`preview_job`) → start (`start_import_job`), and `resume_import_job` after a failure.

A job made by the wizard is a draft while its status is queued and `started_at` is
empty: its owner is still choosing the mapping. Starting it stamps `started_at` and
queues `run_import_task` once the transaction commits; from then on the job belongs to
the engine (`run_import`). A campaign typed as a new name is only created when the
import starts, so an abandoned wizard leaves no empty campaign behind.

Uploads are stored under DATA_DIR/imports with a random name: the name a person gave
their file is shown, never used as a path.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction

from imports.choices import ImportStatus
from imports.models import ImportJob
from imports.tasks import run_import_task
from leads.models import Campaign
from users.models import User

from .pipeline import ImportOptions, prepare
from .reader import SPREADSHEET_SUFFIXES, ImportFileError
from .services import (
    FileInfo,
    ImportSummary,
    RowOutcome,
    classify_all,
    create_import_job,
    imports_dir,
    inspect_file,
    outcomes,
    summarise,
)

UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".ods")
# job.options key: the name of a campaign to create when the import starts.
NEW_CAMPAIGN = "new_campaign"
# Up to this size the preview also does a full dry run for exact counts; a bigger file
# is previewed from its first rows only (a dry run of a million rows takes half a minute).
FULL_DRY_RUN_ROWS = 50_000
FULL_DRY_RUN_SPREADSHEET_BYTES = 3 * 1024 * 1024


def is_draft(job: ImportJob) -> bool:
    """Still in the wizard: not started by anyone yet."""
    return job.status == ImportStatus.QUEUED and job.started_at is None


def job_options(job: ImportJob) -> ImportOptions:
    """The job's options; a campaign still to be created stands in as id -1 (a dry run)."""
    options = ImportOptions.from_dict(job.options)
    if options.campaign_id is None and job.options.get(NEW_CAMPAIGN):
        options.campaign_id = -1
    return options


def store_upload(chunks: Iterable[bytes], suffix: str) -> Path:
    """Write an uploaded file under DATA_DIR/imports with a random name; returns the path."""
    suffix = suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ImportFileError(f"{suffix or 'no extension'}: upload a CSV or XLSX file")
    target = imports_dir() / f"upload-{secrets.token_hex(16)}{suffix}"
    partial = target.with_name(target.name + ".part")
    with open(partial, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
    partial.replace(target)
    return target


def open_import(
    chunks: Iterable[bytes],
    *,
    file_name: str,
    options: ImportOptions,
    now: datetime,
    by: User,
    new_campaign: str = "",
) -> ImportJob:
    """Store an upload and make a draft job for it, if the file can be read at all.

    Raises ImportFileError (an unreadable file, a wrong encoding …); nothing is kept then.
    """
    options.check()
    path = store_upload(chunks, Path(file_name).suffix)
    try:
        inspect_file(path, options.encoding, options.delimiter, sheet=options.sheet, sample=1)
    except ImportFileError:
        path.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        job = create_import_job(path, options, now=now, by=by, file_name=file_name[-255:])
        if new_campaign and options.campaign_id is None:
            job.options[NEW_CAMPAIGN] = new_campaign
            job.save(update_fields=["options"])
    return job


def inspect_job(job: ImportJob, *, sample: int = 20) -> FileInfo:
    options = ImportOptions.from_dict(job.options)
    return inspect_file(
        job.file_path, options.encoding, options.delimiter, sheet=options.sheet, sample=sample
    )


def save_import_choices(job: ImportJob, **changes: Any) -> ImportJob:
    """Change a draft's options (mapping, encoding, delimiter …); other keys are kept."""
    if not is_draft(job):
        raise ValueError(f"import job {job.pk} has started: its options are fixed")
    options = ImportOptions.from_dict(job.options)
    for name, value in changes.items():
        if name not in ImportOptions.__dataclass_fields__:
            raise ValueError(f"unknown import option {name!r}")
        setattr(options, name, value)
    options.check()
    job.options = {**job.options, **options.to_dict()}
    job.save(update_fields=["options"])
    return job


def check_job(job: ImportJob, *, now: datetime) -> None:
    """Raise MappingError / ImportFileError if the job cannot run (reads the first rows)."""
    prepare(job.file_path, job_options(job), now=now, limit=20)


@dataclass
class WizardPreview:
    """The first rows' outcomes and, for a file small enough, the counts of a dry run."""

    rows: list[RowOutcome]
    summary: ImportSummary | None
    # Per choice column, the values kept as written (of the whole file when `summary`
    # is there, else of the rows previewed), in words.
    kept_as_written: list[str]


def preview_job(job: ImportJob, *, now: datetime, limit: int = 200) -> WizardPreview:
    """What the job would do, writing nothing (MappingError / ImportFileError if it can't)."""
    options = job_options(job)
    if is_small(Path(job.file_path)):
        prepared = prepare(job.file_path, options, now=now)
        classified = classify_all(prepared)
        summary = summarise(prepared, classified)
        return WizardPreview(
            outcomes(prepared, classified, limit=limit), summary, summary.kept_as_written_lines
        )
    # Rows later in the file may still merge into these; the counts come with the run.
    prepared = prepare(job.file_path, options, now=now, limit=limit)
    return WizardPreview(
        outcomes(prepared, classify_all(prepared), limit=limit),
        None,
        [kept.describe() for kept in prepared.kept_as_written],
    )


def is_small(path: Path) -> bool:
    """Small enough for a dry run of the whole file while the person waits."""
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        return path.stat().st_size <= FULL_DRY_RUN_SPREADSHEET_BYTES
    lines = 0
    with open(path, "rb") as file:
        while chunk := file.read(8 * 1024 * 1024):
            lines += chunk.count(b"\n")
            if lines > FULL_DRY_RUN_ROWS:
                return False
    return True


def start_import_job(job: ImportJob, *, now: datetime) -> bool:
    """Start a draft: create its new campaign, stamp it and queue the run after commit.

    Returns False when the job had already been started (a second click does nothing).
    Raises MappingError / ImportFileError when the file or mapping cannot be imported.
    """
    check_job(job, now=now)
    with transaction.atomic():
        options = ImportOptions.from_dict(job.options)
        name = (job.options.get(NEW_CAMPAIGN) or "").strip()
        if name and options.campaign_id is None:
            campaign = Campaign.objects.filter(name__iexact=name).first()
            if campaign is None:
                campaign = Campaign.objects.create(name=name)
            options.campaign_id = campaign.pk
        started = ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.QUEUED, started_at__isnull=True
        ).update(options=options.to_dict(), started_at=now)
        if not started:
            transaction.set_rollback(True)
            return False
        job_id = job.pk
        transaction.on_commit(lambda: run_import_task.delay(job_id))
    job.refresh_from_db()
    return True


def resume_import_job(job: ImportJob) -> bool:
    """Queue a failed job again: the run goes on from its last committed chunk."""
    with transaction.atomic():
        queued = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.FAILED).update(
            status=ImportStatus.QUEUED, error=""
        )
        if queued:
            job_id = job.pk
            transaction.on_commit(lambda: run_import_task.delay(job_id))
    job.refresh_from_db()
    return bool(queued)
