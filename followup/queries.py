"""Reads of follow-up's tables for pages and reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from leads.choices import Grade
from leads.models import Lead
from leads.timeline import TimelineEntry, person_name
from users.choices import Capability, Role
from users.models import User
from users.permissions import may, role_of

from .cadences import WORKED_STAGES, attempt_counts, policy_of
from .choices import TaskDue, TaskStatus
from .models import Enrolment, Task, Touch
from .rules import attempts_summary, missing_attempts


def timeline_entries(lead: Lead, limit: int) -> list[TimelineEntry]:
    """The lead's newest `limit` touches."""
    touches = (
        Touch.objects.filter(lead=lead)
        .select_related("user")
        .order_by("-occurred_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            touch.occurred_at,
            "touch",
            touch.get_kind_display()
            + (f": {touch.get_outcome_display()}" if touch.outcome else ""),
            touch.notes,
            person_name(touch.user),
        )
        for touch in touches
    ]


def visible_tasks(user: User) -> QuerySet[Task]:
    """The cadence tasks `user` sees: a rep their own, a manager their team's reps' (and
    their own), an admin everyone's; nobody else any."""
    tasks = Task.objects.all()
    if not may(user, Capability.WORK_TASKS):
        return tasks.none()
    if role_of(user) == Role.ADMIN:
        return tasks
    if user.is_manager:
        if user.team_id is None:
            return tasks.filter(owner=user)
        return tasks.filter(Q(owner__team_id=user.team_id) | Q(owner=user))
    return tasks.filter(owner=user)


def may_see_tasks_of(user: User, owner: User) -> bool:
    """Whether `user` may look at `owner`'s list: their own, a manager their team's, an
    admin anyone's."""
    if not may(user, Capability.WORK_TASKS):
        return False
    if owner.pk == user.pk or role_of(user) == Role.ADMIN:
        return True
    return user.is_manager and user.team_id is not None and owner.team_id == user.team_id


def end_of_day(now: datetime, zone: str) -> datetime:
    """The end of `now`'s day in the time zone `zone` (the viewer's): "due today" is due
    before it."""
    tz = ZoneInfo(zone or "UTC")
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tz)


# Grade A first, then B, C, D, and leads not graded yet last.
GRADE_ORDER = Case(
    *(When(lead__grade=grade, then=Value(rank)) for rank, grade in enumerate(Grade.values)),
    default=Value(len(Grade.values)),
    output_field=IntegerField(),
)


def day_tasks(
    user: User,
    *,
    now: datetime,
    zone: str = "UTC",
    due: str | None = None,
    owner: User | None = None,
) -> QuerySet[Task]:
    """The open tasks of the leads sales works that are overdue or due today (`due`:
    "overdue" or "today" for one of the two), of `user`'s list (or of `owner`'s, for a
    manager looking at one rep), in the order they should be done: leads whose first-touch
    deadline is open first, soonest deadline first; then grade (A first) and score
    (highest first); then the longest overdue."""
    tasks = visible_tasks(user).filter(
        status=TaskStatus.OPEN,
        lead__stage__in=WORKED_STAGES,
        lead__merged_into__isnull=True,
        # Only a lead its task's owner still owns: a path that moved the lead without
        # routing's history (none should) leaves no task on the wrong list.
        lead__owner=F("owner"),
    )
    if owner is not None:
        tasks = tasks.filter(owner=owner)
    if due == TaskDue.OVERDUE:
        tasks = tasks.filter(due_at__lt=now)
    elif due == TaskDue.TODAY:
        tasks = tasks.filter(due_at__gte=now, due_at__lt=end_of_day(now, zone))
    else:
        tasks = tasks.filter(due_at__lt=end_of_day(now, zone))
    open_sla = Case(
        When(
            lead__first_touch_at__isnull=True,
            lead__sla_due_at__isnull=False,
            then=F("lead__sla_due_at"),
        ),
        default=None,
    )
    return (
        tasks.select_related("lead", "lead__team", "owner")
        .annotate(open_sla=open_sla, grade_rank=GRADE_ORDER)
        .order_by(F("open_sla").asc(nulls_last=True), "grade_rank", "-lead__score", "due_at", "pk")
    )


@dataclass(frozen=True)
class CadencePanel:
    """A lead's follow-up as its page shows it: its cadence run (the latest), the task up
    next, the attempts made, and what the minimum still wants before "no response"."""

    enrolment: Enrolment | None
    next_task: Task | None
    attempts: str
    missing: str | None


def cadence_panel(lead: Lead) -> CadencePanel:
    enrolment = (
        Enrolment.objects.filter(lead=lead)
        .select_related("cadence")
        .order_by("-started_at", "-pk")
        .first()
    )
    next_task = (
        Task.objects.filter(lead=lead, status=TaskStatus.OPEN)
        .select_related("owner")
        .order_by("due_at")
        .first()
    )
    if enrolment is not None:
        counts = attempt_counts(lead, since=enrolment.started_at)
    else:
        counts = attempt_counts(lead)
    policy = policy_of(lead.team_id)
    return CadencePanel(
        enrolment, next_task, attempts_summary(counts, policy), missing_attempts(counts, policy)
    )
