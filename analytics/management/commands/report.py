"""`leadloop report follow-up`: the follow-up figures as a table or CSV, through
`analytics.services.followup_report`, counted as the user named by --as may see them
(`--exact`: read from every turn instead of routing's roll-up).
`leadloop report rebuild-rollup`: refill that roll-up from the assignments
(`routing.rollup.rebuild`), with a progress bar."""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import Progress

from analytics.followup import AGE_BUCKETS, ATTEMPT_BUCKETS, Figures
from analytics.services import FOLLOWUP_BY, followup_report
from routing.rollup import rebuild
from users.models import User


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


COLUMNS = [
    "name",
    "given",
    "touched",
    "follow_up_rate",
    "in_sla",
    "missed_sla",
    "sla_compliance",
    "never_touched",
    "median_business_hours",
    "p90_business_hours",
    "median_clock_hours",
    "p90_clock_hours",
    "dropped",
    *(f"dropped_after_{b}" for b in ATTEMPT_BUCKETS),
    *(f"leaked_{b}" for b in AGE_BUCKETS),
]


def _row(f: Figures) -> list[str]:
    return [
        f.name,
        str(f.assigned),
        str(f.touched),
        _rate(f.follow_up_rate),
        str(f.in_sla),
        str(f.missed_sla),
        _rate(f.sla_compliance),
        str(f.untouched),
        _hours(f.business_hours[0]),
        _hours(f.business_hours[1]),
        _hours(f.clock_hours[0]),
        _hours(f.clock_hours[1]),
        str(f.dropped),
        *(str(f.attempts.get(b, 0)) for b in ATTEMPT_BUCKETS),
        *(str(f.leaked.get(b, 0)) for b in AGE_BUCKETS),
    ]


class Command(BaseCommand):
    help = "Reports: `follow-up` (per rep, team or campaign: follow-up rate, speed to lead, SLA, attempts, leakage)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="report", required=True)
        followup = sub.add_parser("follow-up", help="who follows up, how fast, how often")
        followup.add_argument(
            "--as", dest="acting", required=True, help="whose view: a manager sees their team"
        )
        followup.add_argument("--by", choices=FOLLOWUP_BY, default="rep")
        followup.add_argument(
            "--since", type=_day, help="leads given to a rep from this day (YYYY-MM-DD)"
        )
        followup.add_argument("--until", type=_day, help="…to this day, inclusive")
        followup.add_argument("--rep", help="only the leads given to this rep (username)")
        followup.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
        followup.add_argument(
            "--exact",
            action="store_true",
            help="count every turn of the period rather than read routing's monthly roll-up"
            " (the same figures, slower; a check of the roll-up)",
        )
        sub.add_parser(
            "rebuild-rollup",
            help="refill the follow-up roll-up from the assignments (after a restore, say)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["report"] == "rebuild-rollup":
            self._rebuild()
            return
        user = User.objects.filter(username=options["acting"], is_active=True).first()
        if user is None:
            raise CommandError(f"--as: no active user called {options['acting']!r}")
        since, until = options["since"], options["until"]
        if since and until and until < since:
            raise CommandError("--until must not be before --since")
        rep_id = None
        if options["rep"]:
            rep_id = (
                User.objects.filter(username=options["rep"]).values_list("pk", flat=True).first()
            )
            if rep_id is None:
                raise CommandError(f"--rep: no user called {options['rep']!r}")
        tz = timezone.get_current_timezone()
        figures = followup_report(
            user,
            by=options["by"],
            since=datetime.combine(since, time.min, tz) if since else None,
            until=datetime.combine(until + timedelta(days=1), time.min, tz) if until else None,
            rep_id=rep_id,
            now=timezone.now(),
            exact=options["exact"],
        )
        rows = [_row(f) for f in figures]
        if options["csv"]:
            writer = csv.writer(self.stdout)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
            return
        if not rows:
            self.stdout.write("No lead was given to a rep in this period.")
            return
        attempts_at = 13
        leaked_at = attempts_at + len(ATTEMPT_BUCKETS)
        blocks = [
            ("Follow-up", COLUMNS[:13], [r[:13] for r in rows]),
            (
                "Attempts before dropping",
                ["name", *ATTEMPT_BUCKETS],
                [[r[0], *r[attempts_at:leaked_at]] for r in rows],
            ),
            (
                "Never touched, still waiting, by age",
                ["name", *AGE_BUCKETS],
                [[r[0], *r[leaked_at:]] for r in rows],
            ),
        ]
        for title, head, body in blocks:
            self.stdout.write(f"\n{title}")
            self._table([head, *body])

    def _rebuild(self) -> None:
        with Progress(console=Console(stderr=True)) as bar:
            task = bar.add_task("Follow-up roll-up, month by month", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            rows = rebuild(progress=advance)
        self.stdout.write(f"Follow-up roll-up rebuilt: {rows} rows.")

    def _table(self, table: list[list[str]]) -> None:
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        for n, row in enumerate(table):
            cells = [
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            self.stdout.write("  ".join(cells).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
