"""`leadloop leave list|add|cancel`: people's leave from the command line, through
routing.availability (who may: the person, their manager, an admin; a leave that has
begun hands their open leads on at once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.errors import FieldError
from routing.availability import add_leave, cancel_leave
from users.models import Leave, User


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


class Command(BaseCommand):
    help = "List, add or cancel people's leave (days away: no new leads, open ones handed on)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        listing = sub.add_parser("list", help="leave of everyone, or of one person")
        listing.add_argument("username", nargs="?")
        add = sub.add_parser("add", help="add a leave")
        add.add_argument("username")
        add.add_argument("--from", dest="starts_on", required=True, help="first day, YYYY-MM-DD")
        add.add_argument("--until", dest="ends_on", required=True, help="last day, YYYY-MM-DD")
        add.add_argument("--note", default="")
        add.add_argument("--as", dest="acting", required=True, help="who sets it")
        cancel = sub.add_parser("cancel", help="remove a leave by its id")
        cancel.add_argument("leave_id", type=int)
        cancel.add_argument("--as", dest="acting", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        try:
            if verb == "add":
                leave = add_leave(
                    _user(options["username"]),
                    by=_user(options["acting"]),
                    starts_on=options["starts_on"],
                    ends_on=options["ends_on"],
                    note=options["note"],
                    now=timezone.now(),
                )
                self.stdout.write(f"leave {leave.pk} added")
            elif verb == "cancel":
                leave_found = (
                    Leave.objects.select_related("user").filter(pk=options["leave_id"]).first()
                )
                if leave_found is None:
                    raise CommandError(f"no leave {options['leave_id']}")
                cancel_leave(leave_found, by=_user(options["acting"]))
                self.stdout.write(f"leave {options['leave_id']} cancelled")
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error
        leaves = Leave.objects.select_related("user").order_by("starts_on", "pk")
        if verb == "list" and options.get("username"):
            leaves = leaves.filter(user=_user(options["username"]))
        if verb == "list":
            for leave in leaves:
                note = f"\t{leave.note}" if leave.note else ""
                self.stdout.write(
                    f"{leave.pk}\t{leave.user.username}\t{leave.starts_on}\t{leave.ends_on}{note}"
                )
