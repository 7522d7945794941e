"""Cadences at work: enrolling an assigned lead, its tasks one step after another, moving
them with the lead, ending the run, and counting a lead's attempts.

These are the building blocks; the verbs people and sweeps call (`complete_task`,
`run_due`, `record_touch`…) are in `followup.services` and call these inside their own
transaction. Routing tells follow-up of every assignment through the signal
`routing.signals.lead_assigned` (connected in `FollowupConfig.ready`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from leads.choices import Stage
from leads.models import CampaignMember, Lead
from leads.sql import db_now, in_list, load
from routing.rules import BusinessCalendar
from routing.services import Handover, calendar_of
from users.models import Team

from .choices import CONTACT_KINDS, EnrolmentStatus, TaskStatus
from .models import AttemptPolicy, Cadence, CadenceRule, CadenceStep, Enrolment, Task, Touch
from .rules import Policy, Selector, pick_cadence, step_due

# The stages in which a lead is followed up by its cadence: once it is an opportunity,
# contact has been made; outside sales, nobody follows it up.
WORKED_STAGES = frozenset({Stage.MQL, Stage.ACCEPTED})

# Leads per slice of a bulk routing's announcement.
SLICE = 10_000


def calendar_for(team_id: int | None, teams: dict[int, BusinessCalendar] | None = None) -> Any:
    if team_id is None:
        return BusinessCalendar()
    if teams is not None and team_id in teams:
        return teams[team_id]
    team = Team.objects.filter(pk=team_id).first()
    calendar = calendar_of(team) if team is not None else BusinessCalendar()
    if teams is not None:
        teams[team_id] = calendar
    return calendar


def default_policy() -> Policy:
    return Policy(settings.LEADLOOP_MIN_ATTEMPTS, settings.LEADLOOP_MIN_CHANNELS)


def policy_of(team_id: int | None) -> Policy:
    """The team's minimum attempts policy (the defaults for a team without its own)."""
    row = AttemptPolicy.objects.filter(team_id=team_id).first() if team_id else None
    return Policy(row.min_attempts, row.min_channels) if row else default_policy()


def attempt_counts(lead: Lead, *, since: datetime | None = None) -> dict[str, int]:
    """The lead's contact attempts by kind (call, email, meeting, LinkedIn) since it was
    last enrolled in a cadence (`since`, if the caller has it; all of them, for a lead
    never enrolled): a lead back in sales for a second time starts counting again."""
    if since is None:
        since = (
            Enrolment.objects.filter(lead=lead)
            .order_by("-started_at")
            .values_list("started_at", flat=True)
            .first()
        )
    touches = Touch.objects.filter(lead=lead, kind__in=CONTACT_KINDS)
    if since is not None:
        touches = touches.filter(occurred_at__gte=since)
    return dict(Counter(touches.values_list("kind", flat=True)))


def choose_cadences(leads: Sequence[tuple[int, str, str, int | None]]) -> dict[int, int | None]:
    """The cadence each lead (id, segment, grade, first campaign) gets: the first matching
    rule's (segment, grade, a campaign the lead is in), else the default cadence."""
    selectors = [
        Selector(rule.cadence_id, rule.segment, rule.grade, rule.campaign_id)
        for rule in CadenceRule.objects.order_by("position", "pk")
    ]
    default = Cadence.objects.filter(is_default=True).values_list("pk", flat=True).first()
    campaigns: dict[int, set[int]] = {}
    if any(selector.campaign_id is not None for selector in selectors):
        for lead_id, campaign_id in CampaignMember.objects.filter(
            lead_id__in=[lead[0] for lead in leads]
        ).values_list("lead_id", "campaign_id"):
            campaigns.setdefault(lead_id, set()).add(campaign_id)
    chosen = {}
    for lead_id, segment, grade, first_campaign in leads:
        mine = campaigns.get(lead_id, set()) | ({first_campaign} if first_campaign else set())
        chosen[lead_id] = pick_cadence(
            selectors, segment=segment, grade=grade, campaign_ids=frozenset(mine), default=default
        )
    return chosen


def on_lead_assigned(
    sender: Any, *, assignments: Iterable[Handover], by: Any = None, now: datetime, **_: Any
) -> None:
    """Receiver of `routing.signals.lead_assigned`: a lead already in a cadence takes its
    open tasks to its new owner (none, for a lead back in a team queue); a lead given to a
    rep while sales works it (MQL, accepted) is enrolled in the cadence its rules pick."""
    last: dict[int, int | None] = {}
    for handover in assignments:
        last[handover.lead_id] = handover.to_owner_id
    # An import's chunk routes up to ~25,000 leads at once: a few statements per slice,
    # each well inside the database's limit of query parameters.
    ids = list(last)
    for start in range(0, len(ids), SLICE):
        _follow_assignments(
            {lead_id: last[lead_id] for lead_id in ids[start : start + SLICE]}, now=now
        )


def _follow_assignments(last: dict[int, int | None], *, now: datetime) -> None:
    enrolled = set(active_enrolments(list(last)))
    moving: dict[int | None, list[int]] = {}
    for lead_id in enrolled:
        moving.setdefault(last[lead_id], []).append(lead_id)
    for owner_id, lead_ids in moving.items():
        move_tasks(lead_ids, owner_id)
    new = [
        lead_id for lead_id, owner in last.items() if owner is not None and lead_id not in enrolled
    ]
    if new:
        enrol(new, owners=last, now=now)


def active_enrolments(lead_ids: Sequence[int]) -> dict[int, int]:
    """lead id → its active enrolment's id, for many leads: the ids go as one array (one
    JSON text on SQLite), which PostgreSQL plans in a fraction of the time of 10,000
    parameters."""
    clause, params = in_list(lead_ids)
    table = connection.ops.quote_name(Enrolment._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT lead_id, id FROM {table} WHERE status = %s AND lead_id {clause}",
            [EnrolmentStatus.ACTIVE.value, *params],
        )
        return dict(cursor.fetchall())


def move_tasks(lead_ids: Sequence[int], owner_id: int | None) -> None:
    """The leads' active enrolments and open tasks now belong to `owner_id`."""
    Enrolment.objects.filter(lead_id__in=lead_ids, status=EnrolmentStatus.ACTIVE).update(
        owner_id=owner_id
    )
    Task.objects.filter(lead_id__in=lead_ids, status=TaskStatus.OPEN).update(owner_id=owner_id)


def enrol(lead_ids: Sequence[int], *, owners: dict[int, int | None], now: datetime) -> int:
    """Enrol the leads sales works (MQL, accepted) in their cadences, each with the task
    of its first step for its owner. Returns how many were enrolled."""
    contacted = Enrolment.objects.filter(lead=OuterRef("pk"), status=EnrolmentStatus.CONTACTED)
    rows = list(
        Lead.objects.filter(pk__in=lead_ids, stage__in=WORKED_STAGES)
        # A lead whose cadence reached the person is not started again when it changes
        # hands; one routed into sales anew has its first touch cleared by routing.
        .exclude(Q(first_touch_at__isnull=False) & Exists(contacted))
        .values_list("pk", "segment", "grade", "first_campaign_id", "team_id")
    )
    if not rows:
        return 0
    worked = {row[0]: row[4] for row in rows}
    chosen = {
        lead_id: cadence
        for lead_id, cadence in choose_cadences([row[:4] for row in rows]).items()
        if cadence
    }
    firsts: dict[int, CadenceStep] = {}
    counts: Counter[int] = Counter()
    for step in CadenceStep.objects.filter(cadence_id__in=set(chosen.values())).order_by(
        "cadence_id", "position"
    ):
        firsts.setdefault(step.cadence_id, step)
        counts[step.cadence_id] += 1
    chosen = {lead_id: cadence for lead_id, cadence in chosen.items() if cadence in firsts}
    if not chosen:
        return 0
    # Set-based, as routing writes its history: model instances cost ~0.3 ms a row in
    # Python (an import routes tens of thousands of leads at once), these a few µs.
    ids = list(chosen)
    enrolments = pl.DataFrame(
        {
            "lead_id": ids,
            "cadence_id": [chosen[lead_id] for lead_id in ids],
            "owner_id": [owners[lead_id] for lead_id in ids],
        },
        schema={"lead_id": pl.Int64, "cadence_id": pl.Int64, "owner_id": pl.Int64},
    )
    with connection.cursor() as cursor:
        load(
            cursor,
            Enrolment._meta.db_table,
            enrolments,
            {"status": EnrolmentStatus.ACTIVE.value, "started_at": db_now(now), "end_reason": ""},
        )
    enrolment_of = active_enrolments(ids)
    calendars = {
        team.pk: calendar_of(team)
        for team in Team.objects.filter(pk__in={team for team in worked.values() if team})
    }
    due: dict[tuple[int | None, int], str] = {}
    for lead_id in ids:
        key = (worked[lead_id], chosen[lead_id])
        if key not in due:
            calendar = calendar_for(key[0], calendars)
            due[key] = db_now(step_due(now, firsts[key[1]].day_offset, calendar))
    tasks = pl.DataFrame(
        {
            "enrolment_id": [enrolment_of[lead_id] for lead_id in ids],
            "lead_id": ids,
            "owner_id": [owners[lead_id] for lead_id in ids],
            "position": [firsts[chosen[lead_id]].position for lead_id in ids],
            "step_count": [counts[chosen[lead_id]] for lead_id in ids],
            "channel": [firsts[chosen[lead_id]].channel for lead_id in ids],
            "instructions": [firsts[chosen[lead_id]].instructions for lead_id in ids],
            "due_at": [due[(worked[lead_id], chosen[lead_id])] for lead_id in ids],
        },
        schema={
            "enrolment_id": pl.Int64,
            "lead_id": pl.Int64,
            "owner_id": pl.Int64,
            "position": pl.Int64,
            "step_count": pl.Int64,
            "channel": pl.String,
            "instructions": pl.String,
            "due_at": pl.String,
        },
    )
    with connection.cursor() as cursor:
        load(
            cursor,
            Task._meta.db_table,
            tasks,
            {"status": TaskStatus.OPEN.value, "outcome": ""},
        )
    return len(ids)


def _task(enrolment: Enrolment, step: CadenceStep, step_count: int, due_at: datetime) -> Task:
    return Task(
        enrolment=enrolment,
        lead_id=enrolment.lead_id,
        owner_id=enrolment.owner_id,
        position=step.position,
        step_count=step_count,
        channel=step.channel,
        instructions=step.instructions,
        due_at=due_at,
    )


def advance(enrolment: Enrolment, done: Task, *, team_id: int | None, now: datetime) -> Task | None:
    """After `done`, the task of the cadence's next step, due as many days after now as
    the step comes after the one done; or, after the last step, the moment the lead goes
    back to marketing if nobody answers (LEADLOOP_CADENCE_WAIT_DAYS later)."""
    steps = list(CadenceStep.objects.filter(cadence_id=enrolment.cadence_id).order_by("position"))
    done_step = next((step for step in steps if step.position == done.position), None)
    following = next((step for step in steps if step.position > done.position), None)
    calendar = calendar_for(team_id)
    if following is None:
        enrolment.hand_back_at = step_due(now, settings.LEADLOOP_CADENCE_WAIT_DAYS, calendar)
        enrolment.save(update_fields=["hand_back_at"])
        return None
    gap = following.day_offset - (done_step.day_offset if done_step else following.day_offset)
    task = _task(enrolment, following, len(steps), step_due(now, gap, calendar))
    task.save()
    return task


def end_enrolments(
    lead_ids: Sequence[int], *, status: EnrolmentStatus, reason: str, now: datetime
) -> int:
    """End the leads' active cadences (contact made, ran out, lead left sales) and cancel
    their open tasks. Returns how many ended."""
    Task.objects.filter(lead_id__in=lead_ids, status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED, completed_at=now
    )
    return Enrolment.objects.filter(lead_id__in=lead_ids, status=EnrolmentStatus.ACTIVE).update(
        status=status, ended_at=now, end_reason=reason[:300], hand_back_at=None
    )


def stale_enrolments() -> Q:
    """Active enrolments whose lead sales no longer works (handed back, disqualified,
    converted… by a path that did not end the cadence itself)."""
    return Q(status=EnrolmentStatus.ACTIVE) & ~Q(lead__stage__in=WORKED_STAGES)


def ran_out_reason(enrolment: Enrolment, summary: str) -> str:
    return f"cadence '{enrolment.cadence.name}' ran out without contact ({summary})"
