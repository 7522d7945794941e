"""`leadloop streams list|show|create|add-piece|pause|resume`: content streams from the
command line, through nurture.streams (marketing and admins, for the user named by --as).

    leadloop streams list --as marketing
    leadloop streams show Newsletter --as marketing
    leadloop streams create Newsletter --list "Webinar no-shows" --cadence-days 7 \
        --weekday tue --hour 9 --purpose newsletter --as marketing
    leadloop streams add-piece Newsletter --title "The 2026 guide" \
        --url https://example.com/guide --template "Piece" --kind whitepaper --as marketing
    leadloop streams pause|resume Newsletter --as marketing
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.errors import FieldError
from nurture import streams
from nurture.choices import PieceKind
from nurture.models import ContentStream
from nurture.rules_streams import WEEKDAYS
from users.models import User


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--as: no user named {username!r}")
    return user


def _stream(name: str) -> ContentStream:
    found = ContentStream.objects.filter(name__iexact=name).first()
    if found is None:
        raise CommandError(f"no content stream called {name!r}")
    return found


def _slot(stream: ContentStream) -> str:
    parts = [f"every {stream.cadence_days} day{'s' if stream.cadence_days != 1 else ''}"]
    if stream.send_weekday is not None:
        parts.append(f"on {WEEKDAYS[stream.send_weekday].capitalize()}")
    if stream.send_hour is not None:
        parts.append(f"at {stream.send_hour:02d}:00")
    return " ".join(parts)


def _rule(stream: ContentStream) -> str:
    parts = []
    if stream.enrol_list is not None:
        parts.append(f"list {stream.enrol_list.name!r}")
    if stream.enrol_segment:
        parts.append(f"segment {stream.enrol_segment}")
    return " and ".join(parts) or "nobody"


class Command(BaseCommand):
    help = "List, show, create, fill, pause and resume content streams."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        listing = sub.add_parser("list", help="every stream with its members by status")
        listing.add_argument("--as", dest="acting", required=True, help="whose view")
        show = sub.add_parser("show", help="a stream's rule, cadence, members and pieces")
        show.add_argument("name")
        show.add_argument("--as", dest="acting", required=True, help="whose view")
        create = sub.add_parser("create", help="create a stream")
        create.add_argument("name")
        create.add_argument("--as", dest="acting", required=True, help="who makes it")
        create.add_argument("--list", dest="enrol_list", help="enrol the members of this list")
        create.add_argument("--segment", dest="enrol_segment", default="", help="e.g. nurture")
        create.add_argument("--cadence-days", dest="cadence_days", type=int, default=7)
        create.add_argument("--weekday", dest="send_weekday", help="monday … sunday (lead's zone)")
        create.add_argument("--hour", dest="send_hour", type=int, help="0–23 (lead's zone)")
        create.add_argument("--purpose", default="newsletter", help="the consent purpose")
        create.add_argument("--paused", action="store_true", help="create it paused")
        piece = sub.add_parser("add-piece", help="add a content piece (last, or --position)")
        piece.add_argument("name", help="the stream")
        piece.add_argument("--as", dest="acting", required=True)
        piece.add_argument("--title", required=True)
        piece.add_argument("--url", required=True)
        piece.add_argument("--template", required=True, help="the email template (id or name)")
        piece.add_argument("--kind", default=PieceKind.OTHER, help=", ".join(PieceKind.values))
        piece.add_argument("--position", type=int, help="1 = first")
        for verb in ("pause", "resume"):
            change = sub.add_parser(verb, help=f"{verb} a stream")
            change.add_argument("name")
            change.add_argument("--as", dest="acting", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        by = _user(options["acting"])
        now = timezone.now()
        try:
            streams.check_may_manage(by)
            if verb == "list":
                for item in streams.streams_with_counts().order_by("name"):
                    self.stdout.write(
                        f"{item.name} ({item.status}): {item.active_count} active,"  # type: ignore[attr-defined]
                        f" {item.exhausted_count} exhausted, {item.left_count} left;"  # type: ignore[attr-defined]
                        f" {item.piece_count} pieces"  # type: ignore[attr-defined]
                    )
            elif verb == "show":
                self._show(_stream(options["name"]))
            elif verb == "create":
                made = streams.create_stream(
                    by=by,
                    now=now,
                    name=options["name"],
                    enrol_list=options.get("enrol_list"),
                    enrol_segment=options.get("enrol_segment") or "",
                    cadence_days=options["cadence_days"],
                    send_weekday=options.get("send_weekday"),
                    send_hour=options.get("send_hour"),
                    purpose=options["purpose"],
                    status="paused" if options["paused"] else "active",
                )
                self.stdout.write(
                    f"created stream {made.name!r}: {_rule(made)}, {_slot(made)} ({made.status})"
                )
            elif verb == "add-piece":
                stream = _stream(options["name"])
                added = streams.add_piece(
                    stream,
                    by=by,
                    now=now,
                    position=options.get("position"),
                    title=options["title"],
                    url=options["url"],
                    template=options["template"],
                    kind=options["kind"],
                )
                self.stdout.write(f"{stream.name}: piece {added.position} {added.title!r} added")
            elif verb == "pause":
                stream = streams.pause_stream(_stream(options["name"]), by=by, now=now)
                self.stdout.write(f"{stream.name}: paused")
            else:
                stream = streams.resume_stream(_stream(options["name"]), by=by, now=now)
                self.stdout.write(f"{stream.name}: active")
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _show(self, stream: ContentStream) -> None:
        counts = streams.member_counts(stream)
        self.stdout.write(f"{stream.name} ({stream.status}): {_rule(stream)}, {_slot(stream)}")
        self.stdout.write(f"  purpose {stream.purpose}")
        self.stdout.write(
            "  members: " + ", ".join(f"{n} {status}" for status, n in counts.items())
        )
        for piece in streams.pieces_with_counts(stream):
            retired = "" if piece.is_active else " (retired)"
            self.stdout.write(
                f"  {piece.position}. [{piece.kind}] {piece.title}{retired} {piece.url}"
                f" — {piece.delivered} delivered, {piece.opened} opened,"  # type: ignore[attr-defined]
                f" {piece.clicked} clicked"  # type: ignore[attr-defined]
            )
