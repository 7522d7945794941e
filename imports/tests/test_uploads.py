"""Uploads nobody imported are deleted; the files of imports that ran are kept."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from imports.models import ImportJob
from imports.pipeline import ImportOptions
from imports.services import create_import_job
from imports.tasks import clean_up_imports_task
from imports.uploads import UploadSweep, sweep_uploads
from imports.wizard import open_import

CSV = b"email,first_name\nann@acme.io,Ann\n"
DAY = timedelta(hours=24)


@pytest.fixture
def imports(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return tmp_path / "data" / "imports"


def written_at(path: Path, when: datetime) -> Path:
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def upload(org: Any, when: datetime) -> ImportJob:
    """A draft made by the wizard at `when`, its file last written then."""
    job = open_import(
        [CSV], file_name="list.csv", options=ImportOptions(), now=when, by=org.marketer
    )
    written_at(Path(job.file_path), when)
    return job


def stray(folder: Path, name: str, when: datetime) -> Path:
    path = folder / name
    path.write_bytes(CSV)
    return written_at(path, when)


def test_the_sweep_expires_abandoned_drafts_and_deletes_only_files_nobody_needs(
    org: Any, imports: Path, tmp_path: Path, now: datetime
) -> None:
    # given drafts a day old and an hour old, and jobs that were started long ago
    abandoned = upload(org, now - DAY - timedelta(minutes=1))
    fresh = upload(org, now - timedelta(hours=1))
    started = {}
    for status in ("queued", "running", "done", "failed"):
        job = upload(org, now - timedelta(days=30))
        ImportJob.objects.filter(pk=job.pk).update(
            status=status, started_at=now - timedelta(days=30)
        )
        started[status] = job
    # an upload expired by a sweep that stopped before deleting it
    left_behind = upload(org, now - DAY * 2)
    ImportJob.objects.filter(pk=left_behind.pk).update(status="expired")
    # files no job refers to, and a `leadloop import` of a person's own file never run
    orphan = stray(imports, "upload-0123.csv", now - DAY * 3)
    half_written = stray(imports, "upload-4567.xlsx.part", now - DAY * 3)
    being_written = stray(imports, "upload-89ab.csv.part", now - timedelta(minutes=1))
    rejects = stray(imports, "import-7-rejects.csv", now - DAY * 3)
    own_file = stray(tmp_path, "crm.csv", now - DAY * 3)
    cli_job = create_import_job(own_file, ImportOptions(), now=now - DAY * 3)

    # when the sweep runs with a time to live of a day
    sweep = sweep_uploads(now=now, max_age=DAY)

    # then the abandoned drafts are expired and their uploads and the strays deleted
    assert sweep == UploadSweep(expired_jobs=2, deleted_files=4)
    statuses = dict(ImportJob.objects.values_list("pk", "status"))
    assert statuses == {
        abandoned.pk: "expired",
        fresh.pk: "queued",
        **{job.pk: status for status, job in started.items()},
        left_behind.pk: "expired",
        cli_job.pk: "expired",
    }
    assert sorted(path.name for path in imports.iterdir()) == sorted(
        [Path(fresh.file_path).name, being_written.name, rejects.name]
        + [Path(job.file_path).name for job in started.values()]
    )
    assert not Path(abandoned.file_path).exists()
    assert not orphan.exists() and not half_written.exists()
    assert own_file.read_bytes() == CSV
    # and a second sweep finds nothing more to do
    assert sweep_uploads(now=now, max_age=DAY) == UploadSweep(expired_jobs=0, deleted_files=0)


def test_cleanup_uploads_runs_the_sweep_now(org: Any, imports: Path) -> None:
    real_now = timezone.now()
    old = upload(org, real_now - timedelta(hours=3))
    out = StringIO()

    call_command("cleanup_uploads", "--hours", "2", stdout=out)

    assert json.loads(out.getvalue()) == {"expired_jobs": 1, "deleted_files": 1}
    old.refresh_from_db()
    assert old.status == "expired"
    with pytest.raises(CommandError, match="--hours must be 1 or more"):
        call_command("cleanup_uploads", "--hours", "0", stdout=out)


def test_the_beat_task_sweeps_old_uploads(
    org: Any, imports: Path, settings: Any, clock: datetime
) -> None:
    now = clock
    settings.LEADLOOP_IMPORT_UPLOAD_TTL_HOURS = 24
    old = upload(org, now - DAY - timedelta(minutes=1))

    clean_up_imports_task()

    old.refresh_from_db()
    assert (old.status, Path(old.file_path).exists()) == ("expired", False)
