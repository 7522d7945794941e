from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leads.errors import FieldError
from users.models import User
from users.services import email_choices, mark_notifications_read, set_email_notifications


class Command(BaseCommand):
    help = (
        "List USERNAME's notifications, newest first (tab-separated: id, when, kind, lead,"
        " message), or mark them read with --read ID … or --read-all; --email shows which"
        " kinds also come by email, --email-on KIND … / --email-off KIND … choose."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--unread", action="store_true", help="only the unread ones")
        parser.add_argument("--limit", type=int, default=50)
        parser.add_argument("--read", type=int, nargs="+", metavar="ID", help="mark these read")
        parser.add_argument("--read-all", action="store_true", help="mark all of them read")
        parser.add_argument("--email", action="store_true", help="which kinds come by email")
        parser.add_argument("--email-on", nargs="+", metavar="KIND", help="email these kinds")
        parser.add_argument("--email-off", nargs="+", metavar="KIND", help="do not email them")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(f"no user named {options['username']!r}") from exc
        if options["email"] or options["email_on"] or options["email_off"]:
            choices = {kind: True for kind in options["email_on"] or []}
            choices.update({kind: False for kind in options["email_off"] or []})
            try:
                # From the command line one chooses as the person, as on My settings.
                set_email_notifications(user, by=user, choices=choices)
            except FieldError as error:
                raise CommandError(f"{error.field}: {error.message}") from error
            for kind, label, emailed in email_choices(user):
                self.stdout.write(f"{kind}\t{'email' if emailed else 'app only'}\t{label}")
            if not user.email:
                self.stdout.write(f"({user.username} has no email address: app only)")
            return
        if options["read"] or options["read_all"]:
            ids = None if options["read_all"] else options["read"]
            marked = mark_notifications_read(user, ids, now=timezone.now())
            self.stdout.write(f"{marked} marked read")
            return
        notes = user.notifications.order_by("-created_at", "-pk")
        if options["unread"]:
            notes = notes.filter(read_at__isnull=True)
        for note in notes[: max(options["limit"], 0)]:
            when = note.created_at.isoformat(timespec="seconds")
            lead = "" if note.lead_id is None else str(note.lead_id)
            self.stdout.write(f"{note.pk}\t{when}\t{note.kind_label}\t{lead}\t{note.message}")
