"""/routing/rules, /leads/{id}/routing, /users/{username}/leave and the open-lead cap."""

from __future__ import annotations

from typing import Any

from django.test import Client

from capture.services import capture_lead
from conftest import HOT, bearer
from leads.models import Lead
from routing.models import RoutingRule
from users.models import User

DACH = {
    "name": "DACH enterprise",
    "conditions": [
        {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
        {"field": "account.employees", "op": "at_least", "value": 1000},
    ],
    "target": "team",
    "to_team": "EMEA",
}


def call(method: str, path: str, user: User, body: Any = None) -> Any:
    client = Client()
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": bearer(user)}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


def test_a_manager_adds_lists_moves_and_removes_rules(org: Any) -> None:
    made = call("post", "/routing/rules", org.manager, DACH)
    first = call("post", "/routing/rules", org.manager, {
        "name": "Students", "conditions": [{"field": "title", "op": "contains", "value": "student"}],
        "target": "queue", "to_team": "Americas", "position": 1,
    })  # fmt: skip
    moved = call("patch", f"/routing/rules/{made.json()['id']}", org.manager, {"position": 1})
    listed = call("get", "/routing/rules", org.admin)
    removed = call("delete", f"/routing/rules/{first.json()['id']}", org.manager)

    assert made.status_code == 201
    assert made.json()["conditions"] == [
        {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
        {"field": "account.employees", "op": "at_least", "value": "1000"},
    ]
    assert moved.json()["position"] == 1
    assert [(r["name"], r["position"]) for r in listed.json()] == [
        ("DACH enterprise", 1), ("Students", 2),
    ]  # fmt: skip
    assert removed.status_code == 204
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["DACH enterprise"]


def test_bad_rules_are_refused_naming_the_field(org: Any) -> None:
    bad_op = call("post", "/routing/rules", org.manager, {
        **DACH, "conditions": [{"field": "country", "op": "equals", "value": "DE"}],
    })  # fmt: skip
    no_team = call("post", "/routing/rules", org.manager, {**DACH, "to_team": "Mars"})
    rep = call("post", "/routing/rules", org.rep1, DACH)
    rep_list = call("get", "/routing/rules", org.marketer)

    assert bad_op.status_code == 422
    assert bad_op.json()["errors"][0]["field"] == "conditions[0].op"
    assert no_team.json()["errors"] == [{"field": "to_team", "message": "no team called 'Mars'"}]
    assert (rep.status_code, rep_list.status_code) == (403, 403)


def test_explain_answers_managers_about_leads_they_see(org: Any, clock: Any) -> None:
    now = clock
    call("post", "/routing/rules", org.manager, {
        "name": "US", "conditions": [{"field": "country", "op": "is", "value": "US"}],
        "target": "user", "to_user": "rep3",
    })  # fmt: skip
    lead = capture_lead({"email": "a@acme.io", **HOT}, source="api", now=now).lead

    answer = call("get", f"/leads/{lead.pk}/routing", org.manager)
    rep = call("get", f"/leads/{lead.pk}/routing", org.rep1)
    outsider = call("get", f"/leads/{lead.pk}/routing", org.us_manager)

    assert answer.status_code == 200
    body = answer.json()
    assert (body["rule"], body["team"]) == (None, "EMEA")
    assert body["steps"][:2] == ["account owner: none", "rule 'US': no, not (country is US)"]
    assert rep.status_code == 403
    assert outsider.status_code == 404


def test_leave_and_cap_through_the_api(org: Any, clock: Any) -> None:
    now = clock
    lead = capture_lead({"email": "a@acme.io", **HOT}, source="api", now=now).lead
    assert lead.owner == org.rep1
    today = now.date().isoformat()

    cap = call("patch", "/users/rep2", org.manager, {"max_open_leads": 10})
    bad_cap = call("patch", "/users/rep2", org.manager, {"max_open_leads": 0})
    own = call("post", "/users/rep1/leave", org.rep1, {"starts_on": today, "ends_on": today})
    others = call("post", "/users/rep2/leave", org.rep1, {"starts_on": today, "ends_on": today})
    backwards = call("post", "/users/rep1/leave", org.manager, {
        "starts_on": "2026-12-02", "ends_on": "2026-12-01"})  # fmt: skip
    listed = call("get", "/users/rep1/leave", org.manager)

    assert cap.json()["max_open_leads"] == 10
    assert bad_cap.status_code == 422
    assert bad_cap.json()["errors"][0]["field"] == "max_open_leads"
    assert own.status_code == 201
    assert others.status_code == 404
    assert backwards.json()["errors"][0]["field"] == "ends_on"
    assert [(x["starts_on"], x["ends_on"]) for x in listed.json()] == [(today, today)]
    # The leave has begun: rep1's open lead went on to rep2.
    assert Lead.objects.get(pk=lead.pk).owner == org.rep2
    gone = call("delete", f"/leave/{own.json()['id']}", org.manager)
    assert gone.status_code == 204
