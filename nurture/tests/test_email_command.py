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
