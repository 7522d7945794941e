"""`leadloop mailserver [--host H] [--port P]`: the local SMTP server of `make run` (when
EMAIL_URL is not set); what it receives is kept for the /mailbox/ page."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from nurture.mailserver import controller


class Command(BaseCommand):
    help = "Run the local SMTP server whose mail the /mailbox/ page shows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)

    def handle(self, *args: Any, **options: Any) -> None:
        server = controller(host=options["host"], port=options["port"])
        server.start()
        self.stdout.write(f"mail server listening on {options['host']}:{options['port']}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
