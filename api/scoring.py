"""REST API for the scoring model: the active model as its document (the same dict the
UI edits and `leadloop scoring` reads as YAML), a what-if preview, applying a new version,
and the versions with restore. Reading is for everyone signed in; changing is the
`edit_scoring` capability's (marketing, admins). A bad model is refused whole with 422,
each bad rule named in `errors`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Body, Field, Router, Schema, Status

from api.common import api_user
from api.errors import ERROR_RESPONSES, ApiError, error_body
from qualify.document import ModelInvalid, default_document
from qualify.models import ScoringModelVersion
from qualify.services import (
    active_version,
    apply_model,
    preview_model,
)
from users.choices import Capability
from users.permissions import may

router = Router(tags=["scoring"])


class VersionOut(Schema):
    number: int
    is_active: bool
    created_at: datetime
    created_by: str | None
    note: str
    rescore_total: int | None = Field(description="Leads to rescore after it was applied")
    rescore_done: int
    rescore_summary: dict[str, Any] | None = Field(
        description="leads_rescored, moves ('from→to': count), grades_changed, seconds"
    )


class ModelOut(Schema):
    version: VersionOut | None
    document: dict[str, Any]


class PreviewOut(Schema):
    leads: int
    moves: dict[str, int] = Field(description="Segment moves, 'from→to': count")
    grades_changed: int
    grade_moves: dict[str, int]
    samples: dict[str, list[dict[str, Any]]] = Field(
        description="A few leads (id, name, new score) behind each number"
    )
    seconds: float


def _version(version: ScoringModelVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "is_active": version.is_active,
        "created_at": version.created_at,
        "created_by": version.created_by.username if version.created_by else None,
        "note": version.note,
        "rescore_total": version.rescore_total,
        "rescore_done": version.rescore_done,
        "rescore_summary": version.rescore_summary,
    }


def _editor(request: HttpRequest) -> Any:
    user = api_user(request)
    if not may(user, Capability.EDIT_SCORING):
        raise ApiError(403, "model", "your role may not change the scoring model")
    return user


def _refused(invalid: ModelInvalid) -> Status[dict[str, Any]]:
    return Status(422, error_body(invalid.problems, detail=f"the model was not applied: {invalid}"))


@router.get(
    "/scoring/model",
    response={200: ModelOut, **ERROR_RESPONSES},
    summary="The active scoring model",
)
def get_model(request: HttpRequest) -> dict[str, Any]:
    api_user(request)
    version = active_version()
    return {
        "version": _version(version) if version else None,
        "document": version.document if version else default_document(),
    }


@router.put(
    "/scoring/model",
    response={200: ModelOut, **ERROR_RESPONSES},
    summary="Apply a new scoring model (rescores every lead in the background)",
)
def put_model(request: HttpRequest, document: Body[dict[str, Any]], note: str = "") -> Any:
    user = _editor(request)
    try:
        version = apply_model(document, by=user, now=timezone.now(), note=note)
    except ModelInvalid as invalid:
        return _refused(invalid)
    return {"version": _version(version), "document": version.document}


@router.post(
    "/scoring/model/preview",
    response={200: PreviewOut, **ERROR_RESPONSES},
    summary="What a scoring model would change on the current leads (nothing is saved)",
)
def post_preview(request: HttpRequest, document: Body[dict[str, Any]]) -> Any:
    _editor(request)
    try:
        return preview_model(document, now=timezone.now()).as_dict()
    except ModelInvalid as invalid:
        return _refused(invalid)


@router.get(
    "/scoring/versions",
    response={200: list[VersionOut], **ERROR_RESPONSES},
    summary="Every version, newest first",
)
def list_versions(request: HttpRequest) -> list[dict[str, Any]]:
    api_user(request)
    return [_version(v) for v in ScoringModelVersion.objects.select_related("created_by")[:200]]


@router.get(
    "/scoring/versions/{number}",
    response={200: ModelOut, **ERROR_RESPONSES},
    summary="One version and its document",
)
def get_version(request: HttpRequest, number: int) -> dict[str, Any]:
    api_user(request)
    version = ScoringModelVersion.objects.filter(number=number).first()
    if version is None:
        raise ApiError(404, "number", f"no scoring model version {number}")
    return {"version": _version(version), "document": version.document}


@router.post(
    "/scoring/versions/{number}/restore",
    response={200: ModelOut, **ERROR_RESPONSES},
    summary="Apply an earlier version again (as a new version copying it)",
)
def post_restore(request: HttpRequest, number: int) -> Any:
    user = _editor(request)
    if not ScoringModelVersion.objects.filter(number=number).exists():
        raise ApiError(404, "number", f"no scoring model version {number}")
    old = ScoringModelVersion.objects.get(number=number)
    try:
        version = apply_model(
            old.document, by=user, now=timezone.now(), note=f"restored version {number}"
        )
    except ModelInvalid as invalid:
        return _refused(invalid)
    return {"version": _version(version), "document": version.document}
