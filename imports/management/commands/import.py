"""`leadloop import PATH …`: import leads from a CSV or XLSX file.

Prints a progress bar on stderr and, at the end, one line of JSON on stdout:
{"created": …, "updated": …, "merged": …, "rejected": …, "warned": …, "rows": …, "seconds": …,
 "kept_as_written": [{"column", "field", "custom_field", "rows", "values": [[value, rows] …]} …]}
and, on stderr, each choice column's values that are none of its choices, kept as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from imports.choices import ImportKey, ImportStatus
from imports.mapping import MappingError, MissingColumn, parse_map_options
from imports.models import ImportJob
from imports.pipeline import ImportOptions, prepare
from imports.reader import ImportFileError
from imports.services import (
    ImportSummary,
    create_import_job,
    plan_import,
    run_import,
    write_rejects,
)
from leads.choices import MemberStatus
from leads.errors import FieldError
from leads.models import Campaign


class Command(BaseCommand):
    help = "Import leads from a CSV or XLSX file (resumable; safe to run twice)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="CSV, XLSX (or XLS, ODS) file")
        parser.add_argument("--campaign", help="campaign the rows are members of (by name)")
        parser.add_argument(
            "--status",
            choices=MemberStatus.values,
            default=MemberStatus.REGISTERED,
            help="membership status when the file has no status column",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="column to field (a lead field, custom:<name> or ignore); repeatable",
        )
        parser.add_argument("--key", choices=ImportKey.values, default=ImportKey.EMAIL)
        parser.add_argument(
            "--consent-purpose",
            default="newsletter",
            help="the consent purpose (slug) a consent or opted-out column speaks of",
        )
        parser.add_argument("--dry-run", action="store_true", help="count, write nothing")
        parser.add_argument("--rejects", help="write the rejected rows (with why) to this CSV")
        parser.add_argument("--encoding", help="e.g. utf-8, cp1252, latin-1 (default: detect)")
        parser.add_argument("--delimiter", help="e.g. ';' or 'tab' (default: detect)")
        parser.add_argument("--sheet", help="spreadsheet sheet name (default: the first)")
        parser.add_argument(
            "--phone-region", help="region of phone numbers written without +code, e.g. DE"
        )
        parser.add_argument("--chunk-size", type=int, default=250_000)
        parser.add_argument("--resume", type=int, metavar="JOB_ID", help="go on with a job")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["resume"]:
            job = ImportJob.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"--resume {options['resume']}: no such import job")
            self._run(job, now)
            return
        if not options["path"]:
            raise CommandError("PATH is required (or --resume JOB_ID)")
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        delimiter = options["delimiter"]
        if delimiter in ("tab", "\\t"):
            delimiter = "\t"
        try:
            import_options = ImportOptions(
                mapping=parse_map_options(options["map"]),
                key=options["key"],
                status=options["status"],
                encoding=options["encoding"],
                delimiter=delimiter,
                sheet=options["sheet"],
                phone_region=(options["phone_region"] or "").upper() or None,
                chunk_size=options["chunk_size"],
                consent_purpose=options["consent_purpose"],
            )
            import_options.check()
        except MappingError as exc:
            raise CommandError(str(exc)) from exc
        if options["campaign"]:
            campaign = Campaign.objects.filter(name=options["campaign"]).first()
            if campaign is None and not options["dry_run"]:
                campaign = Campaign.objects.create(name=options["campaign"])
                self.stderr.write(f"created campaign {campaign.name!r}")
            import_options.campaign_id = campaign.pk if campaign else -1
        try:
            if options["dry_run"]:
                summary = plan_import(path, import_options, now=now)
                if options["rejects"]:
                    write_rejects(prepare(path, import_options, now=now), path=options["rejects"])
                self._say_kept(summary)
                self.stdout.write(json.dumps(summary.as_json()))
                return
            # Check the file and the mapping before a job is recorded.
            prepare(path, import_options, now=now, limit=20)
        except (ImportFileError, MappingError) as exc:
            raise CommandError(_said(exc)) from exc
        try:
            job = create_import_job(
                path, import_options, now=now, rejects_path=options["rejects"] or None
            )
        except FieldError as exc:
            raise CommandError(f"--consent-purpose: {exc.message}") from exc
        self._run(job, now)

    def _run(self, job: ImportJob, now: Any) -> None:
        console = Console(stderr=True)
        with Progress(
            TextColumn(f"importing {job.file_name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("rows", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                summary = run_import(job, now=now, progress=progress)
            except (ImportFileError, MappingError) as exc:
                raise CommandError(_said(exc)) from exc
        if job.status != ImportStatus.DONE:
            raise CommandError(f"import job {job.pk} did not finish ({job.status})")
        if (summary.rejected or summary.warned) and job.rejects_path:
            console.print(
                f"{summary.rejected} rejected rows and {summary.warned} rows kept with a value"
                f" left empty written to {job.rejects_path}"
            )
        self._say_kept(summary)
        self.stdout.write(json.dumps(summary.as_json()))

    def _say_kept(self, summary: ImportSummary) -> None:
        """Each choice column's values that are none of its choices, kept as written."""
        for line in summary.kept_as_written_lines:
            self.stderr.write(line)


def _said(error: Exception) -> str:
    """The error, with how to fix it on the command line."""
    return error.advice("cli") if isinstance(error, MissingColumn) else str(error)
