"""Public form posts over HTTP: from submit to an assigned lead, against plain baselines.

    .venv/bin/python bench/bench_form.py [--requests 2000] [--concurrency 8] [--runs 3]
        [--threads 4] [--cache-url redis://127.0.0.1:6379/14]

Starts gunicorn (2 sync workers) on loopback over a throwaway database (SQLite in a temp
dir, or with DATABASE_URL=postgres://… a fresh database on that server, dropped at the
end), creates two sales teams with reps and a WebForm "bench", and raises the per-IP form
rate limit out of the way. This process is the client: it sends `--requests` form posts
to /f/bench/ with `--concurrency` threads, new connection each, honeypot left empty. A
quarter of the posts repeat an email sent earlier in the run (an update of that lead);
every profile is sales-ready, so every post ends in a routed lead with an SLA deadline.

Baselines, same bodies, same concurrency, same run:
- django ping: a csrf-exempt Django view that parses the form body and answers "ok",
  through the same middleware, on the same gunicorn;
- bare WSGI: gunicorn serving a 5-line WSGI app (no Django).

Afterwards it checks the claim "submit to assigned lead": every sales-ready lead has an
owner and an SLA deadline, and every accepted post left a Submission.
"""

from __future__ import annotations

import argparse
import random
from urllib.parse import urlencode

from http_harness import (
    LoadResult,
    Request,
    configure,
    finish,
    fire,
    gunicorn,
    machine_line,
    median,
    print_table,
    setup_django,
)

FORM_FIELDS = [
    "first_name", "last_name", "email", "company_name", "country", "need", "authority",
    "budget", "timeline", "employees",
]  # fmt: skip
HEADERS = (("Content-Type", "application/x-www-form-urlencoded"),)


def make_org() -> None:
    from datetime import time

    from capture.models import WebForm
    from users.choices import Role
    from users.models import Team, User

    emea = Team.objects.create(
        name="EMEA", timezone="UTC", workday_start=time(9), workday_end=time(17),
        countries=["DE", "FR", "GB"],
    )  # fmt: skip
    americas = Team.objects.create(
        name="Americas", timezone="America/New_York", countries=["US", "CA"]
    )
    for n in range(4):
        User.objects.create(username=f"emea{n}", role=Role.SALES_REP, team=emea)
    for n in range(2):
        User.objects.create(username=f"us{n}", role=Role.SALES_REP, team=americas)
    WebForm.objects.create(slug="bench", name="Bench demo request", fields=FORM_FIELDS)


def form_bodies(count: int, run: str, seed: int) -> tuple[list[bytes], int]:
    """`count` url-encoded sales-ready posts; returns them and how many emails are distinct."""
    rng = random.Random(seed)
    emails: list[str] = []
    bodies: list[bytes] = []
    for n in range(count):
        if emails and rng.random() < 0.25:
            email = rng.choice(emails)
        else:
            email = f"p{run}-{n}@company{n % 300}.example"
            emails.append(email)
        data = {
            "first_name": f"First{n}",
            "last_name": f"Last{n}",
            "email": email,
            "company_name": f"Company {n % 300}",
            "country": rng.choice(("Germany", "France", "United States", "Canada")),
            "need": "replace our spreadsheet forecast",
            "authority": "decision_maker",
            "budget": "20000",
            "timeline": rng.choice(("now", "quarter")),
            "employees": str(rng.choice((60, 250, 1200))),
            "homepage": "",  # the honeypot: people leave it empty
        }
        bodies.append(urlencode(data).encode())
    return bodies, len(emails)


def row(name: str, results: list[LoadResult]) -> tuple[str, ...]:
    ok = sum(r.statuses().get(200, 0) for r in results)
    total = sum(len(r.responses) for r in results)
    return (
        name,
        f"{total // len(results)}",
        f"{median([r.percentile(0.50) * 1000 for r in results]):.1f}",
        f"{median([r.percentile(0.95) * 1000 for r in results]):.1f}",
        f"{median([r.percentile(0.99) * 1000 for r in results]):.1f}",
        f"{median([r.rate for r in results]):,.0f}",
        f"{ok / total * 100:.1f}%",
    )


def verify() -> tuple[tuple[str, str], ...]:
    from django.db import connections

    from capture.models import Submission
    from leads.models import Lead

    connections.close_all()
    leads = Lead.objects.exclude(email__startswith="pwarm")
    sales_ready = leads.filter(segment="sales_ready")
    unassigned = sales_ready.filter(owner__isnull=True).count()
    no_deadline = sales_ready.filter(sla_due_at__isnull=True).count()
    owners = sales_ready.values("owner__username").distinct().count()
    submissions = Submission.objects.exclude(lead__email__startswith="pwarm").count()
    return (
        ("leads", f"{leads.count():,}"),
        ("sales-ready leads", f"{sales_ready.count():,}"),
        ("… without an owner", f"{unassigned:,}"),
        ("… without an SLA deadline", f"{no_deadline:,}"),
        ("reps who got leads", f"{owners}"),
        ("submissions stored", f"{submissions:,}"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="4 = the Procfile's gthread setup")
    parser.add_argument(
        "--cache-url",
        default="",
        help="e.g. redis://127.0.0.1:6379/14 for the rate-limit counters (default: DB cache)",
    )
    args = parser.parse_args()

    label = configure("bench-form")
    try:
        setup_django()
        make_org()
        from django.db import connections

        connections.close_all()
        print(f"# Form posts over HTTP — {label}")
        print(f"# {machine_line()}")
        print(
            f"# {args.requests} requests per run, concurrency {args.concurrency},"
            f" gunicorn {args.workers} workers × {args.threads} threads, median of {args.runs} runs,"
            f" cache {args.cache_url or 'in the database'}"
        )
        env = {"LEADLOOP_FORM_RATE_PER_MINUTE": str(10**9)}
        if args.cache_url:
            env["CACHE_URL"] = args.cache_url
        results: dict[str, list[LoadResult]] = {"form": [], "ping": [], "bare": []}
        distinct = 0
        with (
            gunicorn(
                "leadloop.wsgi",
                workers=args.workers,
                threads=args.threads,
                settings="bench_site_settings",
                env=env,
            ) as app,
            gunicorn("bare_wsgi:application", workers=args.workers, threads=args.threads) as bare,
        ):
            warm, _ = form_bodies(50, "warm", seed=0)
            fire(app.port, [Request("POST", "/f/bench/", b, HEADERS) for b in warm], 4)
            fire(app.port, [Request("POST", "/bench/ping/", b, HEADERS) for b in warm], 4)
            fire(bare.port, [Request("POST", "/", b, HEADERS) for b in warm], 4)
            for run in range(args.runs):
                bodies, emails = form_bodies(args.requests, str(run), seed=run + 1)
                distinct += emails
                results["form"].append(
                    fire(
                        app.port,
                        [Request("POST", "/f/bench/", b, HEADERS) for b in bodies],
                        args.concurrency,
                    )
                )
                results["ping"].append(
                    fire(
                        app.port,
                        [Request("POST", "/bench/ping/", b, HEADERS) for b in bodies],
                        args.concurrency,
                    )
                )
                results["bare"].append(
                    fire(
                        bare.port,
                        [Request("POST", "/", b, HEADERS) for b in bodies],
                        args.concurrency,
                    )
                )
                form = results["form"][-1]
                print(
                    f"  run {run + 1}: form {form.rate:.0f} req/s, p50"
                    f" {form.percentile(0.5) * 1000:.1f} ms, statuses {form.statuses()}"
                )
        print()
        headers = ("endpoint", "requests", "p50 ms", "p95 ms", "p99 ms", "req/s", "2xx")
        rows = [
            row("form post /f/bench/ (capture, score, route)", results["form"]),
            row("trivial Django view (same server)", results["ping"]),
            row("bare WSGI app (gunicorn, no Django)", results["bare"]),
        ]
        print_table(headers, rows)
        form_rate = median([r.rate for r in results["form"]])
        ping_rate = median([r.rate for r in results["ping"]])
        bare_rate = median([r.rate for r in results["bare"]])
        print()
        print(
            f"form vs trivial Django view: {ping_rate / form_rate:.1f}× slower;"
            f" vs bare WSGI: {bare_rate / form_rate:.1f}× slower"
        )
        print()
        checks = verify()
        print_table(("after the runs", "count"), [(name, value) for name, value in checks])
        print(f"(distinct emails posted: {distinct:,})")
    finally:
        finish()


if __name__ == "__main__":
    main()
