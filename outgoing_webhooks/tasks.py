from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(ignore_result=True)
def send_webhooks_task() -> int:
    """Beat's "outgoing-webhooks": the sweep at the present time."""
    return services.run_due(now=timezone.now())
