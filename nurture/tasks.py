from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import lists, programs, services, streams


@shared_task
def send_due_email_task() -> int:
    """The outbox sweep on beat's schedule."""
    return services.run_due(now=timezone.now())


@shared_task(ignore_result=True)
def refresh_lists_task() -> int:
    """The lists sweep on beat's schedule."""
    return lists.run_due(now=timezone.now())


@shared_task(ignore_result=True)
def send_stream_pieces_task() -> int:
    """The content streams sweep on beat's schedule."""
    return streams.run_due(now=timezone.now())


@shared_task(ignore_result=True)
def run_programs_task() -> int:
    """The programs' sweeps on beat's schedule: enrolment by rules, then the due runs."""
    now = timezone.now()
    return programs.enrol_due(now=now) + programs.run_due(now=now)
