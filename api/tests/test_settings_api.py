"""GET/PATCH /users, /teams and GET/POST/PATCH /campaigns: the settings screens' API."""

from __future__ import annotations

from typing import Any

from django.test import Client

from conftest import bearer
from leads.models import Campaign
from users.models import User


def call(method: str, path: str, user: User, body: Any = None) -> Any:
    client = Client()
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": bearer(user)}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


def test_a_manager_lists_their_reps_and_sets_one_away(org: Any) -> None:
    listed = call("get", "/users", org.manager)
    away = call("patch", "/users/rep1", org.manager, {"is_accepting_leads": False})
    role = call("patch", "/users/rep1", org.manager, {"role": "admin"})
    other = call("patch", "/users/rep3", org.manager, {"timezone": "Europe/Berlin"})

    assert [u["username"] for u in listed.json()] == ["manager", "rep1", "rep2"]
    assert away.status_code == 200
    assert (away.json()["is_accepting_leads"], away.json()["role"]) == (False, "sales_rep")
    assert role.status_code == 403
    assert role.json()["errors"] == [{"field": "role", "message": "you may not change role"}]
    assert other.status_code == 404
    assert User.objects.get(username="rep1").role == "sales_rep"


def test_anyone_sets_their_own_time_zone_and_a_bad_one_is_named(org: Any) -> None:
    good = call("patch", "/users/rep1", org.rep1, {"timezone": "Asia/Tokyo"})
    bad = call("patch", "/users/rep1", org.rep1, {"timezone": "Mars/Olympus"})
    intake = call("patch", "/users/rep1", org.rep1, {"is_accepting_leads": False})

    assert (good.status_code, good.json()["timezone"]) == (200, "Asia/Tokyo")
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"field": "timezone", "message": "'Mars/Olympus' is not a time zone (e.g. Europe/Berlin)"}
    ]
    assert intake.status_code == 403


def test_an_admin_moves_a_rep_to_another_team(org: Any) -> None:
    moved = call("patch", "/users/rep1", org.admin, {"team": "Americas", "role": "sales_manager"})
    unknown = call("patch", "/users/rep1", org.admin, {"team": "Mars"})

    assert (moved.json()["team"], moved.json()["role"]) == ("Americas", "sales_manager")
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"field": "team", "message": "no team called 'Mars'"}]


def test_a_manager_sets_their_teams_calendar_and_only_theirs(org: Any) -> None:
    teams = call("get", "/teams", org.manager)
    patched = call(
        "patch",
        f"/teams/{org.emea.pk}",
        org.manager,
        {"workday_start": "08:00", "workday_end": "16:00", "holidays": ["2026-12-25"]},
    )
    backwards = call("patch", f"/teams/{org.emea.pk}", org.manager, {"workday_end": "07:00"})
    other = call("patch", f"/teams/{org.americas.pk}", org.manager, {"sla_hours": 4})

    assert [t["name"] for t in teams.json()] == ["EMEA"]
    assert patched.status_code == 200
    assert (patched.json()["workday_start"], patched.json()["holidays"]) == (
        "08:00:00",
        ["2026-12-25"],
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"] == [
        {"field": "workday_end", "message": "the working day must end after it starts"}
    ]
    assert other.status_code == 404


def test_marketing_creates_and_changes_a_campaign_and_sales_may_not(org: Any) -> None:
    created = call(
        "post",
        "/campaigns",
        org.marketer,
        {"name": "Fair", "channel": "trade_show", "cost": "900.50", "starts_on": "2026-03-01"},
    )
    campaign_id = created.json()["id"]
    patched = call("patch", f"/campaigns/{campaign_id}", org.marketer, {"cost": "1000"})
    backwards = call("patch", f"/campaigns/{campaign_id}", org.marketer, {"ends_on": "2026-02-01"})
    by_rep = call("post", "/campaigns", org.rep1, {"name": "Mine"})
    listed = call("get", "/campaigns", org.rep1)

    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("name", "channel", "cost", "currency", "leads")} == {
        "name": "Fair",
        "channel": "trade_show",
        "cost": "900.50",
        "currency": "EUR",
        "leads": 0,
    }
    assert created.json()["funnel"][0] == {
        "stage": "new",
        "label": "New",
        "reached": 0,
        "current": 0,
    }
    assert patched.json()["cost"] == "1000.00"
    assert backwards.status_code == 422
    assert backwards.json()["errors"] == [
        {"field": "ends_on", "message": "a campaign cannot end before it starts"}
    ]
    assert by_rep.status_code == 403
    assert listed.json()["count"] == 2
    assert not Campaign.objects.filter(name="Mine").exists()


def test_an_admin_adds_a_person_and_a_team_through_the_api(org: Any) -> None:
    team = call("post", "/teams", org.admin, {"name": "Nordics", "countries": ["Sverige", "NO"]})
    person = call(
        "post",
        "/users",
        org.admin,
        {"username": "sven", "first_name": "Sven", "team": "Nordics", "role": "sales_manager"},
    )
    taken = call("post", "/users", org.admin, {"username": "SVEN"})
    no_team = call("post", "/users", org.admin, {"username": "olaf", "team": "Nowhere"})
    bad_zone = call("post", "/users", org.admin, {"username": "olaf", "timezone": "Mars/Base"})
    no_country = call("post", "/teams", org.admin, {"name": "Atlantis", "countries": ["Atlantis"]})

    assert team.status_code == 201
    assert (team.json()["countries"], team.json()["sla_hours"]) == (["SE", "NO"], 24)
    assert person.status_code == 201
    body = person.json()
    assert (body["full_name"], body["team"], body["role"]) == ("Sven", "Nordics", "sales_manager")
    assert body["set_password_url"].startswith("http://testserver/set-password/")
    assert [r.json()["errors"][0]["field"] for r in (taken, no_team, bad_zone, no_country)] == [
        "username",
        "team",
        "timezone",
        "countries",
    ]
    assert {r.status_code for r in (taken, no_team, bad_zone, no_country)} == {422}


def test_a_manager_adds_a_rep_to_their_team_and_deactivates_one_through_the_api(
    org: Any,
) -> None:
    rep = call("post", "/users", org.manager, {"username": "newrep"})
    boss = call("post", "/users", org.manager, {"username": "boss", "role": "admin"})
    team = call("post", "/teams", org.manager, {"name": "Mine"})
    gone = call("post", "/users/rep2/deactivate", org.manager)
    elsewhere = call("post", "/users/rep3/deactivate", org.manager)
    link = call("post", "/users/newrep/password-link", org.manager)

    assert (rep.status_code, rep.json()["team"], rep.json()["role"]) == (201, "EMEA", "sales_rep")
    assert boss.status_code == 403
    assert boss.json()["errors"] == [{"field": "role", "message": "a manager adds sales reps only"}]
    assert team.status_code == 403
    assert (gone.status_code, gone.json()["is_active"], gone.json()["open_leads"]) == (
        200,
        False,
        0,
    )
    assert elsewhere.status_code == 404
    assert link.json()["set_password_url"].startswith("http://testserver/set-password/")
    # The deactivated rep's token stops working at once.
    assert call("get", "/users", User.objects.get(username="rep2")).status_code == 401
