"""Celery tasks of scoring: thin adapters over qualify.services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(ignore_result=True)
def decay_scores_task() -> int:
    """The decay sweep (beat): rescore the leads whose engagement faded."""
    return services.run_due(now=timezone.now())


@shared_task(ignore_result=True)
def rescore_all_task(version_id: int) -> None:
    """Rescore every lead after a model version was applied. Safe twice: rescoring a lead
    whose score is right writes nothing."""
    version = services.ScoringModelVersion.objects.filter(pk=version_id).first()
    if version is None or version.rescore_finished_at is not None:
        return
    services.rescore_all(version, now=timezone.now())
