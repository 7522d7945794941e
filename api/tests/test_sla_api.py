"""/teams/{id}/sla-policies and /notifications/email: SLA policies and email choices
through the API, the same services as the pages and the CLI."""

from __future__ import annotations

from typing import Any

from api.tests.test_settings_api import call
from routing.models import SlaPolicy


def test_a_manager_adds_changes_and_removes_their_teams_policies(org: Any) -> None:
    path = f"/teams/{org.emea.pk}/sla-policies"
    added = call(
        "post", path, org.manager,
        {"name": "Grade A", "grades": ["A"], "marquee": True, "hours": 1,
         "remind_before_minutes": 15, "reassign_after_hours": 2, "recycle_after_hours": 8},
    )  # fmt: skip
    assert added.status_code == 201
    policy_id = added.json()["id"]
    changed = call("patch", f"{path}/{policy_id}", org.manager, {"recycle_after_hours": None})
    listed = call("get", path, org.manager)

    assert changed.status_code == 200
    assert changed.json()["recycle_after_hours"] is None
    assert [(p["name"], p["grades"], p["hours"]) for p in listed.json()] == [("Grade A", ["A"], 1)]
    assert call("delete", f"{path}/{policy_id}", org.manager).status_code == 204
    assert not SlaPolicy.objects.exists()


def test_a_bad_policy_is_named_and_another_teams_is_out_of_reach(org: Any) -> None:
    path = f"/teams/{org.emea.pk}/sla-policies"
    bad = call("post", path, org.manager, {"name": "Fast", "hours": 4, "grades": ["Z"]})
    other = call(
        "post", f"/teams/{org.americas.pk}/sla-policies", org.manager, {"name": "X", "hours": 4}
    )
    rep = call("get", path, org.rep1)

    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "grades"
    assert other.status_code == 404
    assert rep.status_code == 404


def test_a_teams_holiday_calendar_is_set_through_the_api(org: Any) -> None:
    changed = call(
        "patch",
        f"/teams/{org.emea.pk}",
        org.admin,
        {"holiday_country": "DE", "holiday_region": "BY"},
    )
    bad = call("patch", f"/teams/{org.emea.pk}", org.admin, {"holiday_country": "QQ"})

    assert (changed.json()["holiday_country"], changed.json()["holiday_region"]) == ("DE", "BY")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "holiday_country"


def test_anyone_chooses_their_emails_per_kind(org: Any) -> None:
    org.rep1.email = "rep1@example.io"
    org.rep1.save()

    changed = call(
        "patch", "/notifications/email", org.rep1, {"sla_breach": False, "assigned": True}
    )
    bad = call("patch", "/notifications/email", org.rep1, {"gossip": True})
    listed = call("get", "/notifications/email", org.rep1)

    assert changed.status_code == 200
    emailed = {row["kind"]: row["email"] for row in listed.json()}
    assert (emailed["sla_breach"], emailed["assigned"], emailed["sla_reminder"]) == (
        False,
        True,
        True,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "email_notifications"
