"""50 smart lists over 1,000,000 leads: how long the lists sweep takes to compute their
members, beside the plain SQL of the same filters.

    .venv/bin/python bench/bench_lists.py [--leads 1000000]

SQLite: a throwaway file. With DATABASE_URL=postgres://… a fresh database on that server,
dropped at the end. `--leads` leads with varied country, grade, score, stage, segment, a
custom field and (half of them) an account; 5 campaigns with half the leads as members
(four statuses); about one event per two leads (email clicks, pricing-page views over
60 days). The 50 lists are 10 kinds of filter × 5 values: country and grade, score, stage
and segment, a custom field, campaign and status, a click in a window, the pricing page
twice in a window, the account's industry, an OR group, and countries outside a campaign.

- plain SQL: each filter hand-written, its lead ids written into an unindexed table
  (`INSERT … SELECT`): the floor for finding and writing the members;
- sweep, first fill: `nurture.lists.run_due` with every list empty;
- sweep again at the same moment: nothing changed (the cost of an idle sweep);
- sweep after 10,000 leads changed grade and score: the difference only;
- sweep 30 days later: the engagement windows have moved.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import drop_scratch_database, use_scratch_database

BASE = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
COUNTRIES = ("DE", "FR", "US", "GB", "ES")
STAGES = ("new", "nurturing", "mql", "recycled")
STATUSES = ("registered", "attended", "no-show", "responded")


def _case(expression: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE ({expression}) % {len(values)} {whens} END".replace("%", "%%")


def setup(leads: int) -> float:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    from leads.models import Account, Campaign, CampaignMember, Lead
    from qualify.models import Event

    accounts = [
        Account.objects.create(name=f"Account {n}", domain=f"a{n}.example", industry=f"Ind{n % 5}")
        for n in range(10)
    ]
    campaigns = [Campaign.objects.create(name=f"Camp{n}") for n in range(5)]
    started = time.perf_counter()
    postgres = connection.vendor == "postgresql"
    base = connection.ops.adapt_datetimefield_value(BASE)
    columns, expressions, params = [], [], []
    for field in [f for f in Lead._meta.concrete_fields if not f.primary_key]:
        columns.append(connection.ops.quote_name(str(field.column)))
        match field.name:
            case "email":
                expressions.append("'b' || n || '@bench.io'")
            case "country":
                expressions.append(_case("n", COUNTRIES))
            case "grade":
                expressions.append(_case("n / 5", ("A", "B", "C", "D")))
            case "score" | "fit_score":
                expressions.append("n %% 100")
            case "stage":
                expressions.append(_case("n / 3", STAGES))
            case "segment":
                expressions.append(_case("n / 7", ("nurture", "sales_ready", "nurture")))
            case "custom_fields":
                expressions.append(
                    "jsonb_build_object('state', 'S' || (n %% 50))"
                    if postgres
                    else "json_object('state', 'S' || (n %% 50))"
                )
            case "account":
                expressions.append(
                    f"CASE WHEN n %% 2 = 0 THEN {accounts[0].pk} + (n / 2) %% 10 ELSE NULL END"
                )
            case _:
                value = field.get_default()
                if value is None and not field.null:
                    value = BASE
                expressions.append("%s")
                params.append(field.get_db_prep_save(value, connection))
    source = (
        f"generate_series(1, {leads}) AS s(n)"
        if postgres
        else f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {leads})"
        " SELECT n FROM s)"
    )
    lead_table, event_table = Lead._meta.db_table, Event._meta.db_table
    days_ago = (
        "%s::timestamptz - ({}) * interval '1 day'"
        if postgres
        else "datetime(%s, '-' || ({}) || ' days')"
    )
    pricing = (
        "jsonb_build_object('url', 'https://x.io/pricing')"
        if postgres
        else "json_object('url', 'https://x.io/pricing')"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {lead_table} ({', '.join(columns)})"
            f" SELECT {', '.join(expressions)} FROM {source}",
            params,
        )
        cursor.execute(
            f"INSERT INTO {CampaignMember._meta.db_table} (campaign_id, lead_id, status,"
            " joined_at, updated_at)"
            f" SELECT {campaigns[0].pk} + id %% 5, id, {_case('id / 5', STATUSES)}, %s, %s"
            f" FROM {lead_table} WHERE id %% 10 < 5",
            [base, base],
        )
        at = days_ago.format("id %% 60")
        cursor.execute(
            f"INSERT INTO {event_table} (lead_id, kind, occurred_at, received_at, points,"
            " properties)"
            f" SELECT id, 'email_click', {at}, {at}, 4, '{{}}' FROM {lead_table}"
            " WHERE id %% 5 = 0",
            [base, base],
        )
        for shift in ("id %% 40", "id %% 40 + 1"):
            at = days_ago.format(shift)
            cursor.execute(
                f"INSERT INTO {event_table} (lead_id, kind, occurred_at, received_at, points,"
                " properties)"
                f" SELECT id, 'page_view', {at}, {at}, 1, {pricing} FROM {lead_table}"
                " WHERE id %% 7 = 0",
                [base, base],
            )
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def definitions() -> list[tuple[str, list[dict[str, Any]]]]:
    lists: list[tuple[str, list[dict[str, Any]]]] = []
    for i in range(5):
        c, c2 = COUNTRIES[i], COUNTRIES[(i + 1) % 5]
        lists += [
            (
                f"country {c} grade A",
                [
                    {"field": "country", "op": "is", "value": c},
                    {"field": "grade", "op": "is", "value": "A"},
                ],
            ),
            (f"score {20 * i + 10}+", [{"field": "score", "op": "at_least", "value": 20 * i + 10}]),
            (
                f"stage {STAGES[i % 4]} nurture ({i})",
                [
                    {"field": "stage", "op": "is", "value": STAGES[i % 4]},
                    {"field": "segment", "op": "is", "value": "nurture"},
                ],
            ),
            (f"state S{i}", [{"field": "custom.state", "op": "is", "value": f"S{i}"}]),
            (
                f"Camp{i} attended",
                [{"field": "campaign", "op": "is", "value": f"Camp{i}", "status": "attended"}],
            ),
            (
                f"clicked in {10 * (i + 1)} days",
                [{"field": "event", "kind": "email_click", "days": 10 * (i + 1)}],
            ),
            (
                f"pricing twice in {10 * (i + 1)} days",
                [
                    {
                        "field": "event",
                        "kind": "page_view",
                        "count": 2,
                        "days": 10 * (i + 1),
                        "property": {"name": "url", "op": "contains", "value": "/pricing"},
                    }
                ],
            ),
            (
                f"industry Ind{i}",
                [{"field": "account.industry", "op": "is", "value": f"Ind{i}"}],
            ),
            (
                f"grade B or score {90 - i}+",
                [
                    {
                        "any": [
                            {"field": "grade", "op": "is", "value": "B"},
                            {"field": "score", "op": "at_least", "value": 90 - i},
                        ]
                    }
                ],
            ),
            (
                f"{c} or {c2}, not Camp{i}",
                [
                    {"field": "country", "op": "in", "value": [c, c2]},
                    {"field": "campaign", "op": "is_not", "value": f"Camp{i}"},
                ],
            ),
        ]
    return lists


def plain_filters(vendor: str, now_param: Any) -> list[tuple[str, list[Any]]]:
    """The same 50 filters, hand-written, in the same order as `definitions`."""
    from leads.models import Campaign

    camp = dict(Campaign.objects.values_list("name", "pk"))
    postgres = vendor == "postgresql"
    state = (
        "l.custom_fields ->> 'state'" if postgres else "json_extract(l.custom_fields, '$.state')"
    )
    url = "e.properties ->> 'url'" if postgres else "json_extract(e.properties, '$.url')"
    out: list[tuple[str, list[Any]]] = []
    for i in range(5):
        c, c2 = COUNTRIES[i], COUNTRIES[(i + 1) % 5]
        since = now_param(timedelta(days=10 * (i + 1)))
        out += [
            (f"l.country = '{c}' AND l.grade = 'A'", []),
            (f"l.score >= {20 * i + 10}", []),
            (f"l.stage = '{STAGES[i % 4]}' AND l.segment = 'nurture'", []),
            (f"{state} = 'S{i}'", []),
            (
                "EXISTS (SELECT 1 FROM leads_campaignmember m WHERE m.lead_id = l.id"
                f" AND m.campaign_id = {camp[f'Camp{i}']} AND m.status = 'attended')",
                [],
            ),
            (
                "EXISTS (SELECT 1 FROM capture_event e WHERE e.lead_id = l.id"
                " AND e.kind = 'email_click' AND e.occurred_at > %s AND e.occurred_at <= %s)",
                [since, now_param(timedelta(0))],
            ),
            (
                "(SELECT count(*) FROM capture_event e WHERE e.lead_id = l.id"
                " AND e.kind = 'page_view' AND e.occurred_at > %s AND e.occurred_at <= %s"
                f" AND {url} LIKE '%%/pricing%%') >= 2",
                [since, now_param(timedelta(0))],
            ),
            (
                f"l.account_id IN (SELECT a.id FROM leads_account a WHERE a.industry = 'Ind{i}')",
                [],
            ),
            (f"(l.grade = 'B' OR l.score >= {90 - i})", []),
            (
                f"l.country IN ('{c}', '{c2}') AND NOT EXISTS (SELECT 1 FROM"
                " leads_campaignmember m WHERE m.lead_id = l.id"
                f" AND m.campaign_id = {camp[f'Camp{i}']})",
                [],
            ),
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="leadloop-lists-")
    os.environ["LEADLOOP_DATA_DIR"] = scratch
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadloop.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    label = use_scratch_database(scratch, "lists")
    try:
        run(args, label)
    finally:
        drop_scratch_database()


def run(args: argparse.Namespace, label: str) -> None:
    seconds = setup(args.leads)
    from django.db import connection

    from leads.models import Lead
    from nurture import lists
    from nurture.models import LeadList, ListMember
    from qualify.models import Event
    from users.choices import Role
    from users.models import User

    print(
        f"# {label}: {args.leads:,} leads, {Event.objects.count():,} events written"
        f" in {seconds:.1f} s\n"
    )
    marketer = User.objects.create(username="marketer", role=Role.MARKETING)
    now = BASE
    for name, definition in definitions():
        checked = lists.check_definition(definition)
        LeadList.objects.create(
            name=name, definition=checked, created_by=marketer, created_at=now, updated_at=now
        )
    rows: list[tuple[str, str, str]] = []

    def timed(name: str, work: Any) -> int:
        started = time.perf_counter()
        count = work()
        elapsed = time.perf_counter() - started
        rows.append((name, f"{count:,}", f"{elapsed:,.1f} s"))
        return int(count)

    def plain() -> int:
        def at(delta: timedelta) -> Any:
            return connection.ops.adapt_datetimefield_value(now - delta)

        total = 0
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_plain (list_id integer, lead_id bigint)")
            for number, (where, params) in enumerate(plain_filters(connection.vendor, at)):
                cursor.execute(
                    f"INSERT INTO bench_plain (list_id, lead_id) SELECT {number}, l.id"
                    f" FROM {Lead._meta.db_table} l WHERE l.merged_into_id IS NULL AND {where}",
                    params,
                )
                total += cursor.rowcount
        return total

    planned = timed("plain SQL: the 50 filters' lead ids into a table", plain)
    filled = timed("sweep, first fill (every list empty)", lambda: lists.run_due(now=now))
    if filled != planned:
        raise SystemExit(f"the sweep found {filled:,} members, the plain SQL {planned:,}")
    timed("sweep again, nothing changed", lambda: lists.run_due(now=now))
    changed = list(Lead.objects.order_by("pk").values_list("pk", flat=True)[: 10_000 * 7 : 7])
    Lead.objects.filter(pk__in=changed).update(grade="B", score=95)
    timed("sweep after 10,000 leads changed grade and score", lambda: lists.run_due(now=now))
    timed(
        "sweep 30 days later (windows moved)",
        lambda: lists.run_due(now=now + timedelta(days=30)),
    )
    print(f"## Smart lists ({connection.vendor}), 50 lists\n")
    print("| step | memberships | time |")
    print("|---|---:|---:|")
    for name, count, elapsed in rows:
        print(f"| {name} | {count} | {elapsed} |")
    sys.stdout.flush()
    print(f"\n{ListMember.objects.count():,} memberships at the end.")
    sample = LeadList.objects.get(name="pricing twice in 30 days")
    print("\n## Query plan, 'pricing twice in 30 days'\n")
    print(lists.matching_leads(sample.definition, now=now).values("pk").explain())


if __name__ == "__main__":
    main()
