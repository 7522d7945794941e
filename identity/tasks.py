from celery import shared_task
from django.utils import timezone

from .dedup import scan_duplicates


@shared_task(ignore_result=True)
def scan_duplicates_task() -> int:
    """The duplicate sweep: leads written in bulk (imports) are keyed and checked here."""
    return scan_duplicates(now=timezone.now())
