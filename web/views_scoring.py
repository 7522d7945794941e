"""The scoring model's pages (marketing and admins: `edit_scoring`): the active model as
YAML to edit, a live what-if as one types (htmx), saving (every lead rescored in the
background, with a progress bar), and the versions with view and restore. The same
services as `leadloop scoring` and /api/v1/scoring."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from qualify.document import ModelInvalid, default_document, from_yaml, to_yaml
from qualify.models import ScoringModelVersion
from qualify.services import active_version, apply_model, preview_model
from users.choices import Capability
from users.models import User
from users.permissions import may

from .decorators import viewer_page


def _editor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if not may(user, Capability.EDIT_SCORING):
        raise PermissionDenied("your role may not change the scoring model")
    return user


def _progress(version: ScoringModelVersion | None) -> dict[str, Any]:
    if version is None or version.rescore_total is None:
        return {"rescoring": None}
    total = version.rescore_total or 0
    done = min(version.rescore_done, total)
    finished = version.rescore_finished_at is not None
    return {
        "rescoring": version,
        "percent": 100 if finished or not total else int(done * 100 / total),
        "polling": not finished,
    }


@viewer_page
def scoring(request: HttpRequest) -> HttpResponse:
    """The model editor; POST saves (applies) the edited YAML."""
    user = _editor(request)
    version = active_version()
    text = to_yaml(version.document if version else default_document())
    problems: list[tuple[str, str]] = []
    status = 200
    if request.method == "POST":
        text = request.POST.get("document", "")
        note = request.POST.get("note", "").strip()
        try:
            saved = apply_model(from_yaml(text), by=user, now=timezone.now(), note=note)
        except ModelInvalid as invalid:
            problems, status = invalid.problems, 400
        else:
            messages.success(
                request, f"Version {saved.number} is active; every lead is being rescored."
            )
            return redirect("web:scoring")
    context = {
        "text": text,
        "problems": problems,
        "version": version,
        "versions": ScoringModelVersion.objects.select_related("created_by")[:50],
        **_progress(version),
    }
    return render(request, "web/scoring.html", context, status=status)


@viewer_page
@require_POST
def scoring_preview(request: HttpRequest) -> HttpResponse:
    """The what-if panel for the YAML being edited (htmx, as one types)."""
    _editor(request)
    context: dict[str, Any] = {"problems": [], "preview": None}
    try:
        context["preview"] = preview_model(
            from_yaml(request.POST.get("document", "")), now=timezone.now()
        )
    except ModelInvalid as invalid:
        context["problems"] = invalid.problems
    return render(request, "web/scoring.html#preview", context)


@viewer_page
@require_GET
def scoring_progress(request: HttpRequest, number: int) -> HttpResponse:
    """The rescoring progress bar, polled by htmx while the rescoring runs."""
    _editor(request)
    version = get_object_or_404(ScoringModelVersion, number=number)
    return render(request, "web/scoring.html#progress", _progress(version))


@viewer_page
@require_GET
def scoring_version(request: HttpRequest, number: int) -> HttpResponse:
    _editor(request)
    version = get_object_or_404(ScoringModelVersion, number=number)
    return render(
        request,
        "web/scoring_version.html",
        {"version": version, "text": to_yaml(version.document)},
    )


@viewer_page
@require_POST
def scoring_restore(request: HttpRequest, number: int) -> HttpResponse:
    user = _editor(request)
    old = get_object_or_404(ScoringModelVersion, number=number)
    saved = apply_model(
        old.document, by=user, now=timezone.now(), note=f"restored version {number}"
    )
    messages.success(request, f"Version {number} restored as version {saved.number}.")
    return redirect("web:scoring")
