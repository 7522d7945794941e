from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from leadloop import sweeps


def test_run_due_runs_every_sweep_named_in_settings(settings, db):
    settings.LEADLOOP_SWEEPS = ["routing.services.run_due"]
    out = StringIO()
    call_command("run_due", stdout=out)
    assert "routing.services.run_due: 0" in out.getvalue()
    assert '"sweeps": {"routing.services.run_due": 0}' in out.getvalue()


def test_now_other_than_the_present_is_refused_without_time_travel(monkeypatch, db):
    monkeypatch.delenv("LEADLOOP_ALLOW_TIME_TRAVEL", raising=False)
    later = (timezone.now() + timedelta(days=7)).isoformat()
    with pytest.raises(CommandError, match="LEADLOOP_ALLOW_TIME_TRAVEL=1"):
        call_command("run_due", now=later, stdout=StringIO())


def test_now_in_the_future_runs_with_time_travel(monkeypatch, db):
    monkeypatch.setenv("LEADLOOP_ALLOW_TIME_TRAVEL", "1")
    later = timezone.now() + timedelta(days=7)
    out = StringIO()
    call_command("run_due", now=later.isoformat(), stdout=out)
    assert later.isoformat() in out.getvalue()


def test_a_time_that_is_not_iso_is_named(db):
    with pytest.raises(CommandError, match="not an ISO 8601 time"):
        call_command("run_due", now="next tuesday", stdout=StringIO())


def test_the_present_needs_no_permission(monkeypatch):
    monkeypatch.delenv("LEADLOOP_ALLOW_TIME_TRAVEL", raising=False)
    now = timezone.now()
    assert sweeps.check_now(now + timedelta(seconds=5), present=now) == now + timedelta(seconds=5)
