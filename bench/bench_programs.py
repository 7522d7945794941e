"""1,000,000 leads enrolled in a nurture program, 100,000 of them due: how long the
programs sweep takes to find and advance them, beside plain SQL doing the same.

    .venv/bin/python bench/bench_programs.py [--leads 1000000] [--due 100000] [--sends 5000]

SQLite: a throwaway file. With DATABASE_URL=postgres://… a fresh database on that server,
dropped at the end. `--leads` leads (varied country, score), each enrolled in the
program "Nurture" (written by INSERT … SELECT); `--due` of them have waited out their
"two days" wait, the others wait longer. The program:

    two days (wait 2 days) → warm? (branch: score at_least 50)
        yes → warm (add to the static list "Warm") → a week (wait 7 days)
        no  → a week (wait 7 days)

So each due run takes two or three steps: the wait ends, the branch is decided by one
query per batch, half the leads join a list, and every run comes to rest at the week's
wait. The sweep also checks every due run's goals (sales-ready, disqualified,
unsubscribed, suppressed, merged) before it moves it.

- plain SQL: the same change hand-written — the warm leads' list rows inserted, the due
  runs moved to the week's wait with their new due time, in three statements: the floor;
- sweep (`nurture.programs.run_due`): the due runs found (partial index), claimed,
  goal-checked, advanced and written back, batch by batch;
- sweep again at the same moment: nothing is due (the cost of an idle sweep);
- sends: `--sends` more runs due at a send_email step (a second program): the emails
  rendered and queued in the outbox in the same transaction (rendering is per lead, so
  this is measured on its own and reported per second).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import drop_scratch_database, use_scratch_database

BASE = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
COUNTRIES = ("DE", "FR", "US", "GB", "ES")


def _case(expression: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE ({expression}) % {len(values)} {whens} END".replace("%", "%%")


def insert_leads(leads: int) -> None:
    from django.db import connection

    from leads.models import Lead

    postgres = connection.vendor == "postgresql"
    columns, expressions, params = [], [], []
    for field in [f for f in Lead._meta.concrete_fields if not f.primary_key]:
        columns.append(connection.ops.quote_name(str(field.column)))
        match field.name:
            case "email":
                expressions.append("'p' || n || '@bench.io'")
            case "country":
                expressions.append(_case("n", COUNTRIES))
            case "score":
                expressions.append("n %% 100")
            case "stage":
                expressions.append("'nurturing'")
            case _:
                value = field.get_default()
                if value is None and not field.null:
                    value = BASE
                expressions.append("%s")
                params.append(field.get_db_prep_save(value, connection))
    source = (
        f"generate_series(1, {leads}) AS s(n)"
        if postgres
        else f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {leads})"
        " SELECT n FROM s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Lead._meta.db_table} ({', '.join(columns)})"
            f" SELECT {', '.join(expressions)} FROM {source}",
            params,
        )


def enrol_all(program: Any, step: Any, *, due_every: int, entered: datetime) -> None:
    """Every lead in `program` at `step`; one in `due_every` entered it at `entered`
    (its wait is over), the others just now (they wait on)."""
    from django.db import connection

    from leads.models import Lead
    from nurture.models import Enrolment

    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Enrolment._meta.db_table} (lead_id, program_id, step_id, status,"
            " due_at, step_entered_at, entered_at, ended_reason, entered_how)"
            " SELECT id, %s, %s, 'active',"
            f" CASE WHEN id %% {due_every} = 0 THEN %s ELSE %s END,"
            f" CASE WHEN id %% {due_every} = 0 THEN %s ELSE %s END,"
            " %s, '', 'bench'"
            f" FROM {Lead._meta.db_table}",
            [
                program.pk, step.pk,
                adapt(BASE - timedelta(minutes=5)), adapt(BASE + timedelta(days=2)),
                adapt(entered), adapt(BASE),
                adapt(entered),
            ],
        )  # fmt: skip
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--sends", type=int, default=5_000)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="leadloop-programs-")
    os.environ["LEADLOOP_DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadloop.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    label = use_scratch_database(scratch, "programs")
    try:
        run(args, label)
    finally:
        drop_scratch_database()


def run(args: argparse.Namespace, label: str) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    from nurture import lists, programs, services
    from nurture.choices import ListKind
    from nurture.models import Enrolment, LeadList, ListMember, Message
    from users.choices import Role
    from users.models import User

    started = time.perf_counter()
    insert_leads(args.leads)
    marketer = User.objects.create(username="marketer", role=Role.MARKETING)
    lists.create_list(by=marketer, name="Warm", kind=ListKind.STATIC, now=BASE)
    services.create_template(
        by=marketer, now=BASE, name="News", subject="News for {{ first_name|default:'you' }}",
        text_body="Hello {{ first_name|default:'there' }}, see {{ base_url }}/news",
    )  # fmt: skip
    program = programs.apply_document(
        {"name": "Nurture", "status": "active", "steps": [
            {"name": "two days", "kind": "wait", "days": 2},
            {"name": "warm?", "kind": "branch", "condition": [
                {"field": "score", "op": "at_least", "value": 50}], "no_next": "a week"},
            {"name": "warm", "kind": "add_to_list", "list": "Warm"},
            {"name": "a week", "kind": "wait", "days": 7},
        ]},
        by=marketer, now=BASE,
    ).program  # fmt: skip
    first = program.steps.get(name="two days")
    week = program.steps.get(name="a week")
    due_every = max(1, args.leads // args.due)
    entered = BASE - timedelta(days=2, hours=1)
    enrol_all(program, first, due_every=due_every, entered=entered)
    due = Enrolment.objects.filter(due_at__lte=BASE).count()
    print(
        f"# {label}: {args.leads:,} leads, {Enrolment.objects.count():,} enrolled,"
        f" {due:,} due, written in {time.perf_counter() - started:.1f} s\n"
    )
    rows: list[tuple[str, str, str, str]] = []

    def timed(name: str, work: Any, what: str = "runs") -> tuple[int, float]:
        began = time.perf_counter()
        count = work()
        elapsed = time.perf_counter() - began
        rate = f"{count / elapsed:,.0f} {what}/s" if count and elapsed else "—"
        rows.append((name, f"{count:,}", f"{elapsed:,.2f} s", rate))
        return int(count), elapsed

    adapt = connection.ops.adapt_datetimefield_value
    members, runs = ListMember._meta.db_table, Enrolment._meta.db_table
    warm = LeadList.objects.get(name="Warm")

    def plain() -> int:
        from leads.models import Lead

        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {members} (lead_list_id, lead_id, added_at)"
                f" SELECT %s, e.lead_id, %s FROM {runs} e JOIN {Lead._meta.db_table} l"
                " ON l.id = e.lead_id WHERE e.status = 'active' AND e.due_at <= %s"
                " AND l.score >= 50",
                [warm.pk, adapt(BASE), adapt(BASE)],
            )
            cursor.execute(
                f"UPDATE {runs} SET step_id = %s, step_entered_at = %s, due_at = %s"
                " WHERE status = 'active' AND due_at <= %s",
                [week.pk, adapt(BASE), adapt(BASE + timedelta(days=7)), adapt(BASE)],
            )
            return int(cursor.rowcount)

    # The plain SQL runs first inside a transaction that is rolled back: the sweep then
    # finds exactly the same rows to do.
    from django.db import transaction

    class Undo(Exception):
        pass

    plain_result: list[int] = []

    def plain_rolled_back() -> int:
        try:
            with transaction.atomic():
                plain_result.append(plain())
                raise Undo
        except Undo:
            pass
        return plain_result[0]

    timed("plain SQL: list rows inserted, due runs moved (3 statements)", plain_rolled_back)
    timed("sweep: due runs found, goal-checked, advanced", lambda: programs.run_due(now=BASE))
    at_week = Enrolment.objects.filter(step=week, due_at=BASE + timedelta(days=7)).count()
    if at_week != due:
        raise SystemExit(f"the sweep left {at_week:,} runs at the week's wait, not {due:,}")
    print(f"sweep check: {at_week:,} runs at the week's wait, {warm.members.count():,} in Warm")
    timed("sweep again at the same moment (nothing due)", lambda: programs.run_due(now=BASE))

    sender = programs.apply_document(
        {"name": "Newsletter", "status": "active", "steps": [
            {"name": "news", "kind": "send_email", "template": "News"},
            {"name": "a month", "kind": "wait", "days": 30},
        ]},
        by=marketer, now=BASE,
    ).program  # fmt: skip
    later = BASE + timedelta(hours=1)
    from leads.models import Lead

    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True)[: args.sends])
    with transaction.atomic():
        programs._insert_runs(sender, Lead.objects.filter(pk__in=ids), how="bench", now=later)
    timed(
        f"sweep: {args.sends:,} runs at a send step (emails rendered and queued)",
        lambda: programs.run_due(now=later),
    )
    print(f"{Message.objects.count():,} emails queued.\n")
    print(f"## Programs sweep ({connection.vendor}), {args.leads:,} enrolled, {due:,} due\n")
    print("| step | runs | time | rate |")
    print("|---|---:|---:|---:|")
    for name, count, elapsed, rate in rows:
        print(f"| {name} | {count} | {elapsed} | {rate} |")
    sys.stdout.flush()
    claim = (
        Enrolment.objects.filter(status="active", due_at__lte=BASE, program__status="active")
        .order_by("due_at")
        .values("pk")[:1000]
    )
    print("\n## Query plan of the claim\n")
    print(claim.explain())


if __name__ == "__main__":
    main()
