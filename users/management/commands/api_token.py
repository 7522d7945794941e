from django.core.management.base import BaseCommand, CommandError

from users.models import ApiToken, User


class Command(BaseCommand):
    help = "Issue a new API bearer token for USERNAME and print it (it is shown only once)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label to recognise the token by")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(f"no user named {options['username']!r}") from exc
        _, raw = ApiToken.issue(user, name=options["name"])
        self.stdout.write(raw)
