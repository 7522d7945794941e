"""`leadloop cleanup_uploads [--hours N]`: what beat's clean-up sweep does to import
uploads, now: expire wizard drafts nobody started within the time to live and delete the
upload files no job needs. Prints one line of JSON: {"expired_jobs": …, "deleted_files": …}
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from imports.uploads import sweep_uploads


class Command(BaseCommand):
    help = "Delete import uploads nobody started (and stray upload files) older than N hours."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours",
            type=int,
            default=settings.LEADLOOP_IMPORT_UPLOAD_TTL_HOURS,
            help="age of the uploads to delete (default: LEADLOOP_IMPORT_UPLOAD_TTL_HOURS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hours = options["hours"]
        if hours < 1:
            raise CommandError("--hours must be 1 or more: a younger draft may be in use")
        sweep = sweep_uploads(now=timezone.now(), max_age=timedelta(hours=hours))
        self.stdout.write(json.dumps(sweep.as_json()))
