"""REST API for what sales does with a lead: log a touch, and move it on (or back).

Who may act on a lead (the lead must first be visible to the caller, else 404):
- touches: sales reps, managers and admins; marketing may log notes only, because a call,
  email or meeting stops the SLA clock and that is sales' work to report;
- accept, reject, convert, win, lose: sales reps, managers and admins;
- disqualify: anyone who can see the lead (a reason is required);
- nurture: marketing and admins (sales hands a lead back with `reject`).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import AwareDatetime

from api.common import (
    REPLAY_HEADER,
    InputSchema,
    Outcome,
    api_user,
    get_visible_lead,
    idempotency_key_header,
    idempotent,
)
from api.errors import ERROR_RESPONSES, ApiError
from api.leads import (
    LeadSummaryOut,
    OpportunityOut,
    TouchOut,
    lead_summary,
    opportunity_out,
    username,
)
from api.leads import touch_out as shape_touch
from followup.choices import CONTACT_KINDS, TouchKind, TouchOutcome
from followup.models import Opportunity
from followup.services import (
    accept_lead,
    convert_lead,
    lose_lead,
    record_touch,
    reject_lead,
    win_lead,
)
from leads.choices import Stage
from leads.lifecycle import TransitionError
from leads.models import Lead
from leads.services import transition_lead
from routing.rules import sla_state
from users.choices import Role
from users.models import User

router = Router(tags=["follow-up"])


Action = Literal["accept", "reject", "convert", "win", "lose", "disqualify", "nurture"]
SALES_ROLES = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN})
MAY_ACT: dict[str, frozenset[str]] = {
    "accept": SALES_ROLES,
    "reject": SALES_ROLES,
    "convert": SALES_ROLES,
    "win": SALES_ROLES,
    "lose": SALES_ROLES,
    "disqualify": frozenset(Role.values),
    "nurture": frozenset({Role.MARKETING, Role.ADMIN}),
}
TAKES_REASON = frozenset({"reject", "lose", "disqualify", "nurture"})
TAKES_AMOUNT = frozenset({"convert", "win"})
# The lifecycle names the stage it was asked for; this API is asked for an action.
ACTION_FIELDS = {"to_stage": "action", "stage": "action"}


class TouchIn(InputSchema):
    kind: TouchKind
    outcome: TouchOutcome = TouchOutcome.NONE
    notes: str = Field("", max_length=5000)
    occurred_at: AwareDatetime | None = Field(
        None, description="When it happened, with a UTC offset; default now"
    )


class TouchLeadOut(Schema):
    id: int
    stage: str
    owner: str | None
    first_touch_at: datetime | None
    last_touch_at: datetime | None
    touch_count: int
    sla_due_at: datetime | None
    sla_breached_at: datetime | None
    sla_state: str = Field(description="none, running, overdue, met or missed")


class TouchRecordedOut(Schema):
    touch: TouchOut
    lead: TouchLeadOut


class TransitionIn(InputSchema):
    action: Action = Field(
        description=(
            "accept (MQL → accepted), reject (→ recycled, reason), convert (accepted →"
            " opportunity, amount), win (opportunity → customer, amount optional), lose"
            " (→ recycled, reason), disqualify (reason), nurture (→ nurturing)"
        )
    )
    reason: str | None = Field(None, max_length=1000)
    amount: Decimal | None = Field(None, max_digits=12, decimal_places=2)
    name: str | None = Field(None, max_length=200, description="Deal name, for convert")


class TransitionOut(Schema):
    lead: LeadSummaryOut
    opportunity: OpportunityOut | None


def user_role(user: User) -> str:
    return Role.ADMIN if user.is_superuser else user.role


def check_fields(payload: TransitionIn) -> None:
    """Refuse input the action would ignore, so nothing a caller sends is silently lost."""
    if payload.reason is not None and payload.action not in TAKES_REASON:
        raise ApiError(422, "reason", f"{payload.action!r} takes no reason")
    if payload.amount is not None and payload.action not in TAKES_AMOUNT:
        raise ApiError(422, "amount", f"{payload.action!r} takes no amount")
    if payload.name is not None and payload.action != "convert":
        raise ApiError(422, "name", "only 'convert' takes a deal name")
    if payload.action == "convert" and payload.amount is None:
        raise ApiError(422, "amount", "converting to an opportunity needs an expected amount")


def perform(payload: TransitionIn, lead: Lead, *, by: User, now: datetime) -> Opportunity | None:
    reason = payload.reason or ""
    match payload.action:
        case "accept":
            accept_lead(lead, by=by, now=now)
        case "reject":
            reject_lead(lead, by=by, reason=reason, now=now)
        case "convert":
            assert payload.amount is not None  # check_fields
            return convert_lead(
                lead, by=by, amount=payload.amount, name=payload.name or "", now=now
            )
        case "win":
            return win_lead(lead, by=by, amount=payload.amount, now=now)
        case "lose":
            return lose_lead(lead, by=by, reason=reason, now=now)
        # Plain values, so a refusal reads 'nurturing' and not the enum's repr.
        case "disqualify":
            transition_lead(lead, Stage.DISQUALIFIED.value, now=now, by=by, reason=reason)
        case "nurture":
            transition_lead(lead, Stage.NURTURING.value, now=now, by=by, reason=reason)
    return None


@router.post(
    "/leads/{lead_id}/touches",
    response={201: TouchRecordedOut, **ERROR_RESPONSES},
    summary="Log a call, email, meeting or note",
)
def create_touch(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: int,
    payload: TouchIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    """The first call, email or meeting stops the lead's SLA clock; a note does not. A rep
    who touches a lead waiting in the team queue takes it."""
    user = api_user(request)
    now = timezone.now()
    lead = get_visible_lead(user, lead_id)
    if user_role(user) == Role.MARKETING and payload.kind in CONTACT_KINDS:
        raise ApiError(
            403, "kind", "marketing may log notes; calls, emails and meetings are sales'"
        )

    def work() -> Outcome:
        touch = record_touch(
            lead,
            by=user,
            kind=payload.kind,
            outcome=payload.outcome,
            notes=payload.notes,
            occurred_at=payload.occurred_at,
            now=now,
        )
        answer = TouchRecordedOut.model_validate(
            {
                "touch": shape_touch(touch),
                "lead": {
                    "id": lead.pk,
                    "stage": lead.stage,
                    "owner": username(lead.owner),
                    "first_touch_at": lead.first_touch_at,
                    "last_touch_at": lead.last_touch_at,
                    "touch_count": lead.touch_count,
                    "sla_due_at": lead.sla_due_at,
                    "sla_breached_at": lead.sla_breached_at,
                    "sla_state": sla_state(
                        due_at=lead.sla_due_at, first_touch_at=lead.first_touch_at, now=now
                    ),
                },
            }
        )
        return 201, answer.model_dump(mode="json")

    body = {"lead_id": lead_id, **payload.model_dump(mode="json", exclude_unset=True)}
    status, answer, replayed = idempotent(
        request, user=user, key=idempotency_key, body=body, now=now, work=work
    )
    if replayed:
        response[REPLAY_HEADER] = "true"
    return Status(status, answer)


@router.post(
    "/leads/{lead_id}/transitions",
    response={200: TransitionOut, **ERROR_RESPONSES},
    summary="Accept, reject, convert, win, lose, disqualify or nurture a lead",
)
def create_transition(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: int,
    payload: TransitionIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    """A move the lead's stage does not allow answers 409 naming `action`; a missing
    reason or amount answers 422 naming that field."""
    user = api_user(request)
    now = timezone.now()
    lead = get_visible_lead(user, lead_id)
    if user_role(user) not in MAY_ACT[payload.action]:
        raise ApiError(
            403, "action", f"a {user.get_role_display()} may not {payload.action} a lead"
        )
    check_fields(payload)

    def work() -> Outcome:
        try:
            opportunity = perform(payload, lead, by=user, now=now)
        except TransitionError as exc:
            raise TransitionError(ACTION_FIELDS.get(exc.field, exc.field), exc.message) from exc
        # Not through visible_leads: a rejected lead leaves the rep's scope, and the rep
        # still gets the outcome of what they just did.
        fresh = Lead.objects.select_related("owner", "team").get(pk=lead.pk)
        answer = TransitionOut.model_validate(
            {
                "lead": lead_summary(fresh, now=now),
                "opportunity": opportunity_out(opportunity) if opportunity else None,
            }
        )
        return 200, answer.model_dump(mode="json")

    body = {"lead_id": lead_id, **payload.model_dump(mode="json", exclude_unset=True)}
    status, answer, replayed = idempotent(
        request, user=user, key=idempotency_key, body=body, now=now, work=work
    )
    if replayed:
        response[REPLAY_HEADER] = "true"
    return Status(status, answer)
