"""REST API for people and teams: new ones, their settings, deactivation and set-password
links, as the /people/ and /teams/ screens do them. Who may change what is `users.access` (admins everything; a manager their own team
and its reps' lead intake and time zone, never a role; anyone their own time zone), and
`users.services.update_user` / `update_team` check it and validate: 403 naming the field
one may not change, 422 naming a bad value, 404 for a person or team outside one's scope.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from api.common import InputSchema, api_user
from api.errors import ERROR_RESPONSES, ApiError
from routing.availability import set_active
from users.access import editable_teams, editable_users
from users.choices import Role
from users.models import Team, User
from users.services import (
    create_team,
    create_user,
    password_link,
    update_team,
    update_user,
)

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
    first_name: str | None = Field(None, max_length=150, description="Admins only")
    last_name: str | None = Field(None, max_length=150, description="Admins only")
    email: str | None = Field(None, max_length=254, description="Admins only")
    role: Role | None = Field(None, description="Admins only")
    team: str | None = Field(None, description="A team's name; admins only. null: no team")
    is_accepting_leads: bool | None = Field(None, description="false: round robin skips them")
    max_open_leads: int | None = Field(
        None, description="most open leads round robin gives them; null: no cap"
    )
    timezone: str | None = Field(None, max_length=64, description="e.g. Europe/Berlin")


class UserIn(InputSchema):
    username: str = Field(max_length=150, description="What they log in with; must be new")
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    email: str = Field("", max_length=254)
    role: Role = Field(Role.SALES_REP, description="Admins only; a manager adds sales reps")
    team: str | None = Field(
        None, description="A team's name. A manager's new rep joins the manager's team"
    )
    is_accepting_leads: bool = True
    timezone: str | None = Field(
        None, max_length=64, description="e.g. Europe/Berlin; default: the team's calendar zone"
    )


class NewUserOut(UserOut):
    set_password_url: str = Field(
        description="Where they choose their password: hand it to them (shown once, works"
        " once, expires after PASSWORD_RESET_TIMEOUT)"
    )


class PasswordLinkOut(Schema):
    username: str
    set_password_url: str


class UserActiveOut(UserOut):
    open_leads: int = Field(description="Open leads they still own: reassign them")


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


class TeamIn(InputSchema):
    name: str = Field(max_length=100)
    timezone: str = Field("UTC", max_length=64)
    workday_start: time | None = None
    workday_end: time | None = None
    workdays: list[int] | None = None
    holidays: list[date] | None = None
    countries: list[str] | None = Field(
        None, description='ISO codes or names as people type them ("DE", "Deutschland", "UK")'
    )
    sla_hours: int | None = None


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
        # A superuser acts as an admin whatever `role` says (users.permissions.role_of).
        "role": Role.ADMIN.value if person.is_superuser else person.role,
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


def _team_named(name: str | None) -> Team | None:
    if name is None:
        return None
    team = Team.objects.filter(name=name).first()
    if team is None:
        raise ApiError(422, "team", f"no team called {name!r}")
    return team


@router.post(
    "/users",
    response={201: NewUserOut, **ERROR_RESPONSES},
    summary="Add a person, with a link where they set their password",
)
def post_user(request: HttpRequest, payload: UserIn) -> Status[dict[str, Any]]:
    """An admin adds anyone; a manager adds sales reps to their own team. No password is
    set: the answer's `set_password_url` is where the person chooses one. A user name
    already taken (whatever its case) answers 422 naming `username`."""
    user = api_user(request)
    data = payload.model_dump()
    data["team"] = _team_named(data["team"])
    created = create_user(by=user, **data)
    url = request.build_absolute_uri(created.set_password_path)
    return Status(201, {**user_out(created.user), "set_password_url": url})


def _person(user: User, username: str) -> User:
    person = _people(user).filter(username=username).first()
    if person is None:
        raise ApiError(404, "username", f"no person {username!r} you may set up")
    return person


@router.post(
    "/users/{username}/password-link",
    response={200: PasswordLinkOut, **ERROR_RESPONSES},
    summary="A new set-password link for a person",
)
def post_password_link(request: HttpRequest, username: str) -> dict[str, Any]:
    user = api_user(request)
    person = _person(user, username)
    path = password_link(person, by=user)
    return {"username": person.username, "set_password_url": request.build_absolute_uri(path)}


def _set_active(request: HttpRequest, username: str, *, is_active: bool) -> dict[str, Any]:
    user = api_user(request)
    person = _person(user, username)
    open_leads = set_active(person, by=user, is_active=is_active, now=timezone.now())
    person.refresh_from_db()
    return {**user_out(person), "open_leads": open_leads}


@router.post(
    "/users/{username}/deactivate",
    response={200: UserActiveOut, **ERROR_RESPONSES},
    summary="Deactivate a person who left (no logins, no API, no new leads)",
)
def deactivate_user(request: HttpRequest, username: str) -> dict[str, Any]:
    return _set_active(request, username, is_active=False)


@router.post(
    "/users/{username}/reactivate",
    response={200: UserActiveOut, **ERROR_RESPONSES},
    summary="Reactivate a person",
)
def reactivate_user(request: HttpRequest, username: str) -> dict[str, Any]:
    return _set_active(request, username, is_active=True)


@router.patch(
    "/users/{username}",
    response={200: UserOut, **ERROR_RESPONSES},
    summary="Change a person's role, team, lead intake or time zone",
)
def patch_user(request: HttpRequest, username: str, payload: UserPatch) -> dict[str, Any]:
    user = api_user(request)
    person = _person(user, username)
    changes = payload.model_dump(exclude_unset=True)
    if "team" in changes:
        changes["team"] = _team_named(changes["team"])
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


@router.post("/teams", response={201: TeamOut, **ERROR_RESPONSES}, summary="Create a team")
def post_team(request: HttpRequest, payload: TeamIn) -> Status[dict[str, Any]]:
    """Admins only. What is not given takes the defaults (09:00–17:00, Monday to Friday,
    LEADLOOP_DEFAULT_SLA_HOURS); a name already taken answers 422 naming `name`."""
    calendar = payload.model_dump(exclude_none=True)
    team = create_team(by=api_user(request), **calendar)
    return Status(201, team_out(team))


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
