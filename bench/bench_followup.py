"""The follow-up report on a big history: 1,000,000 leads given to 50 reps over two years,
in 10 campaigns,
about 5,000,000 touches and 100,000 leads handed back, against the plain SQL that counts
the touched leads per rep from the touches.

    .venv/bin/python bench/bench_followup.py [--leads 1000000] [--runs 3]

A throwaway database (SQLite in a temp dir, or with DATABASE_URL=postgres://… a fresh
database on that server, dropped at the end) is filled by INSERT … SELECT in the
database itself (no Python per row). Then, per run, timed:

- report per rep, all time: `analytics.services.followup_report(admin, by="rep")`, every
  figure (follow-up rate, in-SLA in business hours, median and p90 speed, attempts
  before dropping, leakage by age), from routing's monthly roll-up (routing.rollup) and
  the untouched turns;
- report per team, all time;
- report per rep, one month (30 days from a month's first): the period a manager usually
  looks at; under a whole month, so read from the turns;
- report per rep, a quarter from mid-month to mid-month: two whole months from the
  roll-up, the two part-months from the turns;
- report per campaign, all time and a quarter (ten campaigns: two leads in three in
  one, every seventh lead in a second; a turn counts for its lead's campaigns when it
  was given, routing.TurnCampaign), from the roll-up's campaign rows;
- the same all-time reports with `exact=True`: every turn read (the reference, and what
  the report cost before the roll-up);
- leads behind one number: `followup_lead_ids` for one rep's missed SLAs, one month;
- plain SQL, touched per rep: one GROUP BY of the assignments joined to the distinct
  touched leads: the least a "who follows up" report can do when it reads the touches.
  The report does not read them: each turn keeps its figures (routing.Assignment) as
  touches and hand-backs happen.

The roll-up is filled after the INSERTs by `routing.rollup.rebuild` (what `leadloop
report rebuild-rollup` runs), timed on its own line.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from http_harness import configure, finish, machine_line, print_table, setup_django

REPS = 50
TEAMS = 5
CAMPAIGNS = 10
START = datetime(2024, 12, 1, tzinfo=UTC)
SPAN_SECONDS = 2 * 365 * 24 * 3600


def series(n: int, vendor: str) -> str:
    """SQL that yields the column `n` from 1 to `n`."""
    if vendor == "postgresql":
        return f"(SELECT generate_series(1, {n}) AS n) AS s"
    return f"(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {n}) SELECT n FROM c) AS s"


def fill(leads: int) -> dict[str, int]:
    from django.db import connection

    from leads.models import Campaign, Lead
    from users.choices import Role
    from users.models import Team, User

    vendor = connection.vendor
    teams = [Team.objects.create(name=f"Team {t}", countries=[]) for t in range(TEAMS)]
    reps = [
        User.objects.create(username=f"rep{r}", role=Role.SALES_REP, team=teams[r % TEAMS])
        for r in range(REPS)
    ]
    User.objects.create(username="boss", role=Role.ADMIN, is_superuser=True)
    campaigns = [
        Campaign.objects.create(name=f"Campaign {c}", channel="webinar") for c in range(CAMPAIGNS)
    ]
    first_campaign = min(c.pk for c in campaigns)
    rep_ids = [r.pk for r in reps]
    first_rep, first_team = min(rep_ids), min(t.pk for t in teams)

    def at(expr: str) -> str:
        if vendor == "postgresql":
            return f"(TIMESTAMPTZ '{START.isoformat()}' + ({expr}) * INTERVAL '1 second')"
        return f"strftime('%Y-%m-%d %H:%M:%f', '{START:%Y-%m-%d %H:%M:%S}', '+' || ({expr}) || ' seconds')"

    # A lead every ~63 s over two years; rep (n mod 50), their team; stage mql, some
    # recycled. Columns not named take the model's default.
    assigned = at(f"CAST(n AS BIGINT) * {SPAN_SECONDS} / {leads}")
    given = {
        "email": "'lead' || n || '@bench.example'",
        "owner_id": f"CASE WHEN n % 10 = 0 THEN NULL ELSE {first_rep} + (n % {REPS}) END",
        "team_id": f"CASE WHEN n % 10 = 0 THEN NULL ELSE {first_team} + (n % {REPS}) % {TEAMS} END",
        "stage": "CASE WHEN n % 10 = 0 THEN 'recycled' ELSE 'mql' END",
        "segment": "'sales_ready'",
        "arrived_at": assigned,
        "stage_changed_at": assigned,
        "created_at": assigned,
        "updated_at": assigned,
        "assigned_at": assigned,
    }
    columns, values = [], []
    for f in Lead._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(f.column)
        if f.name in given or f.column in given:
            values.append(given.get(f.name) or given[f.column])
        elif f.has_default():
            default = f.get_default()
            if isinstance(default, dict | list):
                values.append("'{}'" if isinstance(default, dict) else "'[]'")
            elif isinstance(default, bool):
                values.append("TRUE" if default else "FALSE")
            elif isinstance(default, int | float):
                values.append(str(default))
            else:
                values.append(f"'{default}'")
        elif f.null:
            values.append("NULL")
        else:
            values.append("''")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO leads_lead ({', '.join(columns)}) SELECT {', '.join(values)}"
            f" FROM {series(leads, vendor)}"
        )

        # One assignment per lead, to the rep it was given to (recycled ones included),
        # with the turn's figures as routing keeps them: a deadline a day later, the
        # first touch (id % 11 attempts, the first after id % 97 hours), the hand-back.
        def later(hours: str) -> str:
            if vendor == "postgresql":
                return f"assigned_at + ({hours}) * INTERVAL '1 hour'"
            return f"strftime('%Y-%m-%d %H:%M:%f', assigned_at, '+' || ({hours}) || ' hours')"

        cursor.execute(
            "INSERT INTO routing_assignment (lead_id, to_owner_id, to_team_id, assigned_at, how,"
            " rule_name, reason, due_at, attempts, first_touch_at, first_touch_clock_hours,"
            " first_touch_hours, dropped_at)"
            f" SELECT id, {first_rep} + (id % {REPS}), {first_team} + (id % {REPS}) % {TEAMS},"
            f" assigned_at, 'round_robin', '', '', {later('24')}, id % 11,"
            f" CASE WHEN id % 11 = 0 THEN NULL ELSE {later('id % 97')} END,"
            " CASE WHEN id % 11 = 0 THEN NULL ELSE id % 97 END,"
            " CASE WHEN id % 11 = 0 THEN NULL ELSE (id % 97) / 3.0 END,"
            f" CASE WHEN id % 10 = 0 THEN {later('168')} ELSE NULL END"
            " FROM leads_lead"
        )
        # Ten campaigns: two leads in three joined one when they arrived (before they were
        # given), every seventh a second; each turn counts for its lead's campaigns then.
        cursor.execute(
            "INSERT INTO leads_campaignmember (campaign_id, lead_id, status, joined_at,"
            f" updated_at) SELECT {first_campaign} + id % {CAMPAIGNS}, id, 'registered',"
            " arrived_at, arrived_at FROM leads_lead WHERE id % 3 <> 0"
            f" UNION ALL SELECT {first_campaign} + (id + 3) % {CAMPAIGNS}, id, 'attended',"
            " arrived_at, arrived_at FROM leads_lead WHERE id % 7 = 0 AND id % 3 <> 0"
        )
        cursor.execute(
            "INSERT INTO routing_turncampaign (assignment_id, campaign_id)"
            " SELECT a.id, m.campaign_id FROM routing_assignment a"
            " JOIN leads_campaignmember m ON m.lead_id = a.lead_id"
        )
        # About 5 touches a lead: calls an hour, a day, … after it was given.
        touch_at = (
            "assigned_at + k.k * INTERVAL '1 day' - INTERVAL '20 hours'"
            if vendor == "postgresql"
            else "strftime('%Y-%m-%d %H:%M:%f', assigned_at, '+' || (k.k * 24 - 20) || ' hours')"
        )
        ks = (
            "(SELECT generate_series(1, 10) AS k) AS k"
            if vendor == "postgresql"
            else (
                "(WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < 10)"
                " SELECT k FROM c) AS k"
            )
        )
        cursor.execute(
            "INSERT INTO followup_touch (lead_id, user_id, kind, outcome, notes, occurred_at,"
            " created_at)"
            f" SELECT a.lead_id, a.to_owner_id, 'call', 'no_answer', '', {touch_at}, {touch_at}"
            f" FROM routing_assignment a, {ks} WHERE k.k <= a.lead_id % 11"
        )
        # Every tenth lead was handed back by its rep a week after it was given.
        back = (
            "assigned_at + INTERVAL '7 days'"
            if vendor == "postgresql"
            else "strftime('%Y-%m-%d %H:%M:%f', assigned_at, '+7 days')"
        )
        cursor.execute(
            "INSERT INTO leads_stagechange (lead_id, from_stage, to_stage, changed_at,"
            " changed_by_id, reason)"
            f" SELECT lead_id, 'mql', 'recycled', {back}, to_owner_id, 'no response'"
            " FROM routing_assignment WHERE lead_id % 10 = 0"
        )
        cursor.execute("ANALYZE")
        counts = {}
        for table in (
            "leads_lead", "routing_assignment", "followup_touch", "leads_stagechange",
            "routing_turncampaign",
        ):  # fmt: skip
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    return counts


def timed(runs: int, work) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    label = configure("followup")
    try:
        setup_django()
        from django.db import connection

        from analytics.services import followup_lead_ids, followup_report
        from routing.rollup import rebuild
        from users.models import User

        began = time.perf_counter()
        counts = fill(args.leads)
        filled = time.perf_counter() - began
        began = time.perf_counter()
        rollup_rows = rebuild()
        rebuilt = time.perf_counter() - began
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        admin = User.objects.get(username="boss")
        rep = User.objects.filter(username="rep7").get()
        now = START + timedelta(seconds=SPAN_SECONDS + 86400)
        month = (START + timedelta(days=365), START + timedelta(days=395))
        quarter = (datetime(2025, 5, 15, tzinfo=UTC), datetime(2025, 8, 15, tzinfo=UTC))

        def plain() -> list[tuple[int, int, int]]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT a.to_owner_id, COUNT(*), COUNT(t.lead_id) FROM routing_assignment a"
                    " LEFT JOIN (SELECT DISTINCT lead_id FROM followup_touch) t"
                    " ON t.lead_id = a.lead_id GROUP BY a.to_owner_id"
                )
                return cursor.fetchall()

        rows = []
        for name, work in [
            ("report per rep, all time", lambda: followup_report(admin, by="rep", now=now)),
            ("report per team, all time", lambda: followup_report(admin, by="team", now=now)),
            (
                "report per rep, one month",
                lambda: followup_report(admin, by="rep", since=month[0], until=month[1], now=now),
            ),
            (
                "report per rep, a quarter mid-month to mid-month",
                lambda: followup_report(
                    admin, by="rep", since=quarter[0], until=quarter[1], now=now
                ),
            ),
            (
                "report per campaign, all time",
                lambda: followup_report(admin, by="campaign", now=now),
            ),
            (
                "report per campaign, a quarter mid-month to mid-month",
                lambda: followup_report(
                    admin, by="campaign", since=quarter[0], until=quarter[1], now=now
                ),
            ),
            (
                "report per campaign, all time, exact (every turn read)",
                lambda: followup_report(admin, by="campaign", now=now, exact=True),
            ),
            (
                "report per rep, all time, exact (every turn read)",
                lambda: followup_report(admin, by="rep", now=now, exact=True),
            ),
            (
                "leads behind one number (one rep's missed SLAs, one month)",
                lambda: list(
                    followup_lead_ids(
                        admin,
                        figure="missed_sla",
                        key=rep.pk,
                        since=month[0],
                        until=month[1],
                        now=now,
                    )
                ),
            ),
            ("plain SQL: touched per rep, all time", plain),
        ]:
            seconds, result = timed(args.runs, work)
            size = len(result) if isinstance(result, list) else 0
            rows.append([name, f"{seconds:.2f}", str(size)])
        print(f"\n{label}; {machine_line()}")
        print(
            f"{counts['leads_lead']:,} leads, {counts['routing_assignment']:,} assignments,"
            f" {counts['followup_touch']:,} touches, {counts['leads_stagechange']:,} hand-backs,"
            f" {counts['routing_turncampaign']:,} turns' campaigns;"
            f" filled in {filled:.0f} s; roll-up rebuilt in {rebuilt:.1f} s ({rollup_rows:,}"
            f" rows); median of {args.runs} runs\n"
        )
        print_table(["work", "seconds", "rows out"], rows)
    finally:
        finish()


if __name__ == "__main__":
    main()
