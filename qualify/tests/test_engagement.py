"""Rescoring a batch's leads together: scores in bulk, stage moves and routing per mover."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from capture.services import EventInput, capture_lead, record_events
from conftest import HOT
from followup.services import reject_lead
from identity.merging import merge_leads
from leads.models import Account, Lead, StageChange
from qualify.models import Event
from qualify.rules import score_profile
from qualify.services import profile_of, rescore_engagement

WARM = {"need": "forecasting", "authority": "influencer", "timeline": "year", "country": "Germany"}
COOL = {"need": "forecasting", "country": "Germany"}  # fit 15: a page view keeps it in nurture


def stages(lead: Lead) -> list[tuple[str, str, str]]:
    return list(
        StageChange.objects.filter(lead=lead)
        .order_by("changed_at", "pk")
        .values_list("from_stage", "to_stage", "reason")
    )


def state(lead: Lead) -> tuple[Any, ...]:
    lead.refresh_from_db()
    return (
        lead.stage, lead.segment, lead.fit_score, lead.engagement_score, lead.score,
        lead.owner_id,
    )  # fmt: skip


def test_a_batch_rescores_every_lead_and_moves_only_those_whose_stage_changes(
    org: Any, now: datetime
) -> None:
    # given leads in every situation a batch meets
    earlier = now - timedelta(days=1)
    warm = capture_lead({**WARM, "email": "warm@acme.io"}, source="api", now=earlier).lead
    cools = [
        capture_lead({**COOL, "email": f"cool{i}@acme.io"}, source="api", now=earlier).lead
        for i in range(10)
    ]
    hot = capture_lead({**HOT, "email": "hot@acme.io"}, source="api", now=earlier).lead
    browsing, returning = (
        capture_lead({**HOT, "email": f"{name}@acme.io"}, source="api", now=earlier).lead
        for name in ("browsing", "returning")
    )
    for lead in (browsing, returning):
        reject_lead(lead, by=org.rep1, reason="just researching", now=earlier)
    named = capture_lead({**COOL, "email": "ceo@named.io"}, source="api", now=earlier).lead
    Account.objects.filter(domain="named.io").update(is_marquee=True)
    survivor = capture_lead({**COOL, "email": "sam@acme.io"}, source="api", now=earlier).lead
    duplicate = capture_lead({**COOL, "email": "sam.k@gmail.com"}, source="api", now=earlier).lead
    merge_leads(survivor, duplicate, by=org.admin, now=earlier)
    before = {lead.pk: stages(lead) for lead in Lead.objects.all()}
    hot_owner = Lead.objects.get(pk=hot.pk).owner_id

    # when one batch brings each of them an event
    outcomes = record_events(
        [
            EventInput("demo_request", now, email="warm@acme.io"),
            *(EventInput("page_view", now, lead_id=lead.pk) for lead in cools),
            EventInput("email_click", now, email="hot@acme.io"),
            EventInput("page_view", now, email="browsing@acme.io"),
            EventInput("demo_request", now, email="returning@acme.io"),
            EventInput("page_view", now, email="ceo@named.io"),
            EventInput("email_click", now, lead_id=duplicate.pk),
        ],
        now=now,
        by=org.marketer,
    )

    assert {outcome.status for outcome in outcomes} == {"created"}
    # then a lead that became sales-ready is an MQL with an owner, a clock and its history
    assert state(warm) == ("mql", "sales_ready", 30, 40, 70, org.rep2.pk)
    assert stages(warm) == [*before[warm.pk], ("nurturing", "mql", "score 70")]
    assert warm.sla_due_at == datetime.fromisoformat("2026-11-19T10:00:00+00:00")
    # leads whose stage does not move only get their new score, and no history
    for lead in cools:
        assert state(lead) == ("nurturing", "nurture", 15, 1, 16, None)
        assert stages(lead) == before[lead.pk]
    assert state(hot) == ("mql", "sales_ready", 70, 4, 74, hot_owner)
    assert stages(hot) == before[hot.pk]
    # a recycled lead returns to sales only on engagement earned since it was handed back
    assert state(browsing) == ("recycled", "sales_ready", 70, 1, 71, None)
    assert stages(browsing) == before[browsing.pk]
    assert state(returning) == ("mql", "sales_ready", 70, 40, 110, org.rep1.pk)
    assert stages(returning) == [*before[returning.pk], ("recycled", "mql", "score 110")]
    # a marquee account goes to sales whatever its score
    assert state(named) == ("mql", "sales_ready", 15, 1, 16, org.rep2.pk)
    assert stages(named)[-1] == ("nurturing", "mql", "score 16")
    # the merged lead's event counts for its survivor; the hidden lead is left alone
    assert state(survivor) == ("nurturing", "nurture", 15, 4, 19, None)
    assert state(duplicate) == ("nurturing", "nurture", 15, 0, 15, None)
    assert stages(duplicate) == before[duplicate.pk]
    # and the reasons the lead page shows are those of the stored score
    assert score_profile(profile_of(warm)).reasons == (
        "+15 stated a need",
        "+10 influencer",
        "+5 buying this year",
        "+40 engagement",
    )
    assert StageChange.objects.filter(changed_at=now).count() == 3


def test_an_event_that_lands_on_a_merged_lead_moves_nothing_of_it(org: Any, now: datetime) -> None:
    # given a duplicate merged into its survivor, and an event stored on the duplicate by a
    # batch that looked the lead up just before the merge
    survivor = capture_lead({**COOL, "email": "sam@acme.io"}, source="api", now=now).lead
    duplicate = capture_lead({**COOL, "email": "sam.k@gmail.com"}, source="api", now=now).lead
    merge_leads(survivor, duplicate, by=org.admin, now=now)
    Event.objects.bulk_create(
        Event(lead=duplicate, kind="demo_request", occurred_at=now, received_at=now, points=40)
        for _ in range(2)
    )
    hidden = state(duplicate)

    # when that batch rescores the lead it wrote to
    rescore_engagement([duplicate.pk], now=now)

    # then the hidden lead is neither rescored nor routed, and its survivor is unharmed
    assert state(duplicate) == hidden == ("nurturing", "nurture", 15, 0, 15, None)
    assert state(survivor) == ("nurturing", "nurture", 15, 0, 15, None)


def test_rescoring_leads_whose_score_stays_writes_nothing(org: Any, now: datetime) -> None:
    lead = capture_lead({**COOL, "email": "cool@acme.io"}, source="api", now=now).lead

    with CaptureQueriesContext(connection) as queries:
        rescore_engagement([lead.pk], now=now)

    assert [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")] == []
    assert state(lead) == ("nurturing", "nurture", 15, 0, 15, None)


# The look-ups of record_events (keys, emails); storing in a savepoint: row locks, the
# keys taken, the signals read, inserted and updated, the events inserted; and the
# rescoring in a savepoint: row locks, the signals, one UPDATE, the score history.
MAX_BATCH_QUERIES = 15


@pytest.mark.parametrize("leads", [1, 12])
def test_a_batch_that_moves_no_stage_costs_the_same_queries_for_any_number_of_leads(
    org: Any, now: datetime, django_assert_max_num_queries: Any, leads: int
) -> None:
    # given nurture leads and leads already with sales
    emails = [f"cool{i}@acme.io" for i in range(leads)] + [f"hot{i}@acme.io" for i in range(leads)]
    for email in emails:
        profile = COOL if email.startswith("cool") else HOT
        capture_lead({**profile, "email": email}, source="api", now=now)
    history = StageChange.objects.count()

    # when one batch brings each of them a page view
    with django_assert_max_num_queries(MAX_BATCH_QUERIES):
        record_events(
            [EventInput("page_view", now, email=email, idempotency_key=email) for email in emails],
            now=now,
        )

    # then every lead has its new score and none moved
    assert sorted(Lead.objects.values_list("stage", "engagement_score", "score").distinct()) == [
        ("mql", 1, 71),
        ("nurturing", 1, 16),
    ]
    assert StageChange.objects.count() == history


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_for_the_same_leads_count_every_event_once(now: datetime) -> None:
    # given nurture leads
    leads = [
        capture_lead({"email": f"c{i}@acme.io"}, source="api", now=now).lead for i in range(20)
    ]
    threads_count, rounds = 4, 5
    errors: list[BaseException] = []

    def post(worker: int) -> None:
        try:
            for round_ in range(rounds):
                record_events(
                    [
                        EventInput("email_open", now, lead_id=lead.pk, idempotency_key=key)
                        for lead in leads
                        if (key := f"{worker}:{round_}:{lead.pk}")
                    ],
                    now=now,
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    # when several workers post batches touching all of them at once
    threads = [threading.Thread(target=post, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then each lead's engagement is its events' points, counted once
    assert errors == []
    assert set(Lead.objects.values_list("engagement_score", "score")) == {
        (threads_count * rounds, threads_count * rounds)
    }


def test_a_retry_rescores_what_a_crashed_attempt_stored_but_did_not_score(
    org: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = capture_lead({"email": "ann@acme.io", **COOL}, source="api", now=now).lead
    batch = [EventInput(email="ann@acme.io", kind="demo_request", occurred_at=now,
                        idempotency_key="crm-1")]  # fmt: skip

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker died")

    monkeypatch.setattr("qualify.services.rescore_engagement", crash)
    with pytest.raises(RuntimeError):
        record_events(batch, now=now)
    monkeypatch.undo()
    assert Event.objects.filter(lead=lead).count() == 1
    assert state(lead)[3] == 0  # stored, not scored

    outcomes = record_events(batch, now=now)

    assert [o.status for o in outcomes] == ["duplicate"]
    assert Event.objects.filter(lead=lead).count() == 1
    assert state(lead)[3] == Event.objects.get(lead=lead).points > 0
