"""`leadloop scoring export [PATH]` and `leadloop scoring apply PATH [--dry-run]`.

export writes the active scoring model as YAML (to stdout without PATH). apply validates a
YAML model (every bad rule named, nothing applied), prints what it would change on the
current leads, and without --dry-run saves it as the new active version and rescores
every lead, routing those that become sales-ready. Its last line is one JSON object:
{"leads_rescored": …, "moves": {"from→to": n}, "grades_changed": …, "seconds": …}
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from qualify.document import ModelInvalid, default_document, from_yaml, to_yaml
from qualify.services import active_version, preview_model, rescore_all, save_model
from users.models import User


class Command(BaseCommand):
    help = "Export the active scoring model as YAML, or apply one (with a what-if first)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write the active model as YAML")
        export.add_argument("path", nargs="?", help="file to write (default: stdout)")
        apply = sub.add_parser("apply", help="validate, preview and apply a YAML model")
        apply.add_argument("path", help="the YAML model")
        apply.add_argument("--dry-run", action="store_true", help="preview only, change nothing")
        apply.add_argument("--by", help="username recorded as the author of the version")
        apply.add_argument("--note", default="", help="what changed, kept with the version")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            self._export(options.get("path"))
        else:
            self._apply(options)

    def _export(self, path: str | None) -> None:
        version = active_version()
        text = to_yaml(version.document if version else default_document())
        if path:
            Path(path).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    def _apply(self, options: dict[str, Any]) -> None:
        started = time.perf_counter()
        now = timezone.now()
        path = Path(options["path"])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror or error}") from error
        by = None
        if options.get("by"):
            by = User.objects.filter(username=options["by"]).first()
            if by is None:
                raise CommandError(f"--by: no user {options['by']!r}")
        try:
            document = from_yaml(text)
            preview = preview_model(document, now=now)
        except ModelInvalid as invalid:
            problems = "\n".join(f"  {where}: {why}" for where, why in invalid.problems)
            raise CommandError(f"{path}: the model was not applied:\n{problems}") from invalid
        self.stdout.write(f"what if ({preview.leads} leads):")
        for move, count in preview.moves.items():
            self.stdout.write(f"  {count} move {move.replace('→', ' → ')}")
        self.stdout.write(f"  {preview.grades_changed} change grade")
        if options["dry_run"]:
            summary = {
                "leads_rescored": 0,
                "moves": preview.moves,
                "grades_changed": preview.grades_changed,
                "seconds": round(time.perf_counter() - started, 3),
            }
        else:
            version = save_model(
                document, by=by, now=now, note=options["note"] or "leadloop scoring apply"
            )
            summary = rescore_all(version, now=now)
            summary["seconds"] = round(time.perf_counter() - started, 3)
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
