"""Merging keeps every piece of both leads' history, hides the duplicate, and undoes exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import ForeignObjectRel
from django.test import Client

from capture.services import EventInput, capture_lead, record_events
from conftest import HOT, bearer
from followup.models import Opportunity, Touch
from followup.services import record_touch
from identity.choices import DuplicateStatus, MergeStatus
from identity.dedup import NotAllowed
from identity.merging import HISTORY, NOT_HISTORY, MergeError, merge_leads, undo_merge
from identity.models import DuplicateCandidate, MergeRecord
from identity.rules import DUPLICATE, SURVIVOR
from leads.models import Campaign, CampaignMember, Lead
from nurture import consent
from nurture.models import Message
from qualify.models import Event
from routing.models import Assignment
from routing.services import assign_lead
from users.access import visible_leads
from users.models import Notification


@dataclass
class Pair:
    ann: Lead  # will survive
    dup: Lead  # will be merged into ann
    trade_show: Campaign


def history(lead: Lead) -> dict[str, list[int]]:
    """Ids of every row of a lead's history, by kind."""
    return {
        name: sorted(model._default_manager.filter(lead_id=lead.pk).values_list("pk", flat=True))
        for name, model in HISTORY.items()
    }


def counts(lead: Lead) -> dict[str, int]:
    return {name: len(ids) for name, ids in history(lead).items()}


@pytest.fixture
def pair(org: Any, now: datetime) -> Pair:
    """Ann twice: once from a webinar form, once from a trade show with a free-mail address,
    both worked by rep1, each with touches, events, stage changes and campaigns."""
    trade_show = Campaign.objects.create(name="Trade show", channel="trade_show")
    ann = capture_lead(
        {**HOT, "email": "ann@acme.io", "first_name": "Ann", "last_name": "Lee",
         "company_name": "Acme", "phone": "+49 30 1234567", "title": "CTO"},
        source="web_form", campaign=org.webinar, now=now - timedelta(days=3),
    ).lead  # fmt: skip
    dup = capture_lead(
        {**HOT, "email": "ann.lee@gmail.com", "first_name": "Ann", "last_name": "Lee",
         "company_name": "Acme GmbH", "phone": "030 1234567", "title": "Chief Technology Officer",
         "custom_fields": {"badge": "A-17"}},
        source="trade_show", campaign=org.webinar, member_status="attended",
        now=now - timedelta(days=1),
    ).lead  # fmt: skip
    capture_lead({"email": "ann.lee@gmail.com"}, source="api", campaign=trade_show, now=now)
    for lead, when in ((ann, now - timedelta(days=3)), (dup, now - timedelta(days=1))):
        assign_lead(lead, now=when, to=org.rep1)
    record_touch(ann, by=org.rep1, kind="call", now=now - timedelta(days=2))
    record_touch(ann, by=org.rep1, kind="note", notes="left a message", now=now)
    record_touch(dup, by=org.rep1, kind="email", now=now - timedelta(hours=20))
    record_events(
        [
            EventInput("page_view", now - timedelta(hours=5), email="ann@acme.io"),
            EventInput("email_click", now - timedelta(hours=4), email="ann.lee@gmail.com"),
            EventInput("page_view", now - timedelta(hours=3), email="ann.lee@gmail.com"),
        ],
        now=now,
    )
    Opportunity.objects.create(lead=dup, name="Acme pilot", amount=Decimal("900"), opened_at=now)
    Notification.objects.create(
        recipient=org.manager, kind="x", message="about the dup", lead=dup, dedupe_key="k",
        created_at=now,
    )  # fmt: skip
    ann.refresh_from_db()
    dup.refresh_from_db()
    return Pair(ann, dup, trade_show)


def test_the_pair_is_a_candidate(pair: Pair) -> None:
    candidate = DuplicateCandidate.objects.get()

    assert (candidate.lead_a_id, candidate.lead_b_id, candidate.reason) == (
        pair.ann.pk,
        pair.dup.pk,
        "phone_name_company",
    )


def test_merge_keeps_every_row_of_both_histories(org: Any, now: datetime, pair: Pair) -> None:
    for n, lead in enumerate((pair.dup, pair.dup, pair.ann)):
        Message.objects.create(
            lead=lead, purpose="marketing", to_address="x@example.io", to_domain="example.io",
            subject="Hi", next_attempt_at=now, created_at=now, message_id=f"<{n}@test>",
        )  # fmt: skip
    # The duplicate agreed to the newsletter on a form; Ann withdrew product updates.
    consent.record(pair.dup, "newsletter", granted=True, source="form", now=now)
    consent.record(pair.ann, "product_updates", granted=False, source="unsubscribe", now=now)
    before_ann, before_dup = history(pair.ann), history(pair.dup)
    assert counts(pair.ann) == {
        "touches": 2, "events": 1, "submissions": 1, "stage_changes": 2, "opportunities": 0,
        "notifications": 1, "assignments": 2, "memberships": 1, "sla_steps": 0,
        "enrolments": 1, "tasks": 2, "signals": 1, "score_changes": 2, "email_messages": 1,
        "list_memberships": 0, "stream_memberships": 0, "piece_deliveries": 0, "consents": 1,
        "program_runs": 0,
    }  # fmt: skip
    assert counts(pair.dup) == {
        "touches": 1, "events": 2, "submissions": 2, "stage_changes": 2, "opportunities": 1,
        "notifications": 3, "assignments": 2, "memberships": 2, "sla_steps": 0,
        "enrolments": 1, "tasks": 1, "signals": 2, "score_changes": 2, "email_messages": 2,
        "list_memberships": 0, "stream_memberships": 0, "piece_deliveries": 0, "consents": 1,
        "program_runs": 0,
    }  # fmt: skip
    dup_webinar = CampaignMember.objects.get(lead=pair.dup, campaign=org.webinar)

    record = merge_leads(pair.ann, pair.dup, field_choices={}, by=org.manager, now=now)

    after = history(pair.ann)
    for name in (
        "touches",
        "events",
        "submissions",
        "stage_changes",
        "opportunities",
        "assignments",
        "enrolments",
        "tasks",
        "signals",
        "email_messages",
        "consents",
    ):
        assert after[name] == sorted(before_ann[name] + before_dup[name]), name
    # The survivor's current consent is both leads' latest answers.
    assert {(row.purpose.slug, row.granted) for row in consent.current(pair.ann)} >= {
        ("newsletter", True),
        ("product_updates", False),
    }
    # Both score histories, and the survivor's new score from the signals it now has.
    assert after["score_changes"][:-1] == sorted(
        before_ann["score_changes"] + before_dup["score_changes"]
    )
    assert after["notifications"] == sorted(
        before_ann["notifications"] + before_dup["notifications"]
    )
    # Both were in the webinar: one membership, the furthest status; the dup's row dropped.
    members = dict(
        CampaignMember.objects.filter(lead=pair.ann).values_list("campaign__name", "status")
    )
    assert members == {"Webinar": "attended", "Trade show": "registered"}
    assert record.snapshot["dropped_memberships"][0]["id"] == dup_webinar.pk
    assert counts(pair.dup) == dict.fromkeys(HISTORY, 0)


def test_merge_hides_the_duplicate_without_deleting_it(org: Any, now: datetime, pair: Pair) -> None:
    record = merge_leads(pair.ann, pair.dup, by=org.admin, now=now)

    dup = Lead.objects.get(pk=pair.dup.pk)
    ann = Lead.objects.get(pk=pair.ann.pk)
    assert (dup.merged_into_id, dup.email, dup.sla_due_at) == (ann.pk, None, None)
    assert record.freed_email == "ann.lee@gmail.com"
    assert record.snapshot["duplicate_before"]["email"] == "ann.lee@gmail.com"
    assert list(visible_leads(org.admin).values_list("pk", flat=True)) == [ann.pk]
    assert ann.touch_count == 3
    assert ann.engagement_score == sum(
        Event.objects.filter(lead=ann).values_list("points", flat=True)
    )
    candidate = DuplicateCandidate.objects.get()
    assert (candidate.status, candidate.resolved_by) == (DuplicateStatus.MERGED, org.admin)


def test_merged_lead_is_in_no_list_api_export_or_report(
    org: Any, now: datetime, pair: Pair, client: Client
) -> None:
    merge_leads(pair.ann, pair.dup, by=org.admin, now=now)
    client.force_login(org.marketer)

    api = client.get("/api/v1/leads", HTTP_AUTHORIZATION=bearer(org.marketer))
    one = client.get(
        f"/api/v1/leads/{pair.dup.pk}",
        HTTP_AUTHORIZATION=bearer(org.marketer),
    )
    listed = client.get("/leads/")
    export = client.get("/leads/export.csv")
    exported = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]
    funnel = client.get("/reports/funnel/")

    assert [item["id"] for item in api.json()["items"]] == [pair.ann.pk]
    assert one.status_code == 404
    assert [lead.pk for lead in listed.context["page"].object_list] == [pair.ann.pk]
    assert "ann.lee@gmail.com" not in exported and "ann@acme.io" in exported
    assert funnel.context["report"].steps[0].reached == 1
    assert client.get(f"/leads/{pair.dup.pk}/").status_code == 404


def test_chosen_values_go_to_the_survivor(org: Any, now: datetime, pair: Pair) -> None:
    merge_leads(
        pair.ann,
        pair.dup,
        field_choices={"email": DUPLICATE, "title": DUPLICATE, "company": SURVIVOR},
        by=org.admin,
        now=now,
    )

    ann = Lead.objects.get(pk=pair.ann.pk)
    record = MergeRecord.objects.get()
    assert (ann.email, ann.title, ann.company_name) == (
        "ann.lee@gmail.com",
        "Chief Technology Officer",
        "Acme",
    )
    assert ann.custom_fields["badge"] == "A-17"
    # The survivor's own address is the one freed now: it still reaches Ann.
    assert record.freed_email == "ann@acme.io"
    again = capture_lead({"email": "ann@acme.io", "need": "more seats"}, source="api", now=now)
    assert (again.lead.pk, again.created) == (ann.pk, False)


def test_the_duplicates_address_reaches_the_survivor_after_the_merge(
    org: Any, now: datetime, pair: Pair
) -> None:
    merge_leads(pair.ann, pair.dup, by=org.admin, now=now)

    result = capture_lead({"email": "Ann.Lee@gmail.com"}, source="api", now=now)
    outcome = record_events([EventInput("page_view", now, lead_id=pair.dup.pk)], now=now)

    assert (result.lead.pk, result.created) == (pair.ann.pk, False)
    assert Lead.objects.count() == 2
    assert outcome[0].lead_id == pair.ann.pk


def test_undo_restores_both_leads_exactly(org: Any, now: datetime, pair: Pair) -> None:
    before_ann, before_dup = history(pair.ann), history(pair.dup)
    fields = ("email", "title", "company_name", "account_id", "custom_fields", "touch_count",
              "last_touch_at", "first_touch_at", "sla_due_at", "owner_id", "stage", "arrived_at",
              "source", "first_campaign_id", "engagement_score")  # fmt: skip
    ann_fields = Lead.objects.filter(pk=pair.ann.pk).values(*fields).get()
    dup_fields = Lead.objects.filter(pk=pair.dup.pk).values(*fields).get()
    members = set(CampaignMember.objects.values_list("pk", "lead_id", "campaign_id", "status"))
    record = merge_leads(
        pair.ann,
        pair.dup,
        field_choices={"email": DUPLICATE, "title": DUPLICATE, "origin": DUPLICATE},
        by=org.admin,
        now=now,
    )

    undo_merge(record, by=org.admin, now=now + timedelta(minutes=1))

    after_ann = history(pair.ann)
    # The merge and its undo each rescored the survivor: its score history grew by them.
    ann_scores = before_ann.pop("score_changes")
    assert after_ann.pop("score_changes")[: len(ann_scores)] == ann_scores
    assert (after_ann, history(pair.dup)) == (before_ann, before_dup)
    assert Lead.objects.filter(pk=pair.ann.pk).values(*fields).get() == ann_fields
    assert Lead.objects.filter(pk=pair.dup.pk).values(*fields).get() == dup_fields
    assert Lead.objects.get(pk=pair.dup.pk).merged_into_id is None
    assert set(CampaignMember.objects.values_list("pk", "lead_id", "campaign_id", "status")) == (
        members
    )
    record.refresh_from_db()
    assert (record.status, record.undone_by) == (MergeStatus.UNDONE, org.admin)
    assert DuplicateCandidate.objects.get().status == DuplicateStatus.OPEN
    assert visible_leads(org.admin).count() == 2


def test_undo_after_new_activity_keeps_it_with_the_survivor(
    org: Any, now: datetime, pair: Pair
) -> None:
    record = merge_leads(
        pair.ann, pair.dup, field_choices={"title": DUPLICATE}, by=org.admin, now=now
    )
    later = now + timedelta(hours=1)
    new_touch = record_touch(pair.ann, by=org.rep1, kind="call", now=later)
    Lead.objects.filter(pk=pair.ann.pk).update(title="VP Engineering")

    undo_merge(record, by=org.admin, now=later)

    ann = Lead.objects.get(pk=pair.ann.pk)
    assert sorted(Touch.objects.filter(lead=ann).values_list("pk", flat=True))[-1] == new_touch.pk
    assert (ann.touch_count, ann.title, ann.last_touch_at) == (3, "VP Engineering", later)
    assert Touch.objects.filter(lead=pair.dup).count() == 1


def test_a_merge_made_before_assignments_were_moved_can_be_undone(
    org: Any, now: datetime, pair: Pair
) -> None:
    record = merge_leads(pair.ann, pair.dup, by=org.admin, now=now)
    moved = record.snapshot["moved"].pop("assignments")
    Assignment.objects.filter(pk__in=moved).update(lead=pair.dup)
    record.save(update_fields=["snapshot"])

    undo_merge(record, by=org.admin, now=now + timedelta(minutes=1))

    assert sorted(Assignment.objects.filter(lead=pair.dup).values_list("pk", flat=True)) == moved


def test_undo_twice_is_refused(org: Any, now: datetime, pair: Pair) -> None:
    record = merge_leads(pair.ann, pair.dup, by=org.admin, now=now)
    undo_merge(record, by=org.admin, now=now)

    with pytest.raises(MergeError) as error:
        undo_merge(record, by=org.admin, now=now)

    assert error.value.field == "merge"


def test_a_lead_already_merged_cannot_be_merged_again(org: Any, now: datetime, pair: Pair) -> None:
    merge_leads(pair.ann, pair.dup, by=org.admin, now=now)

    with pytest.raises(MergeError):
        merge_leads(pair.dup, pair.ann, by=org.admin, now=now)
    with pytest.raises(MergeError):
        merge_leads(pair.ann, pair.ann, by=org.admin, now=now)


def test_a_rep_merges_only_their_own_leads(org: Any, now: datetime, pair: Pair) -> None:
    Lead.objects.filter(pk=pair.dup.pk).update(owner=org.rep2)

    with pytest.raises(NotAllowed):
        merge_leads(pair.ann, pair.dup, by=org.rep1, now=now)
    # Team queue leads are visible to the rep but not theirs to merge.
    Lead.objects.filter(pk=pair.dup.pk).update(owner=None, team=org.emea)
    with pytest.raises(NotAllowed):
        merge_leads(pair.ann, pair.dup, by=org.rep1, now=now)
    # A manager of another team sees neither.
    with pytest.raises(NotAllowed):
        merge_leads(pair.ann, pair.dup, by=org.us_manager, now=now)
    assert Lead.objects.get(pk=pair.dup.pk).merged_into_id is None


def test_a_rep_may_merge_two_leads_they_own(org: Any, now: datetime, pair: Pair) -> None:
    record = merge_leads(pair.ann, pair.dup, by=org.rep1, now=now)

    assert record.merged_by == org.rep1


def test_every_relation_to_a_lead_is_moved_by_a_merge() -> None:
    """A new model pointing at Lead must be added to HISTORY (or to NOT_HISTORY, if it is
    dedup's own bookkeeping), or a merge would leave its rows on a hidden lead."""
    pointing = {
        (rel.related_model, rel.field.name)
        for rel in Lead._meta.get_fields(include_hidden=True)
        if isinstance(rel, ForeignObjectRel) and rel.related_model is not None
    }

    unhandled = {
        f"{getattr(model, '__name__', model)}.{field}"
        for model, field in pointing
        if model not in HISTORY.values() and model not in NOT_HISTORY
    }

    assert unhandled == set()
