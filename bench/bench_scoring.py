"""Rescoring every lead after a scoring-model change, beside the plain SQL that sums the
same events per lead.

    .venv/bin/python bench/bench_scoring.py [--leads 1000000] [--events-per-lead 10]

A throwaway database (SQLite in a temp dir, or with DATABASE_URL=postgres://… a fresh
database on that server, dropped at the end) gets `--leads` nurture leads and
`--events-per-lead` × as many generated events (several kinds, spread over two years),
with the engagement signals ingestion keeps for them (per lead and signal, decayed to
their last event). Then, timed:

- plain SQL: `SELECT lead_id, SUM(points) FROM capture_event GROUP BY lead_id`, every row
  fetched: the slow way a model change could recount engagement;
- what-if: `qualify.services.preview_model` of the demo model on every lead;
- rescore all: `qualify.services.rescore_all` with the demo model applied (reads the
  signals, never the events; writes the leads whose score changed, their history, moves
  and routes the new sales-ready);
- one event → new score: `capture.services.record_events` of one demo request.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_harness import configure, finish, machine_line, print_table, setup_django

KINDS = (
    ("page_view", 1, 0.45),
    ("email_open", 1, 0.25),
    ("pricing_page_view", 10, 0.1),
    ("email_click", 4, 0.1),
    ("content_download", 8, 0.06),
    ("webinar_attended", 15, 0.03),
    ("demo_request", 40, 0.01),
)
INDUSTRIES = ["Software", "Retail", "Manufacturing", "Healthcare", "Energy"]
HALF_LIFE_DAYS = 90.0


def pick(n: Any, seed: int, values: list[str]) -> Any:
    """A value of `values` per row, chosen by a hash of the row number (reproducible)."""
    import polars as pl

    return (
        (n.hash(seed) % len(values))
        .cast(pl.Int64)
        .replace_strict(dict(enumerate(values)), return_dtype=pl.String)
    )


def weighted_kind(n: Any) -> Any:
    """An event kind per row, with the shares of KINDS."""
    import polars as pl

    share = (n.hash(12) % 10_000).cast(pl.Float64) / 10_000
    expr: Any = None
    bound = 0.0
    for kind, _, weight in KINDS:
        bound += weight
        expr = (pl.when(share < bound) if expr is None else expr.when(share < bound)).then(
            pl.lit(kind)
        )
    return expr.otherwise(pl.lit(KINDS[0][0]))


def build(leads: int, per_lead: int, now: datetime) -> None:
    import polars as pl
    from django.db import connection, transaction

    from leads.bulk import insert_leads
    from leads.sql import db_datetime, load

    started = time.perf_counter()
    arrived = pl.lit(now - timedelta(days=730)).dt.cast_time_unit("us")
    ids = pl.int_range(1, leads + 1, dtype=pl.Int64)
    frame = pl.select(
        id=ids,
        email=pl.format("lead{}@bench.io", ids),
        industry=pick(ids, 1, INDUSTRIES),
        authority=pick(ids, 2, ["", "decision_maker", "influencer", "user"]),
        timeline=pick(ids, 3, ["", "now", "quarter", "year"]),
        need=pick(ids, 4, ["", "spreadsheets"]),
    ).with_columns(
        pl.lit("nurturing").alias("stage"),
        pl.lit("nurture").alias("segment"),
        db_datetime(arrived).alias("stage_changed_at"),
        db_datetime(arrived).alias("arrived_at"),
    )
    with transaction.atomic():
        insert_leads(frame, now=now)
    print(f"  {leads:,} leads in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    total = leads * per_lead
    points = {k: p for k, p, _ in KINDS}
    chunk = 2_000_000
    two_years = 730 * 86400
    signals: list[pl.DataFrame] = []
    for start in range(0, total, chunk):
        size = min(chunk, total - start)
        started = time.perf_counter()
        n = pl.int_range(start, start + size, dtype=pl.Int64)
        events = pl.select(
            lead_id=(n.hash(11) % leads + 1).cast(pl.Int64),
            kind=weighted_kind(n),
            age=(n.hash(13) % two_years).cast(pl.Int64),
        ).with_columns(
            (pl.lit(now).dt.cast_time_unit("us") - pl.duration(seconds=pl.col("age"))).alias(
                "occurred_at"
            ),
            pl.col("kind").replace_strict(points, return_dtype=pl.Int64).alias("points"),
        )
        with transaction.atomic(), connection.cursor() as cursor:
            load(
                cursor,
                "capture_event",
                events.select(
                    "lead_id",
                    "kind",
                    db_datetime(pl.col("occurred_at")).alias("occurred_at"),
                    db_datetime(pl.col("occurred_at")).alias("received_at"),
                    "points",
                ),
                {"properties": "{}"},
            )
        signals.append(events.select("lead_id", "kind", "occurred_at"))
        print(f"  {start + size:,} events ({time.perf_counter() - started:.1f} s)", file=sys.stderr)

    # What ingestion keeps: per lead and signal, the events decayed to the last one.
    started = time.perf_counter()
    every = pl.concat(signals)
    kept = (
        every.group_by("lead_id", "kind")
        .agg(
            pl.col("occurred_at").max().alias("as_of"),
            pl.len().alias("total"),
            (
                2.0
                ** (
                    -(pl.col("occurred_at").max() - pl.col("occurred_at")).dt.total_seconds()
                    / (HALF_LIFE_DAYS * 86400)
                )
            )
            .sum()
            .alias("count"),
        )
        .with_columns(pl.col("kind").alias("key"))
    )
    with transaction.atomic(), connection.cursor() as cursor:
        load(
            cursor,
            "qualify_engagementsignal",
            kept.select(
                "lead_id",
                "key",
                "kind",
                "count",
                "total",
                db_datetime(pl.col("as_of")).alias("as_of"),
            ),
            {"window_count": 0},
        )
    print(f"  {kept.height:,} signals in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events-per-lead", type=int, default=10)
    args = parser.parse_args()
    label = configure("scoring")
    try:
        setup_django()
        run(args.leads, args.events_per_lead, label)
    finally:
        finish()


def run(leads: int, per_lead: int, label: str) -> None:
    from django.db import connection

    from capture.services import EventInput, record_events
    from demo.story import demo_scoring_document
    from qualify.services import preview_model, rescore_all, save_model

    now = datetime.now(UTC)
    print(f"building {leads:,} leads, {leads * per_lead:,} events on {label}", file=sys.stderr)
    build(leads, per_lead, now)
    rows = []

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT lead_id, SUM(points) FROM capture_event GROUP BY lead_id")
        summed = len(cursor.fetchall())
    plain = time.perf_counter() - started
    rows.append(["plain SQL: sum of event points per lead", f"{plain:.2f}", f"{summed:,} leads"])

    document = demo_scoring_document()
    started = time.perf_counter()
    preview = preview_model(document, now=now)
    seconds = time.perf_counter() - started
    rows.append(
        ["what-if (preview_model)", f"{seconds:.2f}", f"{sum(preview.moves.values()):,} moves"]
    )

    version = save_model(document, by=None, now=now, note="bench")
    started = time.perf_counter()
    summary = rescore_all(version, now=now)
    seconds = time.perf_counter() - started
    rows.append(
        [
            "rescore all (rescore_all, signals only)",
            f"{seconds:.2f}",
            f"{summary['leads_rescored']:,} leads, {summary['grades_changed']:,} grades changed",
        ]
    )

    started = time.perf_counter()
    record_events([EventInput("demo_request", now, lead_id=1)], now=now)
    seconds = time.perf_counter() - started
    rows.append(["one event → new score (record_events)", f"{seconds * 1000:.1f} ms", "lead 1"])

    print(f"\n{leads:,} leads, {leads * per_lead:,} events, {label}; {machine_line()}\n")
    print_table(["what", "seconds", "note"], rows)


if __name__ == "__main__":
    main()
