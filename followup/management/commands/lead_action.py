"""`leadloop lead_action LEAD_ID ACTION --as USERNAME [...]`: what people do to a lead
(accept, reject, send to sales, reassign, log a touch…), from the command line, through
`followup.actions.act_on_lead` like the lead page and the API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from followup.actions import ActionError, act_on_lead
from leads.models import Lead
from users.access import visible_leads
from users.choices import LeadAction
from users.models import User


class Command(BaseCommand):
    help = "Take an action on a lead as USERNAME: " + ", ".join(LeadAction.values)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lead_id", type=int)
        parser.add_argument("action", choices=LeadAction.values)
        parser.add_argument("--as", dest="acting", required=True, help="who takes the action")
        parser.add_argument("--reason")
        parser.add_argument("--amount", help="convert, win")
        parser.add_argument("--name", help="the deal's name, for convert")
        parser.add_argument("--to", help="the rep's username, for reassign")
        parser.add_argument("--kind", help="call, email, meeting or note, for a touch")
        parser.add_argument("--outcome", help="for a touch")
        parser.add_argument("--notes", help="for a touch")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["acting"]).first()
        if user is None:
            raise CommandError(f"no user named {options['acting']!r}")
        lead: Lead | None = visible_leads(user).filter(pk=options["lead_id"]).first()
        if lead is None:
            raise CommandError(f"no lead {options['lead_id']} that {user.username} can see")
        data = {
            key: options[key]
            for key in ("reason", "amount", "name", "to", "kind", "outcome", "notes")
            if options.get(key) is not None
        }
        try:
            act_on_lead(lead, options["action"], by=user, now=timezone.now(), **data)
        except ActionError as error:
            raise CommandError(f"{error.field}: {error.message}") from error
        lead.refresh_from_db()
        owner = lead.owner.username if lead.owner else "nobody"
        self.stdout.write(f"lead {lead.pk}: {lead.get_stage_display()}, owned by {owner}")
