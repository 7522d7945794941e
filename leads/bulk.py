"""Set-based writes of the core tables, for the bulk paths (imports, batches of events):
leads, their stage changes, campaign memberships and accounts. The one-lead writes are in
`leads.services`; both keep the same rules (a stage change per move, a membership status
only moving forward), these for many rows in a few statements. Everything here runs
inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from django.db import connection
from django.db.models import Field

from .models import Account, CampaignMember, Lead, StageChange
from .services import MEMBER_STATUS_RANK
from .sql import db_now, in_list, is_postgres, load, temp_table

LEAD = Lead._meta.db_table
ACCOUNT = Account._meta.db_table
MEMBER = CampaignMember._meta.db_table
STAGE_CHANGE = StageChange._meta.db_table
# The lead's text columns a bulk write sets.
LEAD_TEXT = (
    "first_name", "last_name", "phone", "title", "company_name", "country", "industry",
    "need", "authority", "timeline",
)  # fmt: skip


# --- accounts ------------------------------------------------------------------------------


ACCOUNT_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "domain": pl.String(),
    "is_marquee": pl.Boolean(),
    "employees": pl.Int64(),
    "owner_id": pl.Int64(),
    "owner_team_id": pl.Int64(),
    "owner_is_active": pl.Boolean(),
    # What a scoring rule on an account field reads (account.name, account.industry).
    "name": pl.String(),
    "industry": pl.String(),
}


def fetch_accounts(*, ids: Iterable[int] = (), domains: Iterable[str] = ()) -> pl.DataFrame:
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for column, values in (("id", list(ids)), ("domain", list(domains))):
            if not values:
                continue
            clause, params = in_list(values)
            cursor.execute(
                f"SELECT a.id, a.domain, a.is_marquee, a.employees, a.owner_id, u.team_id,"
                f" u.is_active, a.name, a.industry FROM {ACCOUNT} a LEFT JOIN users_user u ON u.id = a.owner_id"
                f" WHERE a.{column} {clause}",
                params,
            )
            rows.extend(cursor.fetchall())
    frame = pl.DataFrame(
        [
            (r[0], r[1], bool(r[2]), *r[3:6], None if r[6] is None else bool(r[6]), *r[7:9])
            for r in rows
        ],
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


# --- leads ---------------------------------------------------------------------------------


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
    "engagement_score": "int",
    "score": "int",
    "segment": "text",
    "grade": "text",
    "score_reasons": "text",
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
    plain += ["arrived_at", "fit_score", "engagement_score", "score", "segment", "grade"]
    sets = [f"{c} = u.{c}" for c in plain]
    sets.append(
        "score_reasons = CAST(u.score_reasons AS jsonb)"
        if is_postgres()
        else "score_reasons = u.score_reasons"
    )
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


def update_columns(leads: Sequence[Lead], fields: Sequence[str], *, batch_size: int = 1000) -> None:
    """Write `fields` of each lead as the objects hold them, one UPDATE … FROM (VALUES …)
    per `batch_size` leads (SQLite 3.33+ and PostgreSQL both have it). bulk_update's CASE
    WHEN per row and column made a batch of 1000 leads slower than one UPDATE per lead.
    Not the stage: that moves only with its history (leads.services)."""
    if "stage" in fields:
        raise ValueError("a lead's stage moves only through transition_lead / move_leads")
    for start in range(0, len(leads), batch_size):
        _update_batch(leads[start : start + batch_size], fields)


def _update_batch(leads: Sequence[Lead], fields: Sequence[str]) -> None:
    if not leads:
        return
    table = connection.ops.quote_name(LEAD)
    key, *columns = (_column(name) for name in ("id", *fields))
    # VALUES names its columns column1, column2 … in both; the casts type PostgreSQL's.
    row = "(" + ", ".join(f"CAST(%s AS {db_type})" for _, db_type in (key, *columns)) + ")"
    sets = ", ".join(f"{name} = v.column{n}" for n, (name, _) in enumerate(columns, start=2))
    # As the database stores them: a JSON field's value as JSON, not a Python list.
    prepare = [Lead._meta.get_field(f).get_db_prep_save for f in fields]  # type: ignore[union-attr]
    params: list[Any] = [
        value
        for lead in leads
        for value in (
            lead.pk,
            *(prep(getattr(lead, f), connection) for prep, f in zip(prepare, fields, strict=True)),
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row] * len(leads))}) AS v"
            f" WHERE {table}.{key[0]} = v.column1",
            params,
        )


def _column(name: str) -> tuple[str, str]:
    """A Lead field's quoted column name and database type."""
    field = Lead._meta.get_field(name)
    assert isinstance(field, Field)
    return connection.ops.quote_name(field.column or name), str(field.db_type(connection))


# --- history and memberships ----------------------------------------------------------------


def insert_stage_changes(frame: pl.DataFrame, constants: dict[str, Any] | None = None) -> None:
    """Stage changes, a row of `frame` each (columns named as the table's), `constants`
    the columns with one value for all. The bulk twin of transition_lead's history row:
    the caller has checked each move against the lifecycle and holds the leads."""
    with connection.cursor() as cursor:
        load(cursor, STAGE_CHANGE, frame, constants)


def insert_arrivals_and_moves(
    first_id: int,
    last_id: int,
    *,
    by_id: int | None,
    now: datetime,
    arrival_reason: str,
    move_reason_sql: str,
) -> None:
    """The history of new leads with ids first_id..last_id (SQLite: one contiguous range),
    written by the database from the rows just inserted: no value goes through Python.

    Each lead arrives (from nothing to `new`, at its arrival, for `arrival_reason`) and,
    when it was inserted in another stage, moves there now; `move_reason_sql` is the SQL
    expression of why, over the lead's columns (qualify.vectorised.move_reason_sql)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {STAGE_CHANGE} (lead_id, from_stage, to_stage, changed_at,"
            f" changed_by_id, reason) SELECT id, '', 'new', arrived_at, %s, %s"
            f" FROM {LEAD} WHERE id BETWEEN %s AND %s ORDER BY id",
            [by_id, arrival_reason, first_id, last_id],
        )
        cursor.execute(
            f"INSERT INTO {STAGE_CHANGE} (lead_id, from_stage, to_stage, changed_at,"
            f" changed_by_id, reason) SELECT id, 'new', stage, %s, %s, {move_reason_sql}"
            f" FROM {LEAD} WHERE id BETWEEN %s AND %s AND stage != 'new' ORDER BY id",
            [db_now(now), by_id, first_id, last_id],
        )


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


SCORE_TYPES = {
    "id": "int",
    "engagement_score": "int",
    "fit_score": "int",
    "score": "int",
    "segment": "text",
    "grade": "text",
    "score_reasons": "text",
    "old_score": "int",
    "old_engagement": "int",
}


def update_scores(frame: pl.DataFrame) -> int:
    """New scores of many leads (qualify's rescoring after a model change): engagement,
    fit, score, segment, grade and reasons (JSON text). A lead whose score or engagement
    changed since `old_score` / `old_engagement` were read (an event rescored it
    meanwhile, with the same model) is left as it is. How many were written."""
    if frame.is_empty():
        return 0
    reasons = "CAST(u.score_reasons AS jsonb)" if is_postgres() else "u.score_reasons"
    with connection.cursor() as cursor:
        temp_table(cursor, "score_update", SCORE_TYPES)
        load(cursor, "score_update", frame.select(list(SCORE_TYPES)))
        cursor.execute(
            f"UPDATE {LEAD} SET engagement_score = u.engagement_score,"
            " fit_score = u.fit_score, score = u.score, segment = u.segment,"
            f" grade = u.grade, score_reasons = {reasons}"
            f" FROM score_update AS u WHERE {LEAD}.id = u.id"
            f" AND {LEAD}.score = u.old_score AND {LEAD}.engagement_score = u.old_engagement"
        )
        return int(cursor.rowcount or 0)
