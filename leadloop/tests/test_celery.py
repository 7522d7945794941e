"""The background worker for real: a task sent through the configured broker (the SQLite
broker by default, Redis in CI) is picked up by a worker and does its work."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from capture.services import capture_lead
from conftest import HOT, make_user
from leadloop.celery import app
from leads.models import Lead
from routing.tasks import sweep_sla_task
from users.choices import Role
from users.models import Notification, Team


# Importing the task modules fires Celery's Django fix-up, which runs Django's checks;
# after some other tests those reach the database, so this test may use it.
@pytest.mark.django_db
def test_beat_schedule_names_real_tasks() -> None:
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_sla_sweep_through_the_broker() -> None:
    team = Team.objects.create(name="T")
    make_user("r", Role.SALES_REP, team)
    make_user("m", Role.SALES_MANAGER, team)
    ten_days_ago = timezone.now() - timedelta(days=10)
    lead = capture_lead({"email": "late@acme.io", **HOT}, source="api", now=ten_days_ago).lead

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sweep_sla_task.delay()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if Lead.objects.filter(pk=lead.pk, sla_breached_at__isnull=False).exists():
                break
            time.sleep(0.2)

    assert Lead.objects.get(pk=lead.pk).sla_breached_at is not None
    # Once each: the owner and the manager.
    breaches = Notification.objects.filter(kind="sla_breach", lead=lead)
    assert sorted(breaches.values_list("recipient__username", flat=True)) == ["m", "r"]
