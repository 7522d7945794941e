"""`leadloop routing rules|add|set|remove|explain`: the routing rules from the command line,
through routing.rulebook (the permission table decides, for the user named by --as), and
why a lead is routed where it is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.errors import FieldError
from leads.models import Lead
from routing.choices import RuleTarget
from routing.models import RoutingRule
from routing.rulebook import (
    conditions_as_text,
    conditions_from_text,
    create_rule,
    delete_rule,
    explain_lead,
    update_rule,
)
from users.access import visible_leads
from users.choices import Capability
from users.models import Team, User
from users.permissions import may

WHEN_HELP = (
    "a condition, 'field operator value' (repeat for several, all must hold), e.g."
    " 'country in DE, AT, CH', 'account.employees at_least 1000', 'custom.state is CA'"
)


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


def _team(name: str) -> Team:
    team = Team.objects.filter(name=name).first()
    if team is None:
        raise CommandError(f"no team called {name!r}")
    return team


def _rule(name: str) -> RoutingRule:
    rule = RoutingRule.objects.filter(name=name).first()
    if rule is None:
        raise CommandError(f"no routing rule called {name!r}")
    return rule


def describe(rule: RoutingRule) -> str:
    if rule.target == RuleTarget.USER:
        to = f"to {rule.to_user.username if rule.to_user else '?'}"
    elif rule.target == RuleTarget.TEAM:
        to = f"round robin in team {rule.to_team.name if rule.to_team else '?'}"
    else:
        to = f"queue of team {rule.to_team.name if rule.to_team else '?'}"
    when = conditions_as_text(rule.conditions).replace("\n", " AND ") or "every lead"
    state = "" if rule.is_active else " (inactive)"
    return f"{rule.position}. {rule.name}{state}: {when} → {to}"


class Command(BaseCommand):
    help = "List, add, change or remove routing rules, or explain where a lead would go."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("rules", help="the rules in the order they are tried")
        for verb in ("add", "set"):
            change = sub.add_parser(verb, help=f"{verb} a rule")
            change.add_argument("name")
            change.add_argument("--as", dest="acting", required=True, help="who makes the change")
            change.add_argument("--when", action="append", help=WHEN_HELP)
            target = change.add_mutually_exclusive_group(required=verb == "add")
            target.add_argument("--to-user", help="a rep's username: they get every lead")
            target.add_argument("--to-team", help="a team's name: round robin in it")
            target.add_argument("--to-queue", help="a team's name: its queue, no owner")
            change.add_argument("--position", type=int, help="1 = tried first")
            active = change.add_mutually_exclusive_group()
            active.add_argument("--active", dest="is_active", action="store_true", default=None)
            active.add_argument("--inactive", dest="is_active", action="store_false")
            if verb == "set":
                change.add_argument("--rename", help="a new name")
                change.add_argument("--every-lead", action="store_true", help="drop the conditions")
        remove = sub.add_parser("remove", help="remove a rule")
        remove.add_argument("name")
        remove.add_argument("--as", dest="acting", required=True)
        explain = sub.add_parser("explain", help="which rule would route a lead now, and why")
        explain.add_argument("lead_id", type=int)
        explain.add_argument("--as", dest="acting", help="answer as this manager or admin")
        explain.add_argument("--now", help="ISO time to explain at (default: now)")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        try:
            if verb == "rules":
                self._list()
            elif verb == "explain":
                self._explain(options)
            elif verb == "remove":
                delete_rule(_rule(options["name"]), by=_user(options["acting"]))
                self.stdout.write(f"removed rule {options['name']!r}")
                self._list()
            else:
                self._change(verb, options)
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _list(self) -> None:
        rules = RoutingRule.objects.select_related("to_user", "to_team").order_by("position", "pk")
        for rule in rules:
            self.stdout.write(describe(rule))
        self.stdout.write(
            "otherwise: account owner, else round robin in the team of the lead's country"
            if rules
            else "no rules: account owner, else round robin in the team of the lead's country"
        )

    def _change(self, verb: str, options: dict[str, Any]) -> None:
        by = _user(options["acting"])
        changes: dict[str, Any] = {}
        if options.get("when"):
            changes["conditions"] = conditions_from_text("\n".join(options["when"]))
        elif options.get("every_lead"):
            changes["conditions"] = []
        if options.get("to_user"):
            changes |= {"target": RuleTarget.USER, "to_user": _user(options["to_user"])}
        elif options.get("to_team"):
            changes |= {"target": RuleTarget.TEAM, "to_team": _team(options["to_team"])}
        elif options.get("to_queue"):
            changes |= {"target": RuleTarget.QUEUE, "to_team": _team(options["to_queue"])}
        if options.get("position") is not None:
            changes["position"] = options["position"]
        if options.get("is_active") is not None:
            changes["is_active"] = options["is_active"]
        now = timezone.now()
        if verb == "add":
            changes.setdefault("conditions", [])
            rule = create_rule(by=by, now=now, name=options["name"], **changes)
        else:
            if options.get("rename"):
                changes["name"] = options["rename"]
            rule = update_rule(_rule(options["name"]), by=by, now=now, **changes)
        self.stdout.write(f"saved rule {rule.name!r}")
        self._list()

    def _explain(self, options: dict[str, Any]) -> None:
        leads = Lead.objects.select_related("account__owner", "first_campaign")
        if options.get("acting"):
            user = _user(options["acting"])
            if not may(user, Capability.MANAGE_ROUTING):
                raise CommandError("routing: only sales managers and admins see why")
            leads = visible_leads(user).select_related("account__owner", "first_campaign")
        lead = leads.filter(pk=options["lead_id"]).first()
        if lead is None:
            raise CommandError(f"no lead {options['lead_id']}")
        now = timezone.now()
        if options.get("now"):
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError:
                raise CommandError(f"--now: {options['now']!r} is not an ISO time") from None
            if now.tzinfo is None:
                raise CommandError("--now: give a time zone, e.g. 2026-12-01T09:00+00:00")
        explanation = explain_lead(lead, now=now)
        self.stdout.write(f"lead {lead.pk} ({lead.display_name}): {explanation.summary}")
        for line in explanation.lines:
            self.stdout.write(f"  - {line}")
