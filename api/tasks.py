"""REST API for the rep's day: the caller's cadence tasks (overdue and due today, in the
order to do them) and completing one with its outcome, which logs the touch and brings up
the next step. The same query (`followup.queries.day_tasks`) and the same action
(`followup.actions.work_task`) as the Today page and `leadloop tasks`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from api.common import (
    CleanInput,
    InputSchema,
    Outcome,
    api_user,
    idempotency_key_header,
    idempotent_answer,
)
from api.errors import ERROR_RESPONSES, ApiError
from followup.actions import work_task
from followup.choices import OUTCOMES_BY_KIND, TaskDue, TouchOutcome
from followup.models import Task
from followup.queries import day_tasks, may_see_tasks_of, visible_tasks
from routing.rules import sla_state
from users.models import User

router = Router(tags=["tasks"])


class TaskFilters(CleanInput):
    due: TaskDue | None = Field(
        None, description="`today` (due later today) or `overdue`; omitted: both"
    )
    owner: str | None = Field(
        None,
        max_length=150,
        description="For managers (a rep of their team) and admins: one rep's tasks, by username",
    )
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class TaskLeadOut(Schema):
    id: int
    name: str
    company_name: str
    phone: str
    email: str | None
    stage: str
    grade: str
    score: int
    sla_due_at: datetime | None
    sla_state: str = Field(description="none, running, overdue, met or missed")


class TaskOut(Schema):
    id: int
    lead: TaskLeadOut
    owner: str | None = Field(description="Username of the rep whose task it is")
    channel: str = Field(description="call, email, linkedin or other")
    step: int = Field(description="The step of the cadence, from 1")
    steps: int = Field(description="How many steps the cadence has")
    instructions: str
    due_at: datetime
    is_overdue: bool
    status: str = Field(description="open, done or cancelled")
    outcomes: list[str] = Field(description="The outcomes completing it accepts")


class TaskPageOut(Schema):
    count: int = Field(description="All tasks matching the filters")
    limit: int
    offset: int
    items: list[TaskOut]


class CompleteIn(InputSchema):
    outcome: TouchOutcome = Field(
        TouchOutcome.NONE,
        description=(
            "How it went; one of the task's `outcomes` (a call: connected, left_voicemail,"
            " no_answer, wrong_number, meeting_booked, not_interested). Required but for an"
            " `other` task."
        ),
    )
    notes: str = Field("", max_length=5000)


class CompletedOut(Schema):
    task: TaskOut
    touch_id: int
    next_task: TaskOut | None = Field(description="The cadence's next step; null when it ended")


def task_out(task: Task, *, now: datetime) -> dict[str, Any]:
    lead = task.lead
    return {
        "id": task.pk,
        "lead": {
            "id": lead.pk,
            "name": lead.display_name,
            "company_name": lead.company_name,
            "phone": lead.phone,
            "email": lead.email,
            "stage": lead.stage,
            "grade": lead.grade,
            "score": lead.score,
            "sla_due_at": lead.sla_due_at,
            "sla_state": sla_state(
                due_at=lead.sla_due_at, first_touch_at=lead.first_touch_at, now=now
            ),
        },
        "owner": task.owner.username if task.owner else None,
        "channel": task.channel,
        "step": task.position,
        "steps": task.step_count,
        "instructions": task.instructions,
        "due_at": task.due_at,
        "is_overdue": task.due_at < now,
        "status": task.status,
        "outcomes": list(OUTCOMES_BY_KIND.get(task.touch_kind, ())),
    }


def _owner(user: User, username: str | None) -> User | None:
    if not username:
        return None
    found = User.objects.filter(username=username).first()
    if found is None:
        raise ApiError(422, "owner", f"no user named {username!r}")
    if may_see_tasks_of(user, found):
        return found
    raise ApiError(403, "owner", f"you may not see {username}'s tasks")


@router.get(
    "/tasks",
    response={200: TaskPageOut, **ERROR_RESPONSES},
    summary="Your follow-up tasks overdue and due today, in the order to do them",
)
def list_tasks(request: HttpRequest, filters: Query[TaskFilters]) -> dict[str, Any]:
    """Open cadence tasks of the leads sales works, due before the end of today in the
    caller's time zone: leads waiting for their first touch first (soonest deadline
    first), then by grade (A first) and score. A rep gets their own; a manager their
    team's (`owner=` for one rep); an admin everyone's. Other roles get none."""
    user = api_user(request)
    now = timezone.now()
    tasks = day_tasks(
        user, now=now, zone=user.timezone, due=filters.due, owner=_owner(user, filters.owner)
    )
    page = tasks[filters.offset : filters.offset + filters.limit]
    return {
        "count": tasks.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [task_out(task, now=now) for task in page],
    }


@router.post(
    "/tasks/{task_id}/complete",
    response={200: CompletedOut, **ERROR_RESPONSES},
    summary="Complete a task with its outcome: logs the touch, brings up the next step",
)
def complete_task(
    request: HttpRequest,
    response: HttpResponse,
    task_id: int,
    payload: CompleteIn,
    idempotency_key: str | None = idempotency_key_header(),
) -> Status[dict[str, Any]]:
    """A connected call, a reply or a booked meeting ends the cadence (`next_task` null).
    A task not on a list the caller works answers 404; one already done, 409 naming
    `action`; an outcome that does not fit the channel, 422 naming `outcome`."""
    user = api_user(request)
    now = timezone.now()
    task = visible_tasks(user).select_related("lead", "owner").filter(pk=task_id).first()
    if task is None:
        raise ApiError(404, "task_id", f"no task with id {task_id}")

    def work() -> Outcome:
        done = work_task(task, by=user, outcome=payload.outcome, notes=payload.notes, now=now)
        fresh = Task.objects.select_related("lead", "owner").get(pk=task.pk)
        following = done.next_task
        if following is not None:
            following = Task.objects.select_related("lead", "owner").get(pk=following.pk)
        answer = CompletedOut.model_validate(
            {
                "task": task_out(fresh, now=now),
                "touch_id": done.touch.pk,
                "next_task": task_out(following, now=now) if following else None,
            }
        )
        return 200, answer.model_dump(mode="json")

    body = {"task_id": task_id, **payload.model_dump(mode="json", exclude_unset=True)}
    return idempotent_answer(
        request, response, user=user, key=idempotency_key, body=body, now=now, work=work
    )
