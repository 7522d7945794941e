"""The duplicate sweep as a Celery task.

A module of its own rather than capture/tasks.py (the import jobs' tasks) only to keep two
pieces of work apart while they were written; settings.CELERY_IMPORTS loads it.
"""

from celery import shared_task
from django.utils import timezone

from .dedup import scan_duplicates


@shared_task(ignore_result=True)
def scan_duplicates_task() -> int:
    return scan_duplicates(now=timezone.now())
