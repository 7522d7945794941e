"""What sales does with a lead: touches, and the feedback that moves it on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from django.db import models, transaction
from django.db.models import F

from leads.choices import Segment, Stage
from leads.history import history_ids, move_rows
from leads.lifecycle import SALES_STAGES, TransitionError
from leads.models import Lead
from leads.services import transition_lead, update_lead
from routing.choices import AssignedHow
from routing.services import Handover, note_contact, note_dropped, record_assignments
from users.models import User

from .choices import CONTACT_KINDS, OpportunityStatus
from .models import Opportunity, Touch


def record_touch(
    lead: Lead,
    *,
    by: User,
    kind: str,
    outcome: str = "",
    notes: str = "",
    occurred_at: datetime | None = None,
    now: datetime,
) -> Touch:
    """Log a follow-up. The first contact (not a note) stops the SLA clock.

    A rep who touches a lead waiting unassigned in their team queue takes it.
    """
    when = occurred_at or now
    if when > now:
        raise TransitionError("occurred_at", "a touch cannot be logged in the future")
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        touch = Touch.objects.create(
            lead=locked, user=by, kind=kind, outcome=outcome, notes=notes, occurred_at=when
        )
        updates: dict[str, object] = {"touch_count": F("touch_count") + 1, "updated_at": now}
        if locked.last_touch_at is None or when > locked.last_touch_at:
            updates["last_touch_at"] = when
        if kind in CONTACT_KINDS and locked.first_touch_at is None:
            updates["first_touch_at"] = when
        is_claimed = locked.owner_id is None and by.is_rep
        if is_claimed:
            updates["owner_id"] = by.pk
            updates["assigned_at"] = now
        update_lead(locked.pk, **updates)
        if is_claimed:
            _record_claim(locked, by=by, now=now)
        if kind in CONTACT_KINDS:
            note_contact(locked.pk, when=when)
    lead.refresh_from_db()
    return touch


def accept_lead(lead: Lead, *, by: User, now: datetime) -> Lead:
    """Sales agrees the lead is worth working (SAL)."""
    with transaction.atomic():
        transition_lead(lead, Stage.ACCEPTED, now=now, by=by, reason="accepted by sales")
        if lead.owner_id is None and by.is_rep:
            update_lead(lead.pk, owner=by, assigned_at=now)
            _record_claim(lead, by=by, now=now)
            lead.owner, lead.assigned_at = by, now
    return lead


def _record_claim(lead: Lead, *, by: User, now: datetime) -> None:
    """A rep who works a lead waiting in the team queue takes it: routing's history says so."""
    claim = Handover(
        lead.pk,
        to_owner_id=by.pk,
        to_team_id=lead.team_id,
        how=AssignedHow.CLAIMED,
        from_team_id=lead.team_id,
    )
    record_assignments([claim], by=by, now=now)


def drop_lead(lead: Lead, to_stage: str, *, by: User, reason: str, now: datetime) -> Lead:
    """Disqualify the lead or move it back to nurture; if sales had it, its turn ends
    dropped (the follow-up figures count the attempts made before)."""
    was_sales = lead.stage in SALES_STAGES
    with transaction.atomic():
        transition_lead(lead, to_stage, now=now, by=by, reason=reason)
        if was_sales:
            note_dropped(lead.pk, now=now)
    return lead


def reject_lead(lead: Lead, *, by: User, reason: str, now: datetime) -> Lead:
    """Sales hands the lead back: it is recycled into nurture, never lost."""
    if lead.stage == Stage.OPPORTUNITY:
        # An opportunity ends as won or lost, so its deal is closed with it.
        raise TransitionError("action", "an opportunity is not rejected: mark it lost instead")
    with transaction.atomic():
        transition_lead(lead, Stage.RECYCLED, now=now, by=by, reason=reason)
        note_dropped(lead.pk, now=now)
        _back_to_marketing(lead)
    return lead


def convert_lead(
    lead: Lead, *, by: User, amount: Decimal, name: str = "", now: datetime
) -> Opportunity:
    """An accepted lead becomes an opportunity with an expected amount."""
    if amount < 0:
        raise TransitionError("amount", "an opportunity amount cannot be negative")
    with transaction.atomic():
        transition_lead(lead, Stage.OPPORTUNITY, now=now, by=by, reason=f"opportunity {amount}")
        return Opportunity.objects.create(
            lead=lead,
            name=name or f"{lead.company_name or lead.display_name} deal",
            amount=amount,
            opened_at=now,
            owner=lead.owner or by,
        )


def open_opportunity(lead: Lead) -> Opportunity:
    found = lead.opportunities.filter(status=OpportunityStatus.OPEN).order_by("-opened_at").first()
    if found is None:
        raise TransitionError("stage", f"lead {lead.pk} has no open opportunity")
    return found


def win_lead(lead: Lead, *, by: User, amount: Decimal | None = None, now: datetime) -> Opportunity:
    """The deal is won: the lead becomes a customer and the amount is revenue."""
    with transaction.atomic():
        opportunity = open_opportunity(lead)
        transition_lead(lead, Stage.CUSTOMER, now=now, by=by, reason="won")
        if amount is not None:
            if amount < 0:
                raise TransitionError("amount", "a won amount cannot be negative")
            opportunity.amount = amount
        opportunity.status, opportunity.closed_at = OpportunityStatus.WON, now
        opportunity.save(update_fields=["amount", "status", "closed_at"])
    return opportunity


def lose_lead(lead: Lead, *, by: User, reason: str, now: datetime) -> Opportunity:
    """The deal is lost: the lead is recycled into nurture with the reason."""
    if not reason.strip():
        # The stage change's reason is "lost: …", never empty, so the lifecycle's own
        # check cannot catch a missing reason here.
        raise TransitionError("reason", "a lost deal needs a reason")
    with transaction.atomic():
        opportunity = open_opportunity(lead)
        transition_lead(lead, Stage.RECYCLED, now=now, by=by, reason=f"lost: {reason}".strip())
        opportunity.status, opportunity.closed_at = OpportunityStatus.LOST, now
        opportunity.lost_reason = reason
        opportunity.save(update_fields=["status", "closed_at", "lost_reason"])
        _back_to_marketing(lead)
    return opportunity


def _back_to_marketing(lead: Lead) -> None:
    """A recycled lead leaves the rep's inbox and goes back to nurture."""
    update_lead(
        lead.pk,
        owner=None,
        team=None,
        sla_due_at=None,
        sla_breached_at=None,
        segment=Segment.NURTURE,
        engagement_at_recycle=F("engagement_score"),
    )
    lead.engagement_at_recycle = Lead.objects.values_list("engagement_score", flat=True).get(
        pk=lead.pk
    )
    lead.owner, lead.team, lead.sla_due_at, lead.sla_breached_at = None, None, None, None
    lead.segment = Segment.NURTURE


# Touches and opportunities: a lead's history, which follows the person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {"touches": Touch, "opportunities": Opportunity}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's touches and opportunities, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the touches and opportunities named by `ids` to the lead `to` (a merge, or its undo)."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)
