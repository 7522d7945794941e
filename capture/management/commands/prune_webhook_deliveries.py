"""`leadloop prune_webhook_deliveries [--keep N]`: what beat's clean-up sweep does to the
webhook delivery log, now: delete all but each source's newest N deliveries. Prints one
line of JSON: {"deleted_deliveries": …}
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from capture.webhook_sources import prune_webhook_deliveries


class Command(BaseCommand):
    help = "Delete all but the newest N logged deliveries of every webhook source."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keep",
            type=int,
            default=settings.LEADLOOP_WEBHOOK_DELIVERIES_KEPT,
            help="deliveries to keep per source (default: LEADLOOP_WEBHOOK_DELIVERIES_KEPT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keep = options["keep"]
        if keep < 1:
            raise CommandError("--keep must be 1 or more")
        deleted = prune_webhook_deliveries(keep=keep)
        self.stdout.write(json.dumps({"deleted_deliveries": deleted}))
