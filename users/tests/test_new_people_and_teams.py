"""users.services: adding people and teams, deactivating people who leave, and teams'
countries typed as people type them. One service under the screen, the API and the CLI."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from capture.services import capture_lead
from conftest import HOT, bearer
from leads.errors import FieldError, NotPermitted
from routing.services import assign_lead
from users.models import Team, User
from users.services import (
    create_team,
    create_user,
    password_link,
    set_user_active,
    update_team,
    update_user,
)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_an_admin_adds_a_person_who_then_chooses_their_password(org: Any) -> None:
    created = create_user(
        by=org.admin,
        username="ana",
        first_name="Ana",
        last_name="Lima",
        email="Ana@Example.org",
        role="sales_manager",
        team=org.americas,
        is_accepting_leads=False,
    )

    ana = User.objects.get(username="ana")
    assert (ana.get_full_name(), ana.email, ana.role, ana.team, ana.is_accepting_leads) == (
        "Ana Lima",
        "Ana@example.org",
        "sales_manager",
        org.americas,
        False,
    )
    # The team's calendar zone, unless one is given; no password anyone knows.
    assert ana.timezone == "America/New_York"
    assert not ana.has_usable_password()
    token = created.set_password_path.rstrip("/").split("/")[-1]
    assert created.set_password_path.startswith("/set-password/")
    assert default_token_generator.check_token(ana, token)


def test_a_manager_adds_reps_to_their_own_team_only(org: Any) -> None:
    created = create_user(by=org.manager, username="newrep", timezone="Europe/Berlin")

    assert (created.user.team, created.user.role, created.user.timezone) == (
        org.emea,
        "sales_rep",
        "Europe/Berlin",
    )
    with pytest.raises(NotPermitted) as role:
        create_user(by=org.manager, username="boss", role="admin")
    with pytest.raises(NotPermitted) as team:
        create_user(by=org.manager, username="spy", team=org.americas)
    assert (role.value.field, team.value.field) == ("role", "team")
    for someone in (org.rep1, org.marketer):
        with pytest.raises(NotPermitted):
            create_user(by=someone, username="x")
    assert not User.objects.filter(username__in=["boss", "spy", "x"]).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"username": "REP1"}, "username", "'REP1' is taken"),
        ({"username": " "}, "username", "required"),
        ({"username": "ana lima"}, "username", "letters, digits and @ . + - _ only"),
        ({"username": "ana", "timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus' is not a time zone (e.g. Europe/Berlin)"),
        ({"username": "ana", "role": "boss"}, "role", "must be one of: admin, marketing, sales_manager, sales_rep"),
        ({"username": "ana", "email": "ana@localhost"}, "email", None),
    ],
)  # fmt: skip
def test_a_bad_new_person_is_refused_naming_the_field(
    org: Any, fields: dict[str, str], field: str, message: str | None
) -> None:
    with pytest.raises(FieldError) as error:
        create_user(by=org.admin, **fields)  # type: ignore[arg-type]

    assert error.value.field == field
    if message is not None:
        assert error.value.message == message
    assert not User.objects.filter(username="ana").exists()


def test_an_admin_creates_a_team_and_a_manager_may_not(org: Any) -> None:
    team = create_team(
        by=org.admin, name="Nordics", timezone="Europe/Stockholm", countries=["Sverige", "no"]
    )

    assert (team.name, team.timezone, team.countries, team.sla_hours) == (
        "Nordics",
        "Europe/Stockholm",
        ["SE", "NO"],
        24,
    )
    with pytest.raises(NotPermitted):
        create_team(by=org.manager, name="Mine")
    with pytest.raises(FieldError, match="a team called 'emea' exists"):
        create_team(by=org.admin, name="emea")
    with pytest.raises(FieldError) as countries:
        create_team(by=org.admin, name="Atlantis", countries=["Atlantis"])
    assert countries.value.field == "countries"
    assert not Team.objects.filter(name__in=["Mine", "Atlantis"]).exists()


def test_a_teams_countries_are_stored_as_the_codes_routing_matches(org: Any) -> None:
    update_team(org.emea, by=org.manager, countries=["Deutschland", "UK", "de", " Österreich "])

    org.emea.refresh_from_db()
    assert org.emea.countries == ["DE", "GB", "AT"]
    with pytest.raises(FieldError) as error:
        update_team(org.emea, by=org.manager, countries=["Germany", "Narnia"])
    assert (error.value.field, error.value.message) == (
        "countries",
        "'Narnia' is not a country (a name such as Germany, or DE)",
    )


def test_a_deactivated_rep_gets_no_new_leads_and_the_manager_hears_what_they_still_own(
    org: Any, now: datetime
) -> None:
    lead = capture_lead({**HOT, "email": "kept@acme.io"}, source="api", now=now).lead
    assign_lead(lead, now=now, to=org.rep1)

    open_leads = set_user_active(org.rep1, by=org.manager, is_active=False)

    org.rep1.refresh_from_db()
    assert (org.rep1.is_active, open_leads) == (False, 1)
    routed = capture_lead({**HOT, "email": "next@acme.io"}, source="api", now=now).lead
    assert routed.owner == org.rep2
    with pytest.raises(FieldError, match="this person is deactivated: reactivate them first"):
        password_link(org.rep1, by=org.admin)
    set_user_active(org.rep1, by=org.manager, is_active=True)
    org.rep1.refresh_from_db()
    assert org.rep1.is_active


def test_a_manager_gives_a_new_link_only_to_a_rep_who_never_set_a_password(org: Any) -> None:
    newcomer = create_user(by=org.manager, username="newrep").user

    again = password_link(newcomer, by=org.manager)

    assert again.startswith("/set-password/")
    with pytest.raises(NotPermitted, match="they have set a password already"):
        password_link(org.rep1, by=org.manager)
    assert password_link(org.rep1, by=org.admin).startswith("/set-password/")
    with pytest.raises(NotPermitted):
        password_link(org.rep3, by=org.manager)


def test_nobody_deactivates_themselves_or_someone_outside_their_team(org: Any) -> None:
    with pytest.raises(NotPermitted, match="you may not deactivate yourself"):
        set_user_active(org.admin, by=org.admin, is_active=False)
    with pytest.raises(NotPermitted):
        set_user_active(org.rep3, by=org.manager, is_active=False)
    with pytest.raises(NotPermitted):
        set_user_active(org.rep1, by=org.rep2, is_active=False)
    assert User.objects.filter(is_active=False).count() == 0


def test_the_cli_adds_people_and_teams_and_deactivates(org: Any, settings: Any) -> None:
    settings.LEADLOOP_BASE_URL = "https://leads.example.com"

    team = run("teams", "create", "Nordics", "--as", "admin", "--countries", "Sweden, NO")
    person = run(
        "people", "create", "sven", "--as", "admin", "--first-name", "Sven",
        "--role", "sales_rep", "--team", "Nordics", "--timezone", "Europe/Stockholm",
    )  # fmt: skip
    gone = run("people", "deactivate", "sven", "--as", "admin")

    assert "Countries:     Sweden (SE), Norway (NO)" in team
    assert "sven\tSales rep\tNordics\taccepting leads\tEurope/Stockholm" in person
    assert "https://leads.example.com/set-password/" in person
    assert (
        gone.strip()
        == "sven\tSales rep\tNordics\taccepting leads\tEurope/Stockholm\tno cap\tinactive"
    )
    with pytest.raises(CommandError, match="username: 'sven' is taken"):
        run("people", "create", "sven", "--as", "admin")
    with pytest.raises(CommandError, match="team: no team called 'Nowhere'"):
        run("people", "create", "olaf", "--as", "admin", "--team", "Nowhere")
    with pytest.raises(CommandError, match="team: you may not create teams"):
        run("teams", "create", "Mine", "--as", "manager")
    with pytest.raises(CommandError, match="countries: 'Narnia' is not a country"):
        run("teams", "set", "EMEA", "--as", "admin", "--countries", "Narnia")


def test_an_admin_corrects_a_name_and_email_at_every_door_and_a_manager_may_not(
    org: Any,
) -> None:
    admin = Client()
    admin.force_login(org.admin)

    screen = admin.post(
        reverse("web:person", args=[org.rep1.pk]),
        {"first_name": "Rita", "last_name": "Rep", "email": "rita@example.org",
         "role": "sales_rep", "team": org.emea.pk, "is_accepting_leads": "on",
         "timezone": "UTC"},
    )  # fmt: skip
    api = Client().patch(
        "/api/v1/users/rep2",
        {"email": "bob@localhost"},
        content_type="application/json",
        HTTP_AUTHORIZATION=bearer(org.admin),
    )
    run("people", "set", "rep3", "--as", "admin", "--first-name", "Ron", "--last-name", "Reyes")

    assert screen.status_code == 302
    org.rep1.refresh_from_db()
    assert (org.rep1.get_full_name(), org.rep1.email) == ("Rita Rep", "rita@example.org")
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "email"
    assert User.objects.get(username="rep3").get_full_name() == "Ron Reyes"
    with pytest.raises(NotPermitted, match="you may not change email"):
        update_user(org.rep1, by=org.manager, email="x@example.org")
