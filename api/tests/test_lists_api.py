"""/lists and /lists/{id}/members: marketing builds lists, everyone sees only the members
they may see, a bad condition is refused naming it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.test import Client

from conftest import bearer
from leads.models import Lead
from nurture.models import LeadList
from users.models import User


def call(method: str, path: str, user: User, body: Any = None) -> Any:
    client = Client()
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": bearer(user)}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


def lead(email: str, now: datetime, **fields: Any) -> Lead:
    return Lead.objects.create(email=email, stage_changed_at=now, arrived_at=now, **fields)


def test_marketing_creates_a_smart_list_and_reads_its_members(org: Any, now: datetime) -> None:
    lead("de@x.io", now, country="DE", grade="A")
    lead("us@x.io", now, country="US", grade="A")
    body = {"name": "German A", "conditions": [
        {"field": "country", "op": "is", "value": "de"}, {"field": "grade", "op": "is", "value": "A"},
    ]}  # fmt: skip

    made = call("post", "/lists", org.marketer, body)

    assert made.status_code == 201, made.content
    assert made.json()["members"] == 1
    assert made.json()["conditions_text"] == "country is DE\ngrade is A"
    list_id = made.json()["id"]
    members = call("get", f"/lists/{list_id}/members", org.marketer).json()
    assert [m["email"] for m in members["items"]] == ["de@x.io"]
    changed = call("patch", f"/lists/{list_id}", org.marketer, {"conditions": [
        {"field": "grade", "op": "is", "value": "A"}]})  # fmt: skip
    assert changed.json()["members"] == 2
    assert changed.json()["last_joined"] == 1
    assert call("post", f"/lists/{list_id}/refresh", org.marketer).json() == {
        "joined": 0,
        "left": 0,
        "members": 2,
    }
    assert call("delete", f"/lists/{list_id}", org.marketer).status_code == 204
    assert not LeadList.objects.exists()


def test_a_bad_condition_is_refused_naming_it(org: Any) -> None:
    answer = call("post", "/lists", org.marketer, {"name": "Bad", "conditions": [
        {"field": "grade", "op": "is", "value": "A"}, {"field": "score", "op": "at_least", "value": "x"},
    ]})  # fmt: skip

    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "conditions[1].value", "message": "'x' is not a number"}
    ]
    assert not LeadList.objects.exists()


def test_sales_may_read_lists_but_not_change_them(org: Any) -> None:
    made = call("post", "/lists", org.marketer, {"name": "VIP", "kind": "static"}).json()

    assert call("post", "/lists", org.rep1, {"name": "Mine"}).status_code == 403
    assert call("delete", f"/lists/{made['id']}", org.manager).status_code == 403
    assert call("get", f"/lists/{made['id']}", org.rep1).status_code == 200


def test_static_members_through_the_api_and_scoped_to_what_one_sees(
    org: Any, now: datetime
) -> None:
    mine = lead("mine@x.io", now, owner=org.rep1, team=org.emea)
    theirs = lead("theirs@x.io", now, owner=org.rep3, team=org.americas)
    made = call("post", "/lists", org.marketer, {"name": "VIP", "kind": "static"}).json()
    path = f"/lists/{made['id']}/members"

    added = call("post", path, org.marketer, {"lead_ids": [mine.pk, theirs.pk]})
    assert added.json() == {"changed": 2, "members": 2}
    # A rep sees only their own lead among the members, in the list and its count.
    assert [m["email"] for m in call("get", path, org.rep1).json()["items"]] == ["mine@x.io"]
    assert call("get", f"/lists/{made['id']}", org.rep1).json()["members"] == 1
    removed = call("delete", path, org.marketer, {"lead_ids": [theirs.pk]})
    assert removed.json() == {"changed": 1, "members": 1}
    smart = call("post", "/lists", org.marketer, {"name": "All"}).json()
    refused = call("post", f"/lists/{smart['id']}/members", org.marketer, {"lead_ids": [mine.pk]})
    assert refused.status_code == 422
