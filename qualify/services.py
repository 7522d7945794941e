"""Scoring a lead and moving it to the stage its segment calls for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from django.db import connection, models, transaction
from django.db.models import Sum

from leads.bulk import update_columns
from leads.choices import Stage
from leads.history import history_ids, move_rows
from leads.models import Lead
from leads.services import follow_merges, move_leads, transition_lead, update_lead
from leads.sql import db_datetime, db_now, in_list, load
from routing.services import assign_leads
from users.models import User

from .models import Event

# OPEN_STAGES is read from here by the import pipeline.
from .rules import OPEN_STAGES as OPEN_STAGES
from .rules import Profile, Score, score_profile, stage_for_segment

# What scoring and apply_segment read of a lead (profile_of, stage_for_segment): loading
# only these keeps rescoring a thousand leads cheap.
SCORING_FIELDS = (
    "need", "authority", "budget", "timeline", "title", "employees", "account",
    "account__employees", "account__is_marquee", "engagement_score", "fit_score", "score",
    "segment", "stage", "engagement_at_recycle", "merged_into",
)  # fmt: skip
# What apply_segment reads of a lead, to decide its move and give the reason.
MOVE_FIELDS = ("stage", "segment", "score", "engagement_score", "engagement_at_recycle")
# The columns score_leads writes: the engagement and what score_lead stores from it.
SCORE_FIELDS = ("engagement_score", "fit_score", "score", "segment")
# Leads per UPDATE of score_leads (5 parameters each).
SCORE_BATCH_SIZE = 1000


def profile_of(lead: Lead) -> Profile:
    return Profile(
        need=lead.need,
        authority=lead.authority,
        budget=lead.budget,
        timeline=lead.timeline,
        title=lead.title,
        employees=lead.employees if lead.employees is not None else _account_employees(lead),
        is_marquee=bool(lead.account_id and lead.account and lead.account.is_marquee),
        engagement=lead.engagement_score,
    )


def _account_employees(lead: Lead) -> int | None:
    return lead.account.employees if lead.account_id and lead.account else None


def score_lead(lead: Lead) -> Score:
    """Recompute and store the lead's score and segment."""
    result = score_profile(profile_of(lead))
    lead.fit_score, lead.score, lead.segment = result.fit, result.total, result.segment
    update_lead(lead.pk, fit_score=result.fit, score=result.total, segment=result.segment)
    return result


def score_leads(leads: Iterable[Lead], engagement: Mapping[int, int]) -> None:
    """Give each lead its engagement score (0 when not in `engagement`), recompute its
    score and segment as score_lead does, and store the leads whose values changed in
    one UPDATE per SCORE_BATCH_SIZE leads."""
    changed = []
    for lead in leads:
        before = _score_values(lead)
        lead.engagement_score = engagement.get(lead.pk, 0)
        result = score_profile(profile_of(lead))
        lead.fit_score, lead.score, lead.segment = result.fit, result.total, result.segment
        if _score_values(lead) != before:
            changed.append(lead)
    update_columns(changed, SCORE_FIELDS, batch_size=SCORE_BATCH_SIZE)


def _score_values(lead: Lead) -> tuple[Any, ...]:
    return tuple(getattr(lead, name) for name in SCORE_FIELDS)


def segment_moves(lead: Lead) -> bool:
    """Whether apply_segment would move the lead as it is now."""
    return (
        stage_for_segment(
            lead.stage, lead.segment, lead.engagement_score, lead.engagement_at_recycle
        )
        is not None
    )


def segment_move_reason(lead: Lead, to_stage: str) -> str:
    """Why a lead moved to the stage of its segment, as its history says."""
    return f"score {lead.score}" + (": not a fit" if to_stage == Stage.DISQUALIFIED else "")


def apply_segment(lead: Lead, *, now: datetime, by: User | None = None) -> bool:
    """Move an open lead to the stage of its segment. True when it became an MQL."""
    to_stage = stage_for_segment(
        lead.stage, lead.segment, lead.engagement_score, lead.engagement_at_recycle
    )
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
    """Store engagement events (a retried key is skipped: `idempotency_key` is unique)
    and rescore their leads at once, with the leads in `also_rescore`."""
    with transaction.atomic():
        Event.objects.bulk_create(events, ignore_conflicts=True, batch_size=500)
    rescore_engagement({event.lead_id for event in events} | set(also_rescore), now=now, by=by)


def rescore_engagement(lead_ids: Iterable[int], *, now: datetime, by: User | None = None) -> None:
    """Recompute engagement from stored events; a lead that becomes sales-ready is routed.

    The leads are rescored together: their rows are locked (in id order, as merges lock
    theirs, so two batches do not deadlock) before their events are summed, so a
    concurrent batch's events are either in this sum or rescored by that batch after this
    one commits; the changed scores are written by one UPDATE per thousand leads. The
    leads whose stage moves (sales-ready, disqualified, …) are then moved and routed in
    a second transaction, together (_move_to_segment_stages): the teams' round-robin
    locks are held for a few statements, not for one lead after another. A merged lead
    is not scored: its survivor is, instead.
    """
    ids = set(lead_ids)
    if not ids:
        return
    with transaction.atomic():
        leads = list(
            # NO KEY: events being inserted for these leads (their foreign key) don't wait.
            Lead.objects.select_for_update(no_key=True, of=("self",))
            .filter(pk__in=ids)
            .select_related("account")
            .only(*SCORING_FIELDS)
            .order_by("pk")
        )
        merged = {lead.pk: lead for lead in leads if lead.merged_into_id is not None}
        leads = [lead for lead in leads if lead.merged_into_id is None]
        totals = dict(
            Event.objects.filter(lead_id__in=[lead.pk for lead in leads])
            .values("lead_id")
            .annotate(total=Sum("points"))
            .values_list("lead_id", "total")
        )
        score_leads(leads, {lead_id: int(total or 0) for lead_id, total in totals.items()})
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
        to_stage = stage_for_segment(
            lead.stage, lead.segment, lead.engagement_score, lead.engagement_at_recycle
        )
        if to_stage is not None:
            moving.setdefault(to_stage, []).append(lead)
    for to_stage, group in moving.items():
        move_leads(group, to_stage, now=now, by=by, reason=segment_move_reason)
    assign_leads(moving.get(Stage.MQL, []), now=now)


# Engagement events: a lead's history, which follows the person when leads are merged.
LEAD_HISTORY: dict[str, type[models.Model]] = {"events": Event}


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
    return rows.height
