import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leadloop import sweeps


class Command(BaseCommand):
    help = (
        "Run every time-driven sweep once (SLA and escalations, cadences, score decay,"
        " nurture): what beat runs on its schedule. --now other than the present needs"
        " LEADLOOP_ALLOW_TIME_TRAVEL=1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            help="the moment to run at, ISO 8601 (e.g. 2026-12-08T09:00:00+01:00)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["now"]:
            try:
                given = datetime.fromisoformat(options["now"])
            except ValueError as error:
                raise CommandError(f"--now: {options['now']!r} is not an ISO 8601 time") from error
            try:
                now = sweeps.check_now(given, present=now)
            except sweeps.TimeTravelRefused as error:
                raise CommandError(str(error)) from error
        done = sweeps.run_due(now=now)
        for path, count in done.items():
            self.stdout.write(f"{path}: {count}")
        self.stdout.write(json.dumps({"now": now.isoformat(), "sweeps": done}))
