"""Reads behind the pages: inbox queues and a lead's timeline.

Every query starts from `visible_leads(user)`, and each list is a fixed number of queries
however many rows it shows (joins via select_related, never a query per row).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from django.db.models import BooleanField, Case, Count, F, Q, QuerySet, Value, When

from capture import queries as capture_queries
from followup import queries as followup_queries
from leads import queries as leads_queries
from leads.lifecycle import SALES_STAGES
from leads.models import Lead
from leads.timeline import TimelineEntry
from qualify import queries as qualify_queries
from routing import queries as routing_queries
from users.access import visible_leads
from users.models import User

from .display import SlaStatus, sla_status

TIMELINE_LIMIT = 100


@dataclass(frozen=True)
class InboxRow:
    lead: Lead
    sla: SlaStatus


def _rows(leads: Iterable[Lead], now: datetime) -> list[InboxRow]:
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


def rep_inbox(user: User, now: datetime) -> tuple[QuerySet[Lead], QuerySet[Lead]]:
    """A rep's own leads in sales stages, and the team's unassigned queue, most urgent
    first: every one of them (the page shows them a page at a time, with true counts)."""
    scoped = visible_leads(user).filter(stage__in=SALES_STAGES).select_related("account", "team")
    mine = _by_clock(scoped.filter(owner_id=user.pk), now, overdue_first=False)
    waiting = (
        scoped.filter(owner__isnull=True, team_id=user.team_id)
        if user.team_id is not None
        else scoped.none()
    )
    return mine, _by_clock(waiting, now, overdue_first=False)


def team_inbox(user: User, now: datetime) -> QuerySet[Lead]:
    """A manager's view: every lead of the team in sales stages, overdue ones first."""
    leads = (
        visible_leads(user)
        .filter(stage__in=SALES_STAGES)
        .select_related("account", "team", "owner")
    )
    return _by_clock(leads, now, overdue_first=True)


def inbox_rows(leads: Iterable[Lead], now: datetime) -> list[InboxRow]:
    """One page of an inbox, each lead with its SLA status at `now`."""
    return _rows(leads, now)


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


def timeline(lead: Lead, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    """Assignments, stage changes, touches, events and submissions of one lead, newest
    first: each app reads its own history (`timeline_entries` in its queries)."""
    entries = chain(
        routing_queries.timeline_entries(lead, limit),
        leads_queries.timeline_entries(lead, limit),
        followup_queries.timeline_entries(lead, limit),
        qualify_queries.timeline_entries(lead, limit),
        capture_queries.timeline_entries(lead, limit),
    )
    order = {"sla": 0, "assignment": 1, "stage": 2, "touch": 3, "event": 4, "submission": 5}
    # Same instant: a capture writes submission, then stage moves, then the assignment;
    # newest first shows the consequence above its cause.
    return sorted(entries, key=lambda e: (e.at, -order[e.kind]), reverse=True)[:limit]
