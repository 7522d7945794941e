from django.db import models


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    # A wizard draft nobody started within LEADLOOP_IMPORT_UPLOAD_TTL_HOURS: its upload
    # was deleted (imports.uploads), so it can never run.
    EXPIRED = "expired", "Expired"


class ImportKey(models.TextChoices):
    """The column an import recognises a lead by."""

    EMAIL = "email", "Email"
    EXTERNAL_ID = "external_id", "External id"
