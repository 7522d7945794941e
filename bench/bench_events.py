"""Engagement events over HTTP: events per second through the batch API, time from an
event to the lead's new score and owner, against a raw executemany INSERT of the same rows.

    .venv/bin/python bench/bench_events.py [--batches 5] [--runs 3] [--probes 10]

Starts gunicorn (2 sync workers) on loopback over a throwaway database (SQLite in a temp
dir, or with DATABASE_URL=postgres://… a fresh database on that server, dropped at the
end), with sales teams, reps, a marketing user and an API token. Then, per run:

- batch API, 1000 leads × 1 event: `POST /api/v1/events` with 1000 events (by email,
  with idempotency keys) for 1000 known nurture leads; each lead is rescored;
- batch API, 100 leads × 10 events: the same size of batch, fewer leads to rescore;
- batch API, replay: the last batch again: every event is a duplicate;
- batch API, 1000 unknown emails: every event creates its lead (capture, score, history);
- webhook, 1000 participants: `POST /hooks/bench/` with a webinar tool's payload of 1000
  known attendees, mapped by a WebhookSource (the same record_events underneath);
- webhook, 1000 new attendees: the same payload naming 1000 people no lead has yet
  (each becomes a lead);
- batch API, 1000 leads become sales-ready: a demo request each for 1000 leads at fit 30,
  so every one crosses the threshold and is routed (MQL, owner, SLA deadline) in the batch;
- raw executemany INSERT: the rows of a "1000 leads × 1 event" batch (lead ids looked up
  beforehand, outside the timing) in one transaction: storage alone, no rescoring;
- Event.objects.bulk_create: the same rows through the ORM, no rescoring.

Event to score: a nurture lead (fit 15) gets a demo request and a pricing view (+50):
the clock runs from sending the batch until GET /api/v1/leads/{id} shows the new score
and an owner. Once alone (a batch of 2), once inside a batch of 1000.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_form import make_org
from http_harness import (
    Request,
    Response,
    configure,
    finish,
    gunicorn,
    machine_line,
    median,
    percentile,
    print_table,
    send,
    setup_django,
)

BATCH = 1000
KINDS = ("page_view", "email_open")  # 1 point each: the bench leads stay in nurture
HOOK_MAPPING = {
    "items": "participants",
    "email": "email",
    "occurred_at": "join_time",
    "kind": {"path": "status", "map": {"attended": "webinar_attended"}},
    "idempotency_key": "{$.webinar_id}:{email}:{status}",
    "properties": {"seconds": "duration"},
}


class Bench:
    def __init__(self, port: int, token: str, hook_token: str) -> None:
        self.port = port
        self.token = token
        self.hook_token = hook_token
        self.serial = 0

    def post_events(self, events: list[dict[str, Any]]) -> Response:
        body = json.dumps({"events": events}).encode()
        headers = (
            ("Content-Type", "application/json"),
            ("Authorization", f"Bearer {self.token}"),
        )
        response = send(self.port, Request("POST", "/api/v1/events", body, headers))
        if response.status != 200:
            raise RuntimeError(f"events batch answered {response.status}: {response.body[:300]!r}")
        return response

    def post_hook(self, payload: dict[str, Any]) -> Response:
        body = json.dumps(payload).encode()
        headers = (("Content-Type", "application/json"), ("X-Leadloop-Token", self.hook_token))
        response = send(self.port, Request("POST", "/hooks/bench/", body, headers))
        if response.status != 200:
            raise RuntimeError(f"webhook answered {response.status}: {response.body[:300]!r}")
        return response

    def get_lead(self, lead_id: int) -> dict[str, Any]:
        headers = (("Authorization", f"Bearer {self.token}"),)
        response = send(self.port, Request("GET", f"/api/v1/leads/{lead_id}", b"", headers))
        return dict(json.loads(response.body))

    def key(self) -> str:
        self.serial += 1
        return f"bench-{self.serial}"


def make_leads(
    prefix: str, count: int, *, need: str = "", timeline: str = ""
) -> list[tuple[int, str]]:
    """`count` nurture leads (fit 15 with a `need`, +15 buying this quarter), as (id, email)."""
    from leads.models import Lead

    now = datetime.now(UTC)
    leads = [
        Lead(
            email=f"{prefix}-{n}@company{n % 300}.example",
            country="Germany",
            need=need,
            timeline=timeline,
            stage="nurturing",
            segment="nurture",
            fit_score=15 if need else 0,
            score=15 if need else 0,
            stage_changed_at=now,
            arrived_at=now,
        )
        for n in range(count)
    ]
    Lead.objects.bulk_create(leads, batch_size=500)
    emails = [lead.email for lead in leads]
    found = dict(Lead.objects.filter(email__in=emails).values_list("email", "pk"))
    return [(found[email], email) for email in emails]


def events_for(bench: Bench, emails: list[str], per_lead: int) -> list[dict[str, Any]]:
    at = datetime.now(UTC).isoformat()
    return [
        {"kind": KINDS[n % 2], "occurred_at": at, "email": email, "idempotency_key": bench.key()}
        for email in emails
        for n in range(per_lead)
    ]


def raw_rows(events: list[dict[str, Any]], ids: dict[str, int]) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    return [
        (ids[e["email"]], e["kind"], now, now, 1, None, "{}", "raw-" + e["idempotency_key"])
        for e in events
    ]


def raw_insert(rows: list[tuple[Any, ...]]) -> float:
    from django.db import connection, transaction

    cast = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql = (
        "INSERT INTO capture_event (lead_id, kind, occurred_at, received_at, points,"
        f" campaign_id, properties, idempotency_key) VALUES (%s, %s, %s, %s, %s, %s, {cast}, %s)"
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return time.perf_counter() - started


def orm_insert(rows: list[tuple[Any, ...]]) -> float:
    from qualify.models import Event

    events = [
        Event(
            lead_id=r[0], kind=r[1], occurred_at=r[2], received_at=r[3], points=r[4],
            properties={}, idempotency_key="orm-" + r[7],
        )
        for r in rows
    ]  # fmt: skip
    started = time.perf_counter()
    Event.objects.bulk_create(events, batch_size=500)
    return time.perf_counter() - started


def probe(bench: Bench, lead_id: int, email: str, filler: list[dict[str, Any]]) -> float:
    """Seconds from sending the batch until the API shows the lead scored and owned."""
    at = datetime.now(UTC).isoformat()
    hot = [
        {"kind": "demo_request", "occurred_at": at, "email": email, "idempotency_key": bench.key()},
        {"kind": "pricing_page_view", "occurred_at": at, "lead_id": lead_id},
    ]
    started = time.perf_counter()
    bench.post_events(filler[: len(filler) // 2] + hot + filler[len(filler) // 2 :])
    deadline = started + 60
    while True:
        lead = bench.get_lead(lead_id)
        if lead["score"] >= 60 and lead["owner"]:
            return time.perf_counter() - started
        if time.perf_counter() > deadline:
            raise RuntimeError(f"lead {lead_id} not routed within 60 s: {lead}")
        time.sleep(0.002)


def hook_payload(webinar: str, emails: list[str]) -> dict[str, Any]:
    at = datetime.now(UTC)
    return {
        "webinar_id": webinar,
        "topic": "Bench webinar",
        "participants": [
            {
                "email": email,
                "status": "attended",
                "join_time": (at - timedelta(minutes=50)).isoformat(),
                "duration": 3000,
            }
            for email in emails
        ],
    }


def setup() -> tuple[str, str]:
    from capture.models import WebhookSource
    from users.choices import Role
    from users.models import ApiToken, User

    make_org()
    marketer = User.objects.create(username="marketer", role=Role.MARKETING)
    _, token = ApiToken.issue(marketer, name="bench")
    source = WebhookSource.objects.create(name="Bench", slug="bench", mapping=HOOK_MAPPING)
    return token, source.token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=5, help="batches per scenario and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--probes", type=int, default=10, help="event-to-score probes per run")
    args = parser.parse_args()

    label = configure("bench-events")
    try:
        setup_django()
        token, hook_token = setup()
        from django.db import connections

        connections.close_all()
        print(f"# Events over HTTP — {label}")
        print(f"# {machine_line()}")
        print(
            f"# batches of {BATCH}, {args.batches} per scenario and run, median of"
            f" {args.runs} runs; gunicorn 2 sync workers; one client"
        )
        times: dict[str, list[float]] = {}

        def record(name: str, seconds: float) -> None:
            times.setdefault(name, []).append(seconds)

        alone: list[float] = []
        in_batch: list[float] = []
        with gunicorn("leadloop.wsgi", env={"LEADLOOP_HOOK_RATE_PER_MINUTE": "100000"}) as app:
            bench = Bench(app.port, token, hook_token)
            warm = make_leads("warm", 50)
            bench.post_events(events_for(bench, [e for _, e in warm], 1))
            for run in range(args.runs):
                leads = make_leads(f"r{run}-one", BATCH)
                ids = dict((email, pk) for pk, email in leads)
                emails = [email for _, email in leads]
                connections.close_all()
                last: list[dict[str, Any]] = []
                for _ in range(args.batches):
                    last = events_for(bench, emails, 1)
                    record("batch API, 1000 leads × 1 event", bench.post_events(last).seconds)
                record("batch API, replay (all duplicates)", bench.post_events(last).seconds)
                for batch in range(args.batches):
                    few = [e for _, e in make_leads(f"r{run}-few{batch}", BATCH // 10)]
                    connections.close_all()
                    response = bench.post_events(events_for(bench, few, 10))
                    record("batch API, 100 leads × 10 events", response.seconds)
                unknown = [f"r{run}-new-{n}@newco{n % 300}.example" for n in range(BATCH)]
                response = bench.post_events(events_for(bench, unknown, 1))
                record("batch API, 1000 unknown emails (creates leads)", response.seconds)
                guests = [f"r{run}-guest-{n}@guestco{n % 300}.example" for n in range(BATCH)]
                response = bench.post_hook(hook_payload(f"w{run}-new", guests))
                record("webhook, 1000 new attendees (creates leads)", response.seconds)
                for batch in range(args.batches):
                    attendees = [e for _, e in make_leads(f"r{run}-hook{batch}", BATCH)]
                    connections.close_all()
                    response = bench.post_hook(hook_payload(f"w{run}-{batch}", attendees))
                    record("webhook, 1000 participants (known leads)", response.seconds)
                for batch in range(args.batches):
                    warm_leads = make_leads(
                        f"r{run}-mql{batch}", BATCH, need="x", timeline="quarter"
                    )
                    connections.close_all()
                    at = datetime.now(UTC).isoformat()
                    demos = [
                        {"kind": "demo_request", "occurred_at": at, "email": email}
                        for _, email in warm_leads
                    ]
                    response = bench.post_events(demos)
                    record("batch API, 1000 leads become sales-ready (routed)", response.seconds)
                rows = raw_rows(events_for(bench, emails, 1), ids)
                for batch in range(args.batches):
                    batch_rows = [(*r[:7], f"{r[7]}-{batch}") for r in rows]
                    record("raw executemany INSERT (no rescoring)", raw_insert(batch_rows))
                    record("Event.objects.bulk_create (no rescoring)", orm_insert(batch_rows))
                connections.close_all()
                targets = make_leads(f"r{run}-hot", 2 * args.probes, need="forecasting")
                filler_leads = [e for _, e in make_leads(f"r{run}-filler", BATCH - 2)]
                connections.close_all()
                for n in range(args.probes):
                    pk, email = targets[2 * n]
                    alone.append(probe(bench, pk, email, []))
                    pk, email = targets[2 * n + 1]
                    in_batch.append(probe(bench, pk, email, events_for(bench, filler_leads, 1)))
                print(f"  run {run + 1} done")
        print()
        raw = median(times["raw executemany INSERT (no rescoring)"])
        rows_out = []
        for name, seconds in times.items():
            per_batch = median(seconds)
            rows_out.append(
                (
                    name,
                    f"{len(seconds)}",
                    f"{per_batch * 1000:,.0f}",
                    f"{BATCH / per_batch:,.0f}",
                    f"{per_batch / raw:,.1f}×",
                )
            )
        print_table(("method", "batches", "ms/batch", "events/s", "vs raw"), rows_out)
        print()
        print_table(
            ("event to new score and owner (via GET)", "probes", "p50 ms", "p95 ms"),
            [
                (
                    "alone (a batch of 2)",
                    f"{len(alone)}",
                    f"{percentile(alone, 0.5) * 1000:,.0f}",
                    f"{percentile(alone, 0.95) * 1000:,.0f}",
                ),
                (
                    "inside a batch of 1000",
                    f"{len(in_batch)}",
                    f"{percentile(in_batch, 0.5) * 1000:,.0f}",
                    f"{percentile(in_batch, 0.95) * 1000:,.0f}",
                ),
            ],
        )
        verify()
    finally:
        finish()


def verify() -> None:
    from django.db import connections

    from leads.models import Lead
    from qualify.models import Event

    connections.close_all()
    mql = Lead.objects.filter(email__contains="-mql")
    routed = mql.filter(stage="mql", owner__isnull=False, sla_due_at__isnull=False).count()
    hot = Lead.objects.filter(email__contains="-hot-")
    keyed = Event.objects.filter(idempotency_key__isnull=False)
    twice = keyed.count() - keyed.values("idempotency_key").distinct().count()
    print()
    print(
        f"probe leads routed: {hot.filter(owner__isnull=False).count()} of {hot.count()};"
        f" sales-ready batch leads routed with a deadline: {routed:,} of {mql.count():,};"
        f" events stored: {Event.objects.count():,}; keys stored twice: {twice}"
    )


if __name__ == "__main__":
    main()
