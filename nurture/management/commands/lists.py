"""`leadloop lists list|show|create|refresh|add|remove`: lists of leads from the command
line, through nurture.lists (the permission table decides, for the user named by --as;
members are shown within what that user may see)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.errors import FieldError
from nurture import lists
from nurture.choices import ListKind
from nurture.models import LeadList
from users.models import User

WHEN_HELP = (
    "a condition, one per --when (all must hold), e.g. 'country in DE, AT', 'grade is A',"
    " 'custom.state is CA', 'campaign is Webinar with status no-show', 'event email_click"
    " in 30 days', 'event page_view where url contains /pricing at_least 2 in 30 days',"
    " 'any: grade is A; score at_least 80'"
)


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


def _list(name: str) -> LeadList:
    found = LeadList.objects.filter(name=name).first()
    if found is None:
        raise CommandError(f"no list called {name!r}")
    return found


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not value.isdigit():
            raise CommandError(f"lead id {value!r} is not a number")
        ids.append(int(value))
    return ids


class Command(BaseCommand):
    help = "List, show, create, refresh and fill lists of leads (smart and static)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        listing = sub.add_parser("list", help="every list with its members you may see")
        listing.add_argument("--as", dest="acting", required=True, help="whose view")
        show = sub.add_parser("show", help="a list's conditions and members")
        show.add_argument("name")
        show.add_argument("--as", dest="acting", required=True, help="whose view")
        show.add_argument("--limit", type=int, default=50)
        create = sub.add_parser("create", help="create a list")
        create.add_argument("name")
        create.add_argument("--as", dest="acting", required=True, help="who makes it")
        create.add_argument("--static", action="store_true", help="a list filled by hand")
        create.add_argument("--when", action="append", help=WHEN_HELP)
        create.add_argument("--json", dest="conditions_json", help="the conditions as JSON")
        refresh = sub.add_parser("refresh", help="recompute a smart list's members now")
        refresh.add_argument("name")
        refresh.add_argument("--as", dest="acting", required=True)
        for verb in ("add", "remove"):
            change = sub.add_parser(verb, help=f"{verb} leads (by id) to or from a static list")
            change.add_argument("name")
            change.add_argument("lead_ids", nargs="+")
            change.add_argument("--as", dest="acting", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        by = _user(options["acting"])
        now = timezone.now()
        try:
            if verb == "list":
                for item in LeadList.objects.order_by("name"):
                    count = lists.members(item, viewer=by).count()
                    self.stdout.write(f"{item.name} ({item.kind}): {count} members")
            elif verb == "show":
                self._show(_list(options["name"]), by, options["limit"])
            elif verb == "create":
                self._create(options, by, now)
            elif verb == "refresh":
                done = lists.refresh_now(_list(options["name"]), by=by, now=now)
                self.stdout.write(f"{options['name']}: {done.joined} joined, {done.left} left")
            elif verb == "add":
                added = lists.add_leads(
                    _list(options["name"]), _ids(options["lead_ids"]), by=by, now=now
                )
                self.stdout.write(f"{options['name']}: {added} added")
            else:
                removed = lists.remove_leads(
                    _list(options["name"]), _ids(options["lead_ids"]), by=by
                )
                self.stdout.write(f"{options['name']}: {removed} removed")
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _create(self, options: dict[str, Any], by: User, now: Any) -> None:
        if options["static"]:
            if options.get("when") or options.get("conditions_json"):
                raise CommandError("a static list has no conditions (--when, --json)")
            made = lists.create_list(by=by, name=options["name"], kind=ListKind.STATIC, now=now)
        else:
            if options.get("conditions_json"):
                try:
                    definition = json.loads(options["conditions_json"])
                except json.JSONDecodeError as error:
                    raise CommandError(f"--json: not JSON ({error})") from None
            else:
                definition = lists.definition_from_text("\n".join(options.get("when") or []))
            made = lists.create_list(by=by, name=options["name"], definition=definition, now=now)
        self.stdout.write(
            f"created {made.kind} list {made.name!r}: {lists.members(made, viewer=by).count()} members"
        )

    def _show(self, found: LeadList, by: User, limit: int) -> None:
        members = lists.members(found, viewer=by).order_by("-arrived_at", "-pk")
        self.stdout.write(f"{found.name} ({found.kind}): {members.count()} members")
        if found.kind == ListKind.SMART:
            text = lists.definition_as_text(found.definition) or "every lead"
            for line in text.splitlines():
                self.stdout.write(f"  when {line}")
            if found.refreshed_at:
                self.stdout.write(
                    f"  refreshed {found.refreshed_at.isoformat()}:"
                    f" {found.last_joined} joined, {found.last_left} left"
                )
        for lead in members[:limit]:
            self.stdout.write(f"  {lead.pk}\t{lead.email or ''}\t{lead.stage}\t{lead.score}")
