from celery import shared_task
from django.utils import timezone

from . import availability, escalation, services


@shared_task(ignore_result=True)
def sweep_sla_task() -> int:
    return services.run_due(now=timezone.now())


@shared_task(ignore_result=True)
def sweep_availability_task() -> int:
    return availability.run_due(now=timezone.now())


@shared_task(ignore_result=True)
def sweep_sla_ladder_task() -> int:
    return escalation.run_due(now=timezone.now())
