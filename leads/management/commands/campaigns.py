"""`leadloop campaigns list|create|update`: campaigns from the command line, through the
same services as the /campaigns/ screens and the API (the permission table decides, for
the user named by --as)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from leads.choices import Channel
from leads.errors import FieldError
from leads.models import Campaign
from leads.services import create_campaign, update_campaign
from users.models import User


def _date(value: str) -> date | None:
    if value in {"", "none"}:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _acting(username: str | None) -> User:
    if not username:
        raise CommandError("say who makes the change: --as USERNAME")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


class Command(BaseCommand):
    help = "List, create or change campaigns (channel, cost, dates)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("list", help="every campaign with its cost and members")
        for verb in ("create", "update"):
            command = sub.add_parser(verb, help=f"{verb} a campaign")
            command.add_argument("name", help="the campaign's name")
            command.add_argument("--as", dest="acting", help="the user making the change")
            command.add_argument("--channel", choices=Channel.values)
            command.add_argument("--cost", help=f"in {settings.LEADLOOP_CURRENCY}")
            command.add_argument("--starts-on", help="YYYY-MM-DD, or none")
            command.add_argument("--ends-on", help="YYYY-MM-DD, or none")
            if verb == "update":
                command.add_argument("--rename", help="a new name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "list":
            self._list()
            return
        user = _acting(options["acting"])
        values: dict[str, Any] = {
            field: options[field] for field in ("channel", "cost") if options.get(field) is not None
        }
        for field in ("starts_on", "ends_on"):
            if options.get(field) is not None:
                values[field] = _date(options[field])  # "none" clears the date
        try:
            if options["verb"] == "create":
                campaign = create_campaign(by=user, name=options["name"], **values)
            else:
                found = Campaign.objects.filter(name=options["name"]).first()
                if found is None:
                    raise CommandError(f"no campaign called {options['name']!r}")
                if options.get("rename"):
                    values["name"] = options["rename"]
                campaign = update_campaign(found, by=user, **values)
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error
        self.stdout.write(f"{campaign.pk}\t{campaign.name}\tsaved")

    def _list(self) -> None:
        currency = settings.LEADLOOP_CURRENCY
        self.stdout.write("id\tname\tchannel\tcost\tstarts_on\tends_on\tleads")
        for campaign in Campaign.objects.annotate(leads=Count("members")).order_by(
            "-starts_on", "name"
        ):
            self.stdout.write(
                "\t".join(
                    [
                        str(campaign.pk),
                        campaign.name,
                        campaign.get_channel_display(),
                        f"{campaign.cost} {currency}",
                        campaign.starts_on.isoformat() if campaign.starts_on else "",
                        campaign.ends_on.isoformat() if campaign.ends_on else "",
                        str(campaign.leads),  # type: ignore[attr-defined]
                    ]
                )
            )
