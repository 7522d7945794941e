"""`leadloop sla_policies list|add|set|remove TEAM …`: a team's SLA policies from the
command line, through `routing.sla` (the team's managers and admins, named by --as)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.errors import FieldError
from routing.models import SlaPolicy
from routing.sla import create_sla_policy, delete_sla_policy, fallback_policy, update_sla_policy
from users.models import Team, User

OPTIONAL_HOURS = {"": None, "none": None}


def _hours(value: str) -> int | None:
    if value.strip().lower() in OPTIONAL_HOURS:
        return None
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a whole number of hours (or 'none')") from None


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = "List a team's SLA policies (in the order they are tried), or add, change, remove one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        listing = sub.add_parser("list", help="the team's policies, one a line")
        listing.add_argument("team")
        for verb in ("add", "set"):
            command = sub.add_parser(verb, help=f"{verb} a policy")
            command.add_argument("team")
            command.add_argument("name")
            command.add_argument("--as", dest="acting", required=True, help="who makes the change")
            command.add_argument("--rename", help="a new name" if verb == "set" else "(set only)")
            command.add_argument("--position", type=int, help="tried in this order, 0 first")
            command.add_argument("--grades", help="comma-separated, e.g. A,B")
            command.add_argument("--segments", help="comma-separated, e.g. sales_ready")
            command.add_argument(
                "--marquee", action="store_true", default=None, help="covers marquee accounts"
            )
            command.add_argument(
                "--no-marquee", dest="marquee", action="store_false", help="does not cover them"
            )
            command.add_argument("--hours", type=int, help="business hours to the first touch")
            command.add_argument("--remind-before-minutes", type=int, help="0: no reminder")
            command.add_argument(
                "--reassign-after-hours", type=_hours, default=..., help="'none': never"
            )
            command.add_argument(
                "--recycle-after-hours", type=_hours, default=..., help="'none': never"
            )
        remove = sub.add_parser("remove", help="remove a policy")
        remove.add_argument("team")
        remove.add_argument("name")
        remove.add_argument("--as", dest="acting", required=True, help="who makes the change")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(name=options["team"]).first()
        if team is None:
            raise CommandError(f"no team called {options['team']!r}")
        if options["verb"] == "list":
            self._list(team)
            return
        user = User.objects.filter(username=options["acting"]).first()
        if user is None:
            raise CommandError(f"no user named {options['acting']!r}")
        try:
            if options["verb"] == "add":
                create_sla_policy(team, by=user, name=options["name"], **self._values(options))
            else:
                policy = SlaPolicy.objects.filter(team=team, name=options["name"]).first()
                if policy is None:
                    raise CommandError(f"team {team.name} has no SLA policy {options['name']!r}")
                if options["verb"] == "remove":
                    delete_sla_policy(policy, by=user)
                else:
                    changes = self._values(options)
                    if options.get("rename"):
                        changes["name"] = options["rename"]
                    update_sla_policy(policy, by=user, **changes)
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error
        self._list(team)

    def _values(self, options: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field in ("position", "marquee", "hours", "remind_before_minutes"):
            if options.get(field) is not None:
                values[field] = options[field]
        for field in ("grades", "segments"):
            if options.get(field) is not None:
                values[field] = _list(options[field])
        for field in ("reassign_after_hours", "recycle_after_hours"):
            if options.get(field) is not ...:
                values[field] = options[field]
        return values

    def _list(self, team: Team) -> None:
        self.stdout.write("position\tname\tcovers\thours\treminder\treassign\thand back")
        for policy in team.sla_policies.order_by("position", "pk"):
            covers = [*policy.grades, *policy.segments, *(["marquee"] if policy.marquee else [])]
            self.stdout.write(
                f"{policy.position}\t{policy.name}\t{','.join(covers) or 'every lead'}\t"
                f"{policy.hours} h\t{policy.remind_before_minutes} min before\t"
                f"{_after(policy.reassign_after_hours)}\t{_after(policy.recycle_after_hours)}"
            )
        fallback = fallback_policy(team)
        self.stdout.write(f"-\t{fallback.name}\tthe rest\t{fallback.hours} h\t-\t-\t-")


def _after(hours: int | None) -> str:
    return "never" if hours is None else f"{hours} h after"
