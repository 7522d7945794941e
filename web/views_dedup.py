"""Likely duplicates: the review queue, the side-by-side merge screen, the merge history.

Thin adapters over `identity.dedup` and `identity.merging`, like web/views.py. A pair is
found only among the open pairs of which the viewer sees both leads (else 404); whether
the viewer may merge them is the service's call (NotAllowed becomes a 403).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone, translation
from django.views.decorators.http import require_GET, require_POST

from identity.dedup import NotAllowed, dismiss_candidate, may_merge, open_candidates
from identity.forms import MergeForm
from identity.merging import (
    ComparedField,
    Comparison,
    MergeError,
    choices_for,
    compare_leads,
    merge_history,
    merge_leads,
    undo_merge,
)
from identity.models import DuplicateCandidate, MergeRecord
from leads.choices import Authority, Channel, Timeline
from leads.countries import country_name
from leads.errors import FieldError
from leads.models import Lead
from users.models import User

from .decorators import viewer_page

PAGE_SIZE = 50
LABELS: dict[str, dict[str, str]] = {
    "source": dict(Channel.choices),
    "authority": dict(Authority.choices),
    "timeline": dict(Timeline.choices),
}
HISTORY_LABELS = (
    ("touches", "touch", "touches"),
    ("events", "event", "events"),
    ("stage_changes", "stage change", "stage changes"),
    ("submissions", "submission", "submissions"),
    ("memberships", "campaign", "campaigns"),
    ("opportunities", "opportunity", "opportunities"),
    ("assignments", "assignment", "assignments"),
)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    return user


def _candidate_or_404(request: HttpRequest, pk: int) -> DuplicateCandidate:
    return get_object_or_404(
        open_candidates(_user(request)).select_related(
            "lead_a__account", "lead_a__owner", "lead_a__first_campaign",
            "lead_b__account", "lead_b__owner", "lead_b__first_campaign",
        ),
        pk=pk,
    )  # fmt: skip


# --- Review queue -----------------------------------------------------------------------


@viewer_page
@require_GET
def duplicates(request: HttpRequest) -> HttpResponse:
    candidates = open_candidates(_user(request)).select_related(
        "lead_a__owner", "lead_b__owner", "lead_a__account", "lead_b__account"
    )
    page = Paginator(candidates, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/duplicates.html", {"page": page})


# --- The merge screen -------------------------------------------------------------------


def _show(value: Any, column: str, lead: Lead, language: str) -> str:
    """One column's value as the screen shows it."""
    if column == "account_id":
        return f"account {lead.account.name}" if lead.account else ""
    if column == "first_campaign_id":
        return lead.first_campaign.name if lead.first_campaign else ""
    if column in LABELS:
        return LABELS[column].get(value, value or "")
    if column == "country":
        return country_name(value, language) if value else ""
    if column == "budget":
        return f"{value} {settings.LEADLOOP_CURRENCY}" if value is not None else ""
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "j M Y, H:i")
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in sorted(value.items()))
    return "" if value is None else str(value)


def _cells(row: ComparedField, values: dict[str, Any], lead: Lead, language: str) -> list[str]:
    return [
        text
        for column in row.field.columns
        if (text := _show(values[column], column, lead, language))
    ]


def _context(
    request: HttpRequest, candidate: DuplicateCandidate, comparison: Comparison, form: MergeForm
) -> dict[str, Any]:
    first, second = comparison.first, comparison.second
    language = translation.get_language_from_request(request)
    rows = [
        {
            "key": row.field.key,
            "label": row.field.label,
            "first": _cells(row, row.first, first, language),
            "second": _cells(row, row.second, second, language),
            "differs": row.differs,
            "checked": form.checked(row.field.key) if row.differs else "",
        }
        for row in comparison.rows
    ]
    histories = [
        (
            plural,
            *(
                (count, singular if count == 1 else plural)
                for count in (comparison.counts[lead.pk][name] for lead in (first, second))
            ),
        )
        for name, singular, plural in HISTORY_LABELS
    ]
    return {
        "candidate": candidate,
        "first": first,
        "second": second,
        "rows": rows,
        "histories": histories,
        "form": form,
        "survivor": form.checked("survivor"),
        "may_merge": may_merge(_user(request), first, second),
        "differing": sum(1 for row in rows if row["differs"]),
    }


@viewer_page
@require_GET
def duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = _candidate_or_404(request, pk)
    comparison = compare_leads(candidate.lead_a, candidate.lead_b)
    form = MergeForm(comparison=comparison)
    return render(request, "web/merge.html", _context(request, candidate, comparison, form))


@viewer_page
@require_POST
def duplicate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    candidate = _candidate_or_404(request, pk)
    comparison = compare_leads(candidate.lead_a, candidate.lead_b)
    form = MergeForm(request.POST, comparison=comparison)
    if form.is_valid():
        side = form.cleaned_data["survivor"]
        survivor, duplicate = (
            (comparison.first, comparison.second)
            if side == "first"
            else (comparison.second, comparison.first)
        )
        try:
            merge_leads(
                survivor,
                duplicate,
                field_choices=choices_for(side, form.picked()),
                by=_user(request),
                now=now,
            )
        except NotAllowed as error:
            raise PermissionDenied(str(error)) from error
        except (MergeError, FieldError) as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                f"{duplicate.display_name} was merged into {survivor.display_name}."
                " It can be undone from Merges.",
            )
            return redirect("web:lead", pk=survivor.pk)
    context = _context(request, candidate, comparison, form)
    return render(request, "web/merge.html", context, status=400)


@viewer_page
@require_POST
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = _candidate_or_404(request, pk)
    try:
        dismiss_candidate(candidate, by=_user(request), now=timezone.now())
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    messages.success(
        request,
        f"{candidate.lead_a.display_name} and {candidate.lead_b.display_name}"
        " are kept apart: not the same person.",
    )
    return redirect("web:duplicates")


# --- Merge history ----------------------------------------------------------------------


@viewer_page
@require_GET
def merges(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    records = merge_history(user).select_related(
        "survivor__owner", "duplicate__owner", "merged_by", "undone_by"
    )
    lead_id = request.GET.get("lead", "")
    if lead_id.isdigit():
        records = records.filter(survivor_id=int(lead_id))
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    for record in page.object_list:
        # For the button only: undo_merge decides (and answers 403 when it says no).
        record.may_undo = not user.is_rep or (  # type: ignore[attr-defined]
            record.survivor.owner_id == user.pk and record.duplicate.owner_id == user.pk
        )
    return render(request, "web/merges.html", {"page": page})


@viewer_page
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    record: MergeRecord = get_object_or_404(merge_history(_user(request)), pk=pk)
    try:
        undo_merge(record, by=_user(request), now=timezone.now())
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except MergeError as error:
        messages.error(request, f"Not undone: {error.message}")
    else:
        messages.success(
            request,
            f"Merge undone: {record.duplicate.display_name} is a lead of its own again.",
        )
    return redirect("web:merges")
