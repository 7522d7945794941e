"""`leadloop people list|set`: people's role, team, lead intake and time zone from the
command line, through `users.services.update_user` (what the user named by --as may
change, as on the /people/ screen and the API)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.errors import FieldError
from users.choices import Role
from users.models import Team, User
from users.services import update_user


class Command(BaseCommand):
    help = "List people, or set one's role, team, lead intake or time zone."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("list", help="everyone, one a line")
        change = sub.add_parser("set", help="change a person's settings")
        change.add_argument("username")
        change.add_argument("--as", dest="acting", required=True, help="who makes the change")
        change.add_argument("--role", choices=Role.values)
        change.add_argument("--team", help="a team's name, or none")
        intake = change.add_mutually_exclusive_group()
        intake.add_argument("--accepting", dest="is_accepting_leads", action="store_true")
        intake.add_argument("--away", dest="is_accepting_leads", action="store_false")
        change.set_defaults(is_accepting_leads=None)
        change.add_argument("--timezone")
        change.add_argument("--cap", help="most open leads round robin gives them, or none")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "set":
            self._set(options)
        for person in User.objects.select_related("team").order_by("username"):
            if options["verb"] == "set" and person.username != options["username"]:
                continue
            intake = "accepting leads" if person.is_accepting_leads else "away"
            team = person.team.name if person.team else "—"
            cap = f"cap {person.max_open_leads}" if person.max_open_leads else "no cap"
            self.stdout.write(
                f"{person.username}\t{person.get_role_display()}\t{team}\t{intake}"
                f"\t{person.timezone}\t{cap}"
            )

    def _set(self, options: dict[str, Any]) -> None:
        by = User.objects.filter(username=options["acting"]).first()
        person = User.objects.filter(username=options["username"]).first()
        if by is None or person is None:
            missing = options["acting"] if by is None else options["username"]
            raise CommandError(f"no user named {missing!r}")
        changes: dict[str, Any] = {
            field: options[field]
            for field in ("role", "is_accepting_leads", "timezone")
            if options.get(field) is not None
        }
        if options.get("cap") is not None:
            if options["cap"] == "none":
                changes["max_open_leads"] = None
            elif options["cap"].isdigit():
                changes["max_open_leads"] = int(options["cap"])
            else:
                raise CommandError(f"--cap: {options['cap']!r} is not a whole number or none")
        if options.get("team") is not None:
            if options["team"] == "none":
                changes["team"] = None
            else:
                team = Team.objects.filter(name=options["team"]).first()
                if team is None:
                    raise CommandError(f"no team called {options['team']!r}")
                changes["team"] = team
        try:
            update_user(person, by=by, **changes)
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error
