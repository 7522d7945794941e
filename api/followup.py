"""REST API for what people do with a lead: log a touch, move it on (or back), hand it
to another rep.

Each endpoint parses the request and calls `followup.actions.act_on_lead`, which checks
the permission table (`users.permissions`, shown in the README: "Who may do what") and
calls the one service behind the action. The lead must first be visible to the caller
(else 404); a role that may not answers 403, a stage that does not allow the action 409
naming `action`, bad input 422 naming the field.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import AwareDatetime

from api.common import (
    InputSchema,
    Outcome,
    api_user,
    get_visible_lead,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES
from api.leads import (
    LeadSummaryOut,
    OpportunityOut,
    TouchOut,
    lead_summary,
    opportunity_out,
    username,
)
from api.leads import touch_out as shape_touch
from followup.actions import act_on_lead, touch_action
from followup.choices import TouchKind, TouchOutcome
from leads.models import Lead
from routing.rules import sla_state
from users.choices import LeadAction

router = Router(tags=["follow-up"])


# The lead actions that move a lead's stage (touches and reassignments have their own
# endpoints).
Action = Literal[
    "accept", "reject", "convert", "win", "lose", "disqualify", "nurture", "send_to_sales"
]


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
            " (→ recycled, reason), disqualify (reason), nurture (→ nurturing),"
            " send_to_sales (new, nurturing or recycled → MQL, routed; reason)"
        )
    )
    reason: str | None = Field(None, max_length=1000)
    amount: Decimal | None = Field(None, max_digits=12, decimal_places=2)
    name: str | None = Field(None, max_length=200, description="Deal name, for convert")


class TransitionOut(Schema):
    lead: LeadSummaryOut
    opportunity: OpportunityOut | None


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

    def work() -> Outcome:
        touch = act_on_lead(
            lead,
            touch_action(payload.kind),
            by=user,
            now=now,
            kind=payload.kind,
            outcome=payload.outcome,
            notes=payload.notes,
            occurred_at=payload.occurred_at,
        ).touch
        assert touch is not None  # a touch action logs one
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
    return idempotent_answer(
        request, response, user=user, key=idempotency_key, body=body, now=now, work=work
    )


@router.post(
    "/leads/{lead_id}/transitions",
    response={200: TransitionOut, **ERROR_RESPONSES},
    summary="Accept, reject, convert, win, lose, disqualify, nurture or send a lead to sales",
)
def create_transition(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: int,
    payload: TransitionIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    """A role that may not take the action answers 403; a move the lead's stage does not
    allow, 409 naming `action`; a missing reason or amount, or one the action does not
    take, 422 naming that field."""
    user = api_user(request)
    now = timezone.now()
    lead = get_visible_lead(user, lead_id)

    def work() -> Outcome:
        opportunity = act_on_lead(
            lead,
            payload.action,
            by=user,
            now=now,
            reason=payload.reason,
            amount=payload.amount,
            name=payload.name,
        ).opportunity
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
    return idempotent_answer(
        request, response, user=user, key=idempotency_key, body=body, now=now, work=work
    )


class ReassignmentIn(InputSchema):
    to: str = Field(min_length=1, max_length=150, description="Username of the rep who takes it")
    reason: str | None = Field(
        None, max_length=300, description="Why, in a few words: kept in the lead's history"
    )


class ReassignmentOut(Schema):
    lead: LeadSummaryOut
    changed: bool = Field(description="false when the rep already owned the lead")


@router.post(
    "/leads/{lead_id}/reassignments",
    response={200: ReassignmentOut, **ERROR_RESPONSES},
    summary="Hand a lead to another rep",
)
def create_reassignment(
    request: HttpRequest,
    response: HttpResponse,
    lead_id: int,
    payload: ReassignmentIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    """For managers (to a rep of their team) and admins (to a rep of the lead's team). The
    rep is told in the app. A lead is reassigned while it is sales' work (MQL, accepted,
    opportunity); otherwise 409 naming `action`. A rep the caller may not give the lead to
    answers 422 naming `to`."""
    user = api_user(request)
    now = timezone.now()
    lead = get_visible_lead(user, lead_id)

    def work() -> Outcome:
        outcome = act_on_lead(
            lead, LeadAction.REASSIGN, by=user, now=now, to=payload.to, reason=payload.reason
        )
        fresh = Lead.objects.select_related("owner", "team").get(pk=lead.pk)
        answer = ReassignmentOut.model_validate(
            {"lead": lead_summary(fresh, now=now), "changed": outcome.changed}
        )
        return 200, answer.model_dump(mode="json")

    body = {"lead_id": lead_id, **payload.model_dump(mode="json", exclude_unset=True)}
    return idempotent_answer(
        request, response, user=user, key=idempotency_key, body=body, now=now, work=work
    )
