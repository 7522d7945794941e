"""The content stream screens: marketing creates a stream, adds, edits, moves, retires
and deletes pieces, pauses and resumes it, and reads the counts; other roles get 403 and
change nothing; the lists and templates pages link to /streams/."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.test import Client

from leads.models import Lead
from nurture import consent, lists, services, streams
from nurture.choices import ConsentSource
from nurture.models import ContentPiece, ContentStream, Message


def granted_newsletter(lead: Lead, now: datetime) -> Lead:
    """`lead`, having granted the newsletter (marketing email needs it)."""
    consent.record(lead, "newsletter", granted=True, source=ConsentSource.API, now=now)
    return lead


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def test_marketing_builds_a_stream_and_its_pieces(
    org: Any, clock: datetime, client: Client
) -> None:
    signed_in(client, org.marketer)
    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=clock)
    template = services.create_template(
        by=org.marketer, now=clock, name="Piece", subject="{{ piece.title }}", text_body="x"
    )
    stream_fields = {
        "name": "Newsletter", "status": "active", "enrol_list": vip.pk, "enrol_segment": "",
        "cadence_days": "7", "send_weekday": "1", "send_hour": "9", "purpose": "newsletter",
    }  # fmt: skip

    refused = client.post("/streams/", stream_fields | {"enrol_list": ""})
    assert refused.status_code == 400
    assert "name a list, a segment or both" in refused.content.decode()
    made = client.post("/streams/", stream_fields)
    stream = ContentStream.objects.get()
    assert made["Location"] == f"/streams/{stream.pk}/"
    assert (stream.send_weekday, stream.send_hour, stream.enrol_list) == (1, 9, vip)

    for title in ("One", "Two"):
        added = client.post(f"/streams/{stream.pk}/", {
            "form": "piece", "title": title, "url": f"https://e.com/{title}",
            "kind": "case_study", "template": template.pk,
        })  # fmt: skip
        assert added.status_code == 302, added.content
    bad = client.post(f"/streams/{stream.pk}/", {
        "form": "piece", "title": "Bad", "url": "javascript:alert(1)", "kind": "other",
        "template": template.pk,
    })  # fmt: skip
    assert bad.status_code == 400
    assert "is not an http(s) address" in bad.content.decode()
    one, two = ContentPiece.objects.order_by("position")
    client.post(f"/streams/{stream.pk}/pieces/{two.pk}/action/", {"action": "up"})
    client.post(f"/streams/{stream.pk}/pieces/{one.pk}/action/", {"action": "retire"})
    client.post(f"/streams/{stream.pk}/pieces/{two.pk}/", {
        "title": "Two, revised", "url": "https://e.com/2", "kind": "whitepaper",
        "template": template.pk,
    })  # fmt: skip
    assert list(ContentPiece.objects.order_by("position").values_list("title", "is_active")) == [
        ("Two, revised", True),
        ("One", False),
    ]
    client.post(f"/streams/{stream.pk}/status/", {"status": "paused"})
    assert ContentStream.objects.get().status == "paused"
    client.post(f"/streams/{stream.pk}/status/", {"status": "active"})
    saved = client.post(f"/streams/{stream.pk}/", stream_fields | {"cadence_days": "14"})
    assert saved.status_code == 302
    assert ContentStream.objects.get().cadence_days == 14
    client.post(f"/streams/{stream.pk}/pieces/{one.pk}/action/", {"action": "delete"})
    assert list(ContentPiece.objects.values_list("title", flat=True)) == ["Two, revised"]


def test_the_stream_page_counts_deliveries_opens_clicks_and_members(
    org: Any, clock: datetime, client: Client
) -> None:
    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=clock)
    template = services.create_template(
        by=org.marketer, now=clock, name="Piece", subject="{{ piece.title }}", text_body="x"
    )
    stream = streams.create_stream(by=org.marketer, now=clock, name="News", enrol_list=vip)
    streams.add_piece(
        stream, by=org.marketer, now=clock, title="Guide", url="https://e.com", template=template
    )
    leads = [
        granted_newsletter(
            Lead.objects.create(email=f"l{i}@x.io", arrived_at=clock, stage_changed_at=clock),
            clock,
        )
        for i in range(3)
    ]
    lists.add_leads(vip, [lead.pk for lead in leads], by=org.marketer, now=clock)
    streams.run_due(now=clock)
    Message.objects.filter(lead=leads[0]).update(opened_at=clock, clicked_at=clock)
    Message.objects.filter(lead=leads[1]).update(opened_at=clock)

    page = signed_in(client, org.marketer).get(f"/streams/{stream.pk}/")

    assert [(p.title, p.delivered, p.opened, p.clicked) for p in page.context["pieces"]] == [
        ("Guide", 3, 2, 1)
    ]
    assert page.context["members"] == {"active": 0, "exhausted": 3, "left": 0}
    index = client.get("/streams/").context["streams"]
    assert [(s.name, s.exhausted_count, s.piece_count) for s in index] == [("News", 3, 1)]


def test_others_may_not_open_or_change_streams(org: Any, clock: datetime, client: Client) -> None:
    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=clock)
    stream = streams.create_stream(by=org.marketer, now=clock, name="News", enrol_list=vip)
    for user in (org.rep1, org.manager):
        signed_in(client, user)
        assert client.get("/streams/").status_code == 403
        assert client.get(f"/streams/{stream.pk}/").status_code == 403
        assert client.post(f"/streams/{stream.pk}/status/", {"status": "paused"}).status_code == 403
        assert client.post("/streams/", {"name": "Mine"}).status_code == 403
        assert "/streams/" not in client.get("/lists/").content.decode()
    assert ContentStream.objects.get().status == "active"


def test_the_lists_and_templates_pages_link_to_streams(org: Any, client: Client) -> None:
    signed_in(client, org.marketer)
    for path in ("/lists/", "/email/templates/"):
        assert 'href="/streams/"' in client.get(path).content.decode(), path


def test_the_stream_pages_run_a_fixed_number_of_queries(
    org: Any, clock: datetime, client: Client, django_assert_max_num_queries: Any
) -> None:
    vip = lists.create_list(by=org.marketer, name="VIP", kind="static", now=clock)
    template = services.create_template(
        by=org.marketer, now=clock, name="Piece", subject="{{ piece.title }}", text_body="x"
    )
    for n in range(3):
        stream = streams.create_stream(by=org.marketer, now=clock, name=f"S{n}", enrol_list=vip)
        for title in ("One", "Two", "Three"):
            streams.add_piece(
                stream, by=org.marketer, now=clock, title=title, url="https://e.com",
                template=template,
            )  # fmt: skip
    signed_in(client, org.marketer)

    # session, user, top bar (2), the streams with their counts
    with django_assert_max_num_queries(5):
        assert client.get("/streams/").status_code == 200
    # … the stream and its list, its pieces with their counts and templates, members by
    # status, the forms' lists and templates: the same for any number of pieces
    with django_assert_max_num_queries(8):
        assert client.get(f"/streams/{stream.pk}/").status_code == 200
