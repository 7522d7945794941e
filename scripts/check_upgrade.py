"""Does a database seeded by an older Leadloop migrate to this checkout without losing a row?

    .venv/bin/python scripts/check_upgrade.py [--base 5d1fa37] [--leads 3000] [--keep]
    make check-upgrade [BASE=5d1fa37]

1. A temporary git worktree of BASE next to this checkout (read only; removed at the end).
2. The OLD code (that worktree, on this checkout's .venv) runs `leadloop migrate`,
   `createcachetable` and `seed_demo` into a temporary SQLite file, then fills what the
   demo leaves empty through its own doors: `leadloop import` of a small file (an import
   job and its submissions), a batch of events posted to the API with an Idempotency-Key,
   a merge of a likely duplicate on the web page, a group and a user holding permissions
   on those models, and an admin history entry about the import job.
3. Every table is counted and checksummed (its rows, sorted, hashed).
4. The CURRENT code runs `leadloop migrate`, `leadloop check --database default`, and reads
   every row of every model through today's models (`leadloop shell -c`), following
   each foreign key; then every table is counted and checksummed again.

A table that existed before must keep its rows exactly: same count, same checksum over
the columns it had (a renamed table counts when its rows are all there). Three of
Django's bookkeeping tables may gain rows but keep all they had: django_migrations,
auth_permission and django_content_type, whose rows may name a new app when the model
behind the row moved there (the row's id, and so its permissions and admin history, must
stay with the model's table). New tables may appear. Prints a table of tables × rows
before and after, and a verdict; exits 1 on any loss.

With DATABASE_URL naming PostgreSQL, the same runs again in a fresh database on that
server (dropped afterwards; the database named is never touched).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE = "5d1fa37"
MARK = "UPGRADE-CHECK "
# Django's bookkeeping: rows may be added by a migration run, never lost or changed.
GROWING = {"django_migrations", "auth_permission"}
CONTENT_TYPES = "django_content_type"

# What the demo leaves empty, made through the old code's own doors. Tables are looked up
# by name, so the snippet runs whichever app owns them in that version.
OLD_EXTRAS = """
import json
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from io import StringIO

def model_of(table):
    return next(m for m in apps.get_models() if m._meta.db_table == table)

User = get_user_model()
admin = User.objects.get(username="admin")
marketing = User.objects.get(username="marketing")
job = model_of("capture_importjob").objects.get()

token = StringIO()
call_command("api_token", "marketing", stdout=token)
bearer = {"authorization": "Bearer " + token.getvalue().strip()}
client = Client()
# One person sent twice under two addresses: a likely duplicate (same phone and name).
for email in ("grace@upgrade.example", "g.hopper@upgrade.example"):
    person = {"email": email, "first_name": "Grace", "last_name": "Hopper",
              "company_name": "Upgrade GmbH", "phone": "+49 30 7654321", "country": "Germany"}
    answer = client.post("/api/v1/leads", data=json.dumps(person),
                         content_type="application/json", headers=bearer)
    assert answer.status_code == 201, answer.content
batch = {"events": [
    {"kind": "pricing_page_view", "occurred_at": timezone.now().isoformat(),
     "email": "grace@upgrade.example"},
    {"kind": "webinar_attended", "occurred_at": timezone.now().isoformat(),
     "email": "new.person@upgrade.example", "idempotency_key": "upgrade-check-event"},
]}
answer = client.post("/api/v1/events", data=json.dumps(batch), content_type="application/json",
                     headers={**bearer, "idempotency-key": "upgrade-check-batch"})
assert answer.status_code == 200, answer.content

candidate = model_of("capture_duplicatecandidate").objects.get(
    status="open", lead_b__email__in=["grace@upgrade.example", "g.hopper@upgrade.example"])
client.force_login(admin)
answer = client.post(f"/duplicates/{candidate.pk}/merge/", {"survivor": "first"})
assert answer.status_code == 302, answer.content

reviewers = Group.objects.create(name="Import reviewers")
reviewers.permissions.add(Permission.objects.get(codename="view_importjob"))
marketing.groups.add(reviewers)
marketing.user_permissions.add(Permission.objects.get(codename="change_mergerecord"))
LogEntry.objects.log_actions(admin.pk, [job], CHANGE, change_message="checked before the upgrade")
"""

# Reads every row of every model through the code that runs it, following each foreign
# key, and reports what the comparison needs. Runs on the old code and on the current.
READ_ALL = """
import json
import leadloop
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Q

models = []
for model in apps.get_models():
    meta = model._meta
    if meta.proxy or not meta.managed:
        continue
    joins = [f.name for f in meta.concrete_fields if f.is_relation]
    rows = sum(1 for _ in model._base_manager.select_related(*joins).iterator(chunk_size=2000))
    models.append([meta.app_label, meta.model_name, meta.db_table, rows])
connection.check_constraints()

permissions = {}
for user in get_user_model().objects.filter(
    Q(user_permissions__isnull=False) | Q(groups__isnull=False)
).distinct():
    held = user.get_all_permissions()
    permissions[user.get_username()] = sorted(
        [p.content_type_id, p.codename,
         f"{p.content_type.app_label}.{p.codename}" in held and p.content_type.model_class() is not None]
        for p in Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .distinct().select_related("content_type")
    )
history = sorted(
    [entry.pk, entry.content_type.model_class() is not None]
    for entry in LogEntry.objects.select_related("content_type")
)
print("UPGRADE-CHECK " + json.dumps({
    "code": leadloop.__file__, "models": models, "permissions": permissions, "history": history,
}))
"""


class CheckFailed(Exception):
    """A step of the check could not run (not a loss found: that is the verdict's job)."""


# --- databases ---------------------------------------------------------------------------


@dataclass
class Database:
    """A throwaway database: a SQLite file, or a fresh database on a PostgreSQL server."""

    label: str
    url: str

    def connect(self) -> Any:
        if self.url.startswith("sqlite:"):
            return sqlite3.connect(urlsplit(self.url).path)
        import psycopg

        return psycopg.connect(self.url)

    def tables(self, conn: Any) -> list[str]:
        if self.url.startswith("sqlite:"):
            sql = (
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        else:
            sql = (
                "SELECT table_name FROM information_schema.tables WHERE table_schema ="
                " current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        return [name for (name,) in conn.execute(sql).fetchall()]

    def columns(self, conn: Any, table: str) -> list[str]:
        cursor = conn.execute(f'SELECT * FROM "{table}" WHERE 1 = 0')
        return [column[0] for column in cursor.description]


@contextmanager
def databases(scratch: Path) -> Iterator[list[Database]]:
    """SQLite always; PostgreSQL too when DATABASE_URL names it."""
    found = [Database("SQLite (temporary file)", f"sqlite:///{scratch}/upgrade.sqlite3")]
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        yield found
        return
    import psycopg

    name = f"leadloop_upgrade_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    found.append(Database(f"PostgreSQL (fresh database {name})", url))
    try:
        yield found
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- snapshots ---------------------------------------------------------------------------


@dataclass
class Table:
    columns: list[str]
    count: int
    checksum: str
    # Kept for the bookkeeping tables only: they are compared row by row.
    rows: Counter[tuple[Any, ...]] = field(default_factory=Counter)


def read_table(conn: Any, table: str, columns: Sequence[str]) -> Table:
    select = ", ".join(f'"{column}"' for column in columns)
    rows = [tuple(row) for row in conn.execute(f'SELECT {select} FROM "{table}"').fetchall()]
    digest = hashlib.sha256()
    for text in sorted(repr(row) for row in rows):
        digest.update(text.encode())
        digest.update(b"\n")
    kept = Counter(rows) if table in GROWING or table == CONTENT_TYPES else Counter()
    return Table(list(columns), len(rows), digest.hexdigest()[:12], kept)


def snapshot(db: Database, before: dict[str, Table] | None = None) -> dict[str, Table]:
    """Every table; after the upgrade, the tables that existed before over their old columns."""
    with closing(db.connect()) as conn:
        tables = {}
        for table in db.tables(conn):
            columns = db.columns(conn, table)
            if before and table in before:
                missing = [c for c in before[table].columns if c not in columns]
                if missing:
                    tables[table] = Table(columns, -1, "columns gone: " + ", ".join(missing))
                    continue
                columns = before[table].columns
            tables[table] = read_table(conn, table, columns)
        return tables


def checksum_over(db: Database, table: str, columns: list[str]) -> Table | None:
    """A new table's rows over an old table's columns (None when it lacks one of them)."""
    with closing(db.connect()) as conn:
        if not set(columns) <= set(db.columns(conn, table)):
            return None
        return read_table(conn, table, columns)


# --- running Leadloop --------------------------------------------------------------------


def leadloop(code: Path, db: Database, data_dir: Path, *args: str) -> str:
    """Run `leadloop ARGS` of the checkout at `code` on `db`; returns its stdout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CACHE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS", "LEADLOOP_PRODUCTION"}
    }
    # PYTHONPATH first: the old worktree's packages, not this checkout's editable install.
    env |= {"DATABASE_URL": db.url, "LEADLOOP_DATA_DIR": str(data_dir), "PYTHONPATH": str(code)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, str(code / "manage.py"), *args],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CheckFailed(
            f"leadloop {' '.join(args)[:60]} ({code.name}) exited {done.returncode}:\n"
            + (done.stderr or done.stdout)[-3000:]
        )
    return done.stdout


def read_all(code: Path, db: Database, data_dir: Path) -> dict[str, Any]:
    out = leadloop(code, db, data_dir, "shell", "--no-imports", "-c", READ_ALL)
    line = next(line for line in out.splitlines() if line.startswith(MARK))
    report: dict[str, Any] = json.loads(line.removeprefix(MARK))
    if not Path(report["code"]).is_relative_to(code):
        raise CheckFailed(f"{code}: Python imported Leadloop from {report['code']}")
    return report


@contextmanager
def old_worktree(base: str, keep: bool) -> Iterator[Path]:
    path = ROOT.parent / f"{ROOT.name}-upgrade-from-{base[:12]}-{os.getpid()}"
    git("worktree", "add", "--detach", str(path), base)
    try:
        yield path
    finally:
        if keep:
            print(f"kept the old worktree at {path}")
        else:
            git("worktree", "remove", "--force", str(path))


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


# --- the comparison ----------------------------------------------------------------------


@dataclass
class Line:
    table: str
    before: int | None
    after: int | None
    note: str
    lost: bool = False


def renamed_tables(
    db: Database, before: dict[str, Table], after: dict[str, Table]
) -> dict[str, str]:
    """Old table → the new table holding exactly its rows (over its columns)."""
    renames: dict[str, str] = {}
    for table, then in sorted(before.items()):
        if table in after:
            continue
        for other in sorted(set(after) - set(before) - set(renames.values())):
            rows = checksum_over(db, other, then.columns)
            if rows and (rows.count, rows.checksum) == (then.count, then.checksum):
                renames[table] = other
                break
    return renames


def compare(
    db: Database,
    before: dict[str, Table],
    after: dict[str, Table],
    old: dict[str, Any],
    new: dict[str, Any],
) -> list[Line]:
    lines = []
    renames = renamed_tables(db, before, after)
    for table, then in sorted(before.items()):
        now = after.get(table)
        if now is None and table in renames:
            lines.append(Line(table, then.count, then.count, f"renamed {renames[table]}"))
        elif now is None:
            lines.append(Line(table, then.count, None, "TABLE GONE", lost=True))
        elif now.count < 0:
            lines.append(Line(table, then.count, None, now.checksum.upper(), lost=True))
        elif table == CONTENT_TYPES:
            lines.append(compare_content_types(then, now, old, new, renames))
        elif table in GROWING:
            gone = then.rows - now.rows
            note = f"{len(gone)} ROWS LOST OR CHANGED" if gone else "kept"
            if now.count > then.count:
                note += f", {now.count - then.count} added"
            lines.append(Line(table, then.count, now.count, note, lost=bool(gone)))
        elif (now.count, now.checksum) != (then.count, then.checksum):
            note = "ROWS LOST" if now.count < then.count else "ROWS CHANGED"
            lines.append(Line(table, then.count, now.count, note, lost=True))
        else:
            lines.append(Line(table, then.count, now.count, "same"))
    new_tables = sorted(set(after) - set(before) - set(renames.values()))
    return lines + [Line(table, None, after[table].count, "new") for table in new_tables]


def compare_content_types(
    then: Table, now: Table, old: dict[str, Any], new: dict[str, Any], renames: dict[str, str]
) -> Line:
    """Each old row keeps its id and names the model of the same table, in whatever app."""
    columns = then.columns
    old_rows = {row[columns.index("id")]: row for row in then.rows}
    new_rows = {row[columns.index("id")]: row for row in now.rows}
    table_then = {(app, model): renames.get(table, table) for app, model, table, _ in old["models"]}
    table_now = {(app, model): table for app, model, table, _ in new["models"]}
    label = [columns.index("app_label"), columns.index("model")]
    moved, broken = [], []
    for pk, row in sorted(old_rows.items()):
        name = f"{row[label[0]]}.{row[label[1]]}"
        key = (row[label[0]], row[label[1]])
        now_row = new_rows.get(pk)
        now_key = (now_row[label[0]], now_row[label[1]]) if now_row else None
        if now_key == key and (key not in table_then or table_now.get(key) == table_then[key]):
            continue
        if key in table_then and now_key and table_now.get(now_key) == table_then[key]:
            moved.append(f"{name} → {now_key[0]}.{now_key[1]} (id {pk}, table {table_then[key]})")
        else:
            broken.append(name)
    note = f"{len(broken)} NO LONGER NAME THEIR MODEL: {', '.join(broken)}" if broken else "kept"
    if now.count > then.count:
        note += f", {now.count - then.count} added"
    note += "".join(f"\nmoved with its model: {move}" for move in moved)
    return Line(CONTENT_TYPES, then.count, now.count, note, lost=bool(broken))


def compare_reads(
    before: dict[str, Table], after: dict[str, Table], old: dict[str, Any], new: dict[str, Any]
) -> list[str]:
    """What today's models read, against the tables; permissions and history kept."""
    problems = []
    for app, model, table, rows in new["models"]:
        if table in before and table in after and rows != after[table].count:
            problems.append(
                f"{app}.{model} reads {rows} of the {after[table].count} rows of {table}"
                " (a foreign key pointing nowhere?)"
            )
    for user, held in old["permissions"].items():
        then = {(ct, codename) for ct, codename, _ in held}
        now = {(ct, codename) for ct, codename, granted in new["permissions"].get(user, [])}
        granted = all(g for _, _, g in new["permissions"].get(user, []))
        if then - now or not granted:
            problems.append(
                f"{user}'s permissions changed: {held} → {new['permissions'].get(user)}"
            )
    dangling_then = {pk for pk, found in old["history"] if not found}
    dangling_now = {pk for pk, found in new["history"] if not found}
    if dangling_now - dangling_then:
        problems.append(f"admin history entries lost their model: {sorted(dangling_now)}")
    return problems


# --- the run -----------------------------------------------------------------------------


def timed(step: str, run: Any) -> Any:
    started = time.monotonic()
    result = run()
    print(f"  {step:<58} {time.monotonic() - started:6.1f} s", flush=True)
    return result


def check(db: Database, old_code: Path, base: str, leads: int, scratch: Path) -> bool:
    print(f"\n== {db.label}")
    data = scratch / db.label.split()[0].lower()
    data.mkdir()
    csv = data / "badges.csv"
    csv.write_text(
        "email,first_name,last_name,company_name,country,phone\n"
        "mira@upgrade.example,Mira,Kohl,Upgrade GmbH,Germany,+49 30 1234567\n"
        "li@upgrade.example,Li,Wei,Upgrade GmbH,Germany,\n"
        "not-an-email,Nobody,Known,Upgrade GmbH,France,\n"
    )
    cache = ("createcachetable",)
    timed(f"{base}: leadloop migrate", lambda: leadloop(old_code, db, data, "migrate", "-v0"))
    timed(f"{base}: leadloop createcachetable", lambda: leadloop(old_code, db, data, *cache))
    timed(
        f"{base}: leadloop seed_demo --leads {leads}",
        lambda: leadloop(old_code, db, data, "seed_demo", "--leads", str(leads)),
    )
    timed(
        f"{base}: leadloop import, API events, a merge, permissions",
        lambda: (
            leadloop(old_code, db, data, "import", str(csv), "--campaign", "Upgrade badges"),
            leadloop(old_code, db, data, "shell", "--no-imports", "-c", OLD_EXTRAS),
        ),
    )
    old = timed(f"{base}: read every row", lambda: read_all(old_code, db, data))
    before = timed("count and checksum every table", lambda: snapshot(db))

    migrated = timed("current: leadloop migrate", lambda: leadloop(ROOT, db, data, "migrate"))
    applied = [
        line.split()[1].removesuffix("...") for line in migrated.splitlines() if "Applying" in line
    ]
    timed(
        "current: leadloop check --database default",
        lambda: leadloop(ROOT, db, data, "check", "--database", "default"),
    )
    new = timed("current: read every row through today's models", lambda: read_all(ROOT, db, data))
    after = timed("count and checksum every table", lambda: snapshot(db, before))

    print(f"\n  {len(applied)} migrations applied: {', '.join(applied)}\n")
    lines = compare(db, before, after, old, new)
    moved = {table: f"{app}.{model}" for app, model, table, _ in new["models"]}
    width = max(len(line.table) + len(moved.get(line.table, "")) for line in lines) + 4
    print(f"  {'table (model today)':<{width}} {'before':>7} {'after':>7}  check")
    for line in lines:
        name = f"{line.table} ({moved[line.table]})" if line.table in moved else line.table
        before_rows = "" if line.before is None else str(line.before)
        after_rows = "" if line.after is None else str(line.after)
        note, *more = line.note.split("\n")
        print(f"  {name:<{width}} {before_rows:>7} {after_rows:>7}  {note}")
        for detail in more:
            print(f"  {'':<{width}} {'':>7} {'':>7}    {detail}")
    problems = [f"{line.table}: {line.note.splitlines()[0]}" for line in lines if line.lost]
    problems += compare_reads(before, after, old, new)
    rows = sum(line.before or 0 for line in lines)
    if problems:
        print(f"\n  LOSS: {len(problems)} problem(s)")
        for problem in problems:
            print(f"    - {problem}")
        return False
    print(
        f"\n  OK: all {rows} rows of the {len(before)} tables made by {base} are there;"
        f" today's models read every one (foreign keys followed);"
        f" {sum(len(p) for p in new['permissions'].values())} permissions held as before,"
        f" {len(new['history'])} admin history entries point at their models."
    )
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=DEFAULT_BASE, help="the old commit (default %(default)s)")
    parser.add_argument("--leads", type=int, default=3000, help="demo leads (at least 300)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the old worktree and the SQLite file (a PostgreSQL one is dropped)",
    )
    options = parser.parse_args()

    base = git("rev-parse", "--short", options.base)
    print(f"Upgrade check: {base} ({git('log', '-1', '--format=%s', base)[:70]})")
    print(f"          to   {git('rev-parse', '--short', 'HEAD')} and this working tree")
    if git("diff", base, "HEAD", "--stat", "--", "uv.lock"):
        print("NOTE: uv.lock differs since then; the old code runs on this checkout's .venv")
    scratch = Path(tempfile.mkdtemp(prefix="leadloop-upgrade-"))
    results = []
    try:
        with old_worktree(base, options.keep) as old_code, databases(scratch) as found:
            for db in found:
                results.append(check(db, old_code, base, options.leads, scratch))
    except CheckFailed as error:
        print(f"\nCould not run the check: {error}")
        return 2
    finally:
        if options.keep:
            print(f"kept the databases in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    verdict = "no row lost" if all(results) else "LOSS (see above)"
    print(f"\nVerdict: upgrading a database made by {base}: {verdict}.")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
