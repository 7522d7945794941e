from django.db import models


class DuplicateReason(models.TextChoices):
    """Why two leads look like one person (they never share an email: that is one lead)."""

    PHONE = "phone", "Same phone"
    NAME_COMPANY = "name_company", "Same name and company"
    PHONE_NAME_COMPANY = "phone_name_company", "Same phone, name and company"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged"
    DISMISSED = "dismissed", "Not a duplicate"


class MergeStatus(models.TextChoices):
    APPLIED = "applied", "Merged"
    UNDONE = "undone", "Undone"
