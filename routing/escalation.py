"""The SLA ladder's sweep: reminders before the deadline, then, when nobody touched the
lead, reassignment to the next rep and the hand-back to marketing, each at the moment
its team's policy set when the clock started (`routing.sla.schedule_ladders`). The
breach itself is marked by `routing.services.run_due`."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F

from leads.choices import Segment, Stage
from leads.lifecycle import SALES_STAGES, TransitionError
from leads.models import Lead
from leads.services import transition_lead, update_lead
from users.choices import NotificationKind, Role
from users.models import User
from users.services import Message, notify_many

from .choices import SlaStepKind, SlaStepOutcome
from .models import SlaStep
from .router import Router, lead_facts
from .services import decide_routable, reassign_lead, routable_of

log = logging.getLogger(__name__)

NOT_WORKED = "not worked in time"


def run_due(*, now: datetime, batch_size: int = 200) -> int:
    """Act on every rung whose time has come, oldest first, and mark it done or skipped
    (its clock had stopped) in the same transaction as what it did.

    An idempotent sweep over the partial index `slastep_due`: rungs are claimed with
    SKIP LOCKED and their leads locked in id order, so several workers share the work
    without doing a rung twice or deadlocking; a rung once done is never pending again,
    so a second run changes nothing. Returns how many rungs were acted on (skipped ones
    not counted)."""
    acted = 0
    while True:
        with transaction.atomic():
            steps = list(
                SlaStep.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(done_at__isnull=True, due_at__lte=now)
                .order_by("due_at", "pk")[:batch_size]
            )
            if not steps:
                return acted
            lead_ids = sorted({step.lead_id for step in steps})
            leads = {
                lead.pk: lead
                for lead in Lead.objects.select_for_update(of=("self",))
                .filter(pk__in=lead_ids)
                .select_related("owner", "team", "account__owner", "first_campaign")
                .order_by("pk")
            }
            managers = _managers({lead.team_id for lead in leads.values() if lead.team_id})
            # Everyone's messages of the batch in one INSERT, in the batch's transaction.
            messages: list[Message] = []
            for step in steps:
                acted += _take(step, leads.get(step.lead_id), managers, messages, now=now)
            notify_many(messages, now=now)
        if len(steps) < batch_size:
            return acted


def _managers(team_ids: set[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for manager_id, team_id in User.objects.filter(
        team_id__in=team_ids, role=Role.SALES_MANAGER, is_active=True
    ).values_list("pk", "team_id"):
        found.setdefault(team_id, []).append(manager_id)
    return found


def _still_running(step: SlaStep, lead: Lead | None) -> bool:
    """The rung's clock is the lead's clock now, and nobody has touched the lead."""
    return (
        lead is not None
        and lead.first_touch_at is None
        and lead.stage in SALES_STAGES
        and lead.sla_due_at == step.clock_due_at
    )


def _take(
    step: SlaStep,
    lead: Lead | None,
    managers: dict[int, list[int]],
    messages: list[Message],
    *,
    now: datetime,
) -> int:
    # Claimed by one conditional UPDATE, in the transaction of what the rung does: a
    # second worker (SQLite has no row locks to skip) finds it taken and does nothing.
    if not SlaStep.objects.filter(pk=step.pk, done_at__isnull=True).update(done_at=now):
        return 0
    outcome: str = SlaStepOutcome.SKIPPED
    detail = "the clock had stopped"
    if _still_running(step, lead):
        assert lead is not None
        try:
            match step.kind:
                case SlaStepKind.REMIND:
                    outcome, detail = _remind(step, lead, messages, now=now)
                case SlaStepKind.REASSIGN:
                    outcome, detail = _reassign(step, lead, managers, messages, now=now)
                case SlaStepKind.RECYCLE:
                    outcome, detail = _recycle(step, lead, managers, messages, now=now)
                case _:
                    detail = f"nothing to do for a {step.kind} rung"
        except TransitionError as error:
            log.warning("SLA rung %s of lead %s not taken: %s", step.kind, step.lead_id, error)
            outcome, detail = SlaStepOutcome.SKIPPED, str(error)
    SlaStep.objects.filter(pk=step.pk).update(done_at=now, outcome=outcome, detail=detail[:300])
    return outcome == SlaStepOutcome.DONE


def _remind(
    step: SlaStep, lead: Lead, messages: list[Message], *, now: datetime
) -> tuple[str, str]:
    if now >= step.clock_due_at:
        return SlaStepOutcome.SKIPPED, "the deadline had passed before the reminder"
    owner = lead.owner
    if owner is None or not owner.is_active:
        return SlaStepOutcome.SKIPPED, "nobody to remind: the lead has no owner"
    due = step.clock_due_at.isoformat(timespec="minutes")
    messages.append(
        Message(
            owner.pk,
            NotificationKind.SLA_REMINDER,
            f"First touch due soon: {lead.display_name} (by {due} UTC)",
            lead.pk,
            f"sla_reminder:{lead.pk}:{step.clock_due_at:%Y%m%dT%H%M%S}",
        )
    )
    return SlaStepOutcome.DONE, f"reminded {owner.display_name}"


def next_owner(lead: Lead, *, exclude: int | None, now: datetime) -> tuple[User | None, str]:
    """Whom routing gives the lead now, `exclude` (its current owner) left out: the
    account owner, the routing rules, the team's round robin within capacity, as any
    reassignment (routing.router); the pointers move under the teams' locks. Returns the
    rep (None: nobody can take it) and the name of the rule that decided, if one did.
    The lead is loaded with its account's owner and its first campaign."""
    router = Router(now=now, lock=True, exclude=[exclude] if exclude is not None else [])
    facts = lead_facts([lead], campaigns=router.reads("campaign")) if router.rules else {}
    decision = decide_routable(router, routable_of(lead, facts.get(lead.pk)))
    router.save_pointers()
    if decision.owner_id is None:
        return None, decision.rule_name
    return User.objects.select_related("team").get(pk=decision.owner_id), decision.rule_name


def _escalation_messages(lead: Lead, recipients: list[int], text: str, key: str) -> list[Message]:
    return [
        Message(recipient, NotificationKind.SLA_ESCALATED, text, lead.pk, key)
        for recipient in dict.fromkeys(recipients)
    ]


def _reassign(
    step: SlaStep,
    lead: Lead,
    managers: dict[int, list[int]],
    messages: list[Message],
    *,
    now: datetime,
) -> tuple[str, str]:
    before = lead.owner
    to, rule_name = next_owner(lead, exclude=lead.owner_id, now=now)
    stamp = f"{lead.pk}:{step.clock_due_at:%Y%m%dT%H%M%S}"
    team_managers = managers.get(lead.team_id, []) if lead.team_id else []
    if to is None:
        text = f"Nobody else could take {lead.display_name}, not worked in time"
        messages += _escalation_messages(lead, team_managers, text, f"sla_stuck:{stamp}")
        return SlaStepOutcome.DONE, "nobody else in the team could take it"
    reason = f"{NOT_WORKED} (rule '{rule_name}')" if rule_name else NOT_WORKED
    reassign_lead(lead, to, now=now, reason=reason)
    name = before.display_name if before else "nobody"
    text = f"{lead.display_name} moved from {name} to {to.display_name}: not worked in time"
    told = [*([before.pk] if before and before.is_active else []), *team_managers]
    messages.append(
        Message(
            to.pk,
            NotificationKind.REASSIGNED,
            f"{lead.display_name} is yours now: {name} did not work it in time",
            lead.pk,
            f"sla_reassigned:{stamp}",
        )
    )
    messages += _escalation_messages(lead, told, text, f"sla_reassigned:{stamp}")
    return SlaStepOutcome.DONE, f"reassigned from {name} to {to.display_name}"


def _recycle(
    step: SlaStep,
    lead: Lead,
    managers: dict[int, list[int]],
    messages: list[Message],
    *,
    now: datetime,
) -> tuple[str, str]:
    owner = lead.owner
    team_id = lead.team_id
    transition_lead(lead, Stage.RECYCLED, now=now, reason=NOT_WORKED)
    # Back to marketing, as a rejected lead goes: out of sales' inboxes, into nurture.
    update_lead(
        lead.pk,
        owner=None,
        team=None,
        sla_due_at=None,
        sla_breached_at=None,
        segment=Segment.NURTURE,
        engagement_at_recycle=F("engagement_score"),
        updated_at=now,
    )
    lead.owner, lead.team, lead.sla_due_at = None, None, None
    name = owner.display_name if owner else "nobody"
    text = f"{lead.display_name} went back to marketing: not worked in time (owner {name})"
    told = [
        *([owner.pk] if owner and owner.is_active else []),
        *(managers.get(team_id, []) if team_id else []),
    ]
    stamp = f"{lead.pk}:{step.clock_due_at:%Y%m%dT%H%M%S}"
    messages += _escalation_messages(lead, told, text, f"sla_recycled:{stamp}")
    return SlaStepOutcome.DONE, f"handed back to marketing (owner was {name})"
