"""The SLA sweeps over 1,000,000 open leads with due times: how long finding and
processing the due ones takes, and the query plans showing the indexes they use.

    .venv/bin/python bench/bench_sweeps.py [--leads 1000000] [--due 1000]

SQLite: a throwaway file. With DATABASE_URL=postgres://… a fresh database on that server,
dropped at the end. One team of 20 reps; `--leads` sales leads (MQL, owned, untouched)
whose first-touch deadlines fall one every 2 seconds from a base moment, each with one
pending ladder rung (a reassignment) due at its deadline. The sweeps then run at the
moment `--due` deadlines have passed:

- plan: EXPLAIN of each sweep's claiming query (the partial indexes `lead_sla_open` and
  `slastep_due`);
- find, plain SQL: `SELECT id … WHERE due <= now ORDER BY due LIMIT 500` until none is
  left, read only: the floor for finding the due rows through the index;
- breach sweep (`routing.services.run_due`): mark `--due` breaches, notify owner and manager;
- ladder sweep (`routing.escalation.run_due`): reassign `--due` leads to the next rep
  (round robin under the team lock, history row, notifications);
- both again at the same moment: nothing left to do, the cost of a sweep with no work.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import drop_scratch_database, use_scratch_database

BASE = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
SPACING_SECONDS = 2


def setup(leads: int) -> tuple[str, float]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    from leads.models import Lead
    from routing.models import SlaStep
    from users.choices import Role
    from users.models import Team, User

    team = Team.objects.create(name="Bench", countries=["DE"])
    reps = [
        User.objects.create(username=f"rep{n}", role=Role.SALES_REP, team=team) for n in range(20)
    ]
    User.objects.create(username="manager", role=Role.SALES_MANAGER, team=team)
    started = time.perf_counter()
    fields = [f for f in Lead._meta.concrete_fields if not f.primary_key]
    columns, expressions, params = [], [], []
    postgres = connection.vendor == "postgresql"
    base = connection.ops.adapt_datetimefield_value(BASE)
    for field in fields:
        columns.append(connection.ops.quote_name(str(field.column)))
        match field.name:
            case "email":
                expressions.append("'b' || n || '@bench.io'")
            case "stage":
                expressions.append("'mql'")
            case "segment":
                expressions.append("'sales_ready'")
            case "owner":
                expressions.append(f"{reps[0].pk} + (n %% 20)")
            case "team":
                expressions.append(str(team.pk))
            case "sla_due_at":
                expressions.append(
                    f"%s::timestamptz + n * interval '{SPACING_SECONDS} seconds'"
                    if postgres
                    else f"datetime(%s, '+' || (n * {SPACING_SECONDS}) || ' seconds')"
                )
                params.append(base)
            case _:
                value = field.get_default()
                if value is None and not field.null:
                    value = BASE  # arrival, assignment and change moments
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
        cursor.execute(
            f"INSERT INTO {SlaStep._meta.db_table}"
            " (lead_id, kind, policy_name, clock_due_at, due_at, done_at, outcome, detail)"
            " SELECT id, 'reassign', 'bench', sla_due_at, sla_due_at, NULL, '', ''"
            f" FROM {Lead._meta.db_table}"
        )
        cursor.execute("ANALYZE")
    return connection.vendor, time.perf_counter() - started


def explain(queryset: object) -> str:
    from django.db import transaction

    with transaction.atomic():
        return queryset.explain()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="leadloop-sweeps-")
    os.environ["LEADLOOP_DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadloop.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    label = use_scratch_database(scratch, "sla_sweeps")
    try:
        run(args, label)
    finally:
        drop_scratch_database()


def run(args: argparse.Namespace, label: str) -> None:
    vendor, seconds = setup(args.leads)
    from django.db import connection

    from leads.models import Lead
    from routing import escalation, services
    from routing.models import SlaStep
    from users.models import Notification

    now = BASE + timedelta(seconds=SPACING_SECONDS * args.due) + timedelta(milliseconds=500)
    print(f"# {label}: {args.leads:,} open leads and pending rungs written in {seconds:.1f} s")
    print(f"# sweeping at {now.isoformat()}: {args.due:,} deadlines have passed\n")

    breach_query = (
        Lead.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(services.open_sla_leads(), sla_due_at__lt=now)
        .order_by("sla_due_at")[:500]
    )
    ladder_query = (
        SlaStep.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(done_at__isnull=True, due_at__lte=now)
        .order_by("due_at", "pk")[:200]
    )
    print("## Query plan, breach sweep (Lead, partial index lead_sla_open)\n")
    print(explain(breach_query), "\n")
    print("## Query plan, ladder sweep (SlaStep, partial index slastep_due)\n")
    print(explain(ladder_query), "\n")

    rows: list[tuple[str, str, str]] = []

    def timed(name: str, work: object) -> None:
        started = time.perf_counter()
        count = work()  # type: ignore[operator]
        elapsed = time.perf_counter() - started
        rows.append((name, f"{count:,}", f"{elapsed * 1000:,.0f} ms"))

    def find_plain() -> int:
        found, last = 0, None
        table = Lead._meta.db_table
        cutoff = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            while True:
                after = "" if last is None else " AND sla_due_at > %s"
                cursor.execute(
                    f"SELECT id, sla_due_at FROM {table} WHERE first_touch_at IS NULL"
                    " AND sla_breached_at IS NULL AND sla_due_at IS NOT NULL"
                    f" AND stage IN ('mql', 'accepted', 'opportunity') AND sla_due_at < %s{after}"
                    " ORDER BY sla_due_at LIMIT 500",
                    [cutoff] + ([last] if last is not None else []),
                )
                batch = cursor.fetchall()
                if not batch:
                    return found
                found += len(batch)
                last = batch[-1][1]

    timed("find the due leads, plain SQL (read only)", find_plain)
    timed("breach sweep: mark and notify", lambda: services.run_due(now=now))
    timed("ladder sweep: reassign to the next rep", lambda: escalation.run_due(now=now))
    timed("breach sweep again (nothing due)", lambda: services.run_due(now=now))
    timed("ladder sweep again (nothing due)", lambda: escalation.run_due(now=now))

    print(f"## Sweeps ({vendor})\n")
    print("| step | rows | time |")
    print("|---|---:|---:|")
    for name, count, elapsed in rows:
        print(f"| {name} | {count} | {elapsed} |")
    notes = Notification.objects.count()
    print(f"\n{notes:,} notifications written;", end=" ")
    print(f"{SlaStep.objects.filter(outcome='done').count():,} rungs done.")


if __name__ == "__main__":
    main()
