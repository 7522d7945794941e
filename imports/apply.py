"""Set-based reads of an import chunk (stored leads, freed addresses, accounts), the
connection's tuning for a run, the per-chunk check of foreign keys on PostgreSQL and the
chunk's routing: no per-row ORM calls. The chunk's writes go through the bulk services of
the apps that own the tables (`leads.bulk`, `capture.services.insert_submissions`,
`identity.dedup.forget_match_keys`, `qualify.services.insert_events`). Everything here runs inside the chunk's transaction,
opened by the service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from django.db import IntegrityError, connection, models
from django.db.backends.utils import CursorWrapper

from capture.models import Submission
from identity.choices import MergeStatus
from identity.dedup import leads_for_freed_emails
from identity.models import MergeRecord
from leads.bulk import ACCOUNT_COLUMNS, LEAD, LEAD_TEXT, ensure_accounts, fetch_accounts
from leads.models import CampaignMember, Lead, StageChange
from leads.sql import in_list, is_postgres
from qualify.models import Event
from routing.choices import AssignedHow
from routing.models import Assignment
from routing.rules import SlaPlan
from routing.services import (
    Handover,
    Routable,
    has_active_rules,
    record_assignments,
    route_leads,
)
from routing.sla import schedule_ladders

from .pipeline import EXISTING_COLUMNS


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


# --- foreign keys, checked per chunk on PostgreSQL -------------------------------------

# The tables an import chunk writes rows into (accounts are made before, row by row);
# routing's history through routing.services.record_assignments, engagement events from
# activity columns through qualify.services.insert_events.
WRITTEN: tuple[type[models.Model], ...] = (
    Lead,
    StageChange,
    Submission,
    CampaignMember,
    Assignment,
    Event,
)


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
            clause, params = in_list(values)
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
    if column == "custom_fields":
        return "CAST(l.custom_fields AS TEXT)"
    return f"l.{column}"


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


# --- routing -------------------------------------------------------------------------------


# The lead's columns the routing rules read, as the import's frame has them (routing.router
# .lead_facts names the same fields for one lead). Not in an import's frame, so empty
# for the rules there: account.name, account.industry, and campaigns other than the
# import's own.
ROUTING_FACTS = (
    "segment", "grade", "score", "fit_score", "industry", "employees", "title", "company_name",
    "source", "authority", "timeline", "budget", "email", "custom_fields", "is_marquee",
    "account.domain", "account.employees",
)  # fmt: skip


def _facts(row: dict[str, Any], campaign: str | None) -> dict[str, Any]:
    custom = row.get("custom_fields")
    if isinstance(custom, str):
        try:
            custom = json.loads(custom or "{}")
        except ValueError:
            custom = {}
    return {
        **{name: row.get(name) for name in ROUTING_FACTS if name in row},
        "country": row.get("country") or "",
        "grade": row.get("grade") or "",
        "campaign": [campaign] if campaign else [],
        "email_domain": (row.get("email") or "").rpartition("@")[2],
        "account.is_marquee": row.get("is_marquee"),
        "custom": custom if isinstance(custom, dict) else {},
    }


def assign_in_bulk(
    leads: pl.DataFrame, *, now: datetime, campaign: str | None = None
) -> pl.DataFrame:
    """Team, owner and SLA deadline of each lead becoming sales-ready, decided by
    routing.services.route_leads in the frame's order (which locks the teams and moves
    their round-robin pointers): the account owner, the routing rules on the columns of
    ROUTING_FACTS the frame has (and `campaign`, the import's), the country's team.

    `leads` has: id, team_id (own), country, owner_id, owner_team_id, owner_is_active
    (of its account), and any of ROUTING_FACTS (grade, segment and is_marquee also pick
    each lead's SLA policy). Returns id, team_id, owner_id, sla_due_at, how (AssignedHow),
    rule_id, rule_name, and the clock's ladder: policy_name, remind_at, reassign_at,
    recycle_at (record_routed schedules its rungs)."""
    schema = {
        "id": pl.Int64(),
        "team_id": pl.Int64(),
        "owner_id": pl.Int64(),
        "sla_due_at": pl.Datetime("us", "UTC"),
        "how": pl.String(),
        "rule_id": pl.Int64(),
        "rule_name": pl.String(),
        **LADDER_SCHEMA,
    }
    with_rules = has_active_rules()
    routes = route_leads(
        [
            Routable(
                row["id"],
                row["team_id"],
                row["country"] or "",
                row["owner_id"],
                row["owner_team_id"],
                bool(row["owner_is_active"]),
                facts=_facts(row, campaign) if with_rules else None,
                grade=row.get("grade") or "",
                segment=row.get("segment") or "",
                is_marquee=bool(row.get("is_marquee")),
            )
            for row in leads.iter_rows(named=True)
        ],
        now=now,
    )
    return pl.DataFrame(
        [
            (
                lead_id,
                r.team_id,
                r.owner_id,
                r.sla_due_at,
                str(r.how),
                r.rule_id,
                r.rule_name,
                *(_ladder(r.plan) if r.plan is not None else (None, None, None, None)),
            )
            for lead_id, r in routes.items()
        ],
        schema=schema,
        orient="row",
    )


LADDER_SCHEMA = {
    "policy_name": pl.String(),
    "remind_at": pl.Datetime("us", "UTC"),
    "reassign_at": pl.Datetime("us", "UTC"),
    "recycle_at": pl.Datetime("us", "UTC"),
}


def _ladder(plan: SlaPlan) -> tuple[str, datetime | None, datetime | None, datetime | None]:
    return plan.policy_name, plan.remind_at, plan.reassign_at, plan.recycle_at


def record_routed(leads: pl.DataFrame, *, now: datetime) -> int:
    """The history of the leads assign_in_bulk routed, written by routing (one INSERT per
    batch), and the rungs of their SLA ladders (reminder, reassignment, hand-back), as a
    lead routed alone gets them. `leads` has: id, from_owner_id, from_team_id (None for a
    new lead), to_owner_id, to_team_id, how, sla_due_at, the ladder's columns
    (LADDER_SCHEMA), and (if a rule decided) rule_id, rule_name."""
    if "policy_name" in leads.columns:
        schedule_ladders(
            {
                row["id"]: SlaPlan(
                    row["policy_name"],
                    row["sla_due_at"],
                    row["remind_at"],
                    row["reassign_at"],
                    row["recycle_at"],
                )
                for row in leads.filter(
                    pl.col("to_team_id").is_not_null() & pl.col("sla_due_at").is_not_null()
                ).iter_rows(named=True)
            }
        )
    columns = ("id", "to_owner_id", "to_team_id", "how", "from_owner_id", "from_team_id")
    extra = [c for c in ("rule_id", "rule_name") if c in leads.columns]
    handovers = (
        Handover(
            row["id"],
            row["to_owner_id"],
            row["to_team_id"],
            AssignedHow(row["how"]),
            row["from_owner_id"],
            row["from_team_id"],
            rule_name=row.get("rule_name") or "",
            rule_id=row.get("rule_id"),
        )
        for row in leads.select(*columns, *extra).iter_rows(named=True)
    )
    return record_assignments([h for h in handovers if h.changes_anything], now=now)


# --- writes --------------------------------------------------------------------------------
