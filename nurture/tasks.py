from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def send_due_email_task() -> int:
    """The outbox sweep on beat's schedule."""
    return services.run_due(now=timezone.now())
