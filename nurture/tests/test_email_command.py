"""`leadloop email`: the same services from the command line."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead
from nurture import services


def run(*args: str) -> str:
    out = StringIO()
    call_command("email", *args, stdout=out)
    return out.getvalue()


def test_templates_preview_test_send_outbox_and_send_due(
    org: Any, clock: datetime, smtp_server: Any
) -> None:
    template = services.create_template(
        by=org.marketer, now=clock, name="Welcome", subject="Hi {{ first_name }}",
        text_body="Hello {{ first_name|default:'there' }}",
    )  # fmt: skip
    ann = Lead.objects.create(
        email="ann@example.io", first_name="Ann", arrived_at=clock, stage_changed_at=clock
    )

    assert "Welcome" in run("templates", "--as", "marketer")
    assert "Subject: Hi Ann\n\nHello Ann" in run(
        "preview", str(template.pk), "--lead", str(ann.pk), "--as", "marketer"
    )
    assert "\tsent\t" in run(
        "test-send", str(template.pk), "--to", "me@example.io", "--as", "marketer"
    )
    assert "me@example.io" in run("outbox", "--status", "sent", "--as", "marketer")
    assert run("send-due") == "sent\t0\n"
    with pytest.raises(CommandError, match=r"marketing"):
        run("templates", "--as", "rep1")
    with pytest.raises(CommandError, match="--lead"):
        run("preview", str(template.pk), "--lead", "999", "--as", "marketer")
    with pytest.raises(CommandError, match="LEADLOOP_ALLOW_TIME_TRAVEL"):
        run("send-due", "--now", "2001-01-01T00:00:00+00:00")


def test_events_records_bounces_from_a_file_and_refuses_a_bad_one(
    org: Any, clock: datetime, tmp_path: Any
) -> None:
    from nurture.models import Suppression

    reports = tmp_path / "reports.json"
    reports.write_text(
        '[{"type": "bounce", "email": "ann@example.io", "permanent": true, "id": "e1"},'
        ' {"type": "bounce", "email": "ann@example.io", "permanent": true, "id": "e1"}]'
    )

    out = run("events", str(reports), "--as", "marketer")

    assert out.splitlines()[1:] == ["0\trecorded\tyes\t", "1\tduplicate\tno\t"]
    assert Suppression.objects.filter(address="ann@example.io").exists()
    reports.write_text('[{"type": "opened", "email": "a@b.io"}]')
    with pytest.raises(CommandError, match=r"0\.type"):
        run("events", str(reports), "--as", "marketer")
    with pytest.raises(CommandError, match="email"):
        run("events", str(reports), "--as", "rep1")
