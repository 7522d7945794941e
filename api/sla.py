"""REST API for a team's SLA policies: how fast each kind of lead must be first touched
and the ladder after the deadline. The team's managers and admins read and change them
(`users.access.editable_teams`, as for the team's calendar); `routing.sla` validates:
422 naming a bad value, 403 for a team one may not set up, 404 for one outside one's
scope."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from api.common import InputSchema, api_user
from api.errors import ERROR_RESPONSES, ApiError
from routing.models import SlaPolicy
from routing.sla import create_sla_policy, delete_sla_policy, update_sla_policy
from users.access import editable_teams
from users.models import Team, User

router = Router(tags=["SLA policies"])


class SlaPolicyOut(Schema):
    id: int
    team_id: int
    name: str
    position: int = Field(
        description="Policies are tried in this order; the first that covers a lead applies"
    )
    grades: list[str] = Field(description="Covers leads of these grades (A–D)")
    segments: list[str] = Field(description="Covers leads of these segments")
    marquee: bool = Field(description="Covers leads of marquee accounts")
    hours: int = Field(description="Business hours to the first touch, in the team's calendar")
    remind_before_minutes: int = Field(description="Remind the rep this long before (0: never)")
    reassign_after_hours: int | None = Field(description="Reassign this long after the deadline")
    recycle_after_hours: int | None = Field(
        description="Hand back to marketing this long after the deadline"
    )


class SlaPolicyIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    position: int | None = Field(None, ge=0, description="Default: after the team's others")
    grades: list[str] = []
    segments: list[str] = []
    marquee: bool = False
    hours: int
    remind_before_minutes: int = 0
    reassign_after_hours: int | None = None
    recycle_after_hours: int | None = None


class SlaPolicyPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    position: int | None = Field(None, ge=0)
    grades: list[str] | None = None
    segments: list[str] | None = None
    marquee: bool | None = None
    hours: int | None = None
    remind_before_minutes: int | None = None
    reassign_after_hours: int | None = Field(None, description="null: no reassignment")
    recycle_after_hours: int | None = Field(None, description="null: no hand-back")


def policy_out(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "team_id": policy.team_id,
        "name": policy.name,
        "position": policy.position,
        "grades": list(policy.grades),
        "segments": list(policy.segments),
        "marquee": policy.marquee,
        "hours": policy.hours,
        "remind_before_minutes": policy.remind_before_minutes,
        "reassign_after_hours": policy.reassign_after_hours,
        "recycle_after_hours": policy.recycle_after_hours,
    }


def _team(user: User, team_id: int) -> Team:
    team = editable_teams(user).filter(pk=team_id).first()
    if team is None:
        raise ApiError(404, "team_id", f"no team with id {team_id} you may set up")
    return team


def _policy(team: Team, policy_id: int) -> SlaPolicy:
    policy = SlaPolicy.objects.filter(team=team, pk=policy_id).select_related("team").first()
    if policy is None:
        raise ApiError(404, "policy_id", f"team {team.name} has no SLA policy {policy_id}")
    return policy


@router.get(
    "/teams/{team_id}/sla-policies",
    response={200: list[SlaPolicyOut], **ERROR_RESPONSES},
    summary="A team's SLA policies, in the order they are tried",
)
def list_policies(request: HttpRequest, team_id: int) -> list[dict[str, Any]]:
    team = _team(api_user(request), team_id)
    return [policy_out(policy) for policy in team.sla_policies.order_by("position", "pk")]


@router.post(
    "/teams/{team_id}/sla-policies",
    response={201: SlaPolicyOut, **ERROR_RESPONSES},
    summary="Add an SLA policy to a team",
)
def add_policy(request: HttpRequest, team_id: int, payload: SlaPolicyIn) -> Status[dict[str, Any]]:
    user = api_user(request)
    team = _team(user, team_id)
    values = payload.model_dump(exclude_none=True)
    values.setdefault("reassign_after_hours", payload.reassign_after_hours)
    values.setdefault("recycle_after_hours", payload.recycle_after_hours)
    return Status(201, policy_out(create_sla_policy(team, by=user, **values)))


@router.patch(
    "/teams/{team_id}/sla-policies/{policy_id}",
    response={200: SlaPolicyOut, **ERROR_RESPONSES},
    summary="Change an SLA policy (running clocks keep theirs)",
)
def patch_policy(
    request: HttpRequest, team_id: int, policy_id: int, payload: SlaPolicyPatch
) -> dict[str, Any]:
    user = api_user(request)
    policy = _policy(_team(user, team_id), policy_id)
    changes = payload.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in {"reassign_after_hours", "recycle_after_hours"}:
            raise ApiError(422, field, "must not be null")
    return policy_out(update_sla_policy(policy, by=user, **changes))


@router.delete(
    "/teams/{team_id}/sla-policies/{policy_id}",
    response={204: None, **ERROR_RESPONSES},
    summary="Remove an SLA policy (running clocks keep theirs)",
)
def remove_policy(request: HttpRequest, team_id: int, policy_id: int) -> Status[None]:
    user = api_user(request)
    delete_sla_policy(_policy(_team(user, team_id), policy_id), by=user)
    return Status(204, None)
