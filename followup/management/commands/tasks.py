"""`leadloop tasks list|complete --as USERNAME`: the rep's day from the command line, the
same list as the Today page and GET /api/v1/tasks (`followup.queries.day_tasks`), and
completing a task through `followup.actions.work_task`, as the page and the API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from followup.actions import ActionError, work_task
from followup.choices import TaskDue, TouchOutcome
from followup.queries import day_tasks, may_see_tasks_of, visible_tasks
from users.models import User


def _user(username: str, what: str = "--as") -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"{what}: no user named {username!r}")
    return user


class Command(BaseCommand):
    help = (
        "A rep's follow-up tasks overdue and due today, in the order to do them (tab-separated:"
        " id, due, channel, step, lead id, lead, company, owner), or complete one with its"
        " outcome."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        listing = sub.add_parser("list", help="tasks overdue and due today")
        listing.add_argument("--as", dest="acting", required=True, help="whose list")
        listing.add_argument("--due", choices=TaskDue.values, help="only today's or overdue")
        listing.add_argument("--owner", help="managers and admins: one rep's tasks")
        listing.add_argument("--limit", type=int, default=100)
        done = sub.add_parser("complete", help="complete a task with its outcome")
        done.add_argument("task_id", type=int)
        done.add_argument("--as", dest="acting", required=True, help="who did it")
        done.add_argument(
            "--outcome",
            default="",
            choices=[value for value in TouchOutcome.values if value],
            help="how it went",
        )
        done.add_argument("--notes", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        user = _user(options["acting"])
        now = timezone.now()
        if options["verb"] == "list":
            self._list(user, options, now)
            return
        task = visible_tasks(user).select_related("lead").filter(pk=options["task_id"]).first()
        if task is None:
            raise CommandError(f"no task {options['task_id']} on a list {user.username} works")
        try:
            done = work_task(
                task, by=user, outcome=options["outcome"], notes=options["notes"], now=now
            )
        except ActionError as error:
            raise CommandError(f"{error.field}: {error.message}") from error
        self.stdout.write(
            f"task {task.pk} done: {done.touch.get_kind_display()}"
            + (f", {done.touch.get_outcome_display()}" if done.touch.outcome else "")
        )
        following = done.next_task
        if following is None:
            self.stdout.write("the cadence has ended")
        else:
            when = following.due_at.isoformat(timespec="minutes")
            self.stdout.write(
                f"next: task {following.pk}, {following.get_channel_display()} due {when}"
            )

    def _list(self, user: User, options: dict[str, Any], now: Any) -> None:
        owner = None
        if options["owner"]:
            owner = _user(options["owner"], "--owner")
            if not may_see_tasks_of(user, owner):
                raise CommandError(f"--owner: {user.username} may not see {owner.username}'s tasks")
        tasks = day_tasks(user, now=now, zone=user.timezone, due=options["due"], owner=owner)
        for task in tasks[: max(options["limit"], 0)]:
            lead = task.lead
            due = task.due_at.isoformat(timespec="minutes")
            overdue = " (overdue)" if task.due_at < now else ""
            self.stdout.write(
                "\t".join(
                    [
                        str(task.pk),
                        due + overdue,
                        task.channel,
                        f"{task.position}/{task.step_count}",
                        str(lead.pk),
                        lead.display_name,
                        lead.company_name,
                        task.owner.username if task.owner else "",
                    ]
                )
            )
