"""REST API for how sales follows up: cadences and their steps, the ordered rules that pick
a lead's cadence, and each team's minimum attempts. Managers and admins change them
(`followup.setup`, which checks the permission table: 403 for other roles, 422 naming a
bad field); everyone in sales may read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from api.common import InputSchema, api_user
from api.errors import ERROR_RESPONSES, ApiError
from followup.cadences import default_policy
from followup.choices import CadenceChannel
from followup.models import AttemptPolicy, Cadence, CadenceRule
from followup.rules import StepSpec
from followup.setup import RuleSpec, save_cadence, set_attempt_policy, set_cadence_rules
from users.models import Team

router = Router(tags=["cadences"])


class StepIO(Schema):
    day_offset: int = Field(ge=0, le=365, description="Days after enrolment (0: at once)")
    channel: CadenceChannel
    instructions: str = Field("", max_length=5000, description="What to do, or the email text")


class CadenceOut(Schema):
    id: int
    name: str
    description: str
    is_default: bool
    updated_at: datetime
    steps: list[StepIO]


class RuleIO(Schema):
    cadence: str = Field(description="The cadence's name")
    segment: str = Field("", description="sales_ready, nurture…; empty: any")
    grade: str = Field("", description="A, B, C or D; empty: any")
    campaign: str = Field("", description="A campaign's name the lead is in; empty: any")


class PolicyOut(Schema):
    team: str
    team_id: int
    min_attempts: int
    min_channels: int


class CadencesOut(Schema):
    cadences: list[CadenceOut]
    rules: list[RuleIO] = Field(description="In order: the first that holds picks the cadence")
    policies: list[PolicyOut] = Field(description="Each team's minimum attempts")


class CadenceIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    is_default: bool = False
    steps: list[StepIO] = Field(min_length=1, max_length=50)


class CadencePatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    is_default: bool | None = None
    steps: list[StepIO] | None = Field(None, min_length=1, max_length=50)


class RulesIn(InputSchema):
    rules: list[RuleIO] = Field(max_length=200)


class PolicyIn(InputSchema):
    min_attempts: int = Field(ge=1, le=50)
    min_channels: int = Field(ge=1, le=4)


def cadence_out(cadence: Cadence) -> dict[str, Any]:
    return {
        "id": cadence.pk,
        "name": cadence.name,
        "description": cadence.description,
        "is_default": cadence.is_default,
        "updated_at": cadence.updated_at,
        "steps": [
            {"day_offset": s.day_offset, "channel": s.channel, "instructions": s.instructions}
            for s in cadence.steps.order_by("position")
        ],
    }


def everything() -> dict[str, Any]:
    policies = {p.team_id: p for p in AttemptPolicy.objects.all()}
    fallback = default_policy()
    return {
        "cadences": [cadence_out(c) for c in Cadence.objects.prefetch_related("steps")],
        "rules": [
            {
                "cadence": rule.cadence.name,
                "segment": rule.segment,
                "grade": rule.grade,
                "campaign": rule.campaign.name if rule.campaign else "",
            }
            for rule in CadenceRule.objects.select_related("cadence", "campaign")
        ],
        "policies": [
            {
                "team": team.name,
                "team_id": team.pk,
                "min_attempts": policies[team.pk].min_attempts
                if team.pk in policies
                else fallback.min_attempts,
                "min_channels": policies[team.pk].min_channels
                if team.pk in policies
                else fallback.min_channels,
            }
            for team in Team.objects.order_by("name")
        ],
    }


def _steps(steps: list[StepIO] | None) -> list[StepSpec] | None:
    if steps is None:
        return None
    return [StepSpec(s.day_offset, s.channel, s.instructions) for s in steps]


@router.get(
    "/cadences",
    response={200: CadencesOut, **ERROR_RESPONSES},
    summary="Cadences, the rules that pick them, and each team's minimum attempts",
)
def list_cadences(request: HttpRequest) -> dict[str, Any]:
    api_user(request)
    return everything()


@router.post("/cadences", response={201: CadenceOut, **ERROR_RESPONSES}, summary="Create a cadence")
def create_cadence(request: HttpRequest, payload: CadenceIn) -> Status[dict[str, Any]]:
    user = api_user(request)
    cadence = save_cadence(
        by=user,
        now=timezone.now(),
        name=payload.name,
        description=payload.description,
        is_default=payload.is_default or None,
        steps=_steps(payload.steps),
    )
    return Status(201, cadence_out(cadence))


@router.patch(
    "/cadences/{cadence_id}",
    response={200: CadenceOut, **ERROR_RESPONSES},
    summary="Change a cadence: name, description, default, steps (replaced as given)",
)
def update_cadence(request: HttpRequest, cadence_id: int, payload: CadencePatch) -> dict[str, Any]:
    user = api_user(request)
    cadence = Cadence.objects.filter(pk=cadence_id).first()
    if cadence is None:
        raise ApiError(404, "cadence_id", f"no cadence with id {cadence_id}")
    save_cadence(
        by=user,
        now=timezone.now(),
        cadence=cadence,
        name=payload.name,
        description=payload.description,
        is_default=payload.is_default,
        steps=_steps(payload.steps),
    )
    return cadence_out(cadence)


@router.put(
    "/cadence-rules",
    response={200: CadencesOut, **ERROR_RESPONSES},
    summary="Replace the ordered cadence rules",
)
def put_rules(request: HttpRequest, payload: RulesIn) -> dict[str, Any]:
    user = api_user(request)
    set_cadence_rules([RuleSpec(**rule.model_dump()) for rule in payload.rules], by=user)
    return everything()


@router.put(
    "/teams/{team_id}/attempt-policy",
    response={200: PolicyOut, **ERROR_RESPONSES},
    summary="Set a team's minimum attempts before a lead may be dropped for no response",
)
def put_policy(request: HttpRequest, team_id: int, payload: PolicyIn) -> dict[str, Any]:
    user = api_user(request)
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ApiError(404, "team_id", f"no team with id {team_id}")
    policy = set_attempt_policy(
        team, by=user, min_attempts=payload.min_attempts, min_channels=payload.min_channels
    )
    return {
        "team": team.name,
        "team_id": team.pk,
        "min_attempts": policy.min_attempts,
        "min_channels": policy.min_channels,
    }
