"""Engagement as decayed per-signal counts: decay across time with an injected `now`,
caps per period, property conditions, negative signals, the decay sweep and the score
history it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from capture.services import EventInput, capture_lead, record_events
from leads.models import Lead
from qualify.document import default_document, validate
from qualify.models import Event, ScoreChange
from qualify.rules import Profile, SignalState, compile_model, count_event, decayed
from qualify.services import run_due, save_model

DAY = timedelta(days=1)
COOL = {"need": "forecasting", "country": "Germany"}  # fit 15


def decaying_model(**engagement: Any) -> dict[str, Any]:
    document = default_document()
    document["engagement"]["half_life_days"] = 30
    document["engagement"]["rules"] = [
        {"label": "requested a demo", "kind": "demo_request", "points": 40},
        {"label": "opened an email", "kind": "email_open", "points": 1,
         "cap": {"count": 3, "days": 7}},
        {"label": "visited pricing", "kind": "page_view", "points": 10,
         "property": {"name": "path", "operator": "contains", "value": "/pricing"}},
        {"label": "viewed a page", "kind": "page_view", "points": 1},
        {"label": "unsubscribed", "kind": "unsubscribed", "points": -15},
    ]  # fmt: skip
    document["engagement"].update(engagement)
    return document


def test_a_count_halves_every_half_life() -> None:
    then = datetime(2026, 1, 1, tzinfo=UTC)
    assert decayed(8.0, then, then + 30 * DAY, 30) == 4.0
    assert decayed(8.0, then, then + 90 * DAY, 30) == 1.0
    assert decayed(8.0, then, then + 90 * DAY, None) == 8.0


def test_a_cap_counts_at_most_so_many_events_a_period() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    cap = validate(decaying_model()).engagement[1].cap
    signal = SignalState("email_open", "email_open")

    counted = [count_event(signal, start + n * DAY, cap, None) for n in range(5)]
    next_week = count_event(signal, start + 7 * DAY, cap, None)

    assert counted == [True, True, True, False, False]
    assert next_week is True
    assert signal.total == 4


def test_engagement_fades_and_says_so() -> None:
    scorer = compile_model(validate(decaying_model()))
    then = datetime(2026, 3, 1, tzinfo=UTC)
    demo = SignalState("demo_request", "demo_request", count=1.0, total=1, as_of=then)

    assert scorer.engagement([demo], now=then) == (40, ((40, "requested a demo"),))
    assert scorer.engagement([demo], now=then + 60 * DAY) == (
        10,
        ((40, "requested a demo"), (-30, "engagement faded")),
    )


@pytest.fixture
def lead(org: Any, now: datetime) -> Lead:
    save_model(decaying_model(), by=org.marketer, now=now)
    return capture_lead({**COOL, "email": "ann@acme.io"}, source="api", now=now).lead


def engagement_of(lead: Lead) -> tuple[int, int, str]:
    lead.refresh_from_db()
    return lead.engagement_score, lead.score, lead.segment


def test_an_event_scores_at_once_and_fades_with_the_sweep(lead: Lead, now: datetime) -> None:
    record_events([EventInput("demo_request", now, lead_id=lead.pk)], now=now)
    assert engagement_of(lead) == (40, 55, "nurture")

    two_months = now + 60 * DAY
    rescored = run_due(now=two_months)

    assert rescored == 1
    assert engagement_of(lead) == (10, 25, "nurture")
    assert lead.score_reasons[-2:] == [
        {"points": 40, "label": "requested a demo"},
        {"points": -30, "label": "engagement faded"},
    ]
    # Running the sweep again at the same moment changes nothing.
    changes = ScoreChange.objects.filter(lead=lead).count()
    assert run_due(now=two_months) == 0
    assert ScoreChange.objects.filter(lead=lead).count() == changes


def test_a_burst_long_ago_no_longer_makes_a_lead_hot(lead: Lead, now: datetime) -> None:
    long_ago = now - 180 * DAY
    record_events(
        [EventInput("demo_request", long_ago + n * DAY, lead_id=lead.pk) for n in range(3)],
        now=now,
    )

    assert engagement_of(lead) == (2, 17, "nurture")


def test_email_opens_count_at_most_three_a_week(lead: Lead, now: datetime) -> None:
    record_events(
        [EventInput("email_open", now - n * timedelta(hours=1), lead_id=lead.pk) for n in range(5)],
        now=now,
    )

    assert engagement_of(lead)[0] == 3
    assert sorted(Event.objects.filter(lead=lead).values_list("points", flat=True)) == [
        0, 0, 1, 1, 1,
    ]  # fmt: skip


def test_pricing_page_visits_count_more_and_unsubscribing_counts_against(
    lead: Lead, now: datetime
) -> None:
    record_events(
        [
            EventInput("page_view", now, lead_id=lead.pk, properties={"path": "/en/pricing"}),
            EventInput("page_view", now, lead_id=lead.pk, properties={"path": "/pricing/team"}),
            EventInput("page_view", now, lead_id=lead.pk, properties={"path": "/blog"}),
            EventInput("unsubscribed", now, lead_id=lead.pk),
        ],
        now=now,
    )

    assert engagement_of(lead)[0] == 20 + 1 - 15
    assert lead.score_reasons[-3:] == [
        {"points": 20, "label": "visited pricing"},
        {"points": 1, "label": "viewed a page"},
        {"points": -15, "label": "unsubscribed"},
    ]


def test_each_change_of_score_is_kept_with_the_model_version(lead: Lead, now: datetime) -> None:
    record_events([EventInput("demo_request", now, lead_id=lead.pk)], now=now + DAY)

    assert list(
        ScoreChange.objects.filter(lead=lead).values_list(
            "changed_at", "score", "grade", "segment", "model_version"
        )
    ) == [(now, 15, "C", "nurture", 3), (now + DAY, 54, "C", "nurture", 3)]  # 40 faded a day


def test_the_decay_sweep_is_registered_for_run_due_and_beat() -> None:
    assert "qualify.services.run_due" in settings.LEADLOOP_SWEEPS
    assert any(
        entry["task"] == "qualify.tasks.decay_scores_task"
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
    )


@pytest.mark.parametrize("half_life", [None, 30])
def test_both_engines_read_signals_into_the_same_engagement_score_and_reasons(
    half_life: float | None,
) -> None:
    import random

    import polars as pl

    from qualify.vectorised import engagement_frame, score_frame

    document = decaying_model(half_life_days=half_life, minimum=-10)
    model = validate(document)
    scorer = compile_model(model)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    pick = random.Random(5)
    keys = [
        ("demo_request", "demo_request"),
        ("email_open", "email_open"),
        ("page_view:path:contains:/pricing", "page_view"),
        ("page_view", "page_view"),
        ("unsubscribed", "unsubscribed"),
        ("other:webinar_attended", "webinar_attended"),
        ("page_view:path:contains:/careers", "page_view"),  # a rule no longer there
    ]
    signals: dict[int, list[SignalState]] = {}
    for lead_id in range(1, 400):
        for key, kind in pick.sample(keys, pick.randrange(0, 5)):
            total = pick.randrange(1, 6)
            signals.setdefault(lead_id, []).append(
                SignalState(key, kind, total=total,
                            count=total * pick.random() if half_life else float(total),
                            as_of=now - pick.randrange(0, 400) * DAY)
            )  # fmt: skip
    rows = [(lead_id, s) for lead_id, states in signals.items() for s in states]
    frame = pl.DataFrame(
        {
            "lead_id": [lead_id for lead_id, _ in rows],
            "key": [s.key for _, s in rows],
            "kind": [s.kind for _, s in rows],
            "count": [s.count for _, s in rows],
            "total": [s.total for _, s in rows],
            "as_of": [s.as_of for _, s in rows],
        }
    )

    engaged = engagement_frame(frame, model, now=now).sort("lead_id")
    expected = {lead_id: scorer.engagement(states, now=now) for lead_id, states in signals.items()}
    scored = score_frame(engaged.with_columns(need=pl.lit("x"), is_marquee=pl.lit(False)), model)
    assert isinstance(scored, pl.DataFrame)

    got = {
        row["lead_id"]: (
            row["engagement"],
            tuple((r["points"], r["label"]) for r in row["engagement_reasons"]),
        )
        for row in engaged.iter_rows(named=True)
    }
    assert got == expected
    assert scored["score_reasons"].to_list() == [
        scorer.score(Profile(need="x", engagement=total, engagement_reasons=reasons)).score_reasons
        for total, reasons in (expected[lead_id] for lead_id in engaged["lead_id"])
    ]
    assert any(label == "engagement faded" for _, r in expected.values() for _, label in r) is (
        half_life is not None
    )
