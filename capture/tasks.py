from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .ratelimit import prune_rate_counters
from .webhook_sources import prune_webhook_deliveries


@shared_task(ignore_result=True)
def clean_up_capture_task() -> None:
    """Beat's housekeeping of intake: drop the rate counts of past minutes and the webhook
    deliveries past each source's newest LEADLOOP_WEBHOOK_DELIVERIES_KEPT. Safe twice,
    and beside other workers: each step only removes what nothing needs any more."""
    prune_rate_counters(now=timezone.now())
    prune_webhook_deliveries(keep=settings.LEADLOOP_WEBHOOK_DELIVERIES_KEPT)
