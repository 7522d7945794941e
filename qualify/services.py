"""Scoring a lead and moving it to the stage its segment calls for."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from django.db import connection, models, transaction
from django.db.models import F

from leads.bulk import update_columns, update_scores
from leads.choices import Stage
from leads.history import history_ids, move_rows
from leads.models import Account, Lead
from leads.services import follow_merges, move_leads, transition_lead, update_lead
from leads.sql import datetime_text, db_datetime, db_now, in_list, load, read_frame
from routing.services import assign_leads
from users.models import User

from .document import CUSTOM_PREFIX, ScoringModel, validate
from .models import EngagementSignal, Event, ScoreChange, ScoringModelVersion

# OPEN_STAGES is read from here by the import pipeline.
from .rules import OPEN_STAGES as OPEN_STAGES
from .rules import (
    Profile,
    Score,
    Scorer,
    SignalState,
    compile_model,
    count_event,
    default_scorer,
)
from .vectorised import (
    REASON_TYPE,
    engagement_frame,
    reasons_json_expr,
    score_frame,
    to_stage_expr,
)

# What scoring and apply_segment read of a lead (profile_of, stage_for_segment): loading
# only these keeps rescoring a thousand leads cheap.
SCORING_FIELDS = (
    "need", "authority", "budget", "timeline", "title", "employees", "account",
    "email", "first_name", "last_name", "phone", "company_name", "country", "industry",
    "source", "custom_fields",
    "account__employees", "account__is_marquee", "account__name", "account__domain",
    "account__industry", "engagement_score", "fit_score", "score", "grade",
    "score_reasons", "segment", "stage", "engagement_at_recycle", "merged_into",
)  # fmt: skip
# What apply_segment reads of a lead, to decide its move and give the reason.
MOVE_FIELDS = ("stage", "segment", "score", "engagement_score", "engagement_at_recycle")
# The columns score_leads writes: the engagement and what score_lead stores from it.
SCORE_FIELDS = ("engagement_score", "fit_score", "score", "segment", "grade", "score_reasons")
# Leads per UPDATE of score_leads (7 parameters each).
SCORE_BATCH_SIZE = 1000
# Lead fields a model may name, read as they are (qualify.document.FIELDS).
PLAIN_FIELDS = (
    "email", "first_name", "last_name", "phone", "company_name", "country", "industry",
    "source",
)  # fmt: skip
ACCOUNT_FIELDS = ("name", "domain", "industry", "employees", "is_marquee")


# --- the scoring model: its versions and the active one ------------------------------------

# The active model, compiled, per process: (read at, version id, scorer, number). Read again
# after ACTIVE_MODEL_SECONDS, so a model saved by another process is used within seconds
# without a query per scored lead; this process forgets it at once when it saves one.
_active: tuple[float, int | None, Scorer, int | None] | None = None
ACTIVE_MODEL_SECONDS = 5.0


def active_scorer() -> Scorer:
    """The active scoring model, compiled (version 1 when none is stored)."""
    global _active
    if _active is not None and time.monotonic() - _active[0] < ACTIVE_MODEL_SECONDS:
        return _active[2]
    version = active_version()
    if _active is not None and version is not None and _active[1] == version.pk:
        scorer = _active[2]
    elif version is None:
        scorer = default_scorer()
    else:
        scorer = compile_model(validate(version.document))
    _active = (
        time.monotonic(),
        version.pk if version else None,
        scorer,
        version.number if version else None,
    )
    return scorer


def forget_active_model() -> None:
    """Read the active model again on next use (after saving one, and between tests)."""
    global _active
    _active = None


def active_version() -> ScoringModelVersion | None:
    return ScoringModelVersion.objects.filter(is_active=True).first()


def save_model(
    document: Any, *, by: User | None, now: datetime, note: str = ""
) -> ScoringModelVersion:
    """Validate the document (ModelInvalid names every bad rule) and store it as the new
    active version. Nothing is saved when any rule is bad."""
    validate(document)
    with transaction.atomic():
        # The lock makes two saves at once number their versions one after the other.
        current = list(ScoringModelVersion.objects.select_for_update().order_by("-number")[:1])
        number = current[0].number + 1 if current else 1
        ScoringModelVersion.objects.filter(is_active=True).update(is_active=False)
        version = ScoringModelVersion.objects.create(
            number=number,
            document=document,
            is_active=True,
            created_at=now,
            created_by=by,
            note=note[:300],
        )
    forget_active_model()
    return version


def restore_version(number: int, *, by: User | None, now: datetime) -> ScoringModelVersion:
    """Make an earlier version active again, as a new version copying its document."""
    old = ScoringModelVersion.objects.get(number=number)
    return save_model(old.document, by=by, now=now, note=f"restored version {number}")


# --- scoring leads ------------------------------------------------------------------------------


def profile_of(lead: Lead) -> Profile:
    account = lead.account if lead.account_id else None
    values: dict[str, Any] = {name: getattr(lead, name) for name in PLAIN_FIELDS}
    for name in ACCOUNT_FIELDS:
        values[f"account.{name}"] = getattr(account, name) if account else None
    for key, value in (lead.custom_fields or {}).items():
        values[f"custom.{key}"] = value
    return Profile(
        need=lead.need,
        authority=lead.authority,
        budget=lead.budget,
        timeline=lead.timeline,
        title=lead.title,
        employees=lead.employees if lead.employees is not None else _account_employees(lead),
        is_marquee=bool(account and account.is_marquee),
        engagement=lead.engagement_score,
        values=values,
    )


def _account_employees(lead: Lead) -> int | None:
    return lead.account.employees if lead.account_id and lead.account else None


def _take_score(lead: Lead, result: Score) -> None:
    lead.fit_score, lead.score, lead.segment = result.fit, result.total, result.segment
    lead.grade, lead.score_reasons = result.grade, result.score_reasons


def _profile_with_engagement(
    scorer: Scorer, lead: Lead, signals: Sequence[SignalState], now: datetime
) -> Profile:
    engagement, reasons = scorer.engagement(signals, now=now)
    lead.engagement_score = engagement
    return replace(profile_of(lead), engagement=engagement, engagement_reasons=reasons)


def score_lead(lead: Lead, *, now: datetime) -> Score:
    """Recompute and store the lead's score, grade, reasons and segment (its engagement
    read from its signals at `now`), with a ScoreChange when any of them changed."""
    scorer = active_scorer()
    before = _history_values(lead)
    signals = signals_of([lead.pk]).get(lead.pk, [])
    result = scorer.score(_profile_with_engagement(scorer, lead, signals, now))
    _take_score(lead, result)
    update_lead(
        lead.pk,
        engagement_score=lead.engagement_score,
        fit_score=result.fit,
        score=result.total,
        segment=result.segment,
        grade=result.grade,
        score_reasons=result.score_reasons,
    )
    if _history_values(lead) != before:
        record_score_changes([lead], now=now)
    return result


def score_leads(
    leads: Iterable[Lead], signals: Mapping[int, Sequence[SignalState]], *, now: datetime
) -> list[Lead]:
    """Score each lead as score_lead does, its engagement from `signals` (none when not
    in it), and store the leads whose values changed in one UPDATE per SCORE_BATCH_SIZE
    leads. The leads whose score, grade or segment changed, with their ScoreChanges."""
    scorer = active_scorer()
    changed, moved = [], []
    for lead in leads:
        before, history = _score_values(lead), _history_values(lead)
        result = scorer.score(_profile_with_engagement(scorer, lead, signals.get(lead.pk, ()), now))
        _take_score(lead, result)
        if _score_values(lead) != before:
            changed.append(lead)
        if _history_values(lead) != history:
            moved.append(lead)
    update_columns(changed, SCORE_FIELDS, batch_size=SCORE_BATCH_SIZE)
    record_score_changes(moved, now=now)
    return moved


HISTORY_FIELDS = ("score", "grade", "segment")


def _history_values(lead: Lead) -> tuple[Any, ...]:
    return tuple(getattr(lead, name) for name in HISTORY_FIELDS)


def record_score_changes(leads: Sequence[Lead], *, now: datetime) -> None:
    """A ScoreChange for each lead, as it stands, made by the active model."""
    if not leads:
        return
    version = _active_number()
    ScoreChange.objects.bulk_create(
        [
            ScoreChange(
                lead_id=lead.pk,
                changed_at=now,
                score=lead.score,
                fit_score=lead.fit_score,
                engagement_score=lead.engagement_score,
                grade=lead.grade,
                segment=lead.segment,
                model_version=version,
            )
            for lead in leads
        ],
        batch_size=1000,
    )


def insert_score_changes(frame: pl.DataFrame, *, now: datetime) -> None:
    """ScoreChanges in bulk for leads written in bulk (an import chunk): a row of `frame`
    each (lead_id, score, fit_score, engagement_score, grade, segment), made now by the
    active model."""
    if frame.is_empty():
        return
    with connection.cursor() as cursor:
        load(
            cursor,
            ScoreChange._meta.db_table,
            frame,
            {"changed_at": db_now(now), "model_version": _active_number()},
        )


def _active_number() -> int | None:
    active_scorer()
    return _active[3] if _active is not None else None


def _score_values(lead: Lead) -> tuple[Any, ...]:
    return tuple(getattr(lead, name) for name in SCORE_FIELDS)


def stage_for_segment(lead: Lead) -> str | None:
    """The stage the lead's segment calls for (None: it stays), under the active model."""
    return active_scorer().stage_for_segment(
        lead.stage, lead.segment, lead.engagement_score, lead.engagement_at_recycle
    )


def event_points(kind: str, properties: Mapping[str, Any] | None = None) -> int:
    """The points an engagement event earns under the active model."""
    return active_scorer().event_points(kind, properties)


def segment_moves(lead: Lead) -> bool:
    """Whether apply_segment would move the lead as it is now."""
    return stage_for_segment(lead) is not None


def segment_move_reason(lead: Lead, to_stage: str) -> str:
    """Why a lead moved to the stage of its segment, as its history says."""
    return f"score {lead.score}" + (": not a fit" if to_stage == Stage.DISQUALIFIED else "")


def apply_segment(lead: Lead, *, now: datetime, by: User | None = None) -> bool:
    """Move an open lead to the stage of its segment. True when it became an MQL."""
    to_stage = stage_for_segment(lead)
    if to_stage is None:
        return False
    transition_lead(lead, to_stage, now=now, by=by, reason=segment_move_reason(lead, to_stage))
    return to_stage == Stage.MQL


# --- Engagement: events and the rescoring they cause ------------------------------------


def store_events(
    events: list[Event],
    *,
    also_rescore: Iterable[int] = (),
    now: datetime,
    by: User | None = None,
) -> None:
    """Store engagement events (one whose idempotency key is stored already is skipped)
    and count them in their leads' engagement signals, then rescore their leads at once,
    with the leads in `also_rescore`.

    The leads are locked first (in id order, as merges lock theirs, so two batches do
    not deadlock): a concurrent batch for the same lead waits, so every event is counted
    in its signal exactly once, in the transaction that stores it. Each event's points
    are what the active model gives it then (0 when its signal's cap was reached)."""
    lead_ids = {event.lead_id for event in events}
    if events:
        with transaction.atomic():
            list(
                # NO KEY: events being inserted for these leads (their foreign key) don't wait.
                Lead.objects.select_for_update(no_key=True, of=("self",))
                .filter(pk__in=lead_ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            keys = [event.idempotency_key for event in events if event.idempotency_key]
            taken = set(
                Event.objects.filter(idempotency_key__in=keys).values_list(
                    "idempotency_key", flat=True
                )
            )
            fresh = []
            for event in events:
                if event.idempotency_key in taken:
                    continue
                if event.idempotency_key:
                    taken.add(event.idempotency_key)
                fresh.append(event)
            _count_in_signals(fresh)
            Event.objects.bulk_create(fresh, batch_size=500)
    rescore_engagement(lead_ids | set(also_rescore), now=now, by=by)


def _count_in_signals(events: list[Event]) -> None:
    """Add events to their leads' signals (the leads are locked by the caller), setting
    each event's points as the active model counts it."""
    scorer = active_scorer()
    half_life = scorer.model.half_life_days
    stored: dict[tuple[int, str], EngagementSignal] = {}
    for row in EngagementSignal.objects.filter(lead_id__in={e.lead_id for e in events}).order_by(
        "pk"
    ):
        stored.setdefault((row.lead_id, row.key), row)
    touched: dict[tuple[int, str], EngagementSignal] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        key, cap = scorer.signal_key(event.kind, event.properties or {})
        found = stored.get((event.lead_id, key))
        if found is None:
            found = stored[(event.lead_id, key)] = EngagementSignal(
                lead_id=event.lead_id, key=key, kind=event.kind
            )
        row = found
        state = _state_of(row)
        # An imported activity total ({"count": 12, "imported": true}) is that many events.
        properties = event.properties or {}
        times = properties.get("count", 1) if properties.get("imported") else 1
        counted = False
        for _ in range(max(int(times), 1) if isinstance(times, int | float) else 1):
            counted = count_event(state, event.occurred_at, cap, half_life) or counted
        _take_state(row, state)
        points, _ = scorer.signal_points(key, event.kind)
        event.points = points if counted else 0
        touched[(event.lead_id, key)] = row
    new = [row for row in touched.values() if row.pk is None]
    known = [row for row in touched.values() if row.pk is not None]
    EngagementSignal.objects.bulk_create(new, batch_size=500)
    EngagementSignal.objects.bulk_update(known, SIGNAL_STATE, batch_size=500)


SIGNAL_STATE = ("count", "total", "as_of", "window_start", "window_count")


def _state_of(row: EngagementSignal) -> SignalState:
    return SignalState(
        row.key, row.kind, row.count, row.total, row.as_of, row.window_start, row.window_count
    )


def _take_state(row: EngagementSignal, state: SignalState) -> None:
    for name in SIGNAL_STATE:
        setattr(row, name, getattr(state, name))


def signals_of(lead_ids: Iterable[int]) -> dict[int, list[SignalState]]:
    """The engagement signals of leads, by lead."""
    found: dict[int, list[SignalState]] = {}
    for row in EngagementSignal.objects.filter(lead_id__in=list(lead_ids)):
        found.setdefault(row.lead_id, []).append(_state_of(row))
    return found


def rescore_engagement(lead_ids: Iterable[int], *, now: datetime, by: User | None = None) -> None:
    """Recompute engagement from the leads' signals, read at `now`; a lead that becomes
    sales-ready is routed.

    The leads are rescored together: their rows are locked (in id order, as merges lock
    theirs, so two batches do not deadlock) before their signals are read; the changed
    scores are written by one UPDATE per thousand leads. The leads whose stage moves
    (sales-ready, disqualified, …) are then moved and routed in a second transaction,
    together (_move_to_segment_stages): the teams' round-robin locks are held for a few
    statements, not for one lead after another. A merged lead is not scored: its
    survivor is, instead.
    """
    ids = set(lead_ids)
    if not ids:
        return
    with transaction.atomic():
        leads = list(
            Lead.objects.select_for_update(no_key=True, of=("self",))
            .filter(pk__in=ids)
            .select_related("account")
            .only(*SCORING_FIELDS)
            .order_by("pk")
        )
        merged = {lead.pk: lead for lead in leads if lead.merged_into_id is not None}
        leads = [lead for lead in leads if lead.merged_into_id is None]
        score_leads(leads, signals_of(lead.pk for lead in leads), now=now)
        movers = [lead.pk for lead in leads if segment_moves(lead)]
    if movers:
        _move_to_segment_stages(movers, now=now, by=by)
    if merged:
        # An event can land on a lead merged in the meantime; the person is its survivor.
        survivors = {lead.pk for lead in follow_merges(merged).values()}
        rescore_engagement(survivors - ids, now=now, by=by)


def _move_to_segment_stages(lead_ids: list[int], *, now: datetime, by: User | None) -> None:
    """Move freshly scored leads to their segments' stages and route the sales-ready ones,
    together: as apply_segment and assign_lead would one by one, in id order (so round
    robin hands out reps the same way on every database).

    Decided again on the locked rows: since the batch's scores were committed, sales or
    another batch may have moved a lead already. The teams are locked only while the
    sales-ready ones are routed, a few statements for all of them.
    """
    with transaction.atomic():
        leads = list(
            # Whole rows: routing reads the lead's country, team and account owner.
            Lead.objects.select_for_update(of=("self",))
            .filter(pk__in=lead_ids, merged_into__isnull=True)
            .select_related("account__owner")
            .order_by("pk")
        )
        move_to_segments(leads, now=now, by=by)


def move_to_segments(leads: list[Lead], *, now: datetime, by: User | None) -> None:
    """apply_segment, then assign_lead for the sales-ready, for leads the caller holds
    (locked, or made in its transaction): a bulk move per stage, one routing for all."""
    moving: dict[str, list[Lead]] = {}
    for lead in leads:
        to_stage = stage_for_segment(lead)
        if to_stage is not None:
            moving.setdefault(to_stage, []).append(lead)
    for to_stage, group in moving.items():
        move_leads(group, to_stage, now=now, by=by, reason=segment_move_reason)
    assign_leads(moving.get(Stage.MQL, []), now=now)


# Engagement events: a lead's history, which follows the person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {
    "events": Event,
    "signals": EngagementSignal,
    "score_changes": ScoreChange,
}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's events, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the events named by `ids` to the lead `to` (a merge, or its undo)."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)


# --- Engagement from files: events in bulk ------------------------------------------------


def stored_event_keys(keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys are stored already."""
    if not keys:
        return set()
    clause, params = in_list(list(keys))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT idempotency_key FROM {Event._meta.db_table} WHERE idempotency_key {clause}",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def insert_events(frame: pl.DataFrame, *, now: datetime) -> int:
    """Store engagement events in bulk, in the caller's transaction (an import chunk,
    which scores its leads itself): `frame` has lead_id, kind, occurred_at (aware UTC),
    points, properties (JSON text) and idempotency_key, none of them stored yet
    (`stored_event_keys`). Returns how many were stored."""
    if frame.is_empty():
        return 0
    rows = frame.select(
        pl.col("lead_id").cast(pl.Int64),
        pl.col("kind"),
        db_datetime(pl.col("occurred_at")).alias("occurred_at"),
        pl.col("points").cast(pl.Int64),
        pl.col("properties"),
        pl.col("idempotency_key"),
    ).sort("lead_id", "occurred_at")
    with connection.cursor() as cursor:
        load(cursor, Event._meta.db_table, rows, {"received_at": db_now(now), "campaign_id": None})
    # Counted in their leads' engagement signals too, as store_events counts them.
    _count_in_signals(
        [
            Event(
                lead_id=lead_id,
                kind=kind,
                occurred_at=occurred_at,
                properties=json.loads(properties) if properties else {},
            )
            for lead_id, kind, occurred_at, properties in frame.select(
                "lead_id", "kind", "occurred_at", "properties"
            ).iter_rows()
        ]
    )
    return rows.height


# --- decay: the sweep -------------------------------------------------------------------------

DECAY_BATCH_SIZE = 1000


def run_due(*, now: datetime, batch_size: int = DECAY_BATCH_SIZE) -> int:
    """Rescore the leads whose engagement, read at `now`, is not the one stored (decay
    moved it); how many. Idempotent: a second run at the same `now` finds none."""
    scorer = active_scorer()
    if scorer.model.half_life_days is None:
        return 0
    lead_ids = list(
        EngagementSignal.objects.filter(count__gt=0)
        .order_by("lead_id")
        .values_list("lead_id", flat=True)
        .distinct()
    )
    rescored = 0
    for start in range(0, len(lead_ids), batch_size):
        chunk = lead_ids[start : start + batch_size]
        signals = signals_of(chunk)
        stored = dict(
            Lead.objects.filter(pk__in=chunk, merged_into__isnull=True).values_list(
                "pk", "engagement_score"
            )
        )
        due = [
            lead_id
            for lead_id, engagement in stored.items()
            if scorer.engagement(signals.get(lead_id, ()), now=now)[0] != engagement
        ]
        rescore_engagement(due, now=now)
        rescored += len(due)
    return rescored


# --- changing the model: what-if, apply, rescore everything -------------------------------------

PREVIEW_SAMPLE = 5
# Leads moved and routed together after a model change: each batch locks the teams it
# routes to for a few statements, and pays the router's set-up once.
RESCORE_MOVE_BATCH = 5000
# Leads per UPDATE of a rescoring after a model change.
RESCORE_WRITE_BATCH = 50_000
ARROW = "→"


@dataclass
class ModelPreview:
    """What a model would change on the current leads: segment moves ("from→to": count),
    how many change grade, and a few leads behind each number."""

    leads: int = 0
    moves: dict[str, int] = field(default_factory=dict)
    grades_changed: int = 0
    grade_moves: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "moves": self.moves,
            "grades_changed": self.grades_changed,
            "grade_moves": self.grade_moves,
            "samples": self.samples,
            "seconds": self.seconds,
        }


LEAD_TEXT_FIELDS = (*PLAIN_FIELDS, "need", "authority", "timeline", "title")


def scored_leads(model: ScoringModel, *, now: datetime) -> pl.DataFrame:
    """Every lead (merged ones aside) scored by `model` at `now`, set-based: two scans
    (the leads with their accounts, the engagement signals; never the events), the Polars
    scorer (`qualify.vectorised`, checked against the one-by-one scorer). Columns: id,
    what it has now (old_*, stage, engagement_at_recycle) and what the model makes of it
    (engagement, fit_score, score, grade, segment, score_reasons), changed, to_stage.

    Only the fields the model names are read, as text the database writes and Polars
    parses in bulk (leads.sql.read_frame): a million leads through the DB-API cursor, a
    Python tuple each, was most of a rescoring's time."""
    lead = Lead._meta.db_table
    account = Account._meta.db_table
    text, number, integer = pl.String(), pl.Float64(), pl.Int64()
    named = model.fields()
    columns: dict[str, tuple[str, pl.DataType]] = {"id": ("l.id", integer)}
    for name in LEAD_TEXT_FIELDS:
        if name in named:
            columns[name] = (f"l.{name}", text)
    if "budget" in named:
        columns["budget"] = ("CAST(l.budget AS DOUBLE PRECISION)", number)
    if "employees" in named:
        columns["employees"] = ("COALESCE(l.employees, a.employees)", integer)
    if any(name.startswith(CUSTOM_PREFIX) for name in named):
        columns["custom_fields"] = ("CAST(l.custom_fields AS TEXT)", text)
    for name in ("name", "domain", "industry"):
        if f"account.{name}" in named:
            columns[f"account.{name}"] = (f"a.{name}", text)
    if "account.employees" in named:
        columns["account.employees"] = ("a.employees", integer)
    columns |= {
        "__marquee": (
            "CASE WHEN a.id IS NULL THEN NULL WHEN a.is_marquee THEN 1 ELSE 0 END",
            integer,
        ),
        "stage": ("l.stage", text),
        "old_segment": ("l.segment", text),
        "old_grade": ("l.grade", text),
        "old_score": ("l.score", integer),
        "old_fit": ("l.fit_score", integer),
        "old_engagement": ("l.engagement_score", integer),
        "engagement_at_recycle": ("l.engagement_at_recycle", integer),
        "old_reasons": ("CAST(l.score_reasons AS TEXT)", text),
    }
    leads = read_frame(
        columns,
        f"{lead} l LEFT JOIN {account} a ON a.id = l.account_id",
        key="l.id",
        where="l.merged_into_id IS NULL",
    ).sort("id")
    signals = read_frame(
        {
            "lead_id": ("lead_id", integer),
            "key": ("key", text),
            "kind": ("kind", text),
            "count": ("CAST(count AS DOUBLE PRECISION)", number),
            "total": ("total", integer),
            "as_of": (datetime_text("as_of"), pl.Datetime("us", "UTC")),
        },
        EngagementSignal._meta.db_table,
        key="id",
    )
    engagement = engagement_frame(signals, model, now=now)
    frame = leads.with_columns(
        pl.col("__marquee").cast(pl.Boolean).alias("account.is_marquee"),
        pl.col("__marquee").fill_null(0).cast(pl.Boolean).alias("is_marquee"),
    ).join(engagement, left_on="id", right_on="lead_id", how="left")
    scored = score_frame(frame.with_columns(pl.col("engagement").fill_null(0)), model)
    assert isinstance(scored, pl.DataFrame)
    old_reasons = pl.col("old_reasons").str.json_decode(pl.List(REASON_TYPE))
    return scored.with_columns(
        pl.col("engagement_points").alias("engagement_score"),
        changed=pl.any_horizontal(
            pl.col("engagement_points") != pl.col("old_engagement"),
            pl.col("fit_score") != pl.col("old_fit"),
            pl.col("score") != pl.col("old_score"),
            pl.col("segment") != pl.col("old_segment"),
            pl.col("grade") != pl.col("old_grade"),
            pl.col("score_reasons").ne_missing(old_reasons),
        ),
        to_stage=to_stage_expr(
            pl.col("stage"),
            pl.col("segment"),
            pl.col("engagement_points"),
            pl.col("engagement_at_recycle"),
            model.reengagement_points,
        ),
    )


def lead_names(lead_ids: Sequence[int]) -> dict[int, str]:
    """How a lead is called in a preview's sample: its name, else its email, else its id."""
    names = {}
    for pk, first, last, email in Lead.objects.filter(pk__in=lead_ids).values_list(
        "pk", "first_name", "last_name", "email"
    ):
        names[pk] = f"{first} {last}".strip() or email or f"Lead #{pk}"
    return names


def preview_model(
    document: Any, *, now: datetime, sample_size: int = PREVIEW_SAMPLE
) -> ModelPreview:
    """What-if: score every lead with `document` (refused whole by ModelInvalid when a
    rule is bad) and compare with what it has now. Nothing is written."""
    started = time.perf_counter()
    scored = scored_leads(validate(document), now=now)
    preview = ModelPreview(leads=scored.height)
    for column, old, prefix in (("segment", "old_segment", ""), ("grade", "old_grade", "grade ")):
        moved = scored.filter(pl.col(column).ne_missing(pl.col(old))).with_columns(
            pl.format(
                prefix + "{}" + ARROW + "{}", pl.col(old).fill_null("-").replace("", "-"), column
            ).alias("__move")
        )
        counts = dict(
            moved.group_by("__move").len().sort("len", "__move", descending=[True, False]).rows()
        )
        if column == "segment":
            preview.moves = counts
        else:
            preview.grade_moves = counts
            preview.grades_changed = moved.height
        for move, group in moved.group_by("__move"):
            preview.samples[str(move[0])] = [
                {"id": row[0], "score": row[1]}
                for row in group.sort("id").head(sample_size).select("id", "score").rows()
            ]
    names = lead_names([lead["id"] for sample in preview.samples.values() for lead in sample])
    for sample in preview.samples.values():
        sample[:] = [
            {"id": lead["id"], "name": names.get(lead["id"], ""), "score": lead["score"]}
            for lead in sample
        ]
    preview.seconds = round(time.perf_counter() - started, 3)
    return preview


def apply_model(
    document: Any, *, by: User | None, now: datetime, note: str = ""
) -> ScoringModelVersion:
    """Validate and save the document as the active version, then rescore every lead in
    the background (rescore_all_task; the version shows the progress)."""
    from .tasks import rescore_all_task

    version = save_model(document, by=by, now=now, note=note)
    version_id = version.pk
    transaction.on_commit(lambda: rescore_all_task.delay(version_id))
    return version


def rescore_all(
    version: ScoringModelVersion, *, now: datetime, batch_size: int = RESCORE_WRITE_BATCH
) -> dict[str, Any]:
    """Rescore every lead with the active model, set-based (scored_leads), writing only
    the leads whose score, grade, segment or reasons changed, `batch_size` at a time (the
    version records the progress), with their ScoreChanges; then move and route the
    leads whose segment calls for it, as an event would. A lead an event rescored between
    the read and the write keeps that newer score. The summary: leads_rescored, moves
    ("from→to": count), grades_changed, seconds."""
    started = time.perf_counter()
    scored = scored_leads(active_scorer().model, now=now)
    changed = scored.filter(pl.col("changed"))
    ScoringModelVersion.objects.filter(pk=version.pk).update(
        rescore_total=scored.height,
        rescore_done=scored.height - changed.height,
        rescore_finished_at=None,
        rescore_summary=None,
    )
    for start in range(0, changed.height, batch_size):
        batch = changed.slice(start, batch_size)
        with transaction.atomic():
            update_scores(
                batch.select(
                    "id",
                    "engagement_score",
                    "fit_score",
                    "score",
                    "segment",
                    "grade",
                    reasons_json_expr(pl.col("score_reasons")).alias("score_reasons"),
                    "old_score",
                    "old_engagement",
                )
            )
            insert_score_changes(
                batch.filter(
                    (pl.col("score") != pl.col("old_score"))
                    | pl.col("grade").ne_missing(pl.col("old_grade"))
                    | pl.col("segment").ne_missing(pl.col("old_segment"))
                ).select(
                    pl.col("id").alias("lead_id"),
                    "score",
                    "fit_score",
                    "engagement_score",
                    "grade",
                    "segment",
                ),
                now=now,
            )
            ScoringModelVersion.objects.filter(pk=version.pk).update(
                rescore_done=F("rescore_done") + batch.height
            )
    movers = scored.filter(pl.col("to_stage").is_not_null())["id"].to_list()
    for start in range(0, len(movers), RESCORE_MOVE_BATCH):
        _move_to_segment_stages(movers[start : start + RESCORE_MOVE_BATCH], now=now, by=None)
    segment_moves = scored.filter(pl.col("segment") != pl.col("old_segment")).with_columns(
        pl.format("{}" + ARROW + "{}", "old_segment", "segment").alias("__move")
    )
    moves = dict(
        segment_moves.group_by("__move")
        .len()
        .sort("len", "__move", descending=[True, False])
        .rows()
    )
    seconds = round(time.perf_counter() - started, 3)
    summary = {
        "leads_rescored": scored.height,
        "moves": moves,
        "grades_changed": scored.filter(pl.col("grade").ne_missing(pl.col("old_grade"))).height,
        "seconds": seconds,
    }
    ScoringModelVersion.objects.filter(pk=version.pk).update(
        rescore_finished_at=now + timedelta(seconds=seconds), rescore_summary=summary
    )
    return summary
