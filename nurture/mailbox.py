"""An email backend that delivers into the app's mailbox (`MailboxMessage`), as the local
SMTP server `leadloop mailserver` would, without a server: the demo's seeding sends its
programs' and streams' email through the outbox with it, so a newcomer reads on the
mailbox page exactly what the outbox sent. Set it with
`MAILERS={"default": {"BACKEND": "nurture.mailbox.MailboxBackend"}}`."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from .services import store_received


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for email in email_messages:
            store_received(
                email.message().as_bytes(),
                mail_from=str(email.from_email or ""),
                recipients=list(email.recipients()),
                now=timezone.now(),
            )
        return len(email_messages)
