"""Merging a duplicate lead into the lead that survives, and undoing it.

A merge moves every touch, event, submission, stage change, campaign membership,
opportunity, notification and assignment of the duplicate to the survivor, writes the field values
chosen for the survivor, and hides the duplicate (`Lead.merged_into`); nothing is deleted
but a campaign membership the survivor already has (the furthest status is kept). The
`MergeRecord` remembers the ids of every row moved and both leads' fields before, so
`undo_merge` moves exactly those rows back and restores both leads. Whatever happened to
the survivor after the merge (new touches, a stage move, an edited field) stays with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import Count, Max, Min

from capture import services as capture_services
from capture.models import Submission
from followup import services as followup_services
from followup.choices import CONTACT_KINDS
from followup.models import Touch
from leads import services as leads_services
from leads.errors import FieldError
from leads.history import HistoryOwner
from leads.models import CampaignMember, Lead
from leads.services import merge_memberships, restore_memberships, update_lead
from nurture import consent as nurture_consent
from nurture import lists as nurture_lists
from nurture import programs as nurture_programs
from nurture import services as nurture_services
from nurture import streams as nurture_streams
from nurture.models import ConsentState
from qualify import services as qualify_services
from qualify.services import rescore_engagement
from routing import services as routing_services
from users import services as users_services
from users.access import visible_leads
from users.models import User

from .choices import DuplicateStatus, MergeStatus
from .dedup import NotAllowed, find_duplicate_candidates, may_merge, may_undo
from .models import DuplicateCandidate, LeadMatchKeys, MergeRecord
from .rules import (
    DUPLICATE,
    MERGE_FIELDS,
    SURVIVOR,
    LeadStanding,
    MergeField,
    default_choices,
    differing_fields,
    merged_values,
    suggest_survivor,
)

# The apps whose rows are a lead's history: each moves its own (`move_lead_history`), by
# the names the snapshot keeps their ids under; campaign memberships are merged apart
# (leads.services.merge_memberships).
HISTORY_OWNERS: tuple[HistoryOwner, ...] = (
    followup_services,
    qualify_services,
    capture_services,
    leads_services,
    users_services,
    routing_services,
    nurture_services,
    nurture_lists,
    nurture_programs,
    nurture_streams,
    nurture_consent,
)
# Every table of a lead's history by that name, for the merge screen's counts.
HISTORY: dict[str, type[models.Model]] = {
    name: model for owner in HISTORY_OWNERS for name, model in owner.LEAD_HISTORY.items()
} | {"memberships": CampaignMember}
# Models pointing at Lead that are the dedup machinery itself, not the lead's history.
# ConsentState is no history either: nurture.consent rebuilds it from the consent rows
# it moves.
NOT_HISTORY: frozenset[type[models.Model]] = frozenset(
    {Lead, LeadMatchKeys, DuplicateCandidate, MergeRecord, ConsentState}
)
# Fields that must stay unique: the duplicate gives them up while it is merged.
IDENTITY = ("email", "external_id")
# Never written back by an undo: the row's identity and bookkeeping.
# A merge never moves the duplicate's stage (a merged lead is hidden, so nothing else
# does): undo leaves it, and its history, as they are.
NOT_RESTORED = frozenset({"id", "created_at", "updated_at", "stage", "stage_changed_at"})


class MergeError(FieldError):
    """A merge or undo that cannot be done, naming what stands in the way."""


# --- Snapshots --------------------------------------------------------------------------


def _dump(value: Any) -> Any:
    """A column's value as JSON keeps it exactly (DjangoJSONEncoder would cut microseconds)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _load(field: models.Field[Any, Any], value: Any) -> Any:
    if value is None or isinstance(field, models.JSONField):
        return value
    return field.to_python(value)


def _columns() -> dict[str, models.Field[Any, Any]]:
    return {field.attname: field for field in Lead._meta.concrete_fields}


def lead_values(lead: Lead) -> dict[str, Any]:
    """Every column of the lead by attname (account_id, not account)."""
    return {name: getattr(lead, name) for name in _columns()}


def _snapshot(lead: Lead) -> dict[str, Any]:
    return {name: _dump(value) for name, value in lead_values(lead).items()}


def _restore(snapshot: dict[str, Any]) -> dict[str, Any]:
    columns = _columns()
    return {
        name: _load(columns[name], value)
        for name, value in snapshot.items()
        if name in columns and name not in NOT_RESTORED
    }


# --- Merge ------------------------------------------------------------------------------


def _lock_pair(first_id: int, second_id: int) -> tuple[Lead, Lead]:
    """Both leads, locked in id order (two merges of one pair never deadlock)."""
    locked = Lead.objects.select_for_update().in_bulk(sorted({first_id, second_id}))
    return locked[first_id], locked[second_id]


def _last_seen(leads: list[Lead]) -> dict[int, datetime]:
    """When each lead last sent its data: its latest submission, else its arrival."""
    latest = dict(
        Submission.objects.filter(lead_id__in=[lead.pk for lead in leads])
        .order_by()
        .values("lead_id")
        .annotate(at=Max("received_at"))
        .values_list("lead_id", "at")
    )
    return {lead.pk: max(filter(None, [latest.get(lead.pk), lead.arrived_at])) for lead in leads}


def _history_ids(duplicate: Lead) -> dict[str, list[int]]:
    return {
        name: ids for app in HISTORY_OWNERS for name, ids in app.lead_history_ids(duplicate).items()
    }


def _move_history(
    ids: dict[str, list[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Each app moves its own rows of the lead's history."""
    moved: dict[str, int] = {}
    for app in HISTORY_OWNERS:
        moved |= app.move_lead_history(ids, to=to, only_from=only_from)
    return moved


def _first_contact_since(lead: Lead, touch_ids: list[int] | None = None) -> datetime | None:
    """The lead's first contact (not a note) since it was assigned: what stops its clock."""
    if lead.assigned_at is None:
        return None
    touches = Touch.objects.filter(
        lead=lead, kind__in=CONTACT_KINDS, occurred_at__gte=lead.assigned_at
    )
    if touch_ids is not None:
        touches = touches.filter(pk__in=touch_ids)
    return touches.aggregate(first=Min("occurred_at"))["first"]


def merge_leads(
    survivor: Lead,
    duplicate: Lead,
    *,
    field_choices: Mapping[str, str] | None = None,
    by: User,
    now: datetime,
) -> MergeRecord:
    """Merge `duplicate` into `survivor` in one transaction; returns the audit record.

    `field_choices` says, per differing field of MERGE_FIELDS, whose value the survivor
    keeps ("survivor" or "duplicate"); a field not named keeps the survivor's. Raises
    NotAllowed when `by` may not merge these leads, MergeError when they cannot be merged.
    """
    if survivor.pk == duplicate.pk:
        raise MergeError("duplicate", "a lead cannot be merged into itself")
    choices = dict(field_choices or {})
    with transaction.atomic():
        survivor, duplicate = _lock_pair(survivor.pk, duplicate.pk)
        for lead in (survivor, duplicate):
            if lead.merged_into_id is not None:
                raise MergeError("lead", f"{lead.display_name} is already merged into another lead")
        if not may_merge(by, survivor, duplicate):
            raise NotAllowed("you may not merge these leads")
        ours, theirs = lead_values(survivor), lead_values(duplicate)
        to_write = merged_values(ours, theirs, choices)
        snapshot: dict[str, Any] = {
            "survivor_before": _snapshot(survivor),
            "duplicate_before": _snapshot(duplicate),
        }

        moved = _history_ids(duplicate)
        _move_history(moved, to=survivor)
        moved["memberships"], dropped, changed = merge_memberships(survivor, duplicate)
        snapshot |= {"moved": moved, "dropped_memberships": dropped, "kept_memberships": changed}

        # The duplicate gives up its unique keys first, so the survivor may take them.
        update_lead(
            duplicate.pk,
            merged_into=survivor,
            email=None,
            external_id=None,
            # Hidden leads keep no SLA clock: the sweep must not report them overdue.
            sla_due_at=None,
            updated_at=now,
        )
        moved_touches = len(moved["touches"])
        counters: dict[str, Any] = {"touch_count": survivor.touch_count + moved_touches}
        if duplicate.last_touch_at and (
            survivor.last_touch_at is None or duplicate.last_touch_at > survivor.last_touch_at
        ):
            counters["last_touch_at"] = duplicate.last_touch_at
        if survivor.first_touch_at is None and survivor.sla_due_at is not None:
            # A contact with the duplicate since the survivor was assigned was a contact
            # with this person: it stops the survivor's clock.
            first = _first_contact_since(survivor, moved["touches"])
            if first is not None:
                counters["first_touch_at"] = first
        to_write_dumped = {name: _dump(value) for name, value in to_write.items()}
        snapshot |= {
            "survivor_set": to_write_dumped,
            "counters_set": {
                name: _dump(value) for name, value in counters.items() if name != "touch_count"
            },
        }
        update_lead(survivor.pk, **to_write, **counters, updated_at=now)

        after = {**ours, **to_write}
        kept_emails = {after["email"]}
        freed = [e for e in (ours["email"], theirs["email"]) if e and e not in kept_emails]
        candidate = (
            DuplicateCandidate.objects.select_for_update()
            .filter(
                lead_a_id=min(survivor.pk, duplicate.pk), lead_b_id=max(survivor.pk, duplicate.pk)
            )
            .first()
        )
        if candidate is not None:
            candidate.status = DuplicateStatus.MERGED
            candidate.resolved_by, candidate.resolved_at = by, now
            candidate.save(update_fields=["status", "resolved_by", "resolved_at"])
        record = MergeRecord.objects.create(
            survivor=survivor,
            duplicate=duplicate,
            candidate=candidate,
            field_choices=choices,
            snapshot=snapshot,
            freed_email=freed[0] if freed else None,
            merged_by=by,
            merged_at=now,
        )
        survivor.refresh_from_db()
        # The duplicate's events count now, and its data may match other leads.
        rescore_engagement([survivor.pk], now=now, by=by)
        find_duplicate_candidates(survivor, now=now)
    return record


# --- Undo -------------------------------------------------------------------------------


def _survivor_restore(record: MergeRecord, survivor: Lead) -> dict[str, Any]:
    """The survivor's columns the merge wrote and nobody has changed since: back to before."""
    columns = _columns()
    before = record.snapshot["survivor_before"]
    restore: dict[str, Any] = {}
    written = {**record.snapshot["survivor_set"], **record.snapshot.get("counters_set", {})}
    for name, value in written.items():
        if _dump(getattr(survivor, name)) == value:
            restore[name] = _load(columns[name], before[name])
    return restore


def _check_identity_free(record: MergeRecord, survivor_after: dict[str, Any]) -> None:
    """The duplicate's email and external id must be free to give back."""
    before = record.snapshot["duplicate_before"]
    for name in IDENTITY:
        value = before.get(name)
        if value is None:
            continue
        if survivor_after[name] == value:
            raise MergeError(
                name,
                f"{name.replace('_', ' ')} {value} was given to {record.survivor} by the"
                " merge and has changed since: change it back before undoing",
            )
        holder = (
            Lead.objects.filter(**{name: value})
            .exclude(pk__in=[record.survivor_id, record.duplicate_id])
            .first()
        )
        if holder is not None:
            raise MergeError(
                name, f"{name.replace('_', ' ')} {value} now belongs to lead #{holder.pk}"
            )


def undo_merge(record: MergeRecord, *, by: User, now: datetime) -> MergeRecord:
    """Take a merge back: the rows it moved return to the duplicate, both leads get their
    fields back, the duplicate its email and visibility, and the pair is open again.

    Activity on the survivor since the merge stays with the survivor, and a field of the
    survivor changed since keeps its new value. Raises NotAllowed or MergeError.
    """
    with transaction.atomic():
        record = MergeRecord.objects.select_for_update().get(pk=record.pk)
        if record.status != MergeStatus.APPLIED:
            raise MergeError("merge", "this merge has been undone already")
        survivor, duplicate = _lock_pair(record.survivor_id, record.duplicate_id)
        if survivor.merged_into_id is not None:
            raise MergeError(
                "merge",
                f"{survivor.display_name} was merged into another lead since: undo that first",
            )
        if duplicate.merged_into_id != survivor.pk:
            raise MergeError("merge", "the duplicate is no longer merged into this lead")
        if not may_undo(by, survivor, duplicate):
            raise NotAllowed("you may not undo this merge")
        survivor_restore = _survivor_restore(record, survivor)
        _check_identity_free(record, {**lead_values(survivor), **survivor_restore})

        snapshot = record.snapshot
        moved_back = _move_history(snapshot["moved"], to=duplicate, only_from=survivor)
        restore_memberships(
            snapshot["moved"]["memberships"],
            snapshot["dropped_memberships"],
            snapshot["kept_memberships"],
            survivor=survivor,
            duplicate=duplicate,
        )

        # The survivor first: it may give back the email the duplicate takes again.
        survivor_restore["touch_count"] = max(survivor.touch_count - moved_back["touches"], 0)
        if "last_touch_at" in survivor_restore:
            latest = Touch.objects.filter(lead=survivor).aggregate(at=Max("occurred_at"))["at"]
            before = survivor_restore["last_touch_at"]
            survivor_restore["last_touch_at"] = max(
                (at for at in (latest, before) if at is not None), default=None
            )
        if "first_touch_at" in survivor_restore:
            # Set by the merge from a moved touch: the earliest contact still here decides.
            survivor.first_touch_at = None
            survivor_restore["first_touch_at"] = _first_contact_since(survivor)
        update_lead(survivor.pk, **survivor_restore, updated_at=now)
        update_lead(duplicate.pk, **_restore(snapshot["duplicate_before"]), updated_at=now)

        if record.candidate_id is not None:
            DuplicateCandidate.objects.filter(pk=record.candidate_id).update(
                status=DuplicateStatus.OPEN, resolved_by=None, resolved_at=None
            )
        record.status = MergeStatus.UNDONE
        record.undone_by, record.undone_at = by, now
        record.save(update_fields=["status", "undone_by", "undone_at"])
        rescore_engagement([survivor.pk], now=now, by=by)
    return record


# --- What the merge screen shows --------------------------------------------------------


@dataclass(frozen=True)
class ComparedField:
    """One row of the side-by-side screen: a field's values on each lead (by attname)."""

    field: MergeField
    first: dict[str, Any]
    second: dict[str, Any]
    differs: bool
    default: str  # "first" or "second": whose value is kept unless someone says otherwise


@dataclass(frozen=True)
class Comparison:
    first: Lead
    second: Lead
    rows: list[ComparedField]
    counts: dict[int, dict[str, int]]  # lead id -> history rows by kind
    suggested_survivor: int  # a lead id


def activity_counts(lead_ids: list[int]) -> dict[int, dict[str, int]]:
    """How much history each lead has, one grouped query per kind of row."""
    counts: dict[int, dict[str, int]] = {pk: dict.fromkeys(HISTORY, 0) for pk in lead_ids}
    for name, model in HISTORY.items():
        rows = (
            model._default_manager.filter(lead_id__in=lead_ids)
            .order_by()
            .values("lead_id")
            .annotate(n=Count("pk"))
            .values_list("lead_id", "n")
        )
        for lead_id, n in rows:
            counts[lead_id][name] = n
    return counts


def compare_leads(first: Lead, second: Lead) -> Comparison:
    """Both leads field by field, with the value kept by default where they differ, taking
    `first` as the survivor (the defaults do not depend on which one survives)."""
    ours, theirs = lead_values(first), lead_values(second)
    seen = _last_seen([first, second])
    defaults = default_choices(ours, theirs, duplicate_is_newer=seen[second.pk] > seen[first.pk])
    differing = set(differing_fields(ours, theirs))
    counts = activity_counts([first.pk, second.pk])
    rows = [
        ComparedField(
            field=field,
            first={column: ours[column] for column in field.columns},
            second={column: theirs[column] for column in field.columns},
            differs=field.key in differing,
            default="second" if defaults.get(field.key) == DUPLICATE else "first",
        )
        for field in MERGE_FIELDS
    ]
    standing = [
        LeadStanding(lead.pk, lead.stage, counts[lead.pk]["touches"], lead.arrived_at)
        for lead in (first, second)
    ]
    return Comparison(first, second, rows, counts, suggest_survivor(*standing))


def choices_for(survivor_side: str, picked: dict[str, str]) -> dict[str, str]:
    """Screen choices ("first"/"second" per field) as a merge's ("survivor"/"duplicate")."""
    return {key: (SURVIVOR if side == survivor_side else DUPLICATE) for key, side in picked.items()}


def merge_history(user: User) -> models.QuerySet[MergeRecord]:
    """Merges whose surviving lead `user` may see, newest first."""
    return MergeRecord.objects.filter(survivor__in=visible_leads(user).values("pk"))
