"""Set-based reads and writes of an import chunk: no per-row ORM calls.

On SQLite rows go in with `executemany`; on PostgreSQL with COPY from CSV that Polars
writes (no Python object per value). Updates of stored leads go through a temporary
table and one `UPDATE … FROM` (SQLite ≥ 3.33 and PostgreSQL both have it). Everything
here runs inside the chunk's transaction, opened by the service.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import polars as pl
from django.db import IntegrityError, connection, models
from django.db.backends.utils import CursorWrapper

from capture.models import Submission
from identity.choices import MergeStatus
from identity.dedup import leads_for_freed_emails
from identity.models import LeadMatchKeys, MergeRecord
from leads.models import Account, CampaignMember, Lead, StageChange
from leads.services import MEMBER_STATUS_RANK
from routing.services import Routable, route_leads

from .pipeline import EXISTING_COLUMNS, LEAD_TEXT

LEAD = Lead._meta.db_table
ACCOUNT = Account._meta.db_table
MEMBER = CampaignMember._meta.db_table
STAGE_CHANGE = StageChange._meta.db_table
SUBMISSION = Submission._meta.db_table
MATCH_KEYS = LeadMatchKeys._meta.db_table
ROWS_PER_STATEMENT = 64


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def tune_connection() -> None:
    """A bigger page cache and in-memory temp tables for this connection's bulk work."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")
            if not connection.in_atomic_block:  # SQLite refuses it inside a transaction
                cursor.execute("PRAGMA temp_store = MEMORY")


@contextmanager
def deferred_checkpoints() -> Iterator[None]:
    """SQLite: no WAL checkpoint after each chunk's commit, one when the work is done.

    By default SQLite copies the WAL back into the database after any commit that leaves
    it over 1000 pages. An import commits every chunk, and every chunk touches most pages
    of the lead table's indexes, so the same pages would be copied (and synced) again and
    again. Here they are copied once. PASSIVE never waits for readers: what it cannot copy
    yet, a later commit's automatic checkpoint does.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint = 1000")
            if not connection.in_atomic_block:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


# --- values --------------------------------------------------------------------------------


def db_datetime(expr: pl.Expr) -> pl.Expr:
    """Aware UTC datetimes as the text each backend stores or parses.

    SQLite compares datetimes as text, so it must be Django's own form exactly: naive
    UTC, a space, microseconds only when there are some.
    """
    if is_postgres():
        return expr.dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00:00")
    return (
        pl.when(expr.dt.microsecond() == 0)
        .then(expr.dt.strftime("%Y-%m-%d %H:%M:%S"))
        .otherwise(expr.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
    )


def db_now(now: datetime) -> str:
    value = connection.ops.adapt_datetimefield_value(now)
    return value if isinstance(value, str) else now.isoformat(sep=" ")


def _in_list(values: Sequence[Any]) -> tuple[str, list[Any]]:
    """A `IN (…)` clause over any number of values, as one parameter."""
    if is_postgres():
        return "= ANY(%s)", [list(values)]
    return "IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]


def sql_literal(value: Any) -> str:
    """A constant as SQL text (numbers, text, NULL, booleans only)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def load(
    cursor: CursorWrapper,
    table: str,
    frame: pl.DataFrame,
    constants: dict[str, Any] | None = None,
) -> None:
    """Insert every row of `frame` (columns named as the table's) into `table`.

    `constants` are columns with one value for every row. SQLite gets them as literals in
    the statement rather than bound once per row: binding is most of executemany's cost.
    """
    if frame.is_empty():
        return
    constants = constants or {}
    if is_postgres():
        frame = frame.with_columns(
            [
                pl.lit(v, dtype=pl.String if isinstance(v, str) else None).alias(c)
                for c, v in constants.items()
            ]
        )
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        data = frame.write_csv(include_header=False, null_value="")
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(data.encode("utf-8"))
        return
    columns = ", ".join(f'"{c}"' for c in [*frame.columns, *constants])
    marks = "(" + ", ".join(["?"] * frame.width + [sql_literal(v) for v in constants.values()])
    marks += ")"
    bools = [c for c, t in frame.schema.items() if t == pl.Boolean]
    if bools:
        frame = frame.with_columns(pl.col(bools).cast(pl.Int8))
    raw = cursor.cursor
    # Many rows per statement: SQLite opens and closes a cursor on the table and on each
    # of its indexes for every statement, which costs as much as the row for narrow rows.
    # 999 parameters is the smallest limit any SQLite build has.
    per = max(1, min(ROWS_PER_STATEMENT, 999 // max(frame.width, 1)))
    head = f"INSERT INTO {table} ({columns}) VALUES "
    full = head + ", ".join([marks] * per)
    rows = frame.iter_rows()
    execute = sqlite3.Cursor.execute  # the driver's own: no "%s" → "?" rewrite per call
    while batch := list(islice(rows, per)):
        params = [value for row in batch for value in row]
        if len(batch) == per:
            execute(raw, full, params)
        else:
            execute(raw, head + ", ".join([marks] * len(batch)), params)


def temp_table(cursor: CursorWrapper, name: str, columns: dict[str, str]) -> None:
    """A temporary table, dropped at commit (PostgreSQL) or replaced (SQLite)."""
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    types = {"int": "bigint", "text": "text", "time": "timestamptz", "num": "numeric"}
    if not is_postgres():
        types = {"int": "integer", "text": "text", "time": "text", "num": "numeric"}
    ddl = ", ".join(f'"{c}" {types[t]}' for c, t in columns.items())
    suffix = " ON COMMIT DROP" if is_postgres() else ""
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({ddl}){suffix}")


# --- foreign keys, checked per chunk on PostgreSQL -------------------------------------

# The tables an import chunk writes rows into (accounts are made before, row by row).
WRITTEN: tuple[type[models.Model], ...] = (Lead, StageChange, Submission, CampaignMember)


@dataclass(frozen=True)
class Reference:
    table: str
    column: str
    parent: str
    parent_column: str
    nullable: bool


def references(model: type[models.Model]) -> list[Reference]:
    """The foreign keys the database enforces on `model`'s table."""
    return [
        Reference(
            model._meta.db_table,
            str(field.column),
            field.related_model._meta.db_table,  # type: ignore[union-attr]
            str(field.target_field.column),  # type: ignore[attr-defined]
            field.null,
        )
        for field in model._meta.concrete_fields
        if field.is_relation and getattr(field, "db_constraint", False)
    ]


def may_skip_row_triggers() -> bool:
    """Whether this PostgreSQL role may set `session_replication_role` (a superuser, or
    granted `SET ON PARAMETER session_replication_role`, PostgreSQL 15+)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
        row = cursor.fetchone()
    return bool(row and row[0])


@contextmanager
def references_checked_per_chunk(updated_leads: Sequence[int] = ()) -> Iterator[None]:
    """PostgreSQL: the foreign keys of the rows written inside are checked once per key
    and chunk, set-based, instead of by a trigger per row at commit.

    Django declares foreign keys DEFERRABLE INITIALLY DEFERRED; a million-row import
    queues about seven million of those per-row checks, a third of its time. Inside this
    block the row triggers are off (`session_replication_role = replica`, for this
    transaction only). After it, each key of each written table is checked for the rows
    written (ids above the table's top before the block, and `updated_leads`): its
    parents are locked FOR KEY SHARE, as the trigger would, and one that is missing
    raises IntegrityError, which rolls the chunk back. Lead parents are not locked
    again: a chunk's leads are new in this transaction or already locked FOR UPDATE
    (fetch_existing). Anything else, or a role without the privilege: plain triggers.
    """
    if not is_postgres() or not may_skip_row_triggers():
        yield
        return
    tables = {model._meta.db_table for model in WRITTEN}
    with connection.cursor() as cursor:
        tops = {}
        for table in sorted(tables):
            cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {table}")
            (tops[table],) = cursor.fetchone()  # type: ignore[misc]
        cursor.execute("SET LOCAL session_replication_role = replica")
    # On an error the transaction (or savepoint) rolls back, and the setting with it.
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        for model in WRITTEN:
            table = model._meta.db_table
            _check_references(cursor, references(model), tops[table], list(updated_leads))


def _check_references(
    cursor: CursorWrapper, refs: list[Reference], top: int, updated: list[int]
) -> None:
    """The keys of one table's rows written since `top` (and of the `updated` leads).

    Shaped so that the plans stay linear while the statistics still describe the tables
    as they were before the import: the rows are found by id (no `IS NOT NULL` to tempt
    the planner into a key's own index), parents by index probes or a hash, never a long
    `= ANY(array)` as a filter. One pass over the rows collects every other key."""
    if not refs:
        return
    table = refs[0].table
    sources: list[tuple[str, list[Any]]] = [(f"{table} c WHERE c.id > {int(top)}", [])]
    if table == LEAD and updated:
        sources.append((f"unnest(%s::bigint[]) AS u (id) JOIN {LEAD} c ON c.id = u.id", [updated]))
    others = [ref for ref in refs if ref.parent != LEAD]
    for rows, params in sources:
        where = " AND" if " WHERE " in rows else " WHERE"
        for ref in refs:
            if ref.parent == LEAD:
                named = f" AND c.{ref.column} IS NOT NULL" if ref.nullable else ""
                cursor.execute(
                    f"SELECT c.{ref.column} FROM {rows}{where} NOT EXISTS (SELECT 1 FROM {LEAD}"
                    f" p WHERE p.{ref.parent_column} = c.{ref.column}){named} LIMIT 1",
                    params,
                )
                _refuse(ref, [row[0] for row in cursor.fetchall()])
        if not others:
            continue
        collect = ", ".join(f"array_agg(DISTINCT c.{ref.column})" for ref in others)
        cursor.execute(f"SELECT {collect} FROM {rows}", params)
        for ref, values in zip(others, cursor.fetchone() or (), strict=True):
            wanted = sorted(v for v in values or () if v is not None)
            cursor.execute(
                f"SELECT p.{ref.parent_column} FROM unnest(%s::bigint[]) AS w (id)"
                f" JOIN {ref.parent} p ON p.{ref.parent_column} = w.id"
                f" ORDER BY 1 FOR KEY SHARE OF p",
                [wanted],
            )
            _refuse(ref, sorted(set(wanted) - {row[0] for row in cursor.fetchall()}))


def _refuse(ref: Reference, missing: list[Any]) -> None:
    if missing:
        raise IntegrityError(
            f'insert or update on table "{ref.table}" violates foreign key "{ref.column}":'
            f' key ({ref.column})=({missing[0]}) is not present in table "{ref.parent}"'
        )


# --- reads -------------------------------------------------------------------------------


def fetch_existing(
    emails: list[str], external_ids: list[str], ids: Sequence[int] = ()
) -> pl.DataFrame:
    """The stored leads holding any of these emails or external ids, or with these ids
    (locked on PostgreSQL)."""
    columns = list(EXISTING_COLUMNS)
    select = ", ".join(_raw_column(c) for c in columns)
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for column, values in (("email", emails), ("external_id", external_ids), ("id", ids)):
            if not values:
                continue
            clause, params = _in_list(values)
            # Locked in id order, as merges and event batches lock leads: no deadlocks.
            lock = " ORDER BY l.id FOR UPDATE" if is_postgres() else ""
            cursor.execute(f"SELECT {select} FROM {LEAD} l WHERE l.{column} {clause}{lock}", params)
            rows.extend(cursor.fetchall())
    schema = {**EXISTING_COLUMNS, "arrived_at": pl.String(), "budget": pl.Float64()}
    if is_postgres():
        schema["arrived_at"] = EXISTING_COLUMNS["arrived_at"]
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    if not is_postgres():
        frame = frame.with_columns(
            pl.col("arrived_at").str.to_datetime(
                "%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", time_unit="us"
            )
        )
    frame = frame.unique("id", keep="first", maintain_order=True)
    # Empty text is "no value" for the merge: the file's value, or nothing, wins.
    return frame.with_columns(
        [pl.col(c).replace("", None) for c in LEAD_TEXT],
    )


def freed_emails() -> pl.Series:
    """Every address a merge took from a lead and that still leads to its survivor."""
    emails = (
        MergeRecord.objects.filter(status=MergeStatus.APPLIED, freed_email__isnull=False)
        .values_list("freed_email", flat=True)
        .distinct()
    )
    return pl.Series("email", list(emails), dtype=pl.String)


def with_survivors(existing: pl.DataFrame, emails: pl.Series, freed: pl.Series) -> pl.DataFrame:
    """`existing` plus, for each of `emails` no stored lead holds but a merge freed, the
    lead it was merged into, under that address: the row updates the survivor instead of
    making the merged-away person a new lead (as capture_lead does)."""
    if freed.is_empty():
        return existing
    stored = existing["email"].drop_nulls()
    wanted = emails.filter(emails.is_in(freed.implode()) & ~emails.is_in(stored.implode()))
    survivors = leads_for_freed_emails(wanted.unique().to_list())
    # A survivor the chunk already names by its own address keeps that one row.
    taken = set(existing["id"].to_list())
    chosen: dict[int, str] = {}
    for email, lead_id in sorted(survivors.items()):
        if lead_id not in taken:
            chosen.setdefault(lead_id, email)
    if not chosen:
        return existing
    found = fetch_existing([], [], ids=list(chosen)).with_columns(
        pl.col("id").replace_strict(chosen, return_dtype=pl.String).alias("email")
    )
    return pl.concat([existing, found.select(existing.columns)])


def _raw_column(column: str) -> str:
    """A column as the driver hands it over without a Python converter per value: the
    budget as a float; on SQLite the arrival as its text (Polars parses it, in bulk)."""
    if column == "budget":
        return "CAST(l.budget AS double precision)" if is_postgres() else "CAST(l.budget AS REAL)"
    if column == "arrived_at" and not is_postgres():
        return "CAST(l.arrived_at AS TEXT)"
    return f"l.{column}"


ACCOUNT_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "domain": pl.String(),
    "is_marquee": pl.Boolean(),
    "employees": pl.Int64(),
    "owner_id": pl.Int64(),
    "owner_team_id": pl.Int64(),
    "owner_is_active": pl.Boolean(),
}


def fetch_accounts(*, ids: Iterable[int] = (), domains: Iterable[str] = ()) -> pl.DataFrame:
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for column, values in (("id", list(ids)), ("domain", list(domains))):
            if not values:
                continue
            clause, params = _in_list(values)
            cursor.execute(
                f"SELECT a.id, a.domain, a.is_marquee, a.employees, a.owner_id, u.team_id,"
                f" u.is_active FROM {ACCOUNT} a LEFT JOIN users_user u ON u.id = a.owner_id"
                f" WHERE a.{column} {clause}",
                params,
            )
            rows.extend(cursor.fetchall())
    frame = pl.DataFrame(
        [(r[0], r[1], bool(r[2]), *r[3:6], None if r[6] is None else bool(r[6])) for r in rows],
        schema=ACCOUNT_COLUMNS,
        orient="row",
    )
    return frame.unique("id", keep="first", maintain_order=True)


def ensure_accounts(wanted: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """Accounts for these domains (columns domain, name), created when missing."""
    if wanted.is_empty():
        return pl.DataFrame(schema=ACCOUNT_COLUMNS)
    domains = wanted["domain"].to_list()
    found = fetch_accounts(domains=domains)
    missing = wanted.join(found.select("domain"), on="domain", how="anti")
    if missing.height:
        with connection.cursor() as cursor:
            temp_table(cursor, "import_account", {"name": "text", "domain": "text"})
            load(cursor, "import_account", missing.select("name", "domain"))
            cursor.execute(
                f"INSERT INTO {ACCOUNT} (name, domain, industry, employees, is_marquee,"
                f" owner_id, created_at) SELECT name, domain, '', NULL, %s, NULL, %s"
                f" FROM import_account WHERE true ON CONFLICT (domain) DO NOTHING",
                [False, db_now(now)],
            )
        found = pl.concat([found, fetch_accounts(domains=missing["domain"].to_list())])
    return found


class AccountBook:
    """The accounts an import has looked up or created so far, so that each chunk asks
    the database only for the domains and ids it has not seen yet (a file's companies
    come back chunk after chunk). An account changed by someone else during the import
    is seen as it was when first read. After a chunk rolls back, the accounts it created
    are forgotten with it."""

    def __init__(self) -> None:
        self.frame = pl.DataFrame(schema=ACCOUNT_COLUMNS)
        self._committed = 0

    def for_domains(self, wanted: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
        """Accounts for these domains (columns domain, name), created when missing."""
        missing = wanted.join(self.frame.select("domain"), on="domain", how="anti")
        if missing.height:
            self._add(ensure_accounts(missing, now=now))
        return self.frame.join(wanted.select("domain"), on="domain", how="semi")

    def for_ids(self, ids: list[int]) -> pl.DataFrame:
        wanted = pl.Series("id", ids, dtype=pl.Int64)
        missing = wanted.filter(~wanted.is_in(self.frame["id"].implode()))
        if missing.len():
            self._add(fetch_accounts(ids=missing.to_list()))
        return self.frame.filter(pl.col("id").is_in(wanted.implode()))

    def _add(self, found: pl.DataFrame) -> None:
        self.frame = pl.concat([self.frame, found]).unique("id", keep="first", maintain_order=True)

    def commit(self) -> None:
        self._committed = self.frame.height

    def rollback(self) -> None:
        self.frame = self.frame.head(self._committed)


def next_lead_ids(count: int) -> list[int]:
    """Ids for new leads, taken before the insert so every row written with them can be
    built at once. SQLite: the write lock is held (IMMEDIATE transactions); PostgreSQL:
    the ids come from the table's own sequence."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        if is_postgres():
            # One array rather than a row per id: a third less time for 175,000 ids.
            cursor.execute(
                f"SELECT array_agg(nextval(pg_get_serial_sequence('{LEAD}', 'id')))"
                " FROM generate_series(1, %s)",
                [count],
            )
            row = cursor.fetchone()
            return list(row[0]) if row else []
        cursor.execute(
            f"SELECT max(seq) FROM (SELECT max(id) AS seq FROM {LEAD} UNION ALL"
            f" SELECT seq FROM sqlite_sequence WHERE name = '{LEAD}')"
        )
        (top,) = cursor.fetchone() or (0,)
        start = (top or 0) + 1
        return list(range(start, start + count))


# --- routing -------------------------------------------------------------------------------


def assign_in_bulk(leads: pl.DataFrame, *, now: datetime) -> pl.DataFrame:
    """Team, owner and SLA deadline of each lead becoming sales-ready, decided by
    routing.services.route_leads in the frame's order (which locks the teams and moves
    their round-robin pointers).

    `leads` has: id, team_id (own), country, owner_id, owner_team_id, owner_is_active
    (of its account). Returns id, team_id, owner_id, sla_due_at."""
    schema = {
        "id": pl.Int64(),
        "team_id": pl.Int64(),
        "owner_id": pl.Int64(),
        "sla_due_at": pl.Datetime("us", "UTC"),
    }
    routes = route_leads(
        [
            Routable(lead_id, team_id, country or "", owner_id, owner_team_id, bool(active))
            for lead_id, team_id, country, owner_id, owner_team_id, active in leads.select(
                "id", "team_id", "country", "owner_id", "owner_team_id", "owner_is_active"
            ).iter_rows()
        ],
        now=now,
    )
    return pl.DataFrame(
        [(lead_id, r.team_id, r.owner_id, r.sla_due_at) for lead_id, r in routes.items()],
        schema=schema,
        orient="row",
    )


# --- writes --------------------------------------------------------------------------------


def insert_leads(frame: pl.DataFrame, *, now: datetime) -> None:
    """New leads; `frame` holds some of the lead's columns, the rest take their defaults."""
    stamp = db_now(now)
    constants: dict[str, Any] = {}
    for model_field in Lead._meta.concrete_fields:
        column = str(model_field.column)
        if column in frame.columns:
            continue
        if column in ("created_at", "updated_at"):
            constants[column] = stamp
        elif model_field.has_default() or not model_field.null:
            default = model_field.get_default()
            constants[column] = json.dumps(default) if isinstance(default, dict | list) else default
        else:
            constants[column] = None
    with connection.cursor() as cursor:
        load(cursor, LEAD, frame, constants)


UPDATE_TYPES = {
    "id": "int",
    "email": "text",
    "external_id": "text",
    **{c: "text" for c in LEAD_TEXT},
    "employees": "int",
    "budget": "num",
    "account_id": "int",
    "arrived_at": "time",
    "fit_score": "int",
    "score": "int",
    "segment": "text",
    "to_stage": "text",
    "assigned": "int",
    "team_id": "int",
    "owner_id": "int",
    "assigned_at": "time",
    "sla_due_at": "time",
    "custom_fields": "text",
}


def update_leads(frame: pl.DataFrame, *, now: datetime, key: str = "email") -> None:
    """Stored leads with their merged values, new score, stage move and assignment.

    SQLite rewrites the entries of every index holding a column it is told to set, changed
    or not. So the key column is left out of the SET when it cannot change (matched by
    email, the email is the same), and the leads that neither move nor get assigned (most
    of them) are updated by a statement that does not touch stage, owner, team or clock.
    """
    if frame.is_empty():
        return
    stays = pl.col("to_stage").is_null() & (pl.col("assigned") != 1)
    with connection.cursor() as cursor:
        temp_table(cursor, "import_update", UPDATE_TYPES)
        load(cursor, "import_update", frame.select(list(UPDATE_TYPES)).sort(stays, "id"))
        for moving in (True, False):
            cursor.execute(
                f"UPDATE {LEAD} SET {', '.join(_update_sets(key, moving=moving))}"
                f" FROM import_update AS u WHERE {LEAD}.id = u.id AND"
                f" {'NOT' if moving else ''} (u.to_stage IS NULL AND u.assigned != 1)",
                [db_now(now)] * (2 if moving else 1),
            )


def _update_sets(key: str, *, moving: bool) -> list[str]:
    merge = (
        "{t}.custom_fields || u.custom_fields::jsonb"
        if is_postgres()
        else "json_patch({t}.custom_fields, u.custom_fields)"
    ).format(t=LEAD)
    plain = ["external_id"] if key == "email" else ["email", "external_id"]
    plain += [*LEAD_TEXT, "employees", "budget"]
    plain += ["arrived_at", "fit_score", "score", "segment"]
    sets = [f"{c} = u.{c}" for c in plain]
    sets += [
        f"account_id = COALESCE({LEAD}.account_id, u.account_id)",
        f"custom_fields = CASE WHEN u.custom_fields IS NULL THEN {LEAD}.custom_fields"
        f" ELSE {merge} END",
    ]
    if moving:
        routed = ["team_id", "owner_id", "assigned_at", "sla_due_at"]
        sets += [
            f"stage = COALESCE(u.to_stage, {LEAD}.stage)",
            f"stage_changed_at = CASE WHEN u.to_stage IS NULL THEN {LEAD}.stage_changed_at"
            " ELSE %s END",
            *[f"{c} = CASE WHEN u.assigned = 1 THEN u.{c} ELSE {LEAD}.{c} END" for c in routed],
            f"first_touch_at = CASE WHEN u.assigned = 1 THEN NULL ELSE {LEAD}.first_touch_at END",
            f"sla_breached_at = CASE WHEN u.assigned = 1 THEN NULL ELSE {LEAD}.sla_breached_at END",
        ]
    return [*sets, "updated_at = %s"]


def insert_rows(table: str, frame: pl.DataFrame, constants: dict[str, Any] | None = None) -> None:
    with connection.cursor() as cursor:
        load(cursor, table, frame, constants)


def insert_arrivals_and_moves(
    first_id: int, last_id: int, *, by_id: int | None, now: datetime
) -> None:
    """The history of new leads with ids first_id..last_id (SQLite: one contiguous range),
    written by the database from the rows just inserted: no value goes through Python."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {STAGE_CHANGE} (lead_id, from_stage, to_stage, changed_at,"
            f" changed_by_id, reason) SELECT id, '', 'new', arrived_at, %s,"
            f" 'captured via import' FROM {LEAD} WHERE id BETWEEN %s AND %s ORDER BY id",
            [by_id, first_id, last_id],
        )
        cursor.execute(
            f"INSERT INTO {STAGE_CHANGE} (lead_id, from_stage, to_stage, changed_at,"
            f" changed_by_id, reason) SELECT id, 'new', stage, %s, %s, 'score ' || score ||"
            f" CASE WHEN stage = 'disqualified' THEN ': not a fit' ELSE '' END"
            f" FROM {LEAD} WHERE id BETWEEN %s AND %s AND stage != 'new' ORDER BY id",
            [db_now(now), by_id, first_id, last_id],
        )


def forget_match_keys(lead_ids: Sequence[int]) -> None:
    """Drop the duplicate-match keys of leads whose phone, name or company changed: the
    duplicate sweep (identity.dedup.scan_duplicates) keys and checks them again."""
    if not lead_ids:
        return
    clause, params = _in_list(lead_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {MATCH_KEYS} WHERE lead_id {clause}", params)


def upsert_members(frame: pl.DataFrame, *, now: datetime) -> None:
    """Campaign memberships; an existing one's status only ever moves forward."""
    if frame.is_empty():
        return
    rank = " ".join(f"WHEN '{status}' THEN {n}" for status, n in MEMBER_STATUS_RANK.items())
    with connection.cursor() as cursor:
        temp_table(
            cursor,
            "import_member",
            {"campaign_id": "int", "lead_id": "int", "status": "text", "joined_at": "time"},
        )
        load(cursor, "import_member", frame.select("campaign_id", "lead_id", "status", "joined_at"))
        cursor.execute(
            f"INSERT INTO {MEMBER} (campaign_id, lead_id, status, joined_at, updated_at)"
            f" SELECT campaign_id, lead_id, status, joined_at, %s FROM import_member WHERE true"
            f" ON CONFLICT (campaign_id, lead_id) DO UPDATE SET status = excluded.status,"
            f" updated_at = excluded.updated_at"
            f" WHERE (CASE excluded.status {rank} ELSE 0 END)"
            f" > (CASE {MEMBER}.status {rank} ELSE 0 END)",
            [db_now(now)],
        )
