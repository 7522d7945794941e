"""One entry for everything people do to a lead: `act_on_lead`.

The lead page, the REST API (and any command) parse their input and call it; it checks
the permission table (`users.permissions`), validates what the action takes, and calls the
one service that does the work. A refusal is an `ActionError` naming the field at fault
("action" when the lead's stage does not allow it), or a `NotAllowed` when the role may
not: the API answers them 422 / 409 / 403, the lead page shows the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from leads.choices import Stage
from leads.lifecycle import REASON_REQUIRED, TransitionError
from leads.models import Lead
from routing.services import reassign_lead, send_to_sales
from users.access import can_access_lead, may_work_lead, reassign_targets
from users.choices import Capability, LeadAction, Role
from users.models import User
from users.permissions import STAGES, may, role_of, stage_allows

from .cadences import attempt_counts, policy_of
from .choices import CONTACT_KINDS, OUTCOMES_BY_KIND, TaskStatus, TouchKind
from .models import Opportunity, Task, Touch
from .queries import visible_tasks
from .rules import is_no_response, missing_attempts
from .services import (
    accept_lead,
    complete_task,
    convert_lead,
    drop_lead,
    lose_lead,
    record_touch,
    reject_lead,
    win_lead,
)


@dataclass(frozen=True)
class ActionError(Exception):
    """The action cannot be taken as asked. `field` names what to fix in the request
    (reason, amount, kind, to, occurred_at…), or is "action" when the lead's current stage
    does not allow it: a conflict with the lead, not a bad request."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message

    @property
    def is_conflict(self) -> bool:
        return self.field == "action"


class NotAllowed(ActionError):
    """The person's role may not take the action (on a lead they can see)."""


@dataclass(frozen=True)
class Outcome:
    """What an action did. `changed` is False when there was nothing to do (a lead
    reassigned to the rep who already owns it)."""

    action: LeadAction
    lead: Lead
    opportunity: Opportunity | None = None
    touch: Touch | None = None
    changed: bool = True


# What each action takes besides the lead; anything else is refused, so nothing a caller
# sends is silently dropped.
TAKES: dict[LeadAction, frozenset[str]] = {
    LeadAction.LOG_TOUCH: frozenset({"kind", "outcome", "notes", "occurred_at"}),
    LeadAction.LOG_NOTE: frozenset({"kind", "outcome", "notes", "occurred_at"}),
    LeadAction.ACCEPT: frozenset(),
    LeadAction.REJECT: frozenset({"reason"}),
    LeadAction.CONVERT: frozenset({"amount", "name"}),
    LeadAction.WIN: frozenset({"amount"}),
    LeadAction.LOSE: frozenset({"reason"}),
    LeadAction.DISQUALIFY: frozenset({"reason"}),
    LeadAction.NURTURE: frozenset({"reason"}),
    LeadAction.SEND_TO_SALES: frozenset({"reason"}),
    LeadAction.REASSIGN: frozenset({"to", "reason"}),
}

# The words of refusals: "the marketing role may not accept a lead".
PHRASES: dict[LeadAction, str] = {
    LeadAction.LOG_TOUCH: "log calls, emails or meetings",
    LeadAction.LOG_NOTE: "log notes",
    LeadAction.ACCEPT: "accept a lead",
    LeadAction.REJECT: "reject a lead",
    LeadAction.CONVERT: "convert a lead to an opportunity",
    LeadAction.WIN: "mark a deal won",
    LeadAction.LOSE: "mark a deal lost",
    LeadAction.DISQUALIFY: "disqualify a lead",
    LeadAction.NURTURE: "move a lead back to nurture",
    LeadAction.SEND_TO_SALES: "send a lead to sales",
    LeadAction.REASSIGN: "reassign a lead",
}

# Why an action is refused in a stage, where the bare rule would puzzle.
STAGE_HINTS: dict[LeadAction, str] = {
    LeadAction.REJECT: "an opportunity is not rejected: mark it lost",
    LeadAction.NURTURE: "an MQL is sales' until sales rejects it",
    LeadAction.SEND_TO_SALES: "only a lead marketing holds goes to sales",
}

# The request field a refusal of the role names.
REFUSED_FIELD: dict[LeadAction, str] = {
    LeadAction.LOG_TOUCH: "kind",
    LeadAction.LOG_NOTE: "kind",
    LeadAction.REASSIGN: "to",
}

# TransitionError fields that mean "not from the stage the lead is in now".
STATE_FIELDS = frozenset({"to_stage", "stage", "action"})


def touch_action(kind: str) -> LeadAction:
    """The action of logging a touch of `kind`: a note is not contact with the lead."""
    return LeadAction.LOG_TOUCH if kind in CONTACT_KINDS else LeadAction.LOG_NOTE


def act_on_lead(lead: Lead, action: str, *, by: User, now: datetime, **data: Any) -> Outcome:
    """Take `action` on `lead` as `by`, at `now`. `data` is what the action takes (see
    TAKES); a value of None counts as not given.

    Checks, in order: `by` sees the lead, and not read-only; their role may take the action; the data (no
    field the action does not take, required ones given, amounts not negative); the
    lead's stage allows the action. Then calls the one service behind it, which checks
    the stage again under the lead's row lock.
    """
    try:
        chosen = LeadAction(action)
    except ValueError:
        raise ActionError("action", f"unknown action {action!r}") from None
    given = {key: value for key, value in data.items() if value is not None}
    if not can_access_lead(by, lead):
        raise NotAllowed("lead", "this lead is not one you can see")
    if not may_work_lead(by, lead):
        raise NotAllowed(
            "lead", "this lead was handed back by your team: you see it read-only, to coach"
        )
    if not may(by, chosen):
        role = role_of(by)
        who = f"the {Role(role).label.lower()} role" if role else "an inactive account"
        raise NotAllowed(REFUSED_FIELD.get(chosen, "action"), f"{who} may not {PHRASES[chosen]}")
    _check_data(chosen, given)
    if not stage_allows(lead.stage, chosen):
        possible = ", ".join(s for s in Stage.values if s in STAGES[chosen].from_stages)
        hint = f"; {STAGE_HINTS[chosen]}" if chosen in STAGE_HINTS else ""
        raise ActionError(
            "action",
            # str(): a lead changed in memory holds a Stage member, whose repr is not 'mql'.
            f"{chosen.value!r} is not possible for a lead in stage {str(lead.stage)!r}"
            f" (only from: {possible}){hint}",
        )
    if chosen in DROPS:
        _check_attempts(lead, str(given.get("reason", "")))
    try:
        return _dispatch(chosen, lead, by=by, now=now, data=given)
    except TransitionError as error:
        field = "action" if error.field in STATE_FIELDS else error.field
        raise ActionError(field, error.message) from error


# The actions that drop a lead: for "no response", only once the minimum attempts are made.
DROPS = frozenset({LeadAction.REJECT, LeadAction.DISQUALIFY})


def _check_attempts(lead: Lead, reason: str) -> None:
    """A lead is not dropped for "no response" before its team's minimum attempts policy
    is met (default 6 attempts over at least 2 channels): the refusal says what is
    missing ("4 of 6 attempts, only calls so far")."""
    if not is_no_response(reason):
        return
    missing = missing_attempts(attempt_counts(lead), policy_of(lead.team_id))
    if missing is not None:
        raise ActionError("reason", f"not yet: {missing}")


def _check_data(action: LeadAction, data: dict[str, Any]) -> None:
    for key in data:
        if key not in TAKES[action]:
            raise ActionError(key, f"{action.value!r} takes no {key}")
    to_stage = STAGES[action].to_stage
    # A reason the move needs from every stage it applies in is asked for here, before
    # anything is locked; one that depends on the stage (re-opening a disqualified lead)
    # is the lifecycle's to ask.
    needs_reason = to_stage is not None and all(
        (stage, to_stage) in REASON_REQUIRED for stage in STAGES[action].from_stages
    )
    # Sending a lead to sales overrules the score: the history says why.
    needs_reason = needs_reason or action == LeadAction.SEND_TO_SALES
    if needs_reason and not str(data.get("reason", "")).strip():
        raise ActionError("reason", f"a reason is required to {PHRASES[action]}")
    amount = data.get("amount")
    if action == LeadAction.CONVERT and amount is None:
        raise ActionError("amount", "converting to an opportunity needs an expected amount")
    if amount is not None and Decimal(amount) < 0:
        what = "an opportunity amount" if action == LeadAction.CONVERT else "a won amount"
        raise ActionError("amount", f"{what} cannot be negative")
    kind = data.get("kind")
    if action == LeadAction.LOG_TOUCH:
        if kind is None:
            raise ActionError("kind", "say which contact it was: call, email or meeting")
        if kind not in CONTACT_KINDS:
            raise ActionError("kind", "a note is logged with 'log_note'")
    if action == LeadAction.LOG_NOTE and kind not in {None, TouchKind.NOTE}:
        raise ActionError("kind", f"{kind!r} is contact with the lead: log it with 'log_touch'")
    outcome = data.get("outcome") or ""
    if action in (LeadAction.LOG_TOUCH, LeadAction.LOG_NOTE) and outcome:
        fits = OUTCOMES_BY_KIND.get(str(kind or TouchKind.NOTE), ())
        if outcome not in fits:
            what = str(kind or TouchKind.NOTE)
            article = "an" if what[0] in "aeiou" else "a"
            raise ActionError(
                "outcome",
                f"{str(outcome)!r} is not an outcome of {article} {what}"
                + (f": one of {', '.join(fits)}" if fits else ": a note has no outcome"),
            )
    if action == LeadAction.REASSIGN and data.get("to") in {None, ""}:
        raise ActionError("to", "name the rep who takes the lead")


def _dispatch(
    action: LeadAction, lead: Lead, *, by: User, now: datetime, data: dict[str, Any]
) -> Outcome:
    reason = str(data.get("reason", ""))
    match action:
        case LeadAction.LOG_TOUCH | LeadAction.LOG_NOTE:
            touch = record_touch(
                lead,
                by=by,
                kind=data.get("kind", TouchKind.NOTE),
                outcome=data.get("outcome", ""),
                notes=data.get("notes", ""),
                occurred_at=data.get("occurred_at"),
                now=now,
            )
            return Outcome(action, lead, touch=touch)
        case LeadAction.ACCEPT:
            accept_lead(lead, by=by, now=now)
        case LeadAction.REJECT:
            reject_lead(lead, by=by, reason=reason, now=now)
        case LeadAction.CONVERT:
            opportunity = convert_lead(
                lead, by=by, amount=Decimal(data["amount"]), name=data.get("name", ""), now=now
            )
            return Outcome(action, lead, opportunity=opportunity)
        case LeadAction.WIN:
            amount = data.get("amount")
            opportunity = win_lead(
                lead, by=by, amount=None if amount is None else Decimal(amount), now=now
            )
            return Outcome(action, lead, opportunity=opportunity)
        case LeadAction.LOSE:
            return Outcome(action, lead, opportunity=lose_lead(lead, by=by, reason=reason, now=now))
        # Plain values, so a refusal reads 'nurturing' and not the enum's repr.
        case LeadAction.DISQUALIFY:
            drop_lead(lead, Stage.DISQUALIFIED.value, by=by, reason=reason, now=now)
        case LeadAction.NURTURE:
            drop_lead(lead, Stage.NURTURING.value, by=by, reason=reason, now=now)
        case LeadAction.SEND_TO_SALES:
            send_to_sales(lead, by=by, reason=reason, now=now)
        case LeadAction.REASSIGN:
            return _reassign(lead, data["to"], by=by, reason=reason, now=now)
    return Outcome(action, lead)


def _reassign(lead: Lead, to: User | str, *, by: User, reason: str = "", now: datetime) -> Outcome:
    """Hand the lead to a rep `by` may give it to (a User, or a username), for the
    `reason` they typed, if any (kept in the lead's history)."""
    targets = reassign_targets(by, lead)
    rep = targets.filter(**({"username": to} if isinstance(to, str) else {"pk": to.pk})).first()
    if rep is None:
        name = to if isinstance(to, str) else to.display_name
        raise ActionError("to", f"{name!r} is not a rep you may give this lead to")
    if rep.pk == lead.owner_id:
        return Outcome(LeadAction.REASSIGN, lead, changed=False)
    reassign_lead(lead, rep, now=now, by=by, reason=reason)
    return Outcome(LeadAction.REASSIGN, lead)


@dataclass(frozen=True)
class TaskDone:
    """What completing a task did: the touch it logged and the next task, if any."""

    task: Task
    touch: Touch
    next_task: Task | None


def work_task(
    task: Task, *, by: User, outcome: str = "", notes: str = "", now: datetime
) -> TaskDone:
    """Complete `task` as `by`, with the outcome of its touch (and a note), at `now`.

    Checks: `by` may work tasks (the permission table), the task is on a list `by` sees
    (their own; a manager their team's; an admin all) and its lead is one `by` may act on;
    the task is open; the outcome fits the task's channel (a call: connected, left
    voicemail, no answer, wrong number, meeting booked, not interested). The task's lead
    must be looked up by the door through `followup.queries.visible_tasks`, so another
    rep's task is "not found" rather than "forbidden"."""
    if not may(by, Capability.WORK_TASKS):
        role = role_of(by)
        who = f"the {Role(role).label.lower()} role" if role else "an inactive account"
        raise NotAllowed("task", f"{who} may not work follow-up tasks")
    if not visible_tasks(by).filter(pk=task.pk).exists() or not may_work_lead(by, task.lead):
        raise NotAllowed("task", "this task is not on a list you work")
    if task.status != TaskStatus.OPEN:
        raise ActionError("action", f"task {task.pk} is {task.get_status_display().lower()}")
    kind = task.touch_kind
    fits = OUTCOMES_BY_KIND.get(kind, ())
    if fits and not outcome:
        raise ActionError("outcome", f"say how it went: one of {', '.join(fits)}")
    if outcome and outcome not in fits:
        channel = str(task.get_channel_display())
        article = "an" if channel[0].lower() in "aeiou" else "a"
        channel = channel if channel == "LinkedIn" else channel.lower()
        raise ActionError(
            "outcome",
            f"{outcome!r} is not an outcome of {article} {channel} task"
            + (f": one of {', '.join(fits)}" if fits else ": it has none"),
        )
    try:
        touch, following = complete_task(task, by=by, outcome=outcome, notes=notes, now=now)
    except TransitionError as error:
        raise ActionError(
            "action" if error.field == "task" else error.field, error.message
        ) from error
    return TaskDone(task, touch, following)
