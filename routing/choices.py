from django.db import models


class SlaState(models.TextChoices):
    """Where a lead's first-touch clock stands at one moment."""

    NONE = "none", "No SLA clock"
    RUNNING = "running", "Running"
    OVERDUE = "overdue", "Overdue"
    MET = "met", "Met"  # first contact made by the deadline (or with no deadline)
    MISSED = "missed", "Missed"  # first contact made after the deadline
