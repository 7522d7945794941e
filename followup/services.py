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

from . import cadences
from .choices import (
    CONTACT_KINDS,
    CONTACT_OUTCOMES,
    EnrolmentStatus,
    OpportunityStatus,
    TaskStatus,
    TouchOutcome,
)
from .models import Enrolment, Opportunity, Task, Touch
from .rules import attempts_summary


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

    A rep who touches a lead waiting unassigned in their team queue takes it. The touch
    does the lead's open cadence task if it is of the task's kind (a call logged on the
    lead page does the call task), bringing up the next; a touch that reached the person
    (connected, replied, meeting booked…) ends the lead's cadence.
    """
    touch, _ = _record_touch(
        lead, by=by, kind=kind, outcome=outcome, notes=notes, occurred_at=occurred_at, now=now
    )
    return touch


def _record_touch(
    lead: Lead,
    *,
    by: User,
    kind: str,
    outcome: str = "",
    notes: str = "",
    occurred_at: datetime | None = None,
    now: datetime,
    task: Task | None = None,
) -> tuple[Touch, Task | None]:
    """record_touch, doing `task` (or the lead's open task of the touch's kind); returns
    the touch and the cadence's next task, if one came up."""
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
        if task is None:
            task = next(
                (
                    open_task
                    for open_task in Task.objects.select_for_update().filter(
                        lead=locked, status=TaskStatus.OPEN
                    )
                    if open_task.touch_kind == kind
                ),
                None,
            )
        if task is not None:
            task.status, task.completed_at, task.completed_by = TaskStatus.DONE, now, by
            task.outcome, task.touch = outcome, touch
            task.save(update_fields=["status", "completed_at", "completed_by", "outcome", "touch"])
        following = None
        if outcome in CONTACT_OUTCOMES:
            label = dict(TouchOutcome.choices)[outcome].lower()
            cadences.end_enrolments(
                [locked.pk], status=EnrolmentStatus.CONTACTED, reason=f"contact: {label}", now=now
            )
        elif task is not None:
            enrolment = Enrolment.objects.get(pk=task.enrolment_id)
            if enrolment.status == EnrolmentStatus.ACTIVE:
                following = cadences.advance(enrolment, task, team_id=locked.team_id, now=now)
    lead.refresh_from_db()
    return touch, following


def complete_task(
    task: Task, *, by: User, outcome: str = "", notes: str = "", now: datetime
) -> tuple[Touch, Task | None]:
    """Do a cadence task: log its touch with the outcome (the channel's kind of touch, so
    the SLA clock and the attempts count it) and bring up the next step's task. Contact
    made ends the cadence instead; the last step done without contact sets the moment the
    lead goes back to marketing (the sweep, `run_due`). Who may is `followup.actions`'."""
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.status != TaskStatus.OPEN:
            raise TransitionError(
                "task", f"task {task.pk} is {locked.get_status_display().lower()}"
            )
        touch, following = _record_touch(
            locked.lead,
            by=by,
            kind=locked.touch_kind,
            outcome=outcome,
            notes=notes,
            now=now,
            task=locked,
        )
    task.refresh_from_db()
    return touch, following


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
        stop_cadence(lead, reason=f"{to_stage}: {reason}", now=now)
    return lead


def reject_lead(lead: Lead, *, by: User, reason: str, now: datetime) -> Lead:
    """Sales hands the lead back: it is recycled into nurture, never lost."""
    if lead.stage == Stage.OPPORTUNITY:
        # An opportunity ends as won or lost, so its deal is closed with it.
        raise TransitionError("action", "an opportunity is not rejected: mark it lost instead")
    with transaction.atomic():
        transition_lead(lead, Stage.RECYCLED, now=now, by=by, reason=reason)
        note_dropped(lead.pk, now=now)
        _back_to_marketing(lead, now=now, reason=f"rejected: {reason}")
    return lead


def convert_lead(
    lead: Lead, *, by: User, amount: Decimal, name: str = "", now: datetime
) -> Opportunity:
    """An accepted lead becomes an opportunity with an expected amount."""
    if amount < 0:
        raise TransitionError("amount", "an opportunity amount cannot be negative")
    with transaction.atomic():
        transition_lead(lead, Stage.OPPORTUNITY, now=now, by=by, reason=f"opportunity {amount}")
        cadences.end_enrolments(
            [lead.pk], status=EnrolmentStatus.CONTACTED, reason="opportunity opened", now=now
        )
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
        _back_to_marketing(lead, now=now, reason=f"lost: {reason}")
    return opportunity


def stop_cadence(lead: Lead, *, reason: str, now: datetime) -> None:
    """The lead left sales' hands (disqualified, back to nurture): its cadence stops."""
    cadences.end_enrolments([lead.pk], status=EnrolmentStatus.STOPPED, reason=reason, now=now)


def _back_to_marketing(lead: Lead, *, now: datetime, reason: str) -> None:
    """A recycled lead leaves the rep's inbox and goes back to nurture; its cadence stops."""
    stop_cadence(lead, reason=reason, now=now)
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


def hand_back_ran_out(enrolment: Enrolment, *, now: datetime) -> bool:
    """A cadence that ran out without contact hands its lead back to marketing: recycled,
    with the reason and the attempts made, never lost. False when the lead had left sales
    already (the cadence just stops)."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=enrolment.lead_id)
        if lead.stage not in cadences.WORKED_STAGES:
            stop_cadence(lead, reason="the lead left sales", now=now)
            return False
        summary = attempts_summary(cadences.attempt_counts(lead), cadences.policy_of(lead.team_id))
        reason = cadences.ran_out_reason(enrolment, summary)
        transition_lead(lead, Stage.RECYCLED, now=now, by=None, reason=reason)
        note_dropped(lead.pk, now=now)
        cadences.end_enrolments([lead.pk], status=EnrolmentStatus.RAN_OUT, reason=reason, now=now)
        _back_to_marketing(lead, now=now, reason=reason)
    return True


def run_due(*, now: datetime, batch_size: int = 500) -> int:
    """The cadence sweep: hand back to marketing the leads whose cadence ran out without
    contact (their hand-back moment passed), and stop the cadences of leads that left
    sales another way. Idempotent: a cadence is ended once, under its row lock (SKIP
    LOCKED, so several workers may sweep at once). Returns how many leads it handed back
    or stopped."""
    acted = 0
    while True:
        with transaction.atomic():
            batch = list(
                Enrolment.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=EnrolmentStatus.ACTIVE, hand_back_at__lte=now)
                .select_related("cadence")
                .order_by("hand_back_at")[:batch_size]
            )
            for enrolment in batch:
                hand_back_ran_out(enrolment, now=now)
            acted += len(batch)
        if len(batch) < batch_size:
            break
    stale = list(
        Enrolment.objects.filter(cadences.stale_enrolments()).values_list("lead_id", flat=True)[
            :10_000
        ]
    )
    if stale:
        acted += cadences.end_enrolments(
            stale, status=EnrolmentStatus.STOPPED, reason="the lead left sales", now=now
        )
    return acted


# Touches, opportunities, cadence runs and tasks: a lead's history, which follows the
# person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {
    "touches": Touch,
    "opportunities": Opportunity,
    "enrolments": Enrolment,
    "tasks": Task,
}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's touches, opportunities, enrolments and tasks, as
    identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the rows named by `ids` to the lead `to` (a merge, or its undo). A lead is in
    one cadence at a time: an active one arriving at a lead that has its own is stopped
    (its open tasks cancelled) before it moves."""
    if Enrolment.objects.filter(lead=to, status=EnrolmentStatus.ACTIVE).exists():
        arriving = Enrolment.objects.filter(
            pk__in=ids.get("enrolments", ()), status=EnrolmentStatus.ACTIVE
        ).exclude(lead=to)
        Task.objects.filter(enrolment__in=arriving, status=TaskStatus.OPEN).update(
            status=TaskStatus.CANCELLED
        )
        arriving.update(status=EnrolmentStatus.STOPPED, end_reason=f"merged into lead {to.pk}")
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)
