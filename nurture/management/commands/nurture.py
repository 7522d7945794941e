"""`leadloop nurture list|show|pause|resume|enrol|export|apply`: nurture programs from the
command line, through nurture.programs (the permission table decides, for the user named
by --as, on every change).

export writes one program (or, without NAME, every program as a stream of YAML documents)
to PATH or stdout. apply reads such a file, checks every document (a bad one is refused
naming the step and field, and nothing is applied), says what changes, and without
--dry-run applies them all in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from leads.errors import FieldError
from nurture import programs
from nurture.models import Program
from users.models import User


def _user(username: str | None) -> User:
    if not username:
        raise CommandError("--as: name the user who makes the change")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--as: no user named {username!r}")
    return user


def _program(name: str) -> Program:
    found = programs.find_program(name)
    if found is None:
        raise CommandError(f"no program called {name!r}")
    return found


class _DryRun(Exception):
    """Rolls back a dry run of several documents after each was checked in turn."""


class Command(BaseCommand):
    help = "List, show, pause, resume, enrol leads in, export and apply nurture programs."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("list", help="every program: status, steps, leads in it")
        show = sub.add_parser("show", help="a program's steps with their counts")
        show.add_argument("name")
        for verb in ("pause", "resume"):
            change = sub.add_parser(verb, help=f"{verb} a program")
            change.add_argument("name")
            change.add_argument("--as", dest="acting", help="who does it")
        enrol = sub.add_parser("enrol", help="enrol leads (by id) in a program by hand")
        enrol.add_argument("name")
        enrol.add_argument("lead_ids", nargs="+")
        enrol.add_argument("--as", dest="acting", help="who enrols them")
        export = sub.add_parser("export", help="write a program (or all) as YAML")
        export.add_argument("name", nargs="?", help="the program (default: every program)")
        export.add_argument("path", nargs="?", help="file to write (default: stdout)")
        apply = sub.add_parser("apply", help="check and apply programs from a YAML file")
        apply.add_argument("path")
        apply.add_argument("--dry-run", action="store_true", help="say what would change only")
        apply.add_argument("--as", dest="acting", help="who applies it")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        now = timezone.now()
        try:
            if verb == "list":
                self._list()
            elif verb == "show":
                self._show(_program(options["name"]))
            elif verb in ("pause", "resume"):
                found = _program(options["name"])
                action = programs.pause if verb == "pause" else programs.resume
                action(found, by=_user(options.get("acting")), now=now)
                self.stdout.write(f"{found.name}: {found.status}")
            elif verb == "enrol":
                ids = []
                for value in options["lead_ids"]:
                    if not value.isdigit():
                        raise CommandError(f"lead id {value!r} is not a number")
                    ids.append(int(value))
                found = _program(options["name"])
                count = programs.enrol_leads(found, ids, by=_user(options.get("acting")), now=now)
                self.stdout.write(f"{found.name}: {count} enrolled")
            elif verb == "export":
                self._export(options.get("name"), options.get("path"))
            else:
                self._apply(options, now)
        except FieldError as error:
            raise CommandError(f"{error.field}: {error.message}") from error

    def _list(self) -> None:
        for item in programs.programs_with_counts():
            self.stdout.write(
                f"{item.name} ({item.status}, purpose {item.purpose}): {item.step_count} steps,"  # type: ignore[attr-defined]
                f" {item.active_runs} leads in it"  # type: ignore[attr-defined]
            )

    def _show(self, found: Program) -> None:
        counts = programs.run_counts(found)
        self.stdout.write(
            f"{found.name} ({found.status}, purpose {found.purpose}): "
            + ", ".join(f"{n} {status}" for status, n in counts.items())
        )
        for stats in programs.step_stats(found):
            step = stats.step
            line = f"  {step.position + 1}. {step.name} [{step.kind}]: {stats.at_step} at it, {step.reached} reached"
            if step.kind == "send_email":
                line += f", {stats.sent} sent, {stats.opened} opened, {stats.clicked} clicked"
            if step.kind == "branch":
                line += f", {step.went_yes} yes, {step.went_no} no"
            self.stdout.write(line)

    def _export(self, name: str | None, path: str | None) -> None:
        if name:
            text = programs.to_yaml(programs.document_of(_program(name)))
        else:
            text = yaml.safe_dump_all(
                [programs.document_of(p) for p in Program.objects.order_by("name")],
                sort_keys=False, allow_unicode=True, width=100,
            )  # fmt: skip
        if path:
            Path(path).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    def _apply(self, options: dict[str, Any], now: Any) -> None:
        path = Path(options["path"])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror or error}") from error
        by = _user(options.get("acting"))
        try:
            documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        except yaml.YAMLError as error:
            raise CommandError(f"{path}: not YAML: {error}".replace("\n", " ")) from error
        if not documents:
            raise CommandError(f"{path}: no program in it")
        lines = []
        try:
            with transaction.atomic():
                for index, document in enumerate(documents):
                    where = f"document {index + 1}: " if len(documents) > 1 else ""
                    try:
                        # Each is applied for real inside the transaction (a later one
                        # may name a list or step an earlier one made); a dry run, or
                        # any refusal, rolls them all back.
                        done = programs.apply_document(document, by=by, now=now)
                    except FieldError as error:
                        raise CommandError(
                            f"{path}: {where}{error.field}: {error.message} (nothing was applied)"
                        ) from error
                    verb = "would create" if options["dry_run"] else "created"
                    if not done.created:
                        verb = "would update" if options["dry_run"] else "updated"
                    lines.append(
                        f"{verb} {done.program.name!r} ({done.program.status}):"
                        f" {len(done.steps_added)} steps added, {len(done.steps_changed)} changed,"
                        f" {len(done.steps_removed)} removed, {done.runs_ended} runs ended"
                    )
                if options["dry_run"]:
                    raise _DryRun
        except _DryRun:
            pass
        for line in lines:
            self.stdout.write(line)
