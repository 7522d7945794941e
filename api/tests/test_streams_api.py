"""/streams: marketing builds a stream and its pieces, reorders and retires them, pauses
the stream and reads its members by status; other roles get 403; bad input is 422 naming
the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from conftest import bearer
from leads.models import Lead
from nurture import consent, lists, services, streams
from nurture.choices import ConsentSource
from nurture.models import ContentStream, EmailTemplate, LeadList
from users.models import User


def granted_newsletter(lead: Lead, now: datetime) -> Lead:
    """`lead`, having granted the newsletter (marketing email needs it)."""
    consent.record(lead, "newsletter", granted=True, source=ConsentSource.API, now=now)
    return lead


def call(method: str, path: str, user: User, body: Any = None) -> Any:
    client = Client()
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": bearer(user)}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


@pytest.fixture
def template(org: Any, now: datetime) -> EmailTemplate:
    return services.create_template(
        by=org.marketer, now=now, name="Piece", subject="{{ piece.title }}",
        text_body="{{ piece.url }}",
    )  # fmt: skip


@pytest.fixture
def vip(org: Any, now: datetime) -> LeadList:
    return lists.create_list(by=org.marketer, name="VIP", kind="static", now=now)


def test_marketing_builds_a_stream_reorders_its_pieces_and_pauses_it(
    org: Any, clock: datetime, template: EmailTemplate, vip: LeadList
) -> None:
    made = call(
        "post", "/streams", org.marketer,
        {"name": "Newsletter", "cadence_days": 14, "send_weekday": "tue", "send_hour": 9,
         "enrol_list_id": vip.pk},
    )  # fmt: skip
    assert made.status_code == 201, made.content
    stream_id = made.json()["id"]
    assert (made.json()["send_weekday"], made.json()["members"]) == (
        1,
        {"active": 0, "exhausted": 0, "left": 0},
    )
    ids = []
    for title in ("One", "Two"):
        piece = call(
            "post", f"/streams/{stream_id}/pieces", org.marketer,
            {"title": title, "url": f"https://e.com/{title}", "template_id": template.pk,
             "kind": "case_study"},
        )  # fmt: skip
        assert piece.status_code == 201, piece.content
        ids.append(piece.json()["id"])

    order = call(
        "put", f"/streams/{stream_id}/pieces/order", org.marketer, {"piece_ids": ids[::-1]}
    )
    assert order.status_code == 200, order.content
    assert [p["title"] for p in order.json()] == ["Two", "One"]

    retired = call(
        "patch", f"/streams/{stream_id}/pieces/{ids[0]}", org.marketer, {"is_active": False}
    )
    assert retired.json()["is_active"] is False
    paused = call("patch", f"/streams/{stream_id}", org.marketer, {"status": "paused"})
    assert paused.json()["status"] == "paused"
    assert call("get", f"/streams/{stream_id}", org.marketer).json()["pieces"][1] == {
        "id": ids[0], "position": 2, "kind": "case_study", "title": "One",
        "url": "https://e.com/One", "template_id": template.pk, "is_active": False,
        "delivered": 0, "opened": 0, "clicked": 0,
    }  # fmt: skip
    assert call("get", "/streams", org.marketer).json()["count"] == 1


def test_members_are_counted_by_status(
    org: Any, now: datetime, template: EmailTemplate, vip: LeadList
) -> None:
    stream = streams.create_stream(by=org.marketer, now=now, name="S", enrol_list=vip)
    streams.add_piece(
        stream, by=org.marketer, now=now, title="T", url="https://e.com", template=template
    )
    ann = granted_newsletter(
        Lead.objects.create(email="ann@x.io", arrived_at=now, stage_changed_at=now), now
    )
    lists.add_leads(vip, [ann.pk], by=org.marketer, now=now)
    streams.run_due(now=now)

    answer = call("get", f"/streams/{stream.pk}/members", org.marketer)

    assert answer.json() == {"active": 0, "exhausted": 1, "left": 0}


def test_bad_input_is_named(
    org: Any, clock: datetime, template: EmailTemplate, vip: LeadList
) -> None:
    no_rule = call("post", "/streams", org.marketer, {"name": "X"})
    assert no_rule.status_code == 422
    assert no_rule.json()["errors"][0]["field"] == "enrol_list_id"
    stream = streams.create_stream(by=org.marketer, now=clock, name="S", enrol_list=vip)
    bad_url = call(
        "post", f"/streams/{stream.pk}/pieces", org.marketer,
        {"title": "T", "url": "not a url", "template_id": template.pk},
    )  # fmt: skip
    assert (bad_url.status_code, bad_url.json()["errors"][0]["field"]) == (422, "url")
    no_template = call(
        "post", f"/streams/{stream.pk}/pieces", org.marketer,
        {"title": "T", "url": "https://e.com", "template_id": 987654},
    )  # fmt: skip
    assert (no_template.status_code, no_template.json()["errors"][0]["field"]) == (
        422,
        "template_id",
    )
    wrong = call("put", f"/streams/{stream.pk}/pieces/order", org.marketer, {"piece_ids": [12345]})
    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "piece_ids")
    assert call("get", "/streams/987654", org.marketer).status_code == 404


def test_a_rep_may_not_manage_or_read_streams(
    org: Any, clock: datetime, template: EmailTemplate, vip: LeadList
) -> None:
    stream = streams.create_stream(by=org.marketer, now=clock, name="S", enrol_list=vip)
    for user in (org.rep1, org.manager):
        assert call("get", "/streams", user).status_code == 403
        assert (
            call("post", "/streams", user, {"name": "Mine", "enrol_list_id": vip.pk}).status_code
            == 403
        )
        assert call("patch", f"/streams/{stream.pk}", user, {"status": "paused"}).status_code == 403
        assert call(
            "post", f"/streams/{stream.pk}/pieces", user,
            {"title": "T", "url": "https://e.com", "template_id": template.pk},
        ).status_code == 403  # fmt: skip
    assert ContentStream.objects.get().status == "active"
    assert call("get", "/streams", org.admin).status_code == 200
