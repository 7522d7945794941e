"""Benchmark: bulk import of a large CSV into a database already holding many leads.

    python bench/bench_import.py [--rows 1000000] [--existing 1000000]
                                 [--database sqlite|postgres] [--chunk-size 250000]

1. setup (a child process): generates the CSV (HubSpot-like headers, mixed phone and
   date formats, 30 % duplicate emails: half repeat a row of the file, half name a stored
   lead; about 1 % bad rows), migrates a fresh database, pre-loads `--existing` leads the
   fast way (executemany / COPY), a small sales organisation, and a twin of the lead
   table with the same columns and indexes for the baseline.
2. baseline (a child process): the plain way to put the same rows in: read them with
   Polars and insert them raw into the twin (executemany on SQLite, COPY on PostgreSQL),
   nothing normalised, de-duplicated, scored or routed. The twin's email index is not
   unique, so the raw rows (with their duplicates) all go in.
3. floor (SQLite, when the `sqlite3` shell is installed): what the machine allows for
   the engine's writes alone. On a copy of the prepared database, the shell (C, no
   Python) stages the file untimed, then writes what the engine writes, timed: new leads
   in email order, two stage changes each, a submission per row, a membership per lead,
   the stored leads updated, commit and checkpoint. Reading, normalising, matching,
   scoring and routing come on top of it in any engine.
4. engine (a child process): `run_import` end to end: read, normalise, de-duplicate,
   match, account, score, route, write (leads, history, submissions, memberships).

Each child reports its own time and peak RSS (resource.getrusage), so the figures do not
include the data generation. The table printed at the end is the one in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
STAMP = "2026-11-16 10:00:00"  # NOW, as the database stores it (the floor's SQL)
PG_URL = "postgres://leadloop:leadloop@127.0.0.1:5432/leadloop_bench"
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def database_url(kind: str) -> str:
    return PG_URL if kind == "postgres" else f"sqlite:///{OUT / 'bench-import.sqlite3'}"


def setup_django(kind: str) -> None:
    os.environ["DATABASE_URL"] = database_url(kind)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadloop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- data ----------------------------------------------------------------------------------


def csv_file(args: argparse.Namespace) -> Path:
    return OUT / f"import-{args.rows}{'-activity' if args.activity else ''}.csv"


def generate_csv(path: Path, rows: int, existing: int, activity: bool = False) -> dict[str, int]:
    import polars as pl

    new_share, file_dupes = 0.70, 0.15  # and 15 % naming stored leads
    n_new = int(rows * new_share)
    n_file_dup = int(rows * file_dupes)
    n_stored = rows - n_new - n_file_dup
    idx = pl.int_range(0, pl.len(), dtype=pl.Int64)
    new = pl.DataFrame({"k": range(n_new)}, schema={"k": pl.Int64}).select(
        pl.format("new{}@firm{}.io", pl.col("k"), pl.col("k") % 40_000).alias("email"),
        pl.col("k"),
    )
    # Repeats of rows of the file, written differently (case, spaces).
    dup = new.sample(n_file_dup, with_replacement=True, seed=1).select(
        pl.format(" {} ", pl.col("email").str.to_uppercase()).alias("email"), pl.col("k")
    )
    picked = (pl.col("k") * 7919) % max(existing, 1)
    stored = pl.DataFrame({"k": range(n_stored)}, schema={"k": pl.Int64}).select(
        pl.format("Lead{}@Company{}.com", picked, picked % 50_000).alias("email"),
        (pl.col("k") + 10_000_000).alias("k"),
    )
    frame = pl.concat([new, dup, stored]).sample(fraction=1.0, shuffle=True, seed=2)
    frame = frame.with_columns(idx.alias("i"))
    countries = ["Germany", "France", "United States", "United Kingdom", "Canada", "Spain"]
    titles = ["CTO", "Head of IT", "Engineer", "Marketing Manager", "VP Sales", "Analyst", ""]
    sizes = ["1-10", "11-50", "51-200", "201-1,000", "1001-5000", "", "10000+"]
    m = pl.col("i")
    phone = (
        pl.when(m % 20 < 11)
        .then(pl.format("+4930{}", (m * 37 % 9_000_000 + 1_000_000)))
        .when(m % 20 < 14)
        .then(pl.format("+44 20 {} {}", m % 9000 + 1000, (m * 7) % 9000 + 1000))
        .when(m % 20 < 16)
        .then(pl.format("(212) 555-{}", (m % 9000 + 1000)))
        .otherwise(pl.lit(""))
    )
    country = (
        pl.when(m % 20 < 11)
        .then(pl.lit("Germany"))
        .when(m % 20 < 14)
        .then(pl.lit("United Kingdom"))
        .when(m % 20 < 16)
        .then(pl.lit("United States"))
        .otherwise(pl.lit(countries).list.get(m % 6))
    )
    created = (
        pl.when(m % 3 == 0)
        .then(pl.format("2024-{}-{} 14:22:10", m % 12 + 1, m % 28 + 1))
        .when(m % 3 == 1)
        .then(pl.format("{}/{}/2025", m % 12 + 1, m % 28 + 1))
        .otherwise(pl.format("2025-{}-{}T08:00:00Z", (m % 9 + 1), (m % 18 + 10)))
    )
    # A few bad rows: invalid emails, impossible phones, an unknown country's local phone.
    bad_email = m % 250 == 7
    bad_phone = m % 333 == 5
    out = frame.select(
        pl.when(bad_email).then(pl.lit("not-an-email")).otherwise(pl.col("email")).alias("Email"),
        pl.format("First{}", pl.col("k") % 5000).alias("First Name"),
        pl.format("Last{}", pl.col("k") % 7000).alias("Last Name"),
        pl.format("Firm {}", pl.col("k") % 40_000).alias("Company Name"),
        pl.lit(titles).list.get(m % 7).alias("Job Title"),
        pl.when(bad_phone).then(pl.lit("12")).otherwise(phone).alias("Phone Number"),
        country.alias("Country/Region"),
        created.alias("Create Date"),
        pl.lit(sizes).list.get(m % 7).alias("Number of Employees"),
        pl.when(m % 10 == 0)
        .then(pl.lit("Decision maker"))
        .otherwise(pl.lit(""))
        .alias("Authority"),
        pl.when(m % 10 == 0).then(pl.lit("25,000")).otherwise(pl.lit("")).alias("Budget"),
        pl.when(m % 10 == 0).then(pl.lit("This quarter")).otherwise(pl.lit("")).alias("Timeline"),
        pl.when(m % 5 == 0).then(pl.lit("wants a demo")).otherwise(pl.lit("")).alias("Notes"),
        pl.lit(["Open", "In progress", "New"]).list.get(m % 3).alias("Lead Status"),
    )
    if activity:
        # A lead source that is often none of the channels (kept as written), visits,
        # time on site and a last activity date for some (engagement events).
        sources = ["Olark Chat", "Organic Search", "Google", "Direct Traffic", "Select", ""]
        m = pl.int_range(0, pl.len(), dtype=pl.Int64)
        out = out.with_columns(
            pl.lit(sources).list.get(m % 6).alias("Lead Source"),
            pl.when(m % 3 == 0).then(pl.lit("")).otherwise((m % 17).cast(pl.String))
            .alias("TotalVisits"),
            pl.when(m % 4 == 0).then(pl.lit("")).otherwise((m * 13 % 2400).cast(pl.String))
            .alias("Total Time Spent on Website"),
            pl.when(m % 2 == 0).then(pl.lit(""))
            .otherwise(pl.format("2026-{}-{} 12:00", m % 10 + 1, m % 28 + 1))
            .alias("Last Activity Date"),
        )  # fmt: skip
    out.write_csv(path)
    return {"rows": rows, "new": n_new, "file_duplicates": n_file_dup, "stored_matches": n_stored}


def preload(existing: int) -> None:
    """Stored leads, loaded the fast way; emails LeadN@companyM.com (lower-cased)."""
    import polars as pl
    from django.db import connection

    from leads.bulk import LEAD
    from leads.models import Lead
    from leads.sql import db_now, load

    stamp = db_now(NOW)
    columns = []
    frame = pl.DataFrame({"k": range(existing)})
    values = {
        "email": pl.format("lead{}@company{}.com", pl.col("k"), pl.col("k") % 50_000),
        "first_name": pl.format("Old{}", pl.col("k") % 3000),
        "arrived_at": pl.lit("2023-01-01 00:00:00"),
        "stage_changed_at": pl.lit("2023-01-01 00:00:00"),
        "stage": pl.lit("nurturing"),
        "created_at": pl.lit(stamp),
        "updated_at": pl.lit(stamp),
    }
    for field in Lead._meta.concrete_fields:
        if field.column == "id":
            continue
        if field.column in values:
            columns.append(values[field.column].alias(field.column))
        elif field.has_default() or not field.null:
            default = field.get_default()
            default = json.dumps(default) if isinstance(default, dict | list) else default
            columns.append(pl.lit(default).alias(field.column))
        else:
            columns.append(pl.lit(None).alias(field.column))
    rows = frame.select(columns)
    with connection.cursor() as cursor:
        for start in range(0, existing, 200_000):
            load(cursor, LEAD, rows.slice(start, 200_000))


def make_twin() -> None:
    """bench_raw_lead: the lead table's columns and indexes (email index not unique),
    holding the same stored leads."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_lead")
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TABLE bench_raw_lead (LIKE leads_lead INCLUDING DEFAULTS INCLUDING INDEXES)"
            )
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'bench_raw_lead'"
                " AND indexdef LIKE 'CREATE UNIQUE%%' AND indexdef NOT LIKE '%%(id)%%'"
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute("CREATE INDEX bench_raw_email ON bench_raw_lead (email)")
            cursor.execute("CREATE INDEX bench_raw_external ON bench_raw_lead (external_id)")
            cursor.execute("ALTER TABLE bench_raw_lead ALTER COLUMN id DROP DEFAULT")
            cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_raw_seq START 50000000")
            cursor.execute(
                "ALTER TABLE bench_raw_lead ALTER COLUMN id SET DEFAULT nextval('bench_raw_seq')"
            )
        else:
            cursor.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'leads_lead'"
                " AND sql IS NOT NULL"
            )
            for kind, name, sql in cursor.fetchall():
                sql = sql.replace('"leads_lead"', '"bench_raw_lead"')
                if kind == "index":
                    sql = sql.replace(f'"{name}"', f'"bench_raw_{name}"').replace(
                        "CREATE UNIQUE INDEX", "CREATE INDEX"
                    )
                cursor.execute(sql)
        cursor.execute("INSERT INTO bench_raw_lead SELECT * FROM leads_lead")


def make_org() -> None:
    from leads.models import Campaign
    from users.choices import Role
    from users.models import Team, User

    emea = Team.objects.create(name="EMEA", countries=["DE", "FR", "GB"])
    americas = Team.objects.create(
        name="Americas", timezone="America/New_York", countries=["US", "CA"]
    )
    for i in range(6):
        User.objects.create(username=f"rep{i}", role=Role.SALES_REP, team=emea)
    for i in range(3):
        User.objects.create(username=f"usrep{i}", role=Role.SALES_REP, team=americas)
    Campaign.objects.create(name="Big import")


def phase_setup(args: argparse.Namespace) -> dict[str, object]:
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    csv_path = csv_file(args)
    if args.database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(OUT / "bench-import.sqlite3") + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(
            "postgresql://leadloop:leadloop@127.0.0.1:5432/leadloop", autocommit=True
        ) as conn:
            conn.execute("DROP DATABASE IF EXISTS leadloop_bench")
            conn.execute("CREATE DATABASE leadloop_bench")
    setup_django(args.database)
    from django.core.management import call_command
    from django.db import connection, transaction

    mix = generate_csv(csv_path, args.rows, args.existing, args.activity)
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        preload(args.existing)
        make_org()
    make_twin()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return {
        "csv": str(csv_path),
        "csv_mb": round(csv_path.stat().st_size / 1e6, 1),
        "seconds": round(time.perf_counter() - started, 1),
        **mix,
    }


def phase_baseline(args: argparse.Namespace) -> dict[str, object]:
    setup_django(args.database)
    import polars as pl
    from django.db import connection, transaction

    from imports import apply
    from leads.sql import db_now, load

    csv_path = csv_file(args)
    apply.tune_connection()
    started = time.perf_counter()
    frame = pl.read_csv(csv_path, infer_schema=False)
    read = time.perf_counter() - started
    stamp = db_now(NOW)
    rows = frame.select(
        pl.col("Email").alias("email"),
        pl.col("First Name").fill_null("").alias("first_name"),
        pl.col("Last Name").fill_null("").alias("last_name"),
        pl.col("Phone Number").fill_null("").alias("phone"),
        pl.col("Job Title").fill_null("").alias("title"),
        pl.col("Company Name").fill_null("").alias("company_name"),
        pl.col("Country/Region").fill_null("").alias("country"),
        pl.lit("").alias("industry"),
        pl.col("Notes").fill_null("").alias("need"),
        pl.lit("").alias("authority"),
        pl.lit("").alias("timeline"),
        pl.lit("{}").alias("custom_fields"),
        pl.lit("import").alias("source"),
        pl.lit("new").alias("stage"),
        pl.lit(stamp).alias("stage_changed_at"),
        pl.lit("nurture").alias("segment"),
        pl.lit("").alias("grade"),
        pl.lit("[]").alias("score_reasons"),
        pl.lit(0).alias("fit_score"),
        pl.lit(0).alias("engagement_score"),
        pl.lit(0).alias("score"),
        pl.lit(0).alias("touch_count"),
        pl.lit(stamp).alias("arrived_at"),
        pl.lit(stamp).alias("created_at"),
        pl.lit(stamp).alias("updated_at"),
    )
    tick = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        load(cursor, "bench_raw_lead", rows)
    insert = time.perf_counter() - tick
    return {
        "read": round(read, 2),
        "insert": round(insert, 2),
        "total": round(time.perf_counter() - started, 2),
        "rows": rows.height,
        "peak_rss_mb": round(peak_rss_mb()),
    }


def phase_engine(args: argparse.Namespace) -> dict[str, object]:
    setup_django(args.database)
    from imports.services import ImportOptions, create_import_job, run_import
    from leads.models import Campaign, Lead, StageChange

    csv_path = csv_file(args)
    campaign = Campaign.objects.get(name="Big import")
    options = ImportOptions(campaign_id=campaign.pk, chunk_size=args.chunk_size)
    job = create_import_job(csv_path, options, now=NOW, rejects_path=OUT / "rejects.csv")
    started = time.perf_counter()
    summary = run_import(job, now=NOW)
    total = time.perf_counter() - started
    return {
        **summary.as_json(),
        "seconds": round(total, 2),
        "stages": {k: round(v, 2) for k, v in summary.timings.items()},
        "leads_after": Lead.objects.count(),
        "mql": Lead.objects.filter(stage="mql").count(),
        "stage_changes": StageChange.objects.count(),
        "peak_rss_mb": round(peak_rss_mb()),
    }


# --- the floor: the engine's writes by the sqlite3 shell -----------------------------------

PRAGMAS = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
PRAGMA foreign_keys = ON;
PRAGMA wal_autocheckpoint = 0;
"""

STAGE = """
DROP TABLE IF EXISTS floor_src;
CREATE TABLE floor_src (email, first_name, last_name, company, title, phone, country,
  created, employees, authority, budget, timeline, notes, status);
.mode csv
.import --skip 1 '{csv}' floor_src
ALTER TABLE floor_src ADD COLUMN norm;
UPDATE floor_src SET norm = lower(trim(email)) WHERE email LIKE '%_@_%._%';
CREATE INDEX floor_src_norm ON floor_src (norm);
-- New people with the ids they will get, in email order (the engine takes ids first too).
DROP TABLE IF EXISTS floor_new;
CREATE TABLE floor_new AS
  SELECT (SELECT max(id) FROM leads_lead) + row_number() OVER (ORDER BY norm) AS id, *
  FROM (SELECT norm, max(first_name) AS first_name, max(last_name) AS last_name,
          max(phone) AS phone, max(title) AS title, max(company) AS company,
          max(country) AS country, max(notes) AS notes
        FROM floor_src s WHERE norm IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM leads_lead l WHERE l.email = s.norm)
        GROUP BY norm)
  ORDER BY norm;
-- The stored leads the file names, with their new values.
DROP TABLE IF EXISTS floor_update;
CREATE TABLE floor_update AS
  SELECT l.id, max(s.first_name) AS first_name, max(s.last_name) AS last_name,
         max(s.title) AS title
  FROM floor_src s JOIN leads_lead l ON l.email = s.norm GROUP BY l.id ORDER BY l.id;
-- Every row with a valid email: its lead and its line.
DROP TABLE IF EXISTS floor_named;
CREATE TABLE floor_named AS
  SELECT coalesce(n.id, u.id) AS lead_id, s.rowid + 1 AS line
  FROM floor_src s LEFT JOIN floor_new n ON n.norm = s.norm
  LEFT JOIN leads_lead u ON u.email = s.norm
  WHERE s.norm IS NOT NULL ORDER BY 1, 2;
DROP TABLE IF EXISTS floor_member;
CREATE TABLE floor_member AS SELECT DISTINCT lead_id FROM floor_named ORDER BY lead_id;
"""

WRITE = """
BEGIN IMMEDIATE;
INSERT INTO leads_lead (id, email, first_name, last_name, phone, title, company_name,
  country, industry, need, authority, timeline, custom_fields, source, stage,
  stage_changed_at, segment, grade, score_reasons, fit_score, engagement_score, score,
  touch_count, arrived_at, created_at, updated_at, first_campaign_id)
  SELECT id, norm, first_name, last_name, phone, title, company, country, '', notes, '',
    '', '{{}}', 'import', 'nurturing', '{stamp}', 'nurture', '', '[]', 10, 0, 10, 0,
    '{stamp}', '{stamp}', '{stamp}', {campaign}
  FROM floor_new ORDER BY id;
INSERT INTO leads_stagechange (lead_id, from_stage, to_stage, changed_at, reason)
  SELECT id, '', 'new', '{stamp}', 'captured via import' FROM floor_new ORDER BY id;
INSERT INTO leads_stagechange (lead_id, from_stage, to_stage, changed_at, reason)
  SELECT id, 'new', 'nurturing', '{stamp}', 'score 10' FROM floor_new ORDER BY id;
UPDATE leads_lead SET first_name = u.first_name, last_name = u.last_name, title = u.title,
  updated_at = '{stamp}' FROM floor_update AS u WHERE leads_lead.id = u.id;
INSERT INTO capture_submission (source, payload, was_created, received_at, lead_id,
  campaign_id, line)
  SELECT 'import', '{{}}', 0, '{stamp}', lead_id, {campaign}, line FROM floor_named;
INSERT INTO leads_campaignmember (campaign_id, lead_id, status, joined_at, updated_at)
  SELECT {campaign}, lead_id, 'registered', '{stamp}', '{stamp}' FROM floor_member
  WHERE true ON CONFLICT (campaign_id, lead_id) DO NOTHING;
COMMIT;
PRAGMA wal_checkpoint(PASSIVE);
"""


def sqlite_shell(database: Path, script: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["sqlite3", "-bail", str(database)],
        input=PRAGMAS + script,
        text=True,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def phase_floor(args: argparse.Namespace) -> dict[str, object]:
    """The import's writes done by the `sqlite3` shell (C, no Python) on the copy of the
    prepared database that main() took before the engine ran: the file staged untimed
    (rows, new people with their ids, leads to update, each row's lead and line), then
    the rows written as the engine writes them, timed (new leads in email order, two
    stage changes each, the stored leads updated, a submission per row, a membership
    per lead, commit, checkpoint)."""
    floor = OUT / "bench-floor.sqlite3"
    if shutil.which("sqlite3") is None or args.activity:
        floor.unlink(missing_ok=True)
        return {"skipped": "no sqlite3 shell, or a file with activity columns"}
    setup_django(args.database)
    from leads.models import Campaign

    campaign = Campaign.objects.get(name="Big import").pk
    try:
        staged = sqlite_shell(floor, STAGE.format(csv=OUT / f"import-{args.rows}.csv"))
        os.sync()
        seconds = sqlite_shell(floor, WRITE.format(stamp=STAMP, campaign=campaign))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(floor) + suffix).unlink(missing_ok=True)
    return {"staged": round(staged, 2), "writes": round(seconds, 2)}


PHASES = {
    "setup": phase_setup,
    "baseline": phase_baseline,
    "floor": phase_floor,
    "engine": phase_engine,
}


def child(phase: str, args: argparse.Namespace) -> dict[str, object]:
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--rows",
        str(args.rows),
        "--existing",
        str(args.existing),
        "--database",
        args.database,
        "--chunk-size",
        str(args.chunk_size),
        *(["--activity"] if args.activity else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{phase} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--existing", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--chunk-size", type=int, default=250_000)
    parser.add_argument(
        "--activity",
        action="store_true",
        help="add a lead source (often none of the channels) and activity columns",
    )
    parser.add_argument("--phase", choices=list(PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    setup = child("setup", args)
    print(f"setup: {json.dumps(setup)}", file=sys.stderr)
    baseline = child("baseline", args)
    if args.database == "sqlite":  # the floor writes on the database as the engine finds it
        shutil.copyfile(OUT / "bench-import.sqlite3", OUT / "bench-floor.sqlite3")
    os.sync()
    engine = child("engine", args)
    os.sync()
    floor = child("floor", args) if args.database == "sqlite" else {}
    stages = engine["stages"]
    assert isinstance(stages, dict)
    total = float(engine["seconds"])  # type: ignore[arg-type]
    raw = float(baseline["insert"])  # type: ignore[arg-type]
    raw_total = float(baseline["total"])  # type: ignore[arg-type]
    name = "COPY" if args.database == "postgres" else "executemany"
    print(
        f"\nImport of {args.rows:,} rows into {args.existing:,} stored leads"
        f" ({args.database}, chunks of {args.chunk_size:,})\n"
    )
    print("| stage | seconds |\n|---|---:|")
    stages_shown = ("read", "normalise", "dedupe", "match", "accounts", "events", "score", "route")
    for stage in (*stages_shown, "write"):
        print(f"| {stage} | {stages.get(stage, 0.0):.2f} |")
    for stage in sorted(k for k in stages if k.startswith("write: ") and stages[k] >= 0.005):
        print(f"| &nbsp;&nbsp;{stage} | {stages[stage]:.2f} |")
    print(f"| commit (row-by-row key checks if any; WAL) | {stages.get('commit', 0.0):.2f} |")
    print(f"| WAL checkpoint at the end (SQLite) | {stages.get('checkpoint', 0.0):.2f} |")
    print(f"| rejects file | {stages.get('rejects', 0.0):.2f} |")
    print(f"| **engine total** | **{total:.2f}** |")
    print(f"| raw {name} of the same rows (insert only) | {raw:.2f} |")
    print(f"| raw read + {name} | {raw_total:.2f} |")
    if "writes" in floor:
        print(
            f"| the engine's writes by the sqlite3 shell (C, no Python) | {floor['writes']:.2f} |"
        )
    print()
    print(f"- rows/s, engine end to end: {args.rows / total:,.0f}")
    print(f"- rows/s, raw {name}: {args.rows / raw:,.0f}")
    print(
        f"- ratio engine / raw insert: {total / raw:.2f}; / raw read+insert: {total / raw_total:.2f}"
    )
    print(
        f"- outcome: created {engine['created']:,}, updated {engine['updated']:,},"
        f" merged {engine['merged']:,}, rejected {engine['rejected']:,};"
        f" MQLs routed {engine['mql']:,}; stage changes {engine['stage_changes']:,}"
    )
    print(
        f"- peak RSS: engine {engine['peak_rss_mb']} MB, raw {baseline['peak_rss_mb']} MB;"
        f" CSV {setup['csv_mb']} MB"
    )


if __name__ == "__main__":
    main()
