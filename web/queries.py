"""Reads behind the pages: inbox queues and a lead's timeline.

Every query starts from `visible_leads(user)`, and each list is a fixed number of queries
however many rows it shows (joins via select_related, never a query per row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from django.db.models import BooleanField, Case, Count, F, Q, QuerySet, Value, When

from capture.models import Submission
from followup.models import Touch
from leads.lifecycle import SALES_STAGES
from leads.models import Lead, StageChange
from qualify.models import Event
from routing.models import Assignment
from users.access import visible_leads
from users.models import User

from .display import SlaStatus, sla_status

INBOX_LIMIT = 200
TIMELINE_LIMIT = 100


@dataclass(frozen=True)
class InboxRow:
    lead: Lead
    sla: SlaStatus


def _rows(leads: QuerySet[Lead], now: datetime) -> list[InboxRow]:
    return [
        InboxRow(
            lead, sla_status(due_at=lead.sla_due_at, first_touch_at=lead.first_touch_at, now=now)
        )
        for lead in leads
    ]


def _by_clock(leads: QuerySet[Lead], now: datetime, *, overdue_first: bool) -> QuerySet[Lead]:
    """Untouched leads by deadline (soonest, i.e. most overdue, first), then touched ones."""
    leads = leads.annotate(
        is_touched=Case(
            When(first_touch_at__isnull=False, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )
    order = [F("is_touched").asc(), F("sla_due_at").asc(nulls_last=True), F("pk").asc()]
    if overdue_first:
        leads = leads.annotate(
            is_overdue=Case(
                When(Q(first_touch_at__isnull=True, sla_due_at__lt=now), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        order.insert(0, F("is_overdue").desc())
    return leads.order_by(*order)


def rep_inbox(user: User, now: datetime) -> tuple[list[InboxRow], list[InboxRow]]:
    """A rep's own leads in sales stages, and the team's unassigned queue."""
    scoped = visible_leads(user).filter(stage__in=SALES_STAGES).select_related("account", "team")
    mine = _by_clock(scoped.filter(owner_id=user.pk), now, overdue_first=False)
    waiting = (
        scoped.filter(owner__isnull=True, team_id=user.team_id)
        if user.team_id is not None
        else scoped.none()
    )
    queue = _by_clock(waiting, now, overdue_first=False)
    return _rows(mine[:INBOX_LIMIT], now), _rows(queue[:INBOX_LIMIT], now)


def team_inbox(user: User, now: datetime) -> list[InboxRow]:
    """A manager's view: every lead of the team in sales stages, overdue ones first."""
    leads = (
        visible_leads(user)
        .filter(stage__in=SALES_STAGES)
        .select_related("account", "team", "owner")
    )
    return _rows(_by_clock(leads, now, overdue_first=True)[:INBOX_LIMIT], now)


@dataclass(frozen=True)
class Overview:
    by_stage: list[tuple[str, str, int]]  # stage, label, count
    overdue: int
    unassigned: int
    recent: list[Lead]


def overview(user: User, now: datetime) -> Overview:
    from leads.choices import Stage

    leads = visible_leads(user)
    counts = dict(leads.values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    totals = leads.aggregate(
        overdue=Count(
            "pk",
            filter=Q(first_touch_at__isnull=True, sla_due_at__lt=now, stage__in=SALES_STAGES),
        ),
        unassigned=Count("pk", filter=Q(owner__isnull=True, stage__in=SALES_STAGES)),
    )
    recent = list(
        leads.select_related("owner", "account", "first_campaign").order_by("-arrived_at", "-pk")[
            :15
        ]
    )
    return Overview(
        by_stage=[(value, label, counts.get(value, 0)) for value, label in Stage.choices],
        overdue=totals["overdue"],
        unassigned=totals["unassigned"],
        recent=recent,
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "assignment", "stage", "touch", "event", "submission"
    title: str
    detail: str
    who: str


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _submission_detail(submission: Submission) -> str:
    """Its campaign, and for an import row the job, file and line it came from."""
    parts = [submission.campaign.name] if submission.campaign else []
    job = submission.import_job
    if job is not None:
        parts.append(f"import #{job.pk} of {job.file_name}, line {submission.line}")
    return " · ".join(parts)


def timeline(lead: Lead, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    """Assignments, stage changes, touches, events and submissions of one lead, newest
    first."""
    assignments = (
        Assignment.objects.filter(lead=lead)
        .select_related("from_owner", "to_owner", "from_team", "to_team", "assigned_by")
        .order_by("-assigned_at", "-pk")[:limit]
    )
    stages = (
        StageChange.objects.filter(lead=lead)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )
    touches = (
        Touch.objects.filter(lead=lead)
        .select_related("user")
        .order_by("-occurred_at", "-pk")[:limit]
    )
    events = (
        Event.objects.filter(lead=lead).select_related("campaign").order_by("-occurred_at")[:limit]
    )
    submissions = (
        Submission.objects.filter(lead=lead)
        .select_related("campaign", "submitted_by", "import_job")
        .order_by("-received_at")[:limit]
    )
    entries = chain(
        (
            TimelineEntry(
                assignment.assigned_at,
                "assignment",
                assignment.summary,
                assignment.reason,
                _name(assignment.assigned_by),
            )
            for assignment in assignments
        ),
        (
            TimelineEntry(
                change.changed_at,
                "stage",
                f"{change.get_from_stage_display() or 'arrived'} → {change.get_to_stage_display()}",
                change.reason,
                _name(change.changed_by),
            )
            for change in stages
        ),
        (
            TimelineEntry(
                touch.occurred_at,
                "touch",
                touch.get_kind_display()
                + (f": {touch.get_outcome_display()}" if touch.outcome else ""),
                touch.notes,
                _name(touch.user),
            )
            for touch in touches
        ),
        (
            TimelineEntry(
                event.occurred_at,
                "event",
                event.kind.replace("_", " "),
                f"{event.points:+d} points"
                + (f" · {event.campaign.name}" if event.campaign else "")
                + (f" · form {event.properties['form']}" if "form" in event.properties else ""),
                "",
            )
            for event in events
        ),
        (
            TimelineEntry(
                submission.received_at,
                "submission",
                f"submission via {submission.source.replace('_', ' ')}"
                + (" (new lead)" if submission.was_created else ""),
                _submission_detail(submission),
                _name(submission.submitted_by),
            )
            for submission in submissions
        ),
    )
    order = {"assignment": 0, "stage": 1, "touch": 2, "event": 3, "submission": 4}
    # Same instant: a capture writes submission, then stage moves, then the assignment;
    # newest first shows the consequence above its cause.
    return sorted(entries, key=lambda e: (e.at, -order[e.kind]), reverse=True)[:limit]
