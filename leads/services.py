"""Operations on the core records: the only place a lead changes stage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction

from users.models import User

from .choices import MemberStatus
from .lifecycle import check_transition
from .models import Campaign, CampaignMember, Lead, StageChange

# How far a membership status has gone: a later import of "registered" never undoes
# "attended".
MEMBER_STATUS_RANK: dict[str, int] = {
    MemberStatus.REGISTERED: 0,
    MemberStatus.NO_SHOW: 1,
    MemberStatus.RESPONDED: 2,
    MemberStatus.ATTENDED: 3,
}


def transition_lead(
    lead: Lead,
    to_stage: str,
    *,
    now: datetime,
    by: User | None = None,
    reason: str = "",
) -> Lead:
    """Move `lead` to `to_stage` if the lifecycle allows it, recording a StageChange.

    Raises `TransitionError` naming the offending field otherwise. The lead row is locked
    so two concurrent moves cannot both start from the same stage.
    """
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        check_transition(locked.stage, to_stage, reason)
        StageChange.objects.create(
            lead=locked,
            from_stage=locked.stage,
            to_stage=to_stage,
            changed_at=now,
            changed_by=by,
            reason=reason.strip(),
        )
        Lead.objects.filter(pk=locked.pk).update(
            stage=to_stage, stage_changed_at=now, updated_at=now
        )
    lead.stage = to_stage
    lead.stage_changed_at = now
    return lead


def move_leads(
    leads: list[Lead],
    to_stage: str,
    *,
    now: datetime,
    by: User | None = None,
    reason: Callable[[Lead, str], str] | None = None,
) -> None:
    """transition_lead for many leads at once: a StageChange each (bulk) and one UPDATE.

    The caller holds the leads' rows (locked, or created in its transaction) and their
    current stage; `reason(lead, to_stage)` says why. A move the lifecycle does not allow
    raises TransitionError before anything is written."""
    why = {lead.pk: reason(lead, to_stage).strip() if reason else "" for lead in leads}
    for lead in leads:
        check_transition(lead.stage, to_stage, why[lead.pk])
    StageChange.objects.bulk_create(
        StageChange(
            lead=lead, from_stage=lead.stage, to_stage=to_stage, changed_at=now, changed_by=by,
            reason=why[lead.pk],
        )
        for lead in leads
    )  # fmt: skip
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        stage=to_stage, stage_changed_at=now, updated_at=now
    )
    for lead in leads:
        lead.stage, lead.stage_changed_at = to_stage, now


def record_arrival(lead: Lead, *, now: datetime, by: User | None = None, reason: str = "") -> None:
    """The first StageChange of a new lead: from nothing to `new`."""
    StageChange.objects.create(
        lead=lead, from_stage="", to_stage=lead.stage, changed_at=now, changed_by=by, reason=reason
    )


def add_to_campaign(
    lead: Lead, campaign: Campaign, *, status: str = MemberStatus.REGISTERED, now: datetime
) -> CampaignMember:
    """Make `lead` a member of `campaign`; a status only ever moves forward."""
    member, created = CampaignMember.objects.get_or_create(
        campaign=campaign, lead=lead, defaults={"status": status, "joined_at": now}
    )
    if not created and MEMBER_STATUS_RANK.get(status, 0) > MEMBER_STATUS_RANK.get(member.status, 0):
        member.status = status
        member.save(update_fields=["status", "updated_at"])
    return member


def follow_merges(leads: dict[int, Lead]) -> dict[int, Lead]:
    """The same keys, each mapped to the lead it was merged into (along a chain of merges);
    a lead not merged maps to itself."""
    resolved = dict(leads)
    for _ in range(10):  # a chain longer than this is not made by people
        pending = {pk: lead.merged_into_id for pk, lead in resolved.items() if lead.merged_into_id}
        if not pending:
            break
        targets = Lead.objects.in_bulk(set(pending.values()))
        for pk, target_id in pending.items():
            if target_id in targets:
                resolved[pk] = targets[target_id]
    return resolved
