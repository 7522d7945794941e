"""REST API for people and teams: their settings, as the /people/ and /teams/ screens set
them. Who may change what is `users.access` (admins everything; a manager their own team
and its reps' lead intake and time zone, never a role; anyone their own time zone), and
`users.services.update_user` / `update_team` check it and validate: 403 naming the field
one may not change, 422 naming a bad value, 404 for a person or team outside one's scope.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema

from api.common import InputSchema, api_user
from api.errors import ERROR_RESPONSES, ApiError
from users.access import editable_teams, editable_users
from users.choices import Role
from users.models import Team, User
from users.services import update_team, update_user

router = Router(tags=["people and teams"])


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    role: str
    team: str | None
    is_accepting_leads: bool
    max_open_leads: int | None = Field(description="open-lead cap; null: none")
    timezone: str
    is_active: bool


class UserPatch(InputSchema):
    role: Role | None = Field(None, description="Admins only")
    team: str | None = Field(None, description="A team's name; admins only. null: no team")
    is_accepting_leads: bool | None = Field(None, description="false: round robin skips them")
    max_open_leads: int | None = Field(
        None, description="most open leads round robin gives them; null: no cap"
    )
    timezone: str | None = Field(None, max_length=64, description="e.g. Europe/Berlin")


class TeamOut(Schema):
    id: int
    name: str
    timezone: str
    workday_start: time
    workday_end: time
    workdays: list[int] = Field(description="0 = Monday … 6 = Sunday")
    holidays: list[date]
    countries: list[str]
    sla_hours: int
    holiday_country: str = Field(description="Public holidays of this country are days off")
    holiday_region: str = Field(description="…and of this region (subdivision) of it")


class TeamPatch(InputSchema):
    timezone: str | None = Field(None, max_length=64)
    workday_start: time | None = None
    workday_end: time | None = None
    workdays: list[int] | None = None
    holidays: list[date] | None = None
    countries: list[str] | None = None
    sla_hours: int | None = Field(None, description="When no SLA policy covers a lead")
    holiday_country: str | None = Field(None, max_length=2, description='e.g. "DE"; "": none')
    holiday_region: str | None = Field(None, max_length=10, description='e.g. "BY"; "": none')


def user_out(person: User) -> dict[str, Any]:
    return {
        "id": person.pk,
        "username": person.username,
        "full_name": person.get_full_name(),
        "role": person.role,
        "team": person.team.name if person.team else None,
        "is_accepting_leads": person.is_accepting_leads,
        "max_open_leads": person.max_open_leads,
        "timezone": person.timezone,
        "is_active": person.is_active,
    }


def team_out(team: Team) -> dict[str, Any]:
    return {
        "id": team.pk,
        "name": team.name,
        "timezone": team.timezone,
        "workday_start": team.workday_start,
        "workday_end": team.workday_end,
        "workdays": list(team.workdays),
        "holidays": list(team.holidays),
        "countries": list(team.countries),
        "sla_hours": team.sla_hours,
        "holiday_country": team.holiday_country,
        "holiday_region": team.holiday_region,
    }


def _people(user: User) -> QuerySet[User]:
    """Those the caller may look up: whom they may set up, and themselves."""
    return (
        User.objects.filter(Q(pk__in=editable_users(user).values("pk")) | Q(pk=user.pk))
        .select_related("team")
        .order_by("username")
    )


@router.get("/users", response={200: list[UserOut], **ERROR_RESPONSES}, summary="People")
def list_users(request: HttpRequest) -> list[dict[str, Any]]:
    """The people the caller may set up (admins: everyone; a manager: their team's reps)
    and the caller."""
    return [user_out(person) for person in _people(api_user(request))]


@router.patch(
    "/users/{username}",
    response={200: UserOut, **ERROR_RESPONSES},
    summary="Change a person's role, team, lead intake or time zone",
)
def patch_user(request: HttpRequest, username: str, payload: UserPatch) -> dict[str, Any]:
    user = api_user(request)
    person = _people(user).filter(username=username).first()
    if person is None:
        raise ApiError(404, "username", f"no person {username!r} you may set up")
    changes = payload.model_dump(exclude_unset=True)
    if "team" in changes and changes["team"] is not None:
        team = Team.objects.filter(name=changes["team"]).first()
        if team is None:
            raise ApiError(422, "team", f"no team called {changes['team']!r}")
        changes["team"] = team
    for field in ("role", "is_accepting_leads", "timezone"):
        if field in changes and changes[field] is None:
            raise ApiError(422, field, "must not be null")
    update_user(person, by=user, **changes)
    person.refresh_from_db()
    return user_out(person)


@router.get("/teams", response={200: list[TeamOut], **ERROR_RESPONSES}, summary="Teams")
def list_teams(request: HttpRequest) -> list[dict[str, Any]]:
    """The teams the caller may set up (admins: all; a manager: their own)."""
    return [team_out(team) for team in editable_teams(api_user(request))]


def _team(user: User, team_id: int) -> Team:
    team = editable_teams(user).filter(pk=team_id).first()
    if team is None:
        raise ApiError(404, "team_id", f"no team with id {team_id} you may set up")
    return team


@router.get("/teams/{team_id}", response={200: TeamOut, **ERROR_RESPONSES}, summary="A team")
def get_team(request: HttpRequest, team_id: int) -> dict[str, Any]:
    return team_out(_team(api_user(request), team_id))


@router.patch(
    "/teams/{team_id}",
    response={200: TeamOut, **ERROR_RESPONSES},
    summary="Change a team's calendar, countries or SLA hours",
)
def patch_team(request: HttpRequest, team_id: int, payload: TeamPatch) -> dict[str, Any]:
    user = api_user(request)
    team = _team(user, team_id)
    changes = payload.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise ApiError(422, field, "must not be null")
    update_team(team, by=user, **changes)
    team.refresh_from_db()
    return team_out(team)
