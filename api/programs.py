"""REST API for nurture programs (`nurture.programs`): everyone reads programs and the runs
of the leads they see; marketing and admins create and change them from the program
document (JSON here, YAML at /programs/apply — the same document `leadloop nurture
export` writes), pause and resume them, and enrol leads (403 for other roles; 422 naming
the step and field at fault)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from api.common import InputSchema, RowId, api_user
from api.errors import ERROR_RESPONSES, ApiError
from nurture import programs
from nurture.choices import EnrolmentStatus, ProgramStatus
from nurture.models import Program

router = Router(tags=["programs"])

DOCUMENT_HELP = (
    "The program document: name, description, status (draft, active, paused), purpose"
    " (the consent purpose its emails go under), allow_reentry, entry (rules: {list},"
    " {segment}, {campaign, status}, {recycle_reason}), goals ({event, property}), steps"
    " (each {name, kind, …}: send_email {template}, wait {days|hours|minutes} or {weekday,"
    " hour}, branch {if: opened|clicked|not_opened|not_clicked, within_hours} or"
    " {condition} or {in_list} with yes_next / no_next, add_to_list / remove_from_list"
    " {list}, notify {to: owner|team, message}, hand_to_sales {reason}, end). See the"
    " README, 'Nurture programs'."
)


class StepOut(Schema):
    id: int
    position: int
    name: str
    kind: str
    at_step: int = Field(description="Leads at this step now")
    reached: int = Field(description="Leads that reached this step")
    sent: int = Field(description="Emails of this step sent")
    opened: int
    clicked: int
    went_yes: int = Field(description="A branch: leads that went the yes way")
    went_no: int


class ProgramOut(Schema):
    id: int
    name: str
    status: ProgramStatus
    purpose: str
    allow_reentry: bool
    runs: dict[str, int] = Field(description="Runs by status: active, completed, goal, exited")
    created_at: datetime
    updated_at: datetime


class ProgramDetailOut(ProgramOut):
    document: dict[str, Any] = Field(description=DOCUMENT_HELP)
    steps: list[StepOut]


class ProgramPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[ProgramOut]


class Paging(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0)


class RunFilters(Paging):
    status: EnrolmentStatus | None = None


class RunOut(Schema):
    id: int
    lead_id: int
    lead_email: str | None
    step: str | None
    status: EnrolmentStatus
    due_at: datetime | None
    entered_at: datetime
    entered_how: str
    ended_at: datetime | None
    ended_reason: str


class RunPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[RunOut]


class LeadIdsIn(InputSchema):
    lead_ids: list[RowId] = Field(min_length=1, max_length=10000)


class EnrolledOut(Schema):
    enrolled: int = Field(description="Leads enrolled now (already in, or not to be: left out)")


class ExitedOut(Schema):
    exited: int = Field(description="Runs ended (leads you may not see are left out)")


class AppliedOut(Schema):
    program: ProgramDetailOut | None = Field(description="None on a dry run of a new program")
    created: bool
    steps_added: list[str]
    steps_changed: list[str]
    steps_removed: list[str]
    runs_ended: int = Field(description="Runs at removed steps, ended")


def program_out(program: Program) -> dict[str, Any]:
    return {
        "id": program.pk,
        "name": program.name,
        "status": program.status,
        "purpose": program.purpose,
        "allow_reentry": program.allow_reentry,
        "runs": programs.run_counts(program),
        "created_at": program.created_at,
        "updated_at": program.updated_at,
    }


def detail_out(program: Program) -> dict[str, Any]:
    return program_out(program) | {
        "document": programs.document_of(program),
        "steps": [
            {
                "id": s.step.pk,
                "position": s.step.position,
                "name": s.step.name,
                "kind": s.step.kind,
                "at_step": s.at_step,
                "reached": s.step.reached,
                "sent": s.sent,
                "opened": s.opened,
                "clicked": s.clicked,
                "went_yes": s.step.went_yes,
                "went_no": s.step.went_no,
            }
            for s in programs.step_stats(program)
        ],
    }


# The document is free-form JSON checked by the service (which names the step and
# field at fault), not a schema of Ninja's: one checker for JSON, YAML and the forms.
DOCUMENT_BODY = {
    "requestBody": {
        "description": DOCUMENT_HELP,
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "body", f"not JSON: {error}") from None


def _get(program_id: int) -> Program:
    found = Program.objects.filter(pk=program_id).first()
    if found is None:
        raise ApiError(404, "program_id", f"no program with id {program_id}")
    return found


def _applied(done: programs.Applied) -> dict[str, Any]:
    return {
        "program": detail_out(done.program) if done.program.pk else None,
        "created": done.created,
        "steps_added": done.steps_added,
        "steps_changed": done.steps_changed,
        "steps_removed": done.steps_removed,
        "runs_ended": done.runs_ended,
    }


@router.get("/programs", response={200: ProgramPageOut, **ERROR_RESPONSES}, summary="Programs")
def get_programs(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    api_user(request)
    found = Program.objects.order_by("name")
    page = found[paging.offset : paging.offset + paging.limit]
    return {
        "count": found.count(),
        "limit": paging.limit,
        "offset": paging.offset,
        "items": [program_out(p) for p in page],
    }


@router.post(
    "/programs",
    response={201: ProgramDetailOut, **ERROR_RESPONSES},
    summary="Create a program from its document",
    openapi_extra=DOCUMENT_BODY,
)
def post_program(request: HttpRequest) -> Status[dict[str, Any]]:
    user = api_user(request)
    document = _json_body(request)
    name = str(document.get("name") or "").strip() if isinstance(document, dict) else ""
    if name and Program.objects.filter(name=name).exists():
        raise ApiError(409, "name", f"a program called {document.get('name')!r} exists: PUT it")
    done = programs.apply_document(document, by=user, now=timezone.now())
    return Status(201, detail_out(done.program))


@router.post(
    "/programs/apply",
    response={200: AppliedOut, **ERROR_RESPONSES},
    summary="Create or update a program from its YAML (or JSON) document",
    openapi_extra={
        "requestBody": {
            "description": DOCUMENT_HELP,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
)
def apply_program(request: HttpRequest, dry_run: bool = False) -> dict[str, Any]:
    user = api_user(request)
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "body", "the document must be UTF-8 text") from None
    document = programs.from_text(text)
    done = programs.apply_document(document, by=user, now=timezone.now(), dry_run=dry_run)
    return _applied(done)


@router.get(
    "/programs/{program_id}",
    response={200: ProgramDetailOut, **ERROR_RESPONSES},
    summary="A program: its document and per-step counts",
)
def get_program(request: HttpRequest, program_id: int) -> dict[str, Any]:
    api_user(request)
    return detail_out(_get(program_id))


@router.put(
    "/programs/{program_id}",
    response={200: ProgramDetailOut, **ERROR_RESPONSES},
    summary="Replace a program's document (steps matched by name keep their leads)",
    openapi_extra=DOCUMENT_BODY,
)
def put_program(request: HttpRequest, program_id: int) -> dict[str, Any]:
    user = api_user(request)
    document = _json_body(request)
    found = _get(program_id)
    done = programs.apply_document(document, by=user, now=timezone.now(), program=found)
    return detail_out(done.program)


@router.delete(
    "/programs/{program_id}", response={204: None, **ERROR_RESPONSES}, summary="Delete a program"
)
def delete_program(request: HttpRequest, program_id: int) -> Status[None]:
    user = api_user(request)
    programs.delete_program(_get(program_id), by=user, now=timezone.now())
    return Status(204, None)


@router.post(
    "/programs/{program_id}/pause",
    response={200: ProgramOut, **ERROR_RESPONSES},
    summary="Pause: queued emails held, runs stop where they are",
)
def pause_program(request: HttpRequest, program_id: int) -> dict[str, Any]:
    user = api_user(request)
    return program_out(programs.pause(_get(program_id), by=user, now=timezone.now()))


@router.post(
    "/programs/{program_id}/resume",
    response={200: ProgramOut, **ERROR_RESPONSES},
    summary="Resume (or start) a program",
)
def resume_program(request: HttpRequest, program_id: int) -> dict[str, Any]:
    user = api_user(request)
    return program_out(programs.resume(_get(program_id), by=user, now=timezone.now()))


@router.post(
    "/programs/{program_id}/enrolments",
    response={200: EnrolledOut, **ERROR_RESPONSES},
    summary="Enrol leads by hand (leads you may not see, or sales' leads, are left out)",
)
def enrol(request: HttpRequest, program_id: int, payload: LeadIdsIn) -> dict[str, Any]:
    user = api_user(request)
    count = programs.enrol_leads(_get(program_id), payload.lead_ids, by=user, now=timezone.now())
    return {"enrolled": count}


@router.delete(
    "/programs/{program_id}/enrolments",
    response={200: ExitedOut, **ERROR_RESPONSES},
    summary="Take leads out of the program by hand (their active runs end, exited)",
)
def unenrol(request: HttpRequest, program_id: int, payload: LeadIdsIn) -> dict[str, Any]:
    user = api_user(request)
    count = programs.exit_leads(_get(program_id), payload.lead_ids, by=user, now=timezone.now())
    return {"exited": count}


@router.get(
    "/programs/{program_id}/enrolments",
    response={200: RunPageOut, **ERROR_RESPONSES},
    summary="The program's runs of the leads you see, newest first",
)
def get_enrolments(
    request: HttpRequest, program_id: int, filters: Query[RunFilters]
) -> dict[str, Any]:
    user = api_user(request)
    rows = programs.enrolments(_get(program_id), viewer=user, status=filters.status)
    page = rows[filters.offset : filters.offset + filters.limit]
    return {
        "count": rows.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [
            {
                "id": run.pk,
                "lead_id": run.lead_id,
                "lead_email": run.lead.email,
                "step": run.step.name if run.step else None,
                "status": run.status,
                "due_at": run.due_at,
                "entered_at": run.entered_at,
                "entered_how": run.entered_how,
                "ended_at": run.ended_at,
                "ended_reason": run.ended_reason,
            }
            for run in page
        ],
    }


@router.get(
    "/programs/{program_id}/export",
    response={200: None, **ERROR_RESPONSES},
    summary="The program's document as YAML (what /programs/apply and `leadloop nurture apply` read)",
)
def export_program(request: HttpRequest, program_id: int) -> HttpResponse:
    api_user(request)
    found = _get(program_id)
    response = HttpResponse(
        programs.to_yaml(programs.document_of(found)), content_type="application/yaml"
    )
    response["Content-Disposition"] = f'attachment; filename="program-{found.pk}.yaml"'
    return response
