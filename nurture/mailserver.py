"""The local SMTP server `make run` starts when EMAIL_URL is not set (aiosmtpd): every
message it receives is kept in the mailbox (`services.store_received`), read on
/mailbox/. It relays nothing: mail sent to it goes nowhere else."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone

from . import services


def _store(raw: bytes, mail_from: str, recipients: list[str]) -> None:
    close_old_connections()
    services.store_received(raw, mail_from=mail_from, recipients=recipients, now=timezone.now())


class MailboxHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        await sync_to_async(_store, thread_sensitive=True)(
            raw, str(envelope.mail_from or ""), list(envelope.rcpt_tos)
        )
        return "250 Message accepted for delivery"


def controller(*, host: str, port: int) -> Controller:
    return Controller(MailboxHandler(), hostname=host, port=port)
