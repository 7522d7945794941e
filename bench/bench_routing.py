"""How fast does routing decide and record owners, with 20 rules and 50 reps?

    .venv/bin/python bench/bench_routing.py [--leads 2000] [--runs 3]

Runs in a throwaway SQLite file (or, when DATABASE_URL names PostgreSQL, a fresh database
created next to it and dropped afterwards). Five teams of ten reps (half of them with an
open-lead cap, one on leave), 20 active routing rules of which most leads pass several
before one matches (the last rules match the most), and `--leads` sales-ready leads with
varied countries, industries, sizes and custom fields, two in three in a campaign. Each method starts from the same
unassigned leads:

- single, 20 rules: `routing.services.assign_lead` per lead, one transaction each, as a
  form post or an API write routes its lead (locks, rules, capacity, leave, history row,
  the rep's notification);
- bulk, 20 rules: `routing.services.assign_leads` on all of them at once, as scoring and
  imports route (one decision pass, one UPDATE per owner, one history INSERT);
- single / bulk, no rules: the same with the rules switched off (account owner, else the
  country's team round robin, with capacity and leave);
- plain: round robin over the reps computed in Python, then one `executemany` UPDATE of
  the leads and one `executemany` INSERT of their history rows — the fastest plain way
  to give the same leads an owner and a history row, deciding nothing.

Prints the median of `--runs` runs per method, leads per second and the ratio to plain.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import drop_scratch_database, use_scratch_database  # noqa: E402

# A Monday, 10:00 UTC: inside every bench team's working hours.
START = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
COUNTRIES = ["DE", "AT", "CH", "FR", "GB", "US", "CA", "ES", "IT", "NL"]
INDUSTRIES = ["Software", "Retail", "Manufacturing", "Finance", "Health", "Energy"]
STATES = ["Bavaria", "Saxony", "CA", "NY", "TX", "Ontario", ""]


def configure() -> str:
    scratch = tempfile.mkdtemp(prefix="leadloop-bench-")
    os.environ["LEADLOOP_DATA_DIR"] = scratch
    os.environ["LEADLOOP_BENCH_SCRATCH"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadloop.settings")
    return use_scratch_database(scratch, "routing")


def build(leads: int) -> None:
    """Teams, reps, 20 rules and the leads, once."""
    from django.core.management import call_command

    from leads.models import Account, Campaign, CampaignMember, Lead
    from routing.models import RoutingRule
    from users.choices import Role
    from users.models import Leave, Team, User

    call_command("migrate", verbosity=0)
    teams = [
        Team.objects.create(name=f"Team {n}", countries=COUNTRIES[2 * n : 2 * n + 2], sla_hours=24)
        for n in range(5)
    ]
    manager = User.objects.create(username="manager", role=Role.SALES_MANAGER, team=teams[0])
    reps = []
    for n in range(50):
        reps.append(
            User.objects.create(
                username=f"rep{n}",
                role=Role.SALES_REP,
                team=teams[n % 5],
                max_open_leads=10_000 if n % 2 else None,
            )
        )
    Leave.objects.create(
        user=reps[7], starts_on=date(2026, 11, 16), ends_on=date(2026, 11, 20), created_at=START
    )
    rules: list[tuple[list[dict[str, object]], str, object]] = []
    for n in range(14):  # narrow rules few leads meet: each costs a check per lead
        rules.append(([
            {"field": "custom.state", "op": "is", "value": f"Region {n}"},
            {"field": "employees", "op": "at_least", "value": 100},
        ], "user", reps[n]))  # fmt: skip
    rules += [
        ([{"field": "campaign", "op": "is", "value": "Spring webinar"}], "queue", teams[4]),
        ([{"field": "account.is_marquee", "op": "is", "value": "true"}], "user", reps[20]),
        (
            [
                {"field": "industry", "op": "is", "value": "Energy"},
                {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
            ],
            "team",
            teams[1],
        ),
        ([{"field": "state", "op": "in", "value": ["CA", "NY", "TX"]}], "team", teams[2]),
        ([{"field": "employees", "op": "at_least", "value": 1000}], "team", teams[3]),
        ([{"field": "grade", "op": "in", "value": ["A", "B"]}], "team", teams[0]),
    ]
    for position, (conditions, target, to) in enumerate(rules, start=1):
        RoutingRule.objects.create(
            name=f"Rule {position}",
            position=position,
            conditions=conditions,
            target=target,
            to_user=to if target == "user" else None,
            to_team=None if target == "user" else to,
            updated_by=manager,
            updated_at=START,
        )
    rng = random.Random(1)
    accounts = [
        Account.objects.create(name=f"Account {n}", domain=f"a{n}.example") for n in range(50)
    ]
    Lead.objects.bulk_create(
        [
            Lead(
                email=f"p{n}@example.org",
                country=rng.choice(COUNTRIES),
                industry=rng.choice(INDUSTRIES),
                employees=rng.choice([20, 200, 2000]),
                grade=rng.choice(["A", "B", "C", "D", ""]),
                custom_fields={"state": rng.choice(STATES)},
                account=rng.choice(accounts) if rng.random() < 0.3 else None,
                stage="mql",
                segment="sales_ready",
                stage_changed_at=START,
                arrived_at=START,
            )
            for n in range(leads)
        ],
        batch_size=1000,
    )
    # Two leads in three came from a campaign (the follow-up figures per campaign count
    # each turn for its lead's campaigns: routing records them with the turn).
    campaigns = [
        Campaign.objects.create(name=name, channel="webinar")
        for name in ("Spring webinar", "Trade show", "Newsletter")
    ]
    CampaignMember.objects.bulk_create(
        [
            CampaignMember(campaign=campaigns[n % 3], lead=lead, joined_at=START)
            for n, lead in enumerate(Lead.objects.order_by("pk"))
            if n % 3
        ],
        batch_size=1000,
    )


def reset(*, rules: bool) -> None:
    from leads.models import Lead
    from routing.models import Assignment, RoutingRule
    from users.models import Notification, Team

    Lead.objects.update(owner=None, team=None, assigned_at=None, sla_due_at=None)
    Assignment.objects.all().delete()
    Notification.objects.all().delete()
    Team.objects.update(last_assigned_user=None)
    RoutingRule.objects.update(is_active=rules)


def leads_in_order() -> list[object]:
    from leads.models import Lead

    return list(Lead.objects.select_related("account__owner", "first_campaign").order_by("pk"))


def single() -> None:
    from routing.services import assign_lead

    for n, lead in enumerate(leads_in_order()):
        assign_lead(lead, now=START + timedelta(milliseconds=n))  # type: ignore[arg-type]


def bulk() -> None:
    from routing.services import assign_leads

    assign_leads(leads_in_order(), now=START)  # type: ignore[arg-type]


def plain() -> None:
    from django.db import connection, transaction

    from leads.models import Lead
    from users.models import User

    reps = list(User.objects.filter(role="sales_rep").values_list("pk", "team_id").order_by("pk"))
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    picks = [(reps[n % len(reps)], lead_id) for n, lead_id in enumerate(ids)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE leads_lead SET owner_id = %s, team_id = %s, assigned_at = %s WHERE id = %s",
            [(rep, team, START, lead_id) for (rep, team), lead_id in picks],
        )
        cursor.executemany(
            "INSERT INTO routing_assignment (lead_id, to_owner_id, to_team_id, how, rule_name,"
            " reason, assigned_at) VALUES (%s, %s, %s, 'round_robin', '', '', %s)",
            [(lead_id, rep, team, START) for (rep, team), lead_id in picks],
        )


def timed(method: Callable[[], None], *, rules: bool, runs: int) -> float:
    times = []
    for _ in range(runs):
        reset(rules=rules)
        began = time.perf_counter()
        method()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    label = configure()
    import django

    django.setup()
    try:
        build(args.leads)
        from leads.models import Lead
        from routing.models import Assignment

        methods = [
            ("plain (executemany UPDATE + INSERT)", plain, False),
            ("bulk, no rules (assign_leads)", bulk, False),
            ("bulk, 20 rules (assign_leads)", bulk, True),
            ("single, no rules (assign_lead)", single, False),
            ("single, 20 rules (assign_lead)", single, True),
        ]
        results = [
            (name, timed(method, rules=rules, runs=args.runs)) for name, method, rules in methods
        ]
        matched = Assignment.objects.exclude(rule_name="").count()
        queued = Lead.objects.filter(owner__isnull=True).count()
        base = results[0][1]
        print(f"\nRouting {args.leads} sales-ready leads, 50 reps in 5 teams, 20 rules")
        print(f"{label}; Python {platform.python_version()}; median of {args.runs} runs\n")
        print(f"{'method':40} {'seconds':>9} {'leads/s':>10} {'× plain':>8}")
        for name, seconds in results:
            print(f"{name:40} {seconds:9.3f} {args.leads / seconds:10.0f} {seconds / base:8.1f}")
        print(f"\nlast run: {matched} leads routed by a rule, {queued} waiting in a queue")
    finally:
        drop_scratch_database()
        shutil.rmtree(os.environ["LEADLOOP_BENCH_SCRATCH"], ignore_errors=True)


if __name__ == "__main__":
    main()
