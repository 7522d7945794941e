"""`leadloop consent show|set|purposes`: a lead's consent per purpose and its history, a
grant or withdrawal the person made (recorded as source "person", for the user named by
--as: marketing and admins), and the consent purposes; all through nurture.consent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.errors import FieldError
from leads.models import Lead
from nurture import consent
from users.access import visible_leads
from users.models import User


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


def _lead(value: str, by: User) -> Lead:
    if not value.isdigit():
        raise CommandError(f"lead id {value!r} is not a number")
    lead = visible_leads(by).filter(pk=int(value)).first()
    if lead is None:
        raise CommandError(f"no lead {value} among the leads {by.username} may see")
    return lead


class Command(BaseCommand):
    help = "Show and record a lead's consent per purpose; list and add consent purposes."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        show = sub.add_parser("show", help="a lead's consent per purpose and its history")
        show.add_argument("lead_id")
        show.add_argument("--as", dest="acting", required=True, help="whose view")
        change = sub.add_parser("set", help="record a grant or withdrawal the person made")
        change.add_argument("lead_id")
        change.add_argument("purpose", help="a purpose's slug (leadloop consent purposes)")
        answer = change.add_mutually_exclusive_group(required=True)
        answer.add_argument("--granted", dest="granted", action="store_true")
        answer.add_argument("--withdrawn", dest="withdrawn", action="store_true")
        change.add_argument("--text", default="", help="what the person agreed to or said")
        change.add_argument("--as", dest="acting", required=True, help="who records it")
        listing = sub.add_parser("purposes", help="the consent purposes (or add one)")
        listing.add_argument("--add", metavar="SLUG", help="add a purpose with this slug")
        listing.add_argument("--name", help="the new purpose's name")
        listing.add_argument("--description", default="", help="what the person gets")
        listing.add_argument("--as", dest="acting", help="who adds it (with --add)")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        now = timezone.now()
        try:
            if verb == "show":
                by = _user(options["acting"])
                self._show(_lead(options["lead_id"], by))
            elif verb == "set":
                by = _user(options["acting"])
                lead = _lead(options["lead_id"], by)
                done = consent.record_by_person(
                    lead, options["purpose"], granted=bool(options["granted"]), by=by, now=now,
                    text=options["text"],
                )  # fmt: skip
                word = "granted" if options["granted"] else "withdrawn"
                if done.consent is None:
                    self.stdout.write(f"lead {lead.pk}: nothing recorded ({done.refused})")
                else:
                    self.stdout.write(f"lead {lead.pk}: {options['purpose']} {word}")
            elif options.get("add"):
                if not options.get("acting"):
                    raise CommandError("--add needs --as USER (marketing or an admin)")
                made = consent.create_purpose(
                    by=_user(options["acting"]), now=now, slug=options["add"],
                    name=options.get("name") or options["add"],
                    description=options["description"],
                )  # fmt: skip
                self.stdout.write(f"added purpose {made.slug} ({made.name})")
            else:
                for purpose in consent.purposes():
                    offered = "" if purpose.is_active else " (not offered)"
                    self.stdout.write(
                        f"{purpose.slug}\t{purpose.name}{offered}\t{purpose.description}"
                    )
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _show(self, lead: Lead) -> None:
        self.stdout.write(f"lead {lead.pk} {lead.email or ''}")
        for row in consent.current(lead):
            if row.consent is None:
                self.stdout.write(f"  {row.purpose.slug}: not asked")
                continue
            given = row.consent
            word = "granted" if row.granted else "withdrawn"
            where = given.get_source_display() + (
                f" ({given.reference})" if given.reference else ""
            )
            self.stdout.write(f"  {row.purpose.slug}: {word} {given.at.isoformat()} via {where}")
            if given.text:
                self.stdout.write(f"    agreed to: {given.text}")
        rows = list(consent.history(lead)[:50])
        if rows:
            self.stdout.write("history:")
        for past in rows:
            word = "granted" if past.granted else "withdrawn"
            self.stdout.write(
                f"  {past.at.isoformat()}\t{past.purpose.slug}\t{word}\t{past.source}"
                f"\t{past.reference}"
            )
