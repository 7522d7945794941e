from celery import shared_task
from django.utils import timezone

from .choices import ImportStatus
from .importing import run_import
from .models import ImportJob


@shared_task(ignore_result=True)
def run_import_task(job_id: int) -> None:
    """Run or resume an import job. Safe twice: a finished job is left alone, a crashed
    one goes on from its last committed chunk, and two workers never commit one chunk."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status == ImportStatus.DONE:
        return
    run_import(job, now=timezone.now())
