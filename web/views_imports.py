"""The import wizard: upload → column mapping → preview → run in the background → summary.

Thin adapters over `imports.wizard` (the steps) and the import engine. Imports
create leads for everyone, so they are marketing's tool: every page here is for marketing
and admins only (403 for sales). Marketing and admins see every import, not just their
own: a colleague's failed import can be looked at, resumed and its rejects downloaded.

The job page polls a fragment every second with htmx while the job is queued or running;
the fragment of a finished or failed job comes back without the trigger, which stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from imports.choices import ImportStatus
from imports.mapping import (
    CUSTOM_PREFIX,
    IGNORE,
    IMPORT_FIELDS,
    MappingError,
    MissingColumn,
    resolve_mapping,
)
from imports.models import ImportJob
from imports.pipeline import CREATE, MERGE, REJECT, UPDATE, ImportOptions
from imports.reader import ImportFileError
from imports.services import RowOutcome, inspect_file, kept_as_written_lines
from imports.wizard import (
    NEW_CAMPAIGN,
    check_job,
    inspect_job,
    is_draft,
    job_options,
    open_import,
    preview_job,
    resume_import_job,
    save_import_choices,
    start_import_job,
)
from leads.models import Campaign
from users.choices import Capability
from users.models import User
from users.permissions import may

from .decorators import viewer_page
from .display import format_seconds
from .forms_imports import MappingForm, ReadingForm, UploadForm

PAGE_SIZE = 25
PREVIEW_ROWS = 200
SAMPLE_VALUES = 3
SAMPLE_CHARS = 60
ACTION_COLOURS = {CREATE: "green", UPDATE: "blue", MERGE: "amber", REJECT: "red"}
KEY_LABELS = {"email": "email", "external_id": "external id"}


def _importer(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    if not may(user, Capability.IMPORT):
        raise PermissionDenied("imports are run by marketing")
    return user


def _job(request: HttpRequest, pk: int) -> ImportJob:
    _importer(request)
    return get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)


def _draft_or_job_page(job: ImportJob) -> HttpResponse | None:
    """A started job's wizard pages lead to its job page."""
    return None if is_draft(job) else redirect("web:import", pk=job.pk)


def _campaign_name(job: ImportJob, names: dict[int, str] | None = None) -> str:
    campaign_id = job.options.get("campaign_id")
    if campaign_id is not None:
        if names is not None:
            return names.get(campaign_id, "")
        return Campaign.objects.filter(pk=campaign_id).values_list("name", flat=True).first() or ""
    new = job.options.get(NEW_CAMPAIGN)
    return f"{new} (new)" if new else ""


def job_state(job: ImportJob) -> str:
    """draft (in the wizard), waiting (for a worker), running, done, failed or expired
    (a draft nobody started: its upload was deleted, see imports.uploads)."""
    if job.status == ImportStatus.QUEUED:
        return "draft" if job.started_at is None else "waiting"
    return str(job.status)


# --- The list -------------------------------------------------------------------------------


@viewer_page
@require_GET
def imports(request: HttpRequest) -> HttpResponse:
    _importer(request)
    page = Paginator(
        ImportJob.objects.select_related("created_by").order_by("-created_at", "-pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    jobs = list(page.object_list)
    ids = {job.options.get("campaign_id") for job in jobs} - {None}
    names = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = [(job, job_state(job), _campaign_name(job, names)) for job in jobs]
    return render(request, "web/imports_list.html", {"page": page, "rows": rows})


# --- Step 1: upload -------------------------------------------------------------------------


@viewer_page
def import_new(request: HttpRequest) -> HttpResponse:
    user = _importer(request)
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            campaign = data["campaign"]
            options = ImportOptions(
                key=data["key"],
                status=data["status"],
                campaign_id=campaign.pk if campaign is not None else None,
                consent_purpose=(
                    data["consent_purpose"].slug if data.get("consent_purpose") else "newsletter"
                ),
                **form.reading(),  # type: ignore[arg-type]
            )
            upload = data["file"]
            try:
                job = open_import(
                    upload.chunks(),
                    file_name=upload.name,
                    options=options,
                    now=timezone.now(),
                    by=user,
                    new_campaign=data["new_campaign"],
                )
            except (ImportFileError, MappingError) as error:
                form.add_error("file", f"The file cannot be read: {error}")
            else:
                return redirect("web:import_mapping", pk=job.pk)
        status = 400
    else:
        form = UploadForm()
    return render(request, "web/imports_new.html", {"form": form, "step": 1}, status=status)


# --- Step 2: mapping ------------------------------------------------------------------------


@dataclass
class ColumnRow:
    name: str
    samples: list[str]
    field: Any  # the bound form field
    suggestion: str

    @property
    def suggestion_label(self) -> str:
        return field_label(self.suggestion)


def field_label(field: str) -> str:
    if field in IMPORT_FIELDS:
        return IMPORT_FIELDS[field]
    if field.startswith(CUSTOM_PREFIX):
        return f"custom field “{field[len(CUSTOM_PREFIX) :]}”"
    return "ignore"


DELIMITER_LABELS = {",": "comma ,", ";": "semicolon ;", "\t": "tab", "|": "pipe |"}


def _samples(rows: list[dict[str, str | None]], column: str) -> list[str]:
    values: list[str] = []
    for row in rows:
        value = (row.get(column) or "").strip()
        if value and value not in values:
            short = value if len(value) <= SAMPLE_CHARS else value[: SAMPLE_CHARS - 1] + "…"
            values.append(short)
        if len(values) == SAMPLE_VALUES:
            break
    return values


@viewer_page
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if (started := _draft_or_job_page(job)) is not None:
        return started
    if request.method == "POST" and request.POST.get("step") == "reread":
        return _reread(request, job)
    options = ImportOptions.from_dict(job.options)
    reading = ReadingForm(initial=ReadingForm.initial_for(options.encoding, options.delimiter))
    data = request.POST if request.method == "POST" else None
    return _mapping_page(request, job, reading=reading, data=data)


def _reread(request: HttpRequest, job: ImportJob) -> HttpResponse:
    """Read the file again with another encoding or delimiter."""
    reading = ReadingForm(request.POST)
    if reading.is_valid():
        wanted = reading.reading()
        try:
            inspect_file(job.file_path, wanted["encoding"], wanted["delimiter"], sample=1)
        except ImportFileError as exc:
            reading.add_error(None, f"The file cannot be read that way: {exc}")
        else:
            # Other columns may come out: the mapping starts again from the suggestions.
            save_import_choices(job, mapping={}, **wanted)
            messages.info(request, "The file was read again with your settings.")
            return redirect("web:import_mapping", pk=job.pk)
    return _mapping_page(request, job, reading=reading, data=None, status=400)


def _mapping_page(
    request: HttpRequest,
    job: ImportJob,
    *,
    reading: ReadingForm,
    data: Any,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {"job": job, "step": 2, "reading": reading, "error": ""}
    try:
        info = inspect_job(job)
    except ImportFileError as exc:
        context |= {"error": f"The file cannot be read: {exc}", "rows": []}
        return render(request, "web/imports_mapping.html", context, status=400)
    try:
        current = resolve_mapping(info.columns, ImportOptions.from_dict(job.options).mapping)
    except MappingError:
        current = info.suggested_mapping
    form = MappingForm(
        data, columns=info.columns, suggested=info.suggested_mapping, current=current
    )
    if data is not None:
        if form.is_valid():
            try:
                save_import_choices(job, mapping=form.mapping())
                check_job(job, now=timezone.now())
            except (MappingError, ImportFileError) as exc:
                context["error"] = _said(exc)
            else:
                return redirect("web:import_preview", pk=job.pk)
        status = 400
    rows = [
        ColumnRow(column, _samples(info.sample_rows, column), form[f"col_{i}"],
                  info.suggested_mapping.get(column, IGNORE))
        for i, column in enumerate(info.columns)
    ]  # fmt: skip
    context |= {
        "info": info,
        "rows": rows,
        "form": form,
        "is_spreadsheet": info.delimiter is None,
        "delimiter_label": DELIMITER_LABELS.get(info.delimiter or "", info.delimiter or ""),
    }
    return render(request, "web/imports_mapping.html", context, status=status)


# --- Step 3: preview ------------------------------------------------------------------------


@dataclass
class PreviewRow:
    line: int
    action: str
    colour: str
    why: str
    lead_id: int | None
    email: str
    name: str
    company: str
    external_id: str
    # Values left empty because they could not be read (the row is kept).
    warnings: str = ""
    # Choice values that are none of the choices, kept as written.
    kept: str = ""


def explain(outcomes: list[RowOutcome], key: str) -> list[PreviewRow]:
    """Each row's outcome with the reason a person needs to trust it."""
    label = KEY_LABELS.get(key, key)
    first_line: dict[Any, int] = {}
    rows = []
    for outcome in outcomes:
        values = outcome.values
        value = values.get(key)
        if outcome.action == CREATE:
            why = f"new lead: no lead has this {label} yet"
            first_line.setdefault(value, outcome.line)
        elif outcome.action == UPDATE:
            why = f"lead #{outcome.lead_id} has this {label}: the row's filled cells update it"
            first_line.setdefault(value, outcome.line)
        elif outcome.action == MERGE:
            earlier = first_line.get(value)
            where = f"line {earlier}" if earlier is not None else "an earlier row"
            why = f"same {label} as {where}: merged into one lead (later rows fill and overwrite)"
        else:
            why = outcome.reason
        rows.append(
            PreviewRow(
                line=outcome.line,
                action=outcome.action,
                colour=ACTION_COLOURS.get(outcome.action, "grey"),
                why=why,
                lead_id=outcome.lead_id,
                email=str(values.get("email") or ""),
                name=" ".join(
                    str(values[part]) for part in ("first_name", "last_name") if values.get(part)
                ),
                company=str(values.get("company_name") or ""),
                external_id=str(values.get("external_id") or ""),
                warnings=outcome.warnings,
                kept=outcome.kept,
            )
        )
    return rows


@viewer_page
@require_GET
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if (started := _draft_or_job_page(job)) is not None:
        return started
    options = job_options(job)
    context: dict[str, Any] = {
        "job": job,
        "step": 3,
        "key": options.key,
        "campaign": _campaign_name(job),
        "status": options.status,
        "limit": PREVIEW_ROWS,
    }
    try:
        preview = preview_job(job, now=timezone.now(), limit=PREVIEW_ROWS)
    except (MappingError, ImportFileError) as exc:
        return render(
            request, "web/imports_preview.html", context | {"error": _said(exc)}, status=400
        )
    rows = explain(preview.rows, options.key)
    shown = {action: 0 for action in ACTION_COLOURS}
    for row in rows:
        shown[row.action] = shown.get(row.action, 0) + 1
    context |= {
        "rows": rows,
        "summary": preview.summary,
        "shown": shown,
        "kept_lines": preview.kept_as_written,
    }
    return render(request, "web/imports_preview.html", context)


# --- Step 4: run ----------------------------------------------------------------------------


@viewer_page
@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if not is_draft(job):
        return redirect("web:import", pk=job.pk)
    try:
        started = start_import_job(job, now=timezone.now())
    except (MappingError, ImportFileError) as exc:
        messages.error(request, f"The import cannot start: {_said(exc)}")
        return redirect("web:import_preview", pk=job.pk)
    if started:
        messages.success(request, f"Importing {job.file_name} in the background.")
    return redirect("web:import", pk=job.pk)


@viewer_page
@require_POST
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if resume_import_job(job):
        messages.success(request, "The import goes on from where it stopped.")
    return redirect("web:import", pk=job.pk)


def _progress_context(job: ImportJob, now: datetime) -> dict[str, Any]:
    state = job_state(job)
    elapsed = ""
    rate = 0
    # A failed job's clock stops with it (and it has no finish time): no elapsed shown.
    if job.started_at is not None and state != "failed":
        end = job.finished_at if state == "done" and job.finished_at else now
        seconds = max((end - job.started_at).total_seconds(), 0.0)
        elapsed = format_seconds(seconds)
        rate = int(job.rows_done / seconds) if seconds >= 1 and job.rows_done else 0
    percent = 100 if state == "done" else int(job.progress * 100)
    return {
        "job": job,
        "state": state,
        "percent": percent,
        "elapsed": elapsed,
        "rate": rate,
        "polling": state in ("waiting", "running"),
        "upload_ttl_hours": settings.LEADLOOP_IMPORT_UPLOAD_TTL_HOURS,
        "rejects_available": state == "done" and rejects_file(job) is not None,
        "kept_lines": kept_as_written_lines(job),
    }


@viewer_page
@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if is_draft(job):
        return redirect("web:import_mapping", pk=job.pk)
    options = ImportOptions.from_dict(job.options)
    context = _progress_context(job, timezone.now()) | {
        "campaign": _campaign_name(job),
        "options": options,
        "custom_columns": sorted(
            column for column, field in options.mapping.items() if field.startswith("custom:")
        ),
    }
    return render(request, "web/imports_job.html", context)


@viewer_page
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The job page's progress panel, polled by htmx while the job is under way."""
    job = _job(request, pk)
    return render(request, "web/imports_job.html#progress", _progress_context(job, timezone.now()))


# --- Rejects --------------------------------------------------------------------------------


def rejects_file(job: ImportJob) -> Path | None:
    """The job's rejects file, only if it is a file inside DATA_DIR/imports."""
    if not job.rejects_path:
        return None
    root = (Path(settings.DATA_DIR) / "imports").resolve()
    path = Path(job.rejects_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


@viewer_page
@require_GET
def import_rejects(request: HttpRequest, pk: int) -> FileResponse:
    """The rejected rows with the reason for each; the engine neutralised every cell."""
    job = _job(request, pk)
    path = rejects_file(job) if job.status == ImportStatus.DONE else None
    if path is None:
        raise Http404("this import has no rejects file")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"import-{job.pk}-rejects.csv",
        content_type="text/csv; charset=utf-8",
    )


def _said(error: Exception) -> str:
    """The error, with how to fix it with the wizard's own controls."""
    return error.advice("wizard") if isinstance(error, MissingColumn) else str(error)
