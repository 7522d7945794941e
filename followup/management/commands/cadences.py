"""`leadloop cadences list|create|update|rules|policy --as USERNAME`: how sales follows up,
from the command line, through the same services as the /cadences/ page and the API
(`followup.setup`; the permission table decides, for the user named by --as)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from followup.cadences import policy_of
from followup.choices import CadenceChannel
from followup.models import Cadence, CadenceRule
from followup.rules import StepSpec, format_steps, parse_steps
from followup.setup import RuleSpec, save_cadence, set_attempt_policy, set_cadence_rules
from leads.errors import FieldError
from users.models import Team, User

STEP_HELP = "a step, 'DAY CHANNEL: instructions' (e.g. '2 call: ask about the budget'); repeat"
RULE_HELP = (
    "a rule, 'CADENCE[;segment=S][;grade=G][;campaign=C]' (e.g. 'Enterprise;grade=A'), in"
    " order; repeat. No --rule: no rules (every lead gets the default cadence)"
)


def _acting(username: str | None) -> User:
    if not username:
        raise CommandError("say who makes the change: --as USERNAME")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


def _steps(values: list[str] | None) -> list[StepSpec] | None:
    if values is None:
        return None
    try:
        return parse_steps("\n".join(values), CadenceChannel.values)
    except ValueError as error:
        raise CommandError(f"--step: {error}".replace("line ", "step ")) from error


def _rule(text: str) -> RuleSpec:
    name, *conditions = [part.strip() for part in text.split(";")]
    values: dict[str, str] = {}
    for condition in conditions:
        key, _, value = condition.partition("=")
        if key not in {"segment", "grade", "campaign"} or not value:
            raise CommandError(
                f"--rule {text!r}: {condition!r} is not segment=, grade= or campaign="
            )
        values[key] = value
    return RuleSpec(name, **values)


class Command(BaseCommand):
    help = "List or change cadences, the rules that pick them and each team's minimum attempts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("list", help="cadences with their steps, the rules, the minimum attempts")
        for verb in ("create", "update"):
            command = sub.add_parser(verb, help=f"{verb} a cadence")
            command.add_argument("name")
            command.add_argument("--as", dest="acting")
            command.add_argument("--step", action="append", dest="steps", help=STEP_HELP)
            command.add_argument("--description")
            command.add_argument("--default", action="store_true", help="make it the default")
            if verb == "update":
                command.add_argument("--rename")
        rules = sub.add_parser("rules", help="replace the ordered cadence rules")
        rules.add_argument("--as", dest="acting")
        rules.add_argument("--rule", action="append", dest="rules", default=[], help=RULE_HELP)
        policy = sub.add_parser("policy", help="set a team's minimum attempts")
        policy.add_argument("team")
        policy.add_argument("--as", dest="acting")
        policy.add_argument("--attempts", type=int, required=True)
        policy.add_argument("--channels", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "list":
            self._list()
            return
        user = _acting(options["acting"])
        now = timezone.now()
        try:
            if verb == "create":
                cadence = save_cadence(
                    by=user,
                    now=now,
                    name=options["name"],
                    description=options["description"],
                    is_default=options["default"] or None,
                    steps=_steps(options["steps"]),
                )
                self.stdout.write(f"cadence {cadence.pk} created: {cadence.name}")
            elif verb == "update":
                found = Cadence.objects.filter(name__iexact=options["name"]).first()
                if found is None:
                    raise CommandError(f"no cadence called {options['name']!r}")
                cadence = save_cadence(
                    by=user,
                    now=now,
                    cadence=found,
                    name=options["rename"],
                    description=options["description"],
                    is_default=options["default"] or None,
                    steps=_steps(options["steps"]),
                )
                self.stdout.write(f"cadence {cadence.pk} updated: {cadence.name}")
            elif verb == "rules":
                saved = set_cadence_rules([_rule(text) for text in options["rules"]], by=user)
                self.stdout.write(f"{len(saved)} rules")
            else:
                team = Team.objects.filter(name__iexact=options["team"]).first()
                if team is None:
                    raise CommandError(f"no team called {options['team']!r}")
                set_attempt_policy(
                    team,
                    by=user,
                    min_attempts=options["attempts"],
                    min_channels=options["channels"],
                )
                self.stdout.write(
                    f"{team.name}: {options['attempts']} attempts over {options['channels']} channels"
                )
        except FieldError as error:
            raise CommandError(str(error)) from error

    def _list(self) -> None:
        for cadence in Cadence.objects.prefetch_related("steps"):
            flag = " (default)" if cadence.is_default else ""
            self.stdout.write(f"{cadence.name}{flag}")
            steps = [
                StepSpec(
                    s.day_offset,
                    s.channel,
                    s.instructions.splitlines()[0] if s.instructions else "",
                )
                for s in cadence.steps.order_by("position")
            ]
            for line in format_steps(steps).splitlines():
                self.stdout.write(f"  {line}")
        self.stdout.write("rules:")
        for rule in CadenceRule.objects.select_related("cadence", "campaign"):
            conditions = [
                f"{key}={value}"
                for key, value in (
                    ("segment", rule.segment),
                    ("grade", rule.grade),
                    ("campaign", rule.campaign.name if rule.campaign else ""),
                )
                if value
            ]
            self.stdout.write(f"  {rule.position}. {';'.join([rule.cadence.name, *conditions])}")
        self.stdout.write("minimum attempts:")
        for team in Team.objects.order_by("name"):
            policy = policy_of(team.pk)
            self.stdout.write(
                f"  {team.name}: {policy.min_attempts} attempts over {policy.min_channels} channels"
            )
