"""REST API for leads: create or update one, list the ones you may see, read one in full.

`POST /leads` delegates to `capture.services.capture_lead`; it lives here rather than in
capture/api.py because one URL belongs to exactly one router, and `GET /leads` is here.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from api.common import (
    MAX_ID,
    CleanInput,
    InputSchema,
    Outcome,
    RowId,
    api_user,
    get_visible_lead,
    idempotency_key_header,
    idempotent_answer,
)
from api.consent import ConsentIn
from api.errors import ERROR_RESPONSES, ApiError
from capture.choices import Submitter
from capture.rules import LEAD_FIELDS, is_placeholder
from capture.services import capture_lead
from followup.models import Opportunity, Touch
from identity.rules import normalise_email
from leads.choices import Authority, Channel, MemberStatus, Segment, Stage, Timeline
from leads.models import Campaign, CampaignMember, Lead, StageChange
from leads.queries import reached_stage
from nurture import consent as nurture_consent
from nurture.choices import ConsentSource
from qualify.models import Event
from routing.choices import AssignedHow
from routing.models import Assignment, SlaStep
from routing.rules import sla_state
from users.access import is_read_only, visible_leads
from users.models import Team, User

router = Router(tags=["leads"])

CENTS = Decimal("0.01")
MAX_OFFSET = 1_000_000
TOUCHES_SHOWN = 100
EVENTS_SHOWN = 10


# --- Shapes ---------------------------------------------------------------------------


class LeadIn(InputSchema):
    """Lead fields as a form, import or integration sends them. Unknown fields are refused."""

    email: str | None = Field(None, max_length=254, examples=["ada@example.com"])
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    title: str | None = None
    company_name: str | None = None
    website: str | None = Field(None, description="Company website; gives the account domain")
    country: str | None = None
    industry: str | None = None
    employees: int | None = Field(None, ge=0)
    need: str | None = None
    authority: Authority | None = None
    budget: Decimal | None = Field(None, ge=0, description="A number, or a string of one")
    timeline: Timeline | None = None
    custom_fields: dict[str, Any] | None = None
    campaign: int | str | None = Field(
        None,
        description=(
            "The campaign the lead came from: its id as a JSON number, or its exact name as a"
            " JSON string. It must exist."
        ),
        examples=[3, "Webinar: pipeline hygiene"],
    )
    campaign_status: MemberStatus | None = Field(
        None, description="The lead's part in `campaign` (default registered); never goes back"
    )
    consent: list[ConsentIn] | None = Field(
        None,
        max_length=20,
        description=(
            "Consent the person gave or withdrew, per purpose (source `api`, the token's name"
            ' as reference): [{"purpose": "newsletter", "granted": true, "text": "Send me'
            ' the newsletter"}]. Marketing and admins only (403 otherwise). A grant never'
            " gives back a consent the person withdrew themself (unsubscribe, preference"
            " page)."
        ),
    )

    @field_validator(*sorted(LEAD_FIELDS - {"custom_fields"}), mode="before")
    @classmethod
    def placeholders_are_no_answer(cls, value: Any, info: ValidationInfo) -> Any:
        # A form's unanswered drop-down ("Select", "-- Select --", "N/A") is no answer,
        # as at every door (capture.rules.is_placeholder), not a choice to refuse.
        return None if is_placeholder(value, info.field_name or "") else value

    @field_validator("campaign", mode="before")
    @classmethod
    def campaign_id_or_name(cls, value: Any) -> Any:
        # Checked here rather than by the union, so an error names "campaign" and not the
        # union's branches, and "5" stays a name while 5 is an id.
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
            return value
        if isinstance(value, str) and 0 < len(value) <= 200:
            return value
        raise PydanticCustomError(
            "campaign_ref", "must be a campaign id (a positive number) or a campaign name"
        )


class LeadCapturedOut(Schema):
    id: int
    email: str | None
    stage: str
    segment: str
    score: int
    owner: str | None = Field(description="Username of the owning rep")
    team: str | None
    sla_due_at: datetime | None
    created: bool


class LeadReceivedOut(Schema):
    """Answer for a lead that was stored but lies outside the caller's scope."""

    email: str | None
    visible: bool
    detail: str


class LeadSummaryOut(Schema):
    id: int
    email: str | None
    first_name: str
    last_name: str
    company_name: str
    country: str
    stage: str
    segment: str
    score: int
    owner: str | None = Field(description="Username of the owning rep")
    team: str | None
    arrived_at: datetime
    sla_due_at: datetime | None
    sla_state: str = Field(description="none, running, overdue, met or missed")
    first_touch_at: datetime | None
    last_touch_at: datetime | None
    sla_breached_at: datetime | None
    touch_count: int


class LeadPageOut(Schema):
    count: int = Field(description="All leads matching the filters")
    limit: int
    offset: int
    items: list[LeadSummaryOut]


class StageChangeOut(Schema):
    from_stage: str
    to_stage: str
    at: datetime
    by: str | None
    reason: str


class AssignmentOut(Schema):
    at: datetime
    how: AssignedHow = Field(description="How the owner was found, e.g. round_robin")
    summary: str = Field(examples=["Assigned to Rep One (round robin in team EMEA)"])
    from_owner: str | None = Field(description="Username of the rep who had the lead")
    to_owner: str | None = Field(description="Username of the rep given it; null: a team queue")
    from_team: str | None
    to_team: str | None
    by: str | None = Field(description="Username of who decided; null: routing itself")
    rule: str | None = Field(description="The routing rule that decided, by its name then")
    reason: str = Field(description="What the person who decided typed")


class TouchOut(Schema):
    id: int
    kind: str
    outcome: str
    notes: str
    occurred_at: datetime
    by: str | None


class EventOut(Schema):
    kind: str
    occurred_at: datetime
    points: int
    campaign_id: int | None
    properties: dict[str, Any]


class EventsOut(Schema):
    count: int
    last: list[EventOut] = Field(description=f"The {EVENTS_SHOWN} most recent")


class OpportunityOut(Schema):
    id: int
    name: str
    amount: Decimal
    status: str
    opened_at: datetime
    closed_at: datetime | None
    lost_reason: str
    owner: str | None


class MembershipOut(Schema):
    campaign_id: int
    campaign: str
    status: str
    joined_at: datetime


class SlaStepOut(Schema):
    kind: str = Field(description="`remind`, `breach`, `reassign` or `recycle`")
    label: str
    policy: str = Field(description="The SLA policy whose ladder it is")
    clock_due_at: datetime = Field(description="The deadline of the clock it belongs to")
    due_at: datetime
    done_at: datetime | None = Field(description="null: still to come")
    outcome: str = Field(description='`done`, `skipped` (the clock had stopped) or "" (pending)')
    detail: str


class ScoreReasonOut(Schema):
    points: int
    label: str


class LeadDetailOut(LeadSummaryOut):
    phone: str
    title: str
    account: str | None
    industry: str
    employees: int | None
    need: str
    authority: str
    budget: Decimal | None
    timeline: str
    custom_fields: dict[str, Any]
    source: str
    first_campaign: str | None
    stage_changed_at: datetime
    fit_score: int
    engagement_score: int
    grade: str = Field(description="A to D from the fit total (the scoring model's thresholds)")
    score_reasons: list[ScoreReasonOut] = Field(
        description="What made the score: each matching fit rule and engagement signal"
    )
    assigned_at: datetime | None
    campaigns: list[MembershipOut]
    history: list[StageChangeOut] = Field(description="Every stage move, oldest first")
    assignments: list[AssignmentOut] = Field(
        description="Every assignment and reassignment, oldest first"
    )
    sla_steps: list[SlaStepOut] = Field(
        description="The rungs of its SLA clocks' ladders (reminder, breach, reassignment,"
        " hand-back), taken and to come, by due time"
    )
    touches: list[TouchOut] = Field(description=f"The {TOUCHES_SHOWN} most recent")
    events: EventsOut
    opportunities: list[OpportunityOut]
    read_only: bool = Field(
        description="The caller sees the lead but may take no action on it (a manager's"
        " view of a lead the team handed back)"
    )


# The funnel's stages, in order (leads.lifecycle.FUNNEL).
FunnelStage = Literal["new", "mql", "accepted", "opportunity", "customer"]


class LeadFilters(CleanInput):
    stage: Stage | None = None
    segment: Segment | None = None
    owner: str | None = Field(
        None, description="A username, `me`, or `none` for leads nobody owns yet"
    )
    campaign: RowId | None = Field(None, description="Campaign id: leads that are its members")
    reached: FunnelStage | None = Field(
        None,
        description="Leads that ever reached this funnel stage (it or a later one), from"
        " their stage history: the leads behind the funnel report's `reached` count",
    )
    arrived_since: AwareDatetime | None = Field(
        None, description="Leads that arrived at or after this time (with a UTC offset)"
    )
    arrived_before: AwareDatetime | None = Field(
        None, description="Leads that arrived before this time (with a UTC offset)"
    )
    q: str | None = Field(
        None, max_length=200, description="Words each found in email, name or company"
    )
    order: Literal["-arrived_at", "sla_due_at"] = Field(
        "-arrived_at",
        description="`-arrived_at`: newest first (default); `sla_due_at`: the most urgent"
        " first-touch deadline first, leads without one last",
    )
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Past 1,000,000: narrow the filters")


# --- Shaping ----------------------------------------------------------------------------


def username(user: User | None) -> str | None:
    return user.username if user is not None else None


def lead_summary(lead: Lead, *, now: datetime) -> dict[str, Any]:
    """A lead's list row; `lead` must come with owner and team selected."""
    return {
        "id": lead.pk,
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company_name": lead.company_name,
        "country": lead.country,
        "stage": lead.stage,
        "segment": lead.segment,
        "score": lead.score,
        "owner": username(lead.owner),
        "team": lead.team.name if lead.team else None,
        "arrived_at": lead.arrived_at,
        "sla_due_at": lead.sla_due_at,
        "sla_state": sla_state(due_at=lead.sla_due_at, first_touch_at=lead.first_touch_at, now=now),
        "first_touch_at": lead.first_touch_at,
        "last_touch_at": lead.last_touch_at,
        "sla_breached_at": lead.sla_breached_at,
        "touch_count": lead.touch_count,
    }


def team_name(team: Team | None) -> str | None:
    return team.name if team is not None else None


def assignment_out(assignment: Assignment) -> dict[str, Any]:
    return {
        "at": assignment.assigned_at,
        "how": assignment.how,
        "summary": assignment.summary,
        "from_owner": username(assignment.from_owner),
        "to_owner": username(assignment.to_owner),
        "from_team": team_name(assignment.from_team),
        "to_team": team_name(assignment.to_team),
        "by": username(assignment.assigned_by),
        "rule": assignment.rule_name or None,
        "reason": assignment.reason,
    }


def touch_out(touch: Touch) -> dict[str, Any]:
    return {
        "id": touch.pk,
        "kind": touch.kind,
        "outcome": touch.outcome,
        "notes": touch.notes,
        "occurred_at": touch.occurred_at,
        "by": username(touch.user),
    }


def opportunity_out(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "id": opportunity.pk,
        "name": opportunity.name,
        # A fresh instance holds the amount as sent ("12000"); the column has 2 places.
        "amount": Decimal(opportunity.amount).quantize(CENTS),
        "status": opportunity.status,
        "opened_at": opportunity.opened_at,
        "closed_at": opportunity.closed_at,
        "lost_reason": opportunity.lost_reason,
        "owner": username(opportunity.owner),
    }


def lead_detail(lead: Lead, *, now: datetime) -> dict[str, Any]:
    history = StageChange.objects.filter(lead=lead).select_related("changed_by")
    assignments = Assignment.objects.filter(lead=lead).select_related(
        "from_owner", "to_owner", "from_team", "to_team", "assigned_by"
    )
    touches = Touch.objects.filter(lead=lead).select_related("user")[:TOUCHES_SHOWN]
    events = Event.objects.filter(lead=lead).order_by("-occurred_at", "-pk")
    opportunities = Opportunity.objects.filter(lead=lead).select_related("owner")
    memberships = (
        CampaignMember.objects.filter(lead=lead).select_related("campaign").order_by("joined_at")
    )
    return {
        **lead_summary(lead, now=now),
        "phone": lead.phone,
        "title": lead.title,
        "account": lead.account.name if lead.account else None,
        "industry": lead.industry,
        "employees": lead.employees,
        "need": lead.need,
        "authority": lead.authority,
        "budget": lead.budget,
        "timeline": lead.timeline,
        "custom_fields": lead.custom_fields,
        "source": lead.source,
        "first_campaign": lead.first_campaign.name if lead.first_campaign else None,
        "stage_changed_at": lead.stage_changed_at,
        "fit_score": lead.fit_score,
        "engagement_score": lead.engagement_score,
        "grade": lead.grade,
        "score_reasons": lead.score_reasons,
        "assigned_at": lead.assigned_at,
        "campaigns": [
            {
                "campaign_id": m.campaign_id,
                "campaign": m.campaign.name,
                "status": m.status,
                "joined_at": m.joined_at,
            }
            for m in memberships
        ],
        "history": [
            {
                "from_stage": change.from_stage,
                "to_stage": change.to_stage,
                "at": change.changed_at,
                "by": username(change.changed_by),
                "reason": change.reason,
            }
            for change in history
        ],
        "assignments": [assignment_out(assignment) for assignment in assignments],
        "sla_steps": [
            {
                "kind": step.kind,
                "label": step.get_kind_display(),
                "policy": step.policy_name,
                "clock_due_at": step.clock_due_at,
                "due_at": step.due_at,
                "done_at": step.done_at,
                "outcome": step.outcome,
                "detail": step.detail,
            }
            for step in SlaStep.objects.filter(lead=lead).order_by("due_at", "pk")
        ],
        "touches": [touch_out(touch) for touch in touches],
        "events": {
            "count": events.count(),
            "last": [
                {
                    "kind": event.kind,
                    "occurred_at": event.occurred_at,
                    "points": event.points,
                    "campaign_id": event.campaign_id,
                    "properties": event.properties,
                }
                for event in events[:EVENTS_SHOWN]
            ],
        },
        "opportunities": [opportunity_out(o) for o in opportunities],
    }


def find_campaign(ref: int | str | None) -> Campaign | None:
    if ref is None:
        return None
    if isinstance(ref, int):
        found = Campaign.objects.filter(pk=ref).first()
        if found is None:
            raise ApiError(422, "campaign", f"no campaign with id {ref}")
        return found
    found = Campaign.objects.filter(name=ref).first()
    if found is None:
        raise ApiError(422, "campaign", f"no campaign named {ref!r}")
    return found


def filter_leads(leads: QuerySet[Lead], filters: LeadFilters, user: User) -> QuerySet[Lead]:
    if filters.stage is not None:
        leads = leads.filter(stage=filters.stage)
    if filters.segment is not None:
        leads = leads.filter(segment=filters.segment)
    if filters.owner == "me":
        leads = leads.filter(owner_id=user.pk)
    elif filters.owner == "none":
        leads = leads.filter(owner__isnull=True)
    elif filters.owner:
        leads = leads.filter(owner__username=filters.owner)
    if filters.campaign is not None:
        leads = leads.filter(memberships__campaign_id=filters.campaign)
    if filters.reached is not None:
        leads = reached_stage(leads, filters.reached)
    if filters.arrived_since is not None:
        leads = leads.filter(arrived_at__gte=filters.arrived_since)
    if filters.arrived_before is not None:
        leads = leads.filter(arrived_at__lt=filters.arrived_before)
    for word in (filters.q or "").split():
        leads = leads.filter(
            Q(email__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(company_name__icontains=word)
        )
    if filters.order == "sla_due_at":
        return leads.order_by(F("sla_due_at").asc(nulls_last=True), "arrived_at", "pk")
    return leads.order_by("-arrived_at", "-pk")


# --- Endpoints --------------------------------------------------------------------------


@router.post(
    "/leads",
    response={201: LeadCapturedOut, 200: LeadCapturedOut, 202: LeadReceivedOut, **ERROR_RESPONSES},
    summary="Create a lead, or update the one with the same email",
)
def create_lead(
    request: HttpRequest,
    response: HttpResponse,
    payload: LeadIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    """Any user may submit a lead; it is scored and, when sales-ready, routed and given
    an SLA deadline before this answers.

    An existing lead (same email) that the caller may see is updated as sent. One they
    may not see (another team's, or one nobody owns yet, for a rep) is not theirs to
    change: the submission is recorded and fills in only the lead's empty fields (never
    an answer that would disqualify it); the lead is not rescored, moved or routed.

    201: created; 200: an existing lead was updated. Both answer the lead as stored.
    202: recorded, but the lead lies outside the caller's scope (an existing lead they
    may not see, or a new one routed to another team): only the email sent is echoed, so
    nothing tells whether the lead existed, what it holds or who owns it.
    """
    user = api_user(request)
    now = timezone.now()
    body = payload.model_dump(mode="json", exclude_unset=True)
    fields = payload.model_dump(
        mode="json", exclude_unset=True, exclude={"campaign", "campaign_status", "consent"}
    )

    def work() -> Outcome:
        campaign = find_campaign(payload.campaign)
        if payload.campaign_status is not None and campaign is None:
            raise ApiError(422, "campaign_status", "needs a campaign")
        # Checked before the lead is stored: a wrong purpose, or a caller who may not
        # record consent (a rep), stores nothing.
        if payload.consent:
            nurture_consent.check_may_manage(user)
        consents = [
            (nurture_consent.get_purpose(item.purpose, field=f"consent.{index}.purpose"), item)
            for index, item in enumerate(payload.consent or [])
        ]
        result = capture_lead(
            fields,
            source=Channel.API,
            now=now,
            campaign=campaign,
            member_status=payload.campaign_status,
            by=user,
            payload=body,
            submitter=Submitter.USER,
        )
        token = getattr(request, "api_token_name", "") or "session"
        nurture_consent.record_many(
            [
                nurture_consent.ConsentInput(
                    result.lead,
                    purpose,
                    item.granted,
                    ConsentSource.API,
                    reference=f"API token {token} ({user.username})",
                    text=item.text,
                    by=user,
                )
                for purpose, item in consents
            ],
            now=now,
        )
        lead = (
            visible_leads(user).select_related("owner", "team").filter(pk=result.lead.pk).first()
            if result.in_charge
            else None
        )
        if lead is None:
            received = LeadReceivedOut(
                # As sent: the lead found may hold another address (a merge's survivor).
                email=normalise_email(payload.email) if payload.email else None,
                visible=False,
                detail="The lead was received. It is outside the leads you can see.",
            )
            return 202, received.model_dump(mode="json")
        answer = LeadCapturedOut(
            id=lead.pk,
            email=lead.email,
            stage=lead.stage,
            segment=lead.segment,
            score=lead.score,
            owner=username(lead.owner),
            team=lead.team.name if lead.team else None,
            sla_due_at=lead.sla_due_at,
            created=result.created,
        )
        return (201 if result.created else 200), answer.model_dump(mode="json")

    return idempotent_answer(
        request, response, user=user, key=idempotency_key, body=body, now=now, work=work
    )


@router.get(
    "/leads", response={200: LeadPageOut, **ERROR_RESPONSES}, summary="List leads you may see"
)
def list_leads(request: HttpRequest, filters: Query[LeadFilters]) -> dict[str, Any]:
    """Leads in the caller's scope, filtered and paginated in the database."""
    user = api_user(request)
    now = timezone.now()
    leads = filter_leads(visible_leads(user), filters, user)
    page = leads.select_related("owner", "team")[filters.offset : filters.offset + filters.limit]
    return {
        "count": leads.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [lead_summary(lead, now=now) for lead in page],
    }


@router.get(
    "/leads/{lead_id}",
    response={200: LeadDetailOut, **ERROR_RESPONSES},
    summary="A lead with its history, touches, events and opportunities",
)
def get_lead(request: HttpRequest, lead_id: int) -> dict[str, Any]:
    user = api_user(request)
    now = timezone.now()
    lead = get_visible_lead(
        user,
        lead_id,
        Lead.objects.select_related("owner", "team", "account", "first_campaign"),
    )
    return lead_detail(lead, now=now) | {"read_only": is_read_only(user, lead)}
