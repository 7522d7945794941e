"""A throwaway database for a benchmark, chosen BEFORE django.setup().

SQLite: a file in the scratch dir. PostgreSQL (DATABASE_URL given): a fresh database on
that server, dropped by `drop_scratch_database`; the given database is never touched.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit


def use_scratch_database(scratch: str, tag: str) -> str:
    """Point DATABASE_URL at a fresh database; returns a label for the report."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"leadloop_{tag}_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        os.environ["LEADLOOP_BENCH_DROP"] = url
        return f"PostgreSQL (fresh database {name})"
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    return "SQLite (WAL, synchronous=NORMAL) in a temp file"


def drop_scratch_database() -> None:
    """Drop the PostgreSQL database `use_scratch_database` made, if it made one."""
    url = os.environ.get("LEADLOOP_BENCH_DROP")
    if not url:
        return
    import psycopg
    from django.db import connections

    connections.close_all()
    name = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
