"""The rep's day: the Today page (cadence tasks overdue and due today, in the order to do
them) and completing a task, which logs its touch and brings up the next one (htmx swaps
the list). A manager sees their team's tasks, one rep at a time if they choose; an admin
everyone's. Completing goes through `followup.actions.work_task`, as the API and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from followup.actions import ActionError, NotAllowed, work_task
from followup.choices import OUTCOMES_BY_KIND, TaskDue, TouchOutcome
from followup.models import Task
from followup.queries import day_tasks, visible_tasks
from users.choices import Capability, Role
from users.models import User
from users.permissions import may, role_of

from .decorators import viewer_page
from .display import SlaStatus, sla_status

PAGE_SIZE = 50


class TaskDoneForm(forms.Form):
    """How the task went: the outcome of its touch (the ones that fit its channel) and a
    note. `followup.actions.work_task` decides."""

    outcome = forms.ChoiceField(required=False)
    notes = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.TextInput(attrs={"placeholder": "note (optional)", "aria-label": "note"}),
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(TouchOutcome.choices)
        fits = OUTCOMES_BY_KIND.get(task.touch_kind, ())
        self.fields["outcome"].choices = [("", "How did it go?")] + [  # type: ignore[attr-defined]
            (value, labels[value]) for value in fits
        ]


@dataclass(frozen=True)
class TaskRow:
    task: Task
    sla: SlaStatus
    is_overdue: bool
    form: TaskDoneForm


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _team_reps(user: User) -> list[User]:
    """Whose tasks a manager (their team's reps) or an admin (every rep) may look at."""
    reps = User.objects.filter(is_active=True, role=Role.SALES_REP).order_by("username")
    if role_of(user) == Role.ADMIN:
        return list(reps)
    if user.is_manager and user.team_id:
        return list(reps.filter(team_id=user.team_id))
    return []


def _context(request: HttpRequest, now: datetime, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    reps = _team_reps(user)
    chosen = request.GET.get("rep", "")
    owner = next((rep for rep in reps if rep.username == chosen), None)
    due = request.GET.get("due", "")
    tasks = day_tasks(
        user,
        now=now,
        zone=user.timezone,
        due=due if due in TaskDue.values else None,
        owner=owner,
    )
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        TaskRow(
            task,
            sla_status(
                due_at=task.lead.sla_due_at, first_touch_at=task.lead.first_touch_at, now=now
            ),
            task.due_at < now,
            TaskDoneForm(task=task, prefix=f"task-{task.pk}"),
        )
        for task in page
    ]
    return {
        "rows": rows,
        "page": page,
        "reps": reps,
        "chosen_rep": owner,
        "due": due,
        "dues": TaskDue.choices,
        "now": now,
        "shows_owner": bool(reps),
        # The list a completion answers with is the one on screen.
        "list_query": urlencode(
            {
                key: value
                for key, value in (("rep", owner.username if owner else ""), ("due", due))
                if value
            }
        ),
        **extra,
    }


@viewer_page
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may(user, Capability.WORK_TASKS):
        raise PermissionDenied("the Today page lists sales' follow-up tasks")
    return render(request, "web/today.html", _context(request, timezone.now()))


@viewer_page
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete a task with its outcome. With htmx the answer is the refreshed list (the
    next task in it if it is due today), with a line saying what was logged."""
    now = timezone.now()
    user = _user(request)
    task = get_object_or_404(visible_tasks(user).select_related("lead"), pk=pk)
    form = TaskDoneForm(request.POST, task=task, prefix=f"task-{task.pk}")
    status = 200
    flash = error = ""
    if form.is_valid():
        try:
            done = work_task(task, by=user, now=now, **form.cleaned_data)
        except ActionError as refusal:
            error = refusal.message
            status = 403 if isinstance(refusal, NotAllowed) else 400
        else:
            flash = f"{task.get_channel_display()} with {task.lead.display_name} logged"
            if done.touch.outcome:
                flash += f": {done.touch.get_outcome_display()}"
            following = done.next_task
            if following is not None:
                when = date_format(timezone.localtime(following.due_at), "D j M, H:i")
                flash += f". Next: {following.get_channel_display()}, due {when}."
            else:
                flash += ". The cadence has ended."
    else:
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        status = 400
    if request.htmx:  # type: ignore[attr-defined]
        context = _context(request, now, flash=flash, error=error)
        return render(request, "web/today.html#tasks", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, flash)
    return redirect("web:today")
