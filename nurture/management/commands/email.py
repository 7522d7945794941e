"""`leadloop email templates|preview|test-send|outbox|send-due`: marketing email from the
command line, through the same services as the UI and the API (marketing and admins, for
the user named by --as).

    leadloop email templates --as marketing
    leadloop email preview 1 --lead 42 --as marketing
    leadloop email test-send 1 --to me@example.com [--lead 42] --as marketing
    leadloop email outbox --status failed --as marketing
    leadloop email send-due [--now ISO]
    leadloop email events reports.json --as marketing   (bounces, complaints; "-": stdin)
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.errors import FieldError
from nurture import services, tracking
from nurture.choices import MessageStatus
from nurture.models import EmailTemplate
from users.models import User


def _acting(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--as: no user named {username!r}")
    return user


def _template(pk: int) -> EmailTemplate:
    found = EmailTemplate.objects.filter(pk=pk).first()
    if found is None:
        raise CommandError(f"no email template with id {pk}")
    return found


def _now(text: str | None) -> datetime:
    """--now as `leadloop run_due` takes it: ISO, the present unless time travel is on."""
    present = timezone.now()
    if not text:
        return present
    try:
        given = datetime.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--now: {text!r} is not an ISO 8601 time") from error
    if timezone.is_naive(given):
        given = timezone.make_aware(given, timezone.get_current_timezone())
    allowed = os.environ.get("LEADLOOP_ALLOW_TIME_TRAVEL") == "1"
    if abs(given - present) > timedelta(minutes=1) and not allowed:
        raise CommandError(
            f"--now {given.isoformat()} is not the present; set LEADLOOP_ALLOW_TIME_TRAVEL=1"
        )
    return given


class Command(BaseCommand):
    help = (
        "Email templates, previews, test sends, the outbox and its sweep, bounce and"
        " complaint reports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        templates = sub.add_parser("templates", help="every email template")
        preview = sub.add_parser("preview", help="a template as a lead would get it")
        preview.add_argument("id", type=int)
        preview.add_argument("--lead", type=int, required=True, help="a lead id you see")
        preview.add_argument("--html", action="store_true", help="print the HTML part too")
        test = sub.add_parser("test-send", help="send a template to an address now")
        test.add_argument("id", type=int)
        test.add_argument("--to", required=True, help="the address")
        test.add_argument("--lead", type=int, help="render as this lead (else empty fields)")
        outbox = sub.add_parser("outbox", help="the outbox, newest first")
        outbox.add_argument("--status", choices=MessageStatus.values)
        outbox.add_argument("--limit", type=int, default=50)
        due = sub.add_parser("send-due", help="send the due messages now (the outbox sweep)")
        due.add_argument("--now", help="ISO time (other than now: LEADLOOP_ALLOW_TIME_TRAVEL=1)")
        events = sub.add_parser(
            "events", help="record bounces, complaints, deliveries (the webhook's JSON list)"
        )
        events.add_argument("path", help="a JSON file, or - for standard input")
        for command in (templates, preview, test, outbox, events):
            command.add_argument("--as", dest="acting", required=True, help="who asks")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        try:
            if verb == "send-due":
                now = _now(options["now"])
                self.stdout.write(f"sent\t{services.run_due(now=now)}")
                return
            user = _acting(options["acting"])
            services.check_may_send(user)
            if verb == "templates":
                self.stdout.write("id\tname\tsubject\tupdated_at")
                for t in EmailTemplate.objects.order_by("name"):
                    self.stdout.write(
                        f"{t.pk}\t{t.name}\t{t.subject}\t{t.updated_at.isoformat(timespec='seconds')}"
                    )
            elif verb == "events":
                self._events(options["path"])
            elif verb == "preview":
                lead = services.lead_seen_by(user, options["lead"])
                if lead is None:
                    raise CommandError(f"--lead: no lead with id {options['lead']}")
                rendered = services.preview(_template(options["id"]), lead)
                self.stdout.write(f"Subject: {rendered.subject}\n\n{rendered.text}")
                if options["html"]:
                    self.stdout.write(f"\n--- HTML ---\n{rendered.html}")
            elif verb == "test-send":
                lead = None
                if options["lead"] is not None:
                    lead = services.lead_seen_by(user, options["lead"])
                    if lead is None:
                        raise CommandError(f"--lead: no lead with id {options['lead']}")
                message = services.test_send(
                    _template(options["id"]), to=options["to"], lead=lead, by=user,
                    now=timezone.now(),
                )  # fmt: skip
                self.stdout.write(
                    f"{message.pk}\t{message.to_address}\t{message.status}\t{message.last_error}"
                )
            else:
                if options["limit"] < 1:
                    raise CommandError("--limit must be 1 or more")
                self.stdout.write(
                    "id\tcreated_at\tto\tsubject\tstatus\tattempts\tnext_attempt_at\terror"
                )
                for m in services.outbox(status=options["status"])[: options["limit"]]:
                    self.stdout.write(
                        "\t".join([
                            str(m.pk), m.created_at.isoformat(timespec="seconds"), m.to_address,
                            m.subject, m.status, str(m.attempts),
                            m.next_attempt_at.isoformat(timespec="seconds"), m.last_error,
                        ])
                    )  # fmt: skip
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _events(self, path: str) -> None:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text()
            data = json.loads(text)
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from error
        except json.JSONDecodeError as error:
            raise CommandError(f"{path}: not JSON ({error})") from error
        reports = tracking.reports_from_json(data)
        outcomes = tracking.record_delivery_events(reports, source="cli", now=timezone.now())
        self.stdout.write("index\tstatus\tsuppressed\terror")
        for outcome in outcomes:
            self.stdout.write(
                f"{outcome.index}\t{outcome.status}\t{'yes' if outcome.suppressed else 'no'}"
                f"\t{outcome.error}"
            )
