"""`leadloop people list|create|set|deactivate|reactivate|password-link`: people from the
command line, through `users.services` (what the user named by --as may do, as on the
/people/ screen and the API)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.errors import FieldError
from users.choices import Role
from users.models import Team, User
from users.services import create_user, password_link, set_user_active, update_user


class Command(BaseCommand):
    help = (
        "List people, add one (with a set-password link), set one's role, team, lead intake"
        " or time zone, deactivate or reactivate one, or make a new set-password link."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("list", help="everyone, one a line")
        create = sub.add_parser("create", help="add a person; prints their set-password link")
        create.add_argument("username")
        create.add_argument("--as", dest="acting", required=True, help="who adds them")
        create.add_argument("--first-name", default="")
        create.add_argument("--last-name", default="")
        create.add_argument("--email", default="")
        create.add_argument("--role", default=Role.SALES_REP.value, help=", ".join(Role.values))
        create.add_argument("--team", help="a team's name (a manager's rep: their own team)")
        create.add_argument("--timezone", help="default: the team's calendar time zone")
        create.add_argument("--away", action="store_true", help="not accepting leads yet")
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
        change.add_argument("--first-name")
        change.add_argument("--last-name")
        change.add_argument("--email")
        for verb, text in (
            ("deactivate", "someone who left: no logins, no API, no new leads"),
            ("reactivate", "let a deactivated person back in"),
            ("password-link", "a new set-password link for a person"),
        ):
            one = sub.add_parser(verb, help=text)
            one.add_argument("username")
            one.add_argument("--as", dest="acting", required=True, help="who does it")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "list":
            self._list(User.objects.all())
            return
        by = self._user(options["acting"])
        try:
            if verb == "create":
                self._create(by, options)
                return
            person = self._user(options["username"])
            if verb == "set":
                self._set(person, by, options)
            elif verb == "password-link":
                self._link(person, password_link(person, by=by))
                return
            else:
                open_leads = set_user_active(person, by=by, is_active=verb == "reactivate")
                if open_leads and verb == "deactivate":
                    self.stdout.write(
                        f"{person.username} still owns {open_leads} open lead(s): reassign them."
                    )
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error
        self._list(User.objects.filter(pk=person.pk))

    def _user(self, username: str) -> User:
        found = User.objects.filter(username=username).first()
        if found is None:
            raise CommandError(f"no user named {username!r}")
        return found

    def _team(self, name: str) -> Team:
        team = Team.objects.filter(name=name).first()
        if team is None:
            raise CommandError(f"team: no team called {name!r}")
        return team

    def _list(self, people: Any) -> None:
        for person in people.select_related("team").order_by("username"):
            intake = "accepting leads" if person.is_accepting_leads else "away"
            team = person.team.name if person.team else "—"
            cap = f"cap {person.max_open_leads}" if person.max_open_leads else "no cap"
            active = "" if person.is_active else "\tinactive"
            self.stdout.write(
                f"{person.username}\t{person.role_label}\t{team}\t{intake}\t{person.timezone}"
                f"\t{cap}{active}"
            )

    def _link(self, person: User, path: str) -> None:
        self.stdout.write(
            f"Set-password link for {person.username} (works once, treat it as a password):\n"
            f"{settings.LEADLOOP_BASE_URL}{path}"
        )

    def _create(self, by: User, options: dict[str, Any]) -> None:
        created = create_user(
            by=by,
            username=options["username"],
            first_name=options["first_name"],
            last_name=options["last_name"],
            email=options["email"],
            role=options["role"],
            team=self._team(options["team"]) if options.get("team") else None,
            is_accepting_leads=not options["away"],
            timezone=options.get("timezone"),
        )
        self._list(User.objects.filter(pk=created.user.pk))
        self._link(created.user, created.set_password_path)

    def _set(self, person: User, by: User, options: dict[str, Any]) -> None:
        changes: dict[str, Any] = {
            field: options[field]
            for field in (
                "role",
                "is_accepting_leads",
                "timezone",
                "first_name",
                "last_name",
                "email",
            )
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
            changes["team"] = None if options["team"] == "none" else self._team(options["team"])
        update_user(person, by=by, **changes)
