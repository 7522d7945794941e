"""The import pipeline's own record: one job per file imported."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .choices import ImportStatus


class ImportJob(models.Model):
    """One bulk import of a CSV or XLSX file of leads, with its options, progress and outcome.

    The file is processed in chunks, each committed with `records_done` (the resume
    cursor) and the counts advanced in the same transaction: a job that crashed goes on
    from where it stopped, and because rows are written keyed (email or external id) even
    a full re-run creates no duplicates. `rows_done` / `rows_total` is the progress to show.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=1000, help_text="Where the uploaded file is stored")
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text="mapping, key, campaign_id, status, encoding, delimiter … (ImportOptions)",
    )
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    records_done = models.PositiveIntegerField(
        default=0, help_text="Resume cursor: de-duplicated records already committed"
    )
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Rows kept with a value that could not be read left empty (listed in the rejects file).
    warned = models.PositiveIntegerField(default=0)
    # Per choice column, the values that are none of its choices, kept as written in a
    # custom field beside the mapped choice (pipeline.KeptValues.as_json, one per column).
    kept_as_written = models.JSONField(default=list, blank=True)
    # Rows refused while writing (a key already taken by another lead), kept with the
    # chunk that found them so a resumed job still lists them in its rejects file.
    write_rejects = models.JSONField(default=list, blank=True)
    rejects_path = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "import job"
        verbose_name_plural = "import jobs"
        db_table = "capture_importjob"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import of {self.file_name} ({self.status})"

    @property
    def progress(self) -> float:
        """Share of the file's rows done, 0.0 to 1.0."""
        return self.rows_done / self.rows_total if self.rows_total else 0.0
