"""Content streams through the service and the sweep at an injected now: the next unseen
piece, the cadence and its slot in the lead's time zone, exhausted leads and a new piece,
leaving (sales-ready, disqualified, unsubscribed, suppressed, the rule), pause, an
idempotent sweep, the order of pieces, permissions, merges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from leads.errors import FieldError, NotPermitted
from leads.models import Lead
from nurture import consent, lists, services, streams, tokens
from nurture.choices import ConsentSource, MessageStatus
from nurture.models import (
    ContentPiece,
    ContentStream,
    EmailTemplate,
    LeadList,
    Message,
    PieceDelivery,
    StreamMember,
)

from .conftest import consenting

DAY = timedelta(days=1)


@pytest.fixture
def template(org: Any, now: datetime) -> EmailTemplate:
    return services.create_template(
        by=org.marketer,
        now=now,
        name="Piece",
        subject="{{ piece.title }} for {{ first_name|default:'you' }}",
        text_body="Read {{ piece.title }}: {{ piece.url }}",
    )


@pytest.fixture
def vip(org: Any, now: datetime) -> LeadList:
    return lists.create_list(by=org.marketer, name="VIP", kind="static", now=now)


@pytest.fixture
def stream(org: Any, now: datetime, vip: LeadList, template: EmailTemplate) -> ContentStream:
    made = streams.create_stream(
        by=org.marketer, now=now, name="Newsletter", cadence_days=7, enrol_list=vip.pk
    )
    for title in ("One", "Two", "Three"):
        streams.add_piece(
            made,
            by=org.marketer,
            now=now,
            title=title,
            url=f"https://example.com/{title.lower()}",
            template=template,
            kind="whitepaper",
        )
    return made


@pytest.fixture
def enrol(
    org: Any, vip: LeadList, add_lead: Callable[..., Lead], now: datetime
) -> Callable[..., Lead]:
    def make(email: str, **fields: Any) -> Lead:
        fields.setdefault("stage", "nurturing")
        lead = consenting(add_lead(email, **fields), now)
        lists.add_leads(vip, [lead.pk], by=org.marketer, now=now)
        return lead

    return make


def sent_titles(lead: Lead) -> list[str]:
    return list(
        PieceDelivery.objects.filter(lead=lead)
        .order_by("sent_at", "pk")
        .values_list("piece__title", flat=True)
    )


def clicked_through(text: str) -> tuple[str, str | None]:
    """The first line's words before its link, and where the link's click redirect goes."""
    words, _, link = text.splitlines()[0].rpartition(" ")
    return words, tokens.read("click", link.rsplit("/t/c/", 1)[1])[1]


def member(stream: ContentStream, lead: Lead) -> StreamMember:
    return StreamMember.objects.get(stream=stream, lead=lead)


def test_a_lead_gets_the_next_piece_it_has_not_seen_with_the_piece_in_the_message(
    org: Any, stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    ann = enrol("ann@x.io", first_name="Ann")
    # Ann was sent "One" in an earlier stay in the stream: she never gets it again.
    one = stream.pieces.get(title="One")
    PieceDelivery.objects.create(lead=ann, piece=one, sent_at=now - 30 * DAY)

    assert streams.run_due(now=now) == 1

    assert sent_titles(ann) == ["One", "Two"]
    message = PieceDelivery.objects.get(lead=ann, piece__title="Two").message
    assert message is not None
    assert message.subject == "Two for Ann"
    # The piece's address, behind the click redirect tracking puts on every link.
    assert clicked_through(message.text_body) == ("Read Two:", "https://example.com/two")
    assert (message.purpose, message.status, message.to_address) == (
        "marketing",
        MessageStatus.QUEUED,
        "ann@x.io",
    )


def test_pieces_follow_the_cadence_and_the_sweep_is_idempotent(
    stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    ann = enrol("ann@x.io")

    assert streams.run_due(now=now) == 1
    # Run twice at the same moment, or a day later: nothing more is sent.
    assert streams.run_due(now=now) == 0
    assert streams.run_due(now=now + DAY) == 0
    assert streams.run_due(now=now + 7 * DAY - timedelta(seconds=1)) == 0
    assert (Message.objects.count(), PieceDelivery.objects.count()) == (1, 1)

    assert streams.run_due(now=now + 7 * DAY) == 1
    assert sent_titles(ann) == ["One", "Two"]
    assert member(stream, ann).next_due_at == now + 14 * DAY


def test_a_slot_is_kept_in_the_leads_time_zone(
    org: Any, stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    # Tuesdays at 9:00 in the lead's time zone; the Americas team is in New York (UTC-5).
    streams.update_stream(stream, by=org.marketer, now=now, send_weekday="tue", send_hour=9)
    ny = enrol("ny@x.io", team=org.americas)
    utc = enrol("utc@x.io")

    assert streams.run_due(now=now) == 0  # Monday 10:00 UTC
    tuesday_9_utc = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    assert member(stream, utc).next_due_at == tuesday_9_utc
    assert member(stream, ny).next_due_at == datetime(2026, 11, 17, 14, 0, tzinfo=UTC)

    assert streams.run_due(now=tuesday_9_utc + timedelta(minutes=5)) == 1
    assert sent_titles(utc) == ["One"]
    assert streams.run_due(now=datetime(2026, 11, 17, 14, 3, tzinfo=UTC)) == 1
    assert sent_titles(ny) == ["One"]
    # A sweep a few minutes late keeps the slot: next Tuesday at 9:00 New York time.
    assert member(stream, ny).next_due_at == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


def test_an_exhausted_lead_gets_a_piece_added_later(
    org: Any,
    stream: ContentStream,
    enrol: Callable[..., Lead],
    now: datetime,
    template: EmailTemplate,
) -> None:
    ann = enrol("ann@x.io")
    for week in range(3):
        streams.run_due(now=now + week * 7 * DAY)
    assert sent_titles(ann) == ["One", "Two", "Three"]
    assert member(stream, ann).status == "exhausted"
    assert streams.run_due(now=now + 30 * DAY) == 0

    streams.add_piece(
        stream, by=org.marketer, now=now + 40 * DAY, title="Four",
        url="https://example.com/four", template=template,
    )  # fmt: skip

    # Its last piece went long ago: the new one goes at once.
    assert streams.run_due(now=now + 40 * DAY) == 1
    assert sent_titles(ann) == ["One", "Two", "Three", "Four"]
    assert member(stream, ann).status == "exhausted"


def test_a_new_piece_waits_for_the_exhausted_leads_next_cadence_slot(
    org: Any,
    stream: ContentStream,
    enrol: Callable[..., Lead],
    now: datetime,
    template: EmailTemplate,
) -> None:
    ann = enrol("ann@x.io")
    for week in range(3):
        streams.run_due(now=now + week * 7 * DAY)
    streams.add_piece(
        stream, by=org.marketer, now=now, title="Four", url="https://example.com/four",
        template=template,
    )  # fmt: skip

    assert streams.run_due(now=now + 15 * DAY) == 0
    assert member(stream, ann).status == "active"
    assert streams.run_due(now=now + 21 * DAY) == 1
    assert sent_titles(ann)[-1] == "Four"


def test_retired_pieces_are_skipped_and_the_order_is_the_position(
    org: Any, stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    ann = enrol("ann@x.io")
    one, two, three = stream.pieces.order_by("position")
    streams.reorder_pieces(stream, [three.pk, one.pk, two.pk], by=org.marketer)
    streams.update_piece(one, by=org.marketer, is_active=False)

    streams.run_due(now=now)
    streams.run_due(now=now + 7 * DAY)
    streams.run_due(now=now + 14 * DAY)

    assert sent_titles(ann) == ["Three", "Two"]
    assert member(stream, ann).status == "exhausted"


def test_reordering_names_every_piece_once(org: Any, stream: ContentStream) -> None:
    one, two, three = stream.pieces.order_by("position")
    with pytest.raises(FieldError, match="missing"):
        streams.reorder_pieces(stream, [one.pk, two.pk], by=org.marketer)
    with pytest.raises(FieldError, match="twice"):
        streams.reorder_pieces(stream, [one.pk, one.pk, two.pk], by=org.marketer)
    with pytest.raises(FieldError, match="not in"):
        streams.reorder_pieces(stream, [one.pk, two.pk, three.pk, 999999], by=org.marketer)
    streams.move_piece(three, by=org.marketer, offset=-1)
    assert list(stream.pieces.order_by("position").values_list("title", flat=True)) == [
        "One",
        "Three",
        "Two",
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"stage": "mql"}, "sales_ready"),
        ({"segment": "sales_ready"}, "sales_ready"),
        ({"stage": "disqualified"}, "disqualified"),
    ],
)
def test_a_lead_leaves_when_it_becomes_sales_ready_or_disqualified(
    stream: ContentStream,
    enrol: Callable[..., Lead],
    now: datetime,
    change: dict[str, str],
    reason: str,
) -> None:
    ann = enrol("ann@x.io")
    streams.run_due(now=now)
    Lead.objects.filter(pk=ann.pk).update(**change)

    assert streams.run_due(now=now + 7 * DAY) == 0

    left = member(stream, ann)
    assert (left.status, left.left_reason, left.left_at, left.next_due_at) == (
        "left",
        reason,
        now + 7 * DAY,
        None,
    )
    assert sent_titles(ann) == ["One"]


def test_a_lead_leaves_when_it_unsubscribes_or_its_address_is_suppressed(
    stream: ContentStream,
    enrol: Callable[..., Lead],
    now: datetime,
    add_event: Callable[..., Any],
) -> None:
    ann, bob, _cy, dee = (enrol(f"{name}@x.io") for name in ("ann", "bob", "cy", "dee"))
    streams.run_due(now=now)

    def withdraw(lead: Lead, *purposes: str) -> None:
        for purpose in purposes:
            consent.record(lead, purpose, granted=False, source=ConsentSource.UNSUBSCRIBE, now=now)

    withdraw(ann, "newsletter")
    withdraw(bob, "newsletter", "product_updates", "events")  # from everything
    withdraw(dee, "events")  # another purpose: stays
    services.suppress("CY@x.io", reason="550 no such user", now=now)

    assert streams.run_due(now=now + 7 * DAY) == 1

    assert {m.lead.email: (m.status, m.left_reason) for m in stream.members.all()} == {
        "ann@x.io": ("left", "unsubscribed"),
        "bob@x.io": ("left", "unsubscribed"),
        "cy@x.io": ("left", "unsubscribed"),
        "dee@x.io": ("active", ""),
    }
    assert sent_titles(dee) == ["One", "Two"]


def test_a_lead_without_consent_joins_only_once_it_gives_it(
    stream: ContentStream, org: Any, vip: LeadList, add_lead: Callable[..., Lead], now: datetime
) -> None:
    ann = add_lead("ann@x.io", stage="nurturing")
    lists.add_leads(vip, [ann.pk], by=org.marketer, now=now)

    streams.run_due(now=now)
    assert sent_titles(ann) == []
    assert not Message.objects.exists()

    consenting(ann, now + DAY)
    streams.run_due(now=now + DAY)
    assert sent_titles(ann) == ["One"]


def test_a_lead_the_rule_no_longer_picks_leaves_and_comes_back_where_it_was(
    org: Any, stream: ContentStream, vip: LeadList, enrol: Callable[..., Lead], now: datetime
) -> None:
    ann = enrol("ann@x.io")
    streams.run_due(now=now)
    lists.remove_leads(vip, [ann.pk], by=org.marketer)

    streams.run_due(now=now + 7 * DAY)
    assert (member(stream, ann).status, member(stream, ann).left_reason) == ("left", "rule")

    lists.add_leads(vip, [ann.pk], by=org.marketer, now=now + 20 * DAY)
    assert streams.run_due(now=now + 20 * DAY) == 1
    assert sent_titles(ann) == ["One", "Two"]
    assert (member(stream, ann).status, member(stream, ann).joined_at) == (
        "active",
        now + 20 * DAY,
    )


def test_a_segment_rule_and_leads_without_an_address(
    org: Any, template: EmailTemplate, add_lead: Callable[..., Lead], now: datetime
) -> None:
    nurture = streams.create_stream(
        by=org.marketer, now=now, name="Everyone nurtured", enrol_segment="nurture"
    )
    streams.add_piece(
        nurture, by=org.marketer, now=now, title="One", url="https://example.com/1",
        template=template,
    )  # fmt: skip
    consenting(add_lead("ann@x.io", segment="nurture"), now)
    consenting(add_lead("hot@x.io", segment="sales_ready", stage="mql"), now)
    Lead.objects.create(arrived_at=now, stage_changed_at=now, segment="nurture", phone="+49 1")

    assert streams.run_due(now=now) == 1
    assert list(nurture.members.values_list("lead__email", flat=True)) == ["ann@x.io"]


def test_a_paused_stream_sends_nothing_and_resumed_sends_one_piece(
    org: Any, stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    ann = enrol("ann@x.io")
    streams.run_due(now=now)
    streams.pause_stream(stream, by=org.marketer, now=now)

    assert streams.run_due(now=now + 30 * DAY) == 0
    streams.resume_stream(stream, by=org.marketer, now=now + 30 * DAY)
    assert streams.run_due(now=now + 30 * DAY) == 1
    assert streams.run_due(now=now + 31 * DAY) == 0
    assert sent_titles(ann) == ["One", "Two"]


def test_a_member_whose_advance_was_lost_is_not_sent_a_piece_twice(
    stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    ann = enrol("ann@x.io")
    streams.run_due(now=now)
    # As if the member's due time had not moved on (a restore, a crash elsewhere).
    StreamMember.objects.filter(stream=stream, lead=ann).update(next_due_at=now)

    assert streams.run_due(now=now) == 1

    assert sent_titles(ann) == ["One", "Two"]
    with pytest.raises(IntegrityError), transaction.atomic():
        PieceDelivery.objects.create(lead=ann, piece=stream.pieces.get(title="One"), sent_at=now)


def test_counts_per_piece_and_members_by_status(
    org: Any, stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    ann, bob = enrol("ann@x.io"), enrol("bob@x.io")
    streams.run_due(now=now)
    Message.objects.filter(lead=ann).update(opened_at=now, clicked_at=now)
    Message.objects.filter(lead=bob).update(opened_at=now)
    Lead.objects.filter(pk=bob.pk).update(stage="mql")
    streams.run_due(now=now + DAY)

    counts = {
        title: counted
        for title, *counted in streams.pieces_with_counts(stream).values_list(  # type: ignore[misc]
            "title", "delivered", "opened", "clicked"
        )
    }
    assert counts == {"One": [2, 2, 1], "Two": [0, 0, 0], "Three": [0, 0, 0]}
    assert streams.member_counts(stream) == {"active": 1, "exhausted": 0, "left": 1}


def test_a_rule_is_needed_and_bad_fields_are_named(org: Any, now: datetime, vip: LeadList) -> None:
    with pytest.raises(FieldError) as error:
        streams.create_stream(by=org.marketer, now=now, name="Nothing")
    assert error.value.field == "enrol_list"
    with pytest.raises(FieldError) as error:
        streams.create_stream(by=org.marketer, now=now, name="X", enrol_segment="sales_ready")
    assert error.value.field == "enrol_segment"
    with pytest.raises(FieldError) as error:
        streams.create_stream(
            by=org.marketer, now=now, name="X", enrol_list=vip.pk, send_weekday="someday"
        )
    assert error.value.field == "send_weekday"
    with pytest.raises(FieldError) as error:
        streams.create_stream(by=org.marketer, now=now, name="X", enrol_list=vip.pk, cadence_days=0)
    assert error.value.field == "cadence_days"


def test_a_list_a_stream_enrols_from_is_not_deleted(
    org: Any, stream: ContentStream, vip: LeadList
) -> None:
    with pytest.raises(FieldError, match="Newsletter"):
        lists.delete_list(vip, by=org.marketer)


def test_a_sent_piece_is_retired_not_deleted(
    org: Any, stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    enrol("ann@x.io")
    streams.run_due(now=now)
    one, two, _three = stream.pieces.order_by("position")
    with pytest.raises(FieldError, match="retire"):
        streams.delete_piece(one, by=org.marketer)
    streams.delete_piece(two, by=org.marketer)
    assert list(stream.pieces.order_by("position").values_list("title", "position")) == [
        ("One", 1),
        ("Three", 2),
    ]
    with pytest.raises(FieldError, match="pause"):
        streams.delete_stream(stream, by=org.marketer)


def test_only_marketing_and_admins_manage_streams(
    org: Any, stream: ContentStream, now: datetime, template: EmailTemplate, vip: LeadList
) -> None:
    for user in (org.rep1, org.manager):
        with pytest.raises(NotPermitted):
            streams.create_stream(by=user, now=now, name="Mine", enrol_list=vip.pk)
        with pytest.raises(NotPermitted):
            streams.pause_stream(stream, by=user, now=now)
        with pytest.raises(NotPermitted):
            streams.add_piece(
                stream, by=user, now=now, title="T", url="https://e.com", template=template
            )
    assert streams.create_stream(by=org.admin, now=now, name="Admin's", enrol_list=vip.pk).pk


def test_the_streams_sweep_runs_before_the_outbox_and_on_beat(settings: Any) -> None:
    sweeps = settings.LEADLOOP_SWEEPS
    assert sweeps.index("nurture.lists.run_due") < sweeps.index("nurture.streams.run_due")
    assert sweeps.index("nurture.streams.run_due") < sweeps.index("nurture.services.run_due")
    assert sweeps[-1] == "outgoing_webhooks.services.run_due"
    assert (
        settings.CELERY_BEAT_SCHEDULE["streams"]["task"] == "nurture.tasks.send_stream_pieces_task"
    )


def test_a_merge_moves_stream_history_and_its_undo_gives_it_back(
    org: Any, stream: ContentStream, enrol: Callable[..., Lead], now: datetime
) -> None:
    from identity.merging import merge_leads, undo_merge

    survivor, duplicate = enrol("de@x.io"), enrol("fr@x.io")
    streams.run_due(now=now)  # both got "One"
    Lead.objects.filter(pk=survivor.pk).update(stage="mql")
    streams.run_due(now=now + 7 * DAY)  # the survivor left; the duplicate got "Two"
    assert sent_titles(duplicate) == ["One", "Two"]

    record = merge_leads(survivor, duplicate, by=org.marketer, now=now + 8 * DAY)

    # The survivor keeps its own membership and "One"; it takes the duplicate's "Two".
    assert sent_titles(survivor) == ["One", "Two"]
    assert StreamMember.objects.filter(lead=survivor).count() == 1
    undo_merge(record, by=org.marketer, now=now + 9 * DAY)
    assert sent_titles(survivor) == ["One"]
    assert sent_titles(duplicate) == ["One", "Two"]
    assert StreamMember.objects.filter(lead=duplicate).count() == 1


def test_pieces_need_a_title_an_address_and_a_template(
    org: Any, stream: ContentStream, now: datetime
) -> None:
    with pytest.raises(FieldError) as error:
        streams.add_piece(
            stream, by=org.marketer, now=now, title="T", url="ftp://x", template="Piece"
        )
    assert error.value.field == "url"
    with pytest.raises(FieldError) as error:
        streams.add_piece(
            stream, by=org.marketer, now=now, title="T", url="https://e.com", template="Nope"
        )
    assert error.value.field == "template"
    with pytest.raises(FieldError) as error:
        streams.add_piece(
            stream,
            by=org.marketer,
            now=now,
            title="T",
            url="https://e.com",
            template="Piece",
            kind="poem",
        )
    assert error.value.field == "kind"
    first = streams.add_piece(
        stream,
        by=org.marketer,
        now=now,
        title="First",
        url="https://e.com",
        template="Piece",
        position=1,
    )
    assert first.position == 1
    assert list(ContentPiece.objects.filter(stream=stream).order_by("position").values_list("title", flat=True)) == [
        "First", "One", "Two", "Three",
    ]  # fmt: skip


def test_a_piece_arrives_at_a_real_smtp_server_after_the_outbox_sweep(
    stream: ContentStream, enrol: Callable[..., Lead], now: datetime, sink: Any
) -> None:
    enrol("ann@x.io", first_name="Ann")

    streams.run_due(now=now)
    assert services.run_due(now=now) == 1

    mail = message_from_bytes(sink.messages[0].content, policy=policy.default)
    assert (mail["To"], mail["Subject"]) == ("ann@x.io", "One for Ann")
    assert clicked_through(mail.get_content()) == ("Read One:", "https://example.com/one")


def test_a_piece_another_worker_sent_meanwhile_rolls_the_batch_back(
    stream: ContentStream,
    enrol: Callable[..., Lead],
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ann = enrol("ann@x.io")
    one = stream.pieces.get(title="One")
    queue = streams.queue_messages

    def racing(leads: list[Lead], *args: Any, **kwargs: Any) -> list[Message]:
        # Another worker delivers "One" to Ann between this batch's read and its insert.
        PieceDelivery.objects.create(lead=leads[0], piece=one, sent_at=now)
        return queue(leads, *args, **kwargs)

    monkeypatch.setattr(streams, "queue_messages", racing)
    assert streams.run_due(now=now) == 0
    # Nothing of the batch was kept: no message, the member not advanced.
    assert Message.objects.count() == 0
    assert (PieceDelivery.objects.count(), member(stream, ann).next_due_at) == (0, now)

    monkeypatch.setattr(streams, "queue_messages", queue)
    assert streams.run_due(now=now) == 1
    assert sent_titles(ann) == ["One"]


def test_leadloop_run_due_enrols_queues_and_sends_a_piece(
    stream: ContentStream,
    enrol: Callable[..., Lead],
    clock: datetime,
    sink: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enrol("ann@x.io", first_name="Ann")
    monkeypatch.setenv("LEADLOOP_ALLOW_TIME_TRAVEL", "1")
    out = StringIO()

    call_command("run_due", "--now", clock.isoformat(), stdout=out)

    assert "nurture.streams.run_due: 1" in out.getvalue()
    assert "nurture.services.run_due: 1" in out.getvalue()
    assert [e.rcpt_tos for e in sink.messages] == [["ann@x.io"]]
    call_command("run_due", "--now", clock.isoformat(), stdout=StringIO())
    assert len(sink.messages) == 1
