"""How fast do leads come in through `capture_lead`, against the fastest plain way?

    .venv/bin/python bench/bench_capture.py [--rows 2000] [--runs 3]

Runs in a throwaway SQLite file (or, when DATABASE_URL names PostgreSQL, in a fresh
database created next to it and dropped afterwards: your data is never touched). Each
method starts from empty lead tables and the same rows:

- service: `capture.services.capture_lead` per row, one transaction each, as the API
  and the web form call it (clean, dedupe, account, score, route, SLA, history);
- raw: one `executemany` INSERT … ON CONFLICT(email) DO UPDATE into leads_lead, in one
  transaction — the fastest plain way to put the same rows in the same table;
- bulk_create: `Lead.objects.bulk_create`, duplicates merged in Python first (Django
  cannot aim ON CONFLICT at the partial unique index on email).

Prints the median of `--runs` runs per method and the ratio to raw, then where the
service's time goes per lead.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import drop_scratch_database, use_scratch_database  # noqa: E402

# A Monday, 10:00 UTC: inside the bench team's working hours.
START = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
COLUMNS = (
    "email", "first_name", "last_name", "phone", "title", "company_name", "country",
    "industry", "employees", "need", "authority", "budget", "timeline", "custom_fields",
    "source", "stage", "stage_changed_at", "segment", "fit_score", "engagement_score",
    "score", "touch_count", "arrived_at", "created_at", "updated_at",
)  # fmt: skip
PROFILE = ("first_name", "last_name", "title", "company_name", "country", "need", "timeline")


@dataclass(frozen=True)
class Row:
    kind: str  # "sales-ready", "nurture", "disqualified" or "duplicate"
    data: dict[str, Any]


def make_rows(count: int, seed: int = 1) -> list[Row]:
    """A realistic mix: a quarter sales-ready, a tenth repeat submissions by email."""
    rng = random.Random(seed)
    domains = [f"company{n}.example" for n in range(200)]
    rows: list[Row] = []
    for n in range(count):
        if rows and rng.random() < 0.10:
            earlier = rng.choice(rows).data
            data = {**earlier, "title": rng.choice(("CTO", "Head of Sales", "VP Marketing"))}
            rows.append(Row("duplicate", data))
            continue
        domain = rng.choice(domains) if rng.random() < 0.7 else "gmail.com"
        data: dict[str, Any] = {
            "email": f"person{n}@{domain}",
            "first_name": f"First{n}",
            "last_name": f"Last{n}",
            "company_name": domain.split(".")[0].title(),
            "country": rng.choice(("Germany", "France", "United Kingdom")),
            "title": rng.choice(("Marketing Manager", "Sales Ops", "Analyst")),
        }
        roll = rng.random()
        if roll < 0.25:
            kind = "sales-ready"
            data |= {"need": "replace our spreadsheet", "authority": "decision_maker"}
            data |= {"budget": 20000, "timeline": "now", "employees": 250}
        elif roll < 0.88:
            kind = "nurture"
            data |= {"authority": rng.choice(("influencer", "user")), "timeline": "year"}
        else:
            kind = "disqualified"
            data |= {"authority": "none", "timeline": "never"}
        rows.append(Row(kind, data))
    return rows


def configure() -> str:
    """Point Django at a throwaway database BEFORE django.setup(); returns a label."""
    scratch = tempfile.mkdtemp(prefix="leadloop-bench-")
    os.environ["LEADLOOP_DATA_DIR"] = scratch
    os.environ["LEADLOOP_BENCH_SCRATCH"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadloop.settings")
    return use_scratch_database(scratch, "bench")


def reset() -> None:
    """Empty every table and recreate the sales team: each run starts the same."""
    from datetime import time as clock

    from django.core.management import call_command

    from users.choices import Role
    from users.models import Team, User

    call_command("flush", interactive=False, verbosity=0)
    team = Team.objects.create(
        name="Bench",
        timezone="Europe/Berlin",
        workday_start=clock(9),
        workday_end=clock(17),
        countries=["DE", "FR", "GB"],
        sla_hours=8,
    )
    for n in range(4):
        User.objects.create(username=f"rep{n}", role=Role.SALES_REP, team=team)
    User.objects.create(username="manager", role=Role.SALES_MANAGER, team=team)


def by_service(rows: list[Row]) -> None:
    from capture.services import capture_lead

    for n, row in enumerate(rows):
        capture_lead(row.data, source="api", now=START + timedelta(seconds=n))


def lead_values(data: dict[str, Any], at: datetime) -> tuple[Any, ...]:
    values = {
        **{name: "" for name in ("first_name", "last_name", "phone", "title", "company_name")},
        **{name: "" for name in ("country", "industry", "need", "authority", "timeline")},
        "employees": None,
        "budget": None,
        **data,
        "custom_fields": "{}",
        "source": "api",
        "stage": "new",
        "stage_changed_at": at,
        "segment": "nurture",
        "fit_score": 0,
        "engagement_score": 0,
        "score": 0,
        "touch_count": 0,
        "arrived_at": at,
        "created_at": at,
        "updated_at": at,
    }
    return tuple(values[column] for column in COLUMNS)


def by_service_one_transaction(rows: list[Row]) -> None:
    from django.db import transaction

    with transaction.atomic():
        by_service(rows)


def by_raw_sql(rows: list[Row]) -> None:
    from django.db import connection, transaction

    columns = ", ".join(COLUMNS)
    marks = ", ".join(["%s"] * len(COLUMNS))
    updates = ", ".join(f"{name} = excluded.{name}" for name in (*PROFILE, "updated_at"))
    sql = (
        f"INSERT INTO leads_lead ({columns}) VALUES ({marks}) "
        f"ON CONFLICT (email) WHERE email IS NOT NULL DO UPDATE SET {updates}"
    )
    params = [lead_values(row.data, START + timedelta(seconds=n)) for n, row in enumerate(rows)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)


def by_bulk_create(rows: list[Row]) -> None:
    from django.db import transaction

    from leads.models import Lead

    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        merged[row.data["email"]] = {**merged.get(row.data["email"], {}), **row.data}
    leads = [
        Lead(
            **data,
            source="api",
            stage="new",
            stage_changed_at=START + timedelta(seconds=n),
            arrived_at=START + timedelta(seconds=n),
        )
        for n, data in enumerate(merged.values())
    ]
    with transaction.atomic():
        Lead.objects.bulk_create(leads, batch_size=500)


METHODS: dict[str, Callable[[list[Row]], None]] = {
    "capture_lead (service)": by_service,
    "capture_lead, one transaction": by_service_one_transaction,
    "raw executemany INSERT": by_raw_sql,
    "Lead.objects.bulk_create": by_bulk_create,
}


def measure(rows: list[Row], runs: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds per run. Each round runs every method once, interleaved, so a
    noisy neighbour on this shared machine hits all of them alike."""
    from leads.models import Lead

    unique = len({row.data["email"] for row in rows})
    seconds: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _ in range(runs):
        for name, method in METHODS.items():
            reset()
            wall, cpu = time.perf_counter(), time.process_time()
            method(rows)
            seconds[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            stored = Lead.objects.count()
            if stored != unique:
                raise SystemExit(f"{name}: stored {stored} leads, expected {unique}")
    return seconds


@contextmanager
def counting_queries() -> Iterator[Counter[str]]:
    from django.db import connection

    counts: Counter[str] = Counter()

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.lstrip().split(" ", 1)[0].upper()
        counts[verb] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counts


Profile = tuple[str, int, float, float, float, float, float]


def profile_service(rows: list[Row]) -> list[Profile]:
    """Per kind of row: count, median and mean ms per lead, statements, writes, savepoints."""
    from capture.services import capture_lead

    reset()
    times: dict[str, list[float]] = defaultdict(list)
    queries: dict[str, list[int]] = defaultdict(list)
    writes: dict[str, list[int]] = defaultdict(list)
    savepoints: dict[str, list[int]] = defaultdict(list)
    for n, row in enumerate(rows):
        with counting_queries() as counts:
            started = time.perf_counter()
            capture_lead(row.data, source="api", now=START + timedelta(seconds=n))
            elapsed = time.perf_counter() - started
        times[row.kind].append(elapsed)
        total = sum(c for verb, c in counts.items() if verb not in {"SAVEPOINT", "RELEASE"})
        queries[row.kind].append(total)
        writes[row.kind].append(counts["INSERT"] + counts["UPDATE"])
        savepoints[row.kind].append(counts["SAVEPOINT"] + counts["RELEASE"])
    return [
        (
            kind,
            len(times[kind]),
            statistics.median(times[kind]) * 1000,
            statistics.mean(times[kind]) * 1000,
            statistics.mean(queries[kind]),
            statistics.mean(writes[kind]),
            statistics.mean(savepoints[kind]),
        )
        for kind in ("nurture", "disqualified", "sales-ready", "duplicate")
        if times[kind]
    ]


def pure_costs() -> list[tuple[str, float]]:
    """Microseconds per call of the pure rules the service runs for each lead."""
    from datetime import time as clock

    from qualify.rules import Profile, score_profile
    from routing.rules import BusinessCalendar, add_business_hours

    calendar = BusinessCalendar(timezone="Europe/Berlin", start=clock(9), end=clock(17))
    profile = Profile(need="x", authority="decision_maker", timeline="now", employees=250)
    friday_evening = START + timedelta(days=4, hours=8)
    results = []
    for name, call in (
        ("score_profile", lambda: score_profile(profile)),
        (
            "add_business_hours (8 h, over a weekend)",
            lambda: add_business_hours(friday_evening, 8, calendar),
        ),
    ):
        loops = 20_000
        started = time.perf_counter()
        for _ in range(loops):
            call()
        results.append((name, (time.perf_counter() - started) / loops * 1e6))
    return results


def print_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        padded = (
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    print(line(headers))
    print(
        "|"
        + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths))
        + "|"
    )
    for row in rows:
        print(line(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=2000, help="submissions per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per method (median)")
    args = parser.parse_args()

    database = configure()
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        rows = make_rows(args.rows)
        kinds = Counter(row.kind for row in rows)
        print(f"Leadloop capture benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print(
            f"Machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
        )
        print(f"Database: {database}")
        print(
            f"Rows: {args.rows} submissions ({', '.join(f'{k} {n}' for k, n in kinds.items())}); "
            f"median of {args.runs} runs"
        )
        print()
        seconds = measure(rows, args.runs)
        raw = statistics.median(wall for wall, _ in seconds["raw executemany INSERT"])
        table = []
        for name, runs in seconds.items():
            median = statistics.median(wall for wall, _ in runs)
            cpu = statistics.median(cpu for _, cpu in runs)
            table.append(
                (
                    name,
                    str(args.rows),
                    f"{median:.3f}",
                    f"{cpu:.3f}",
                    f"{args.rows / median:,.0f}",
                    f"{median / raw:.1f}×",
                )
            )
        print_table(("method", "rows", "seconds", "CPU s", "rows/s", "vs raw"), table)
        print()
        print("Where the service's time goes, per lead (one more pass, queries counted):")
        print()
        profile = profile_service(rows)
        print_table(
            ("row kind", "rows", "ms/lead median", "mean", "statements", "writes", "savepoints"),
            [
                (k, str(n), f"{ms:.2f}", f"{mean:.2f}", f"{q:.1f}", f"{w:.1f}", f"{sp:.1f}")
                for k, n, ms, mean, q, w, sp in profile
            ],
        )
        print()
        print_table(
            ("pure rule", "µs/call"),
            [(name, f"{us:.1f}") for name, us in pure_costs()],
        )
    finally:
        drop_scratch_database()
        shutil.rmtree(os.environ["LEADLOOP_BENCH_SCRATCH"], ignore_errors=True)


if __name__ == "__main__":
    main()
