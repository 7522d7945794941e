"""The local SMTP server `make run` starts when EMAIL_URL is not set (aiosmtpd): every
message it receives is kept in the mailbox (`services.store_received`), read on
/mailbox/. It relays nothing: mail sent to it goes nowhere else."""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone

from . import services

log = logging.getLogger(__name__)


def _store(raw: bytes, mail_from: str, recipients: list[str]) -> None:
    close_old_connections()
    services.store_received(raw, mail_from=mail_from, recipients=recipients, now=timezone.now())


class MailboxHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        try:
            await sync_to_async(_store, thread_sensitive=True)(
                raw, str(envelope.mail_from or ""), list(envelope.rcpt_tos)
            )
        except Exception:
            # A temporary refusal: the outbox retries it later. (aiosmtpd would answer an
            # unhandled error with a 5xx, which suppresses the address.)
            log.exception("the mailbox could not keep a message")
            return "451 4.3.0 The mailbox could not keep the message, try again later"
        return "250 Message accepted for delivery"


def controller(*, host: str, port: int) -> Controller:
    return Controller(MailboxHandler(), hostname=host, port=port)
