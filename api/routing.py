"""REST API for routing: the rules (sales managers and admins), why a lead is routed where
it is, and people's leave. One service underneath each (routing.rulebook,
routing.availability), as for the /routing/ page and `leadloop routing` / `leadloop
leave`: 403 when the role may not, 422 naming the field at fault, 404 for a lead or person
outside one's scope."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from api.common import (
    InputSchema,
    Outcome,
    RowId,
    api_user,
    get_visible_lead,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES, ApiError
from leads.models import Lead
from routing.availability import add_leave, cancel_leave
from routing.models import RoutingRule
from routing.rulebook import create_rule, delete_rule, explain_lead, update_rule
from routing.rules_engine import FIELDS, OPERATORS
from users.choices import Capability
from users.models import Leave, Team, User
from users.permissions import may
from users.services import may_set_leave

router = Router(tags=["routing"])

CONDITION_HELP = (
    f"field: one of {', '.join(FIELDS)} or custom.<key>; op: one of {', '.join(OPERATORS)}"
)


class ConditionIn(InputSchema):
    field: str = Field(description=CONDITION_HELP)
    op: str
    value: str | int | float | list[str] | None = Field(
        None, description="a list for in / not_in; none for is_empty / is_set"
    )


class ConditionOut(Schema):
    field: str
    op: str
    value: str | list[str]


class RuleOut(Schema):
    id: int
    name: str
    position: int = Field(description="1 = tried first")
    is_active: bool
    conditions: list[ConditionOut]
    target: Literal["user", "team", "queue"]
    to_user: str | None = Field(description="username, when target is user")
    to_team: str | None = Field(description="team name, when target is team or queue")


class RuleIn(InputSchema):
    name: str = Field(max_length=100)
    conditions: list[ConditionIn] = Field(default_factory=list, description="all must hold")
    target: Literal["user", "team", "queue"]
    to_user: str | None = Field(None, description="a rep's username (target user)")
    to_team: str | None = Field(None, description="a team's name (target team or queue)")
    position: int | None = Field(None, description="1 = first; default: last")
    is_active: bool = True


class RulePatch(InputSchema):
    name: str | None = Field(None, max_length=100)
    conditions: list[ConditionIn] | None = None
    target: Literal["user", "team", "queue"] | None = None
    to_user: str | None = None
    to_team: str | None = None
    position: int | None = None
    is_active: bool | None = None


class RoutingExplanationOut(Schema):
    lead_id: int
    summary: str = Field(
        description="e.g. \"Would go to Ana by rule 'DACH' (round robin in team EMEA)\""
    )
    rule: str | None
    owner: str | None = Field(description="username; null: the team's queue")
    team: str | None
    steps: list[str] = Field(description="each rule tried, in order, and the reps skipped")


class LeaveIn(InputSchema):
    starts_on: date
    ends_on: date = Field(description="the last day away (inclusive)")
    note: str = Field("", max_length=200)


class LeaveOut(Schema):
    id: int
    username: str
    starts_on: date
    ends_on: date
    note: str


def rule_out(rule: RoutingRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "conditions": rule.conditions,
        "target": rule.target,
        "to_user": rule.to_user.username if rule.to_user else None,
        "to_team": rule.to_team.name if rule.to_team else None,
    }


def leave_out(leave: Leave) -> dict[str, Any]:
    return {
        "id": leave.pk,
        "username": leave.user.username,
        "starts_on": leave.starts_on,
        "ends_on": leave.ends_on,
        "note": leave.note,
    }


def _check_may(user: User) -> None:
    if not may(user, Capability.MANAGE_ROUTING):
        raise ApiError(403, "routing", "only sales managers and admins see and edit routing rules")


def _targets(changes: dict[str, Any]) -> dict[str, Any]:
    if changes.get("to_user") is not None:
        found = User.objects.filter(username=changes["to_user"]).first()
        if found is None:
            raise ApiError(422, "to_user", f"no user named {changes['to_user']!r}")
        changes["to_user"] = found
    if changes.get("to_team") is not None:
        team = Team.objects.filter(name=changes["to_team"]).first()
        if team is None:
            raise ApiError(422, "to_team", f"no team called {changes['to_team']!r}")
        changes["to_team"] = team
    return changes


def _rule(rule_id: int) -> RoutingRule:
    rule = RoutingRule.objects.select_related("to_user", "to_team").filter(pk=rule_id).first()
    if rule is None:
        raise ApiError(404, "rule_id", f"no routing rule with id {rule_id}")
    return rule


@router.get(
    "/routing/rules", response={200: list[RuleOut], **ERROR_RESPONSES}, summary="Routing rules"
)
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    """The rules in the order they are tried, after the account owner; no rule matching,
    a lead goes round robin to the team of its country."""
    _check_may(api_user(request))
    rules = RoutingRule.objects.select_related("to_user", "to_team").order_by("position", "pk")
    return [rule_out(rule) for rule in rules]


@router.post(
    "/routing/rules", response={201: RuleOut, **ERROR_RESPONSES}, summary="Add a routing rule"
)
def post_rule(
    request: HttpRequest,
    response: HttpResponse,
    payload: RuleIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    user = api_user(request)
    now = timezone.now()

    def work() -> Outcome:
        values = _targets(payload.model_dump())
        rule = create_rule(by=user, now=now, **values)
        return 201, RuleOut.model_validate(rule_out(_rule(rule.pk))).model_dump(mode="json")

    return idempotent_answer(
        request,
        response,
        user=user,
        key=idempotency_key,
        body=payload.model_dump(mode="json"),
        now=now,
        work=work,
    )


@router.patch(
    "/routing/rules/{rule_id}",
    response={200: RuleOut, **ERROR_RESPONSES},
    summary="Change a rule's name, conditions, target, place or whether it is active",
)
def patch_rule(request: HttpRequest, rule_id: RowId, payload: RulePatch) -> dict[str, Any]:
    user = api_user(request)
    _check_may(user)
    changes = payload.model_dump(exclude_unset=True)
    for field in ("name", "conditions", "target", "is_active"):
        if field in changes and changes[field] is None:
            raise ApiError(422, field, "must not be null")
    rule = update_rule(_rule(rule_id), by=user, now=timezone.now(), **_targets(changes))
    return rule_out(_rule(rule.pk))


@router.delete(
    "/routing/rules/{rule_id}", response={204: None, **ERROR_RESPONSES}, summary="Remove a rule"
)
def remove_rule(request: HttpRequest, rule_id: RowId) -> Status[None]:
    user = api_user(request)
    _check_may(user)
    delete_rule(_rule(rule_id), by=user)
    return Status(204, None)


@router.get(
    "/leads/{lead_id}/routing",
    response={200: RoutingExplanationOut, **ERROR_RESPONSES},
    summary="Which rule would route the lead now, and why",
)
def explain(request: HttpRequest, lead_id: RowId) -> dict[str, Any]:
    user = api_user(request)
    lead = get_visible_lead(
        user, lead_id, Lead.objects.select_related("account__owner", "first_campaign")
    )
    _check_may(user)
    explanation = explain_lead(lead, now=timezone.now())
    owner_id = explanation.decision.owner_id
    owner = User.objects.filter(pk=owner_id).first() if owner_id else None
    return {
        "lead_id": lead.pk,
        "summary": explanation.summary,
        "rule": explanation.decision.rule_name or None,
        "owner": owner.username if owner else None,
        "team": explanation.team_name or None,
        "steps": list(explanation.lines),
    }


def _person(user: User, username: str) -> User:
    person = User.objects.filter(username=username).first()
    if person is None or not may_set_leave(user, person):
        raise ApiError(404, "username", f"no person {username!r} whose leave you may set")
    return person


@router.get(
    "/users/{username}/leave",
    response={200: list[LeaveOut], **ERROR_RESPONSES},
    summary="A person's leave",
)
def list_leave(request: HttpRequest, username: str) -> list[dict[str, Any]]:
    person = _person(api_user(request), username)
    return [leave_out(leave) for leave in person.leaves.select_related("user")]


@router.post(
    "/users/{username}/leave",
    response={201: LeaveOut, **ERROR_RESPONSES},
    summary="Add days away: no new leads, open ones handed on by the routing rules",
)
def post_leave(request: HttpRequest, username: str, payload: LeaveIn) -> Status[dict[str, Any]]:
    user = api_user(request)
    person = _person(user, username)
    leave = add_leave(person, by=user, now=timezone.now(), **payload.model_dump())
    return Status(201, leave_out(leave))


@router.delete(
    "/leave/{leave_id}", response={204: None, **ERROR_RESPONSES}, summary="Cancel a leave"
)
def delete_leave(request: HttpRequest, leave_id: RowId) -> Status[None]:
    user = api_user(request)
    leave = Leave.objects.select_related("user").filter(pk=leave_id).first()
    if leave is None or not may_set_leave(user, leave.user):
        raise ApiError(404, "leave_id", f"no leave with id {leave_id} you may change")
    cancel_leave(leave, by=user)
    return Status(204, None)
