from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(ignore_result=True)
def sweep_cadences_task() -> int:
    return services.run_due(now=timezone.now())
