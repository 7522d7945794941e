"""Uploads the import wizard no longer needs: drafts nobody started, and stray files.

The wizard stores each upload as `DATA_DIR/imports/upload-<random>` (see
`imports.wizard.store_upload`) and makes a draft job for it, which stays a
draft until someone starts it. `sweep_uploads` expires drafts older than the time to
live (status expired: the UI says the file is gone) and deletes their uploads, then
deletes every other `upload-*` file older than the time to live that no job needs: an
upload whose job was never made, a half-written `.part`, the file of a job expired by a
sweep that stopped before deleting it.

The file of a job that was started (queued for a worker, running, done or failed) is
never touched: a failed job resumes from it, a finished one keeps it as provenance. Only
files inside the imports folder are ever deleted; a job made by `leadloop import` points
at its user's own file, which stays where it is whatever the job's state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction

from .choices import ImportStatus
from .models import ImportJob
from .services import imports_dir

log = logging.getLogger(__name__)

UPLOAD_PREFIX = "upload-"


@dataclass(frozen=True)
class UploadSweep:
    """What one sweep did: drafts it expired and upload files it deleted."""

    expired_jobs: int
    deleted_files: int

    def as_json(self) -> dict[str, int]:
        return {"expired_jobs": self.expired_jobs, "deleted_files": self.deleted_files}


def sweep_uploads(*, now: datetime, max_age: timedelta, batch_size: int = 500) -> UploadSweep:
    """Expire drafts created before `now - max_age` and delete the uploads nobody needs.

    Safe to run twice and beside the wizard: a draft is claimed under a row lock with
    the same condition `start_import_job` starts it under, so of an expiry and a start
    racing for one draft exactly one happens.
    """
    cutoff = now - max_age
    root = imports_dir().resolve()
    expired = 0
    deleted = 0
    while True:
        with transaction.atomic():
            claimed = list(
                ImportJob.objects.select_for_update(skip_locked=True)
                .filter(status=ImportStatus.QUEUED, started_at__isnull=True, created_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", "file_path")[:batch_size]
            )
            if claimed:
                ImportJob.objects.filter(pk__in=[pk for pk, _ in claimed]).update(
                    status=ImportStatus.EXPIRED
                )
        if not claimed:
            break
        expired += len(claimed)
        deleted += sum(_delete(Path(path), root) for _, path in claimed)
    deleted += _delete_orphans(root, cutoff, batch_size)
    return UploadSweep(expired_jobs=expired, deleted_files=deleted)


def _is_upload(path: Path, root: Path) -> bool:
    return path.parent == root and path.name.startswith(UPLOAD_PREFIX)


def _delete(path: Path, root: Path) -> bool:
    """Delete `path` if it is an upload in the imports folder; True when a file went."""
    path = path.resolve()
    if not _is_upload(path, root) or not path.is_file():
        return False
    try:
        path.unlink()
    except FileNotFoundError:  # another sweep was first
        return False
    except OSError:
        log.exception("could not delete the abandoned upload %s", path)
        return False
    return True


def _delete_orphans(root: Path, cutoff: datetime, batch_size: int) -> int:
    """Delete `upload-*` files last written before `cutoff` that no live job refers to."""
    old = []
    for path in root.glob(UPLOAD_PREFIX + "*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                old.append(str(path.resolve()))
        except FileNotFoundError:
            continue
    deleted = 0
    for start in range(0, len(old), batch_size):
        batch = old[start : start + batch_size]
        needed = set(
            ImportJob.objects.filter(file_path__in=batch)
            .exclude(status=ImportStatus.EXPIRED)
            .values_list("file_path", flat=True)
        )
        deleted += sum(_delete(Path(path), root) for path in batch if path not in needed)
    return deleted
