"""`leadloop teams list|show|create|set`: teams and their calendars from the command line,
through `users.services.create_team` / `update_team` (the permission table decides, for
the user named by --as)."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.countries import country_name
from leads.errors import FieldError
from users.models import Team, User
from users.services import create_team, update_team

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a time of day (HH:MM)") from None


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = "Show teams' calendars, countries and SLA hours, or change them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("list", help="every team, one a line")
        show = sub.add_parser("show", help="one team's settings and members")
        show.add_argument("name")
        create = sub.add_parser("create", help="add a team (admins)")
        change = sub.add_parser("set", help="change a team's settings")
        for verb in (create, change):
            verb.add_argument("name")
            verb.add_argument("--as", dest="acting", required=True, help="who does it")
            verb.add_argument("--timezone")
            verb.add_argument("--workday-start", type=_time)
            verb.add_argument("--workday-end", type=_time)
            verb.add_argument("--workdays", help="comma-separated, 0 = Monday … 6 = Sunday")
            verb.add_argument("--holidays", help="comma-separated YYYY-MM-DD dates")
            verb.add_argument(
                "--countries", help='comma-separated codes or names ("DE, Austria, UK")'
            )
            verb.add_argument("--sla-hours", type=int, help="when no SLA policy covers a lead")
            verb.add_argument("--holiday-country", help="public holidays of this country (DE); ''")
            verb.add_argument("--holiday-region", help="and of this region of it (BY); ''")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "list":
            for team in Team.objects.order_by("name"):
                self.stdout.write(
                    f"{team.pk}\t{team.name}\t{team.timezone}\t"
                    f"{team.workday_start:%H:%M}-{team.workday_end:%H:%M}\t{team.sla_hours} h"
                )
            return
        if options["verb"] == "create":
            self._show(self._create(options))
            return
        found = Team.objects.filter(name=options["name"]).first()
        if found is None:
            raise CommandError(f"no team called {options['name']!r}")
        if options["verb"] == "set":
            self._set(found, options)
        self._show(found)

    def _acting(self, options: dict[str, Any]) -> User:
        user = User.objects.filter(username=options["acting"]).first()
        if user is None:
            raise CommandError(f"no user named {options['acting']!r}")
        return user

    def _create(self, options: dict[str, Any]) -> Team:
        user = self._acting(options)
        try:
            return create_team(by=user, name=options["name"], **self._changes(options))
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _set(self, team: Team, options: dict[str, Any]) -> None:
        user = self._acting(options)
        try:
            update_team(team, by=user, **self._changes(options))
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _changes(self, options: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {
            field: options[field]
            for field in (
                "timezone",
                "workday_start",
                "workday_end",
                "sla_hours",
                "holiday_country",
                "holiday_region",
            )
            if options.get(field) is not None
        }
        if options.get("workdays") is not None:
            try:
                changes["workdays"] = [int(day) for day in _list(options["workdays"])]
            except ValueError:
                raise CommandError("workdays: numbers, 0 = Monday … 6 = Sunday") from None
        for field in ("holidays", "countries"):
            if options.get(field) is not None:
                changes[field] = _list(options[field])
        return changes

    def _show(self, team: Team) -> None:
        days = ", ".join(DAYS[int(day)] for day in team.workdays)
        countries = ", ".join(f"{country_name(code)} ({code})" for code in team.countries)
        lines = [
            f"Team:          {team.name}",
            f"Time zone:     {team.timezone}",
            f"Working hours: {team.workday_start:%H:%M}–{team.workday_end:%H:%M} ({days})",
            f"Holidays:      {', '.join(team.holidays) or '—'}",
            "Public holidays: "
            + (
                f"{team.holiday_country}{'-' + team.holiday_region if team.holiday_region else ''}"
                if team.holiday_country
                else "—"
            ),
            f"Countries:     {countries or '—'}",
            f"SLA:           {team.sla_hours} business hours to the first touch"
            " (when no SLA policy covers a lead: `leadloop sla_policies list`)",
            "Members:",
        ]
        for member in team.members.order_by("username"):
            intake = "accepting leads" if member.is_accepting_leads else "away"
            lines.append(f"  {member.username}\t{member.role_label}\t{intake}\t{member.timezone}")
        self.stdout.write("\n".join(lines))
