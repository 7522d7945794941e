from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .choices import ImportStatus
from .models import ImportJob
from .services import run_import
from .uploads import sweep_uploads


@shared_task(ignore_result=True)
def run_import_task(job_id: int) -> None:
    """Run or resume an import job. Safe twice: a finished job is left alone, a crashed
    one goes on from its last committed chunk, and two workers never commit one chunk."""
    job = ImportJob.objects.filter(pk=job_id).first()
    # An expired draft's upload is deleted: there is nothing left to run.
    if job is None or job.status in (ImportStatus.DONE, ImportStatus.EXPIRED):
        return
    run_import(job, now=timezone.now())


@shared_task(ignore_result=True)
def clean_up_imports_task() -> None:
    """Beat's housekeeping of imports: expire drafts nobody started within
    LEADLOOP_IMPORT_UPLOAD_TTL_HOURS and delete the uploads no job needs. Safe twice, and
    beside other workers: it only removes what nothing needs any more."""
    now = timezone.now()
    sweep_uploads(now=now, max_age=timedelta(hours=settings.LEADLOOP_IMPORT_UPLOAD_TTL_HOURS))
