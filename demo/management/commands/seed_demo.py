"""`leadloop seed_demo`: ninety days of demo leads, told through the real services."""

from __future__ import annotations

import io
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from demo.story import DEFAULT_LEADS, DEFAULT_PASSWORD, DemoError, DemoSummary, build_demo
from leads.choices import Stage


class Command(BaseCommand):
    help = (
        "Seed a demo story over the last 90 days: users and teams, campaigns (a webinar with "
        "250 registrants, 83 attending), leads worked, late or ignored by sales."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and say so) if the database already has leads",
        )
        parser.add_argument(
            "--leads",
            type=int,
            default=DEFAULT_LEADS,
            help="people who become leads (at least 300: the webinar alone has 250)",
        )
        parser.add_argument(
            "--seed", type=int, default=2026, help="random seed (same seed, same story)"
        )
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD, help="password of every demo login"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["leads"] < 1:
            raise CommandError("--leads must be a positive number")
        # Only the edge reads the clock; whole minutes keep the story's times tidy.
        now = timezone.now().replace(second=0, microsecond=0)
        summary_text = io.StringIO()
        console = Console(file=summary_text, width=100, color_system=None, highlight=False)
        status = Console(stderr=True)
        started = time.monotonic()
        with Progress(
            TextColumn("[bold]Simulating 90 days[/]"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%  {task.fields[day]}"),
            TimeElapsedColumn(),
            console=status,
            transient=True,
            disable=not status.is_terminal,
        ) as progress:
            task = progress.add_task("seed", total=1.0, day="")

            def report(done: float, label: str) -> None:
                progress.update(task, completed=done, day=label)

            try:
                summary = build_demo(
                    leads=options["leads"],
                    seed=options["seed"],
                    now=now,
                    password=options["password"],
                    if_empty=options["if_empty"],
                    progress=report,
                )
            except DemoError as exc:
                raise CommandError(str(exc)) from exc
        if not summary.created:
            self.stdout.write(summary.message + " (--if-empty)")
            return
        show_summary(console, summary, seconds=time.monotonic() - started)
        self.stdout.write(summary_text.getvalue(), ending="")


def show_summary(console: Console, summary: DemoSummary, *, seconds: float) -> None:
    labels = dict(Stage.choices)
    stages = Table(title=f"{summary.leads} leads by stage", title_justify="left")
    stages.add_column("Stage")
    stages.add_column("Leads", justify="right")
    for stage, count in summary.stages.items():
        stages.add_row(labels[stage], str(count))
    segments = ", ".join(f"{name.replace('_', '-')} {n}" for name, n in summary.segments.items())
    registered, attended, no_show = summary.webinar
    opportunities = ", ".join(f"{status} {n}" for status, n in summary.opportunities.items())

    facts = Table(title="The story", title_justify="left", show_header=False)
    facts.add_column()
    facts.add_column()
    facts.add_row("Segments now", segments)
    share = summary.reached_mql / summary.leads if summary.leads else 0.0
    facts.add_row("Ever sales-ready", f"{summary.reached_mql} ({share:.0%}) reached MQL")
    facts.add_row("Webinar", f"{registered} registered, {attended} attended, {no_show} no-show")
    facts.add_row("Touches logged", str(summary.touches))
    facts.add_row("Opportunities", f"{opportunities}; won revenue {summary.won_revenue:,.0f}")
    facts.add_row("SLA breaches marked", str(summary.breached))
    facts.add_row("Notifications", str(summary.notifications))
    facts.add_row(
        "Overdue now",
        f"{sum(summary.overdue_by_rep.values())}: "
        + ", ".join(f"{rep} {n}" for rep, n in summary.overdue_by_rep.items()),
    )

    campaigns = Table(title="Campaigns", title_justify="left")
    campaigns.add_column("Campaign")
    campaigns.add_column("Leads", justify="right")
    campaigns.add_column("Cost", justify="right")
    for name, members, cost in summary.campaigns:
        campaigns.add_row(name, str(members), f"{cost:,.0f}")

    logins = Table(title="Logins", title_justify="left")
    logins.add_column("Username")
    logins.add_column("Role")
    logins.add_column("Team")
    logins.add_column("Password")
    for username, role, team, created in summary.logins:
        logins.add_row(username, role, team, summary.password if created else "(unchanged)")

    console.print(stages)
    console.print(facts)
    console.print(campaigns)
    console.print(logins)
    console.print(f"{summary.message} Took {seconds:.1f} s.")
