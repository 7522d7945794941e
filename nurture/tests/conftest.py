from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from leadloop.settings import mailer_from_url
from leads.models import Lead
from nurture import consent
from nurture.choices import ConsentSource
from qualify.models import Event


class Sink:
    """A real SMTP server's inbox that refuses some recipients: `bounce…@` with 550 (a
    permanent refusal), `later…@` with 451 (try again later)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        if address.startswith("later"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sink(settings: Any) -> Iterator[Sink]:
    port = free_port()
    inbox = Sink()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {"default": mailer_from_url(f"smtp://127.0.0.1:{port}")}
    try:
        yield inbox
    finally:
        controller.stop()


def consenting(lead: Lead, now: datetime, purpose: str = "newsletter") -> Lead:
    """`lead`, having granted `purpose` (marketing email needs it)."""
    consent.record(lead, purpose, granted=True, source=ConsentSource.API, now=now)
    return lead


@pytest.fixture
def add_lead(org: Any, now: datetime) -> Callable[..., Lead]:
    def make(email: str, **fields: Any) -> Lead:
        fields.setdefault("stage_changed_at", now)
        fields.setdefault("arrived_at", now)
        return Lead.objects.create(email=email, **fields)

    return make


@pytest.fixture
def add_event(now: datetime) -> Callable[..., Event]:
    def make(lead: Lead, kind: str, days_ago: float = 0, **properties: Any) -> Event:
        at = now - timedelta(days=days_ago)
        return Event.objects.create(
            lead=lead, kind=kind, occurred_at=at, received_at=at, properties=properties
        )

    return make
