"""How fast does the outbox send, end to end, beside a plain smtplib loop?

    .venv/bin/python bench/bench_outbox.py [--messages 2000] [--runs 3]

Runs in a throwaway SQLite file (or a fresh PostgreSQL database when DATABASE_URL names
one; yours is never touched) against a local SMTP sink (aiosmtpd, counting what arrives).
Per run, the same messages two ways:

- outbox: `queue_messages` for 200 leads at a time, as a program step or stream queues
  the leads it finds due (render, CSS inlined, links tracked, footer, the MIME bytes
  built; one INSERT and one executemany UPDATE a batch) then `run_due` (claim with row locks, checks, the stored bytes
  sent over one connection, marked sent in groups) — what Leadloop does;
- smtplib: the same messages, rendered and serialised beforehand (the outbox's own stored
  bytes), handed to `smtplib.SMTP.sendmail` over one connection in a plain loop: the
  floor of sending over SMTP from Python.

Prints messages per second (median of --runs) and the ratio (issue 12's target: the
outbox within 1.5x of the loop). The queue step and the send step are also shown apart.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shutil
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import drop_scratch_database, use_scratch_database  # noqa: E402

START = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
QUEUE_BATCH = 200


class Counter:
    """An aiosmtpd handler counting the messages it accepts, in a shared integer."""

    def __init__(self, count: Any) -> None:
        self.shared = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.shared.get_lock():
            self.shared.value += 1
        return "250 OK"


def serve_sink(port: int, count: Any, ready: Any, stop: Any) -> None:
    """The SMTP sink, in a process of its own as a mail server is (in this process it
    would take the GIL from the very work being measured)."""
    from aiosmtpd.controller import Controller

    # Its log (a line per SMTP command) would be paid by both ways alike: off.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(Counter(count), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class Sink:
    def __init__(self, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.shared = context.Value("q", 0)
        self.ready, self.stop = context.Event(), context.Event()
        self.process = context.Process(
            target=serve_sink, args=(port, self.shared, self.ready, self.stop), daemon=True
        )

    @property
    def count(self) -> int:
        return int(self.shared.value)

    def __enter__(self) -> Sink:
        self.process.start()
        if not self.ready.wait(30):
            raise SystemExit("the SMTP sink did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.process.join(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="bench-outbox-")
    label = use_scratch_database(scratch, "outbox")
    port = free_port()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadloop.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from leads.models import Lead
    from nurture import consent, services, tracking
    from nurture.choices import ConsentSource, Purpose
    from nurture.consent import ConsentInput
    from nurture.models import Message
    from users.choices import Role
    from users.models import User

    settings.LEADLOOP_EMAIL_WEEKLY_CAP = 10**6
    settings.LEADLOOP_EMAIL_QUIET_HOURS = ""
    settings.LEADLOOP_EMAIL_DOMAIN_RATE_PER_MINUTE = 10**9

    sink = Sink(port).__enter__()
    try:
        call_command("migrate", verbosity=0)
        marketer = User.objects.create_user("bench", role=Role.MARKETING)
        template = services.create_template(
            by=marketer, now=START, name="Bench", subject="Hello {{ first_name|default:'there' }}",
            html_body="<style>p{color:#333}</style><p>Hi {{ first_name }}, see"
            " <a href='{{ base_url }}/pricing/'>pricing</a>.</p>",
            text_body="Hi {{ first_name|default:'there' }}, see {{ base_url }}/pricing/",
        )  # fmt: skip
        Lead.objects.bulk_create(
            Lead(
                email=f"p{i}@example{i % 50}.io",
                first_name=f"P{i}",
                arrived_at=START,
                stage_changed_at=START,
            )
            for i in range(args.messages)
        )
        leads = list(Lead.objects.select_related("account", "owner", "team").order_by("pk"))
        # Marketing email goes only to leads that agreed to it.
        newsletter = consent.get_purpose("newsletter")
        consent.record_many(
            [ConsentInput(lead, newsletter, True, ConsentSource.IMPORT) for lead in leads],
            now=START,
        )
        print(f"{label}; {args.messages} messages a run; python {sys.version.split()[0]}")
        outbox_rates, send_rates, queue_times, plain_rates = [], [], [], []
        for run in range(args.runs):
            Message.objects.all().delete()
            before = sink.count
            t0 = time.perf_counter()
            # As a program step or stream queues the leads it finds due: a batch at a time.
            for start in range(0, len(leads), QUEUE_BATCH):
                services.queue_messages(
                    leads[start : start + QUEUE_BATCH], template,
                    purpose=Purpose.MARKETING, now=START,
                )  # fmt: skip
            t1 = time.perf_counter()
            sent = services.run_due(now=START)
            t2 = time.perf_counter()
            assert sent == args.messages == sink.count - before, (sent, sink.count - before)
            outbox_rates.append(args.messages / (t2 - t0))
            send_rates.append(args.messages / (t2 - t1))
            queue_times.append(t1 - t0)

            # The very bytes the outbox sent (built at queue time), dated as it dates them.
            date = tracking.date_header(START)
            prepared = [(m.to_address, date + bytes(m.raw)) for m in Message.objects.order_by("pk")]
            before = sink.count
            t3 = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for to, raw in prepared:
                    smtp.sendmail(settings.DEFAULT_FROM_EMAIL, [to], raw)
            t4 = time.perf_counter()
            assert sink.count - before == args.messages
            plain_rates.append(args.messages / (t4 - t3))
            print(
                f"run {run + 1}: outbox {outbox_rates[-1]:.0f}/s (queue {t1 - t0:.2f} s,"
                f" send {send_rates[-1]:.0f}/s); smtplib loop {plain_rates[-1]:.0f}/s"
            )
        outbox = statistics.median(outbox_rates)
        plain = statistics.median(plain_rates)
        print(
            f"median: outbox end to end {outbox:.0f} messages/s (sweep alone"
            f" {statistics.median(send_rates):.0f}/s); smtplib loop {plain:.0f}/s;"
            f" ratio {plain / outbox:.2f}x (target <= 1.5x)"
        )
    finally:
        sink.__exit__()
        drop_scratch_database()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
