"""Set-based writing for the bulk paths (imports, batches): rows go in with `executemany`
many rows per statement on SQLite, with COPY from CSV that Polars writes on PostgreSQL (no
Python object per value), and updates through a temporary table and one `UPDATE … FROM`
(SQLite ≥ 3.33 and PostgreSQL both have it). Generic helpers: which table they write is
the caller's business, and only the app owning a table calls them for it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import polars as pl
from django.db import connection
from django.db.backends.utils import CursorWrapper

ROWS_PER_STATEMENT = 64


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


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


def in_list(values: Sequence[Any]) -> tuple[str, list[Any]]:
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


# Rows per chunk of read_frame: one text value of a few megabytes each.
READ_CHUNK = 50_000


def read_frame(
    columns: dict[str, tuple[str, pl.DataType]], source: str, *, key: str, where: str = "1 = 1"
) -> pl.DataFrame:
    """`SELECT <expressions> FROM <source> WHERE <where>` as a frame whose columns are the
    keys of `columns` (each an SQL expression and its type), without a Python object per
    value or per row: the database writes each chunk of READ_CHUNK rows (by the integer
    column `key`) as one text of CSV lines, and Polars parses them. Through the DB-API
    cursor a million rows were a million tuples of Python objects; COPY … TO STDOUT is
    still one Python call per row in psycopg, and JSON per row costs the database more
    than plain text.

    Text is quoted (an empty text stays empty, NULL is an empty field); floats are
    written exactly (PostgreSQL's shortest exact form, SQLite's printf with 17 digits:
    its own text and JSON keep 15, and 0.1 + 0.2 came back as 0.3). Types: text,
    integers, floats, and datetimes written as text by the expression ("YYYY-MM-DD
    HH:MM:SS[.ffffff]", UTC; `datetime_text`), parsed here. Rows come in no order."""
    postgres = is_postgres()
    fields = []
    for expression, dtype in columns.values():
        if dtype == pl.String:
            text = f"""'"' || REPLACE({expression}, '"', '""') || '"'"""
        elif dtype == pl.Float64 and not postgres:
            text = (
                f"CASE WHEN ({expression}) IS NULL THEN NULL"
                f" ELSE printf('%!.17g', {expression}) END"
            )
        else:
            text = f"CAST({expression} AS TEXT)"
        fields.append(f"COALESCE({text}, '')")
    line = " || ',' || ".join(fields)
    lines = f"string_agg({line}, E'\\n')" if postgres else f"group_concat({line}, char(10))"
    schema = {
        name: pl.String() if isinstance(dtype, pl.Datetime) else dtype
        for name, (_, dtype) in columns.items()
    }
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min({key}), max({key}) FROM {source} WHERE {where}")
        low, high = cursor.fetchone() or (None, None)
        if low is not None and high is not None:
            for start in range(int(low), int(high) + 1, READ_CHUNK):
                cursor.execute(
                    f"SELECT {lines} FROM {source} WHERE {where}"
                    f" AND {key} >= {start} AND {key} < {start + READ_CHUNK}"
                )
                (written,) = cursor.fetchone() or (None,)
                if written:
                    chunks.append(written.encode())
    if not chunks:
        return pl.DataFrame(schema=schema)
    frame = pl.read_csv(b"\n".join(chunks), has_header=False, schema=schema)
    times = [name for name, (_, dtype) in columns.items() if isinstance(dtype, pl.Datetime)]
    return frame.with_columns(
        [
            pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", time_unit="us")
            for name in times
        ]
    )


def datetime_text(column: str) -> str:
    """A datetime column as the text read_frame parses (UTC)."""
    if is_postgres():
        return f"CAST({column} AT TIME ZONE 'UTC' AS TEXT)"
    return column
