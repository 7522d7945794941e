from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(ignore_result=True)
def send_notification_emails_task() -> int:
    return services.send_notification_emails(now=timezone.now())
