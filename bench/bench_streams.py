"""Content streams: the streams sweep over many leads — enrolment, an idle sweep, and the
due members sent their next piece — beside the floor of the same sends.

    .venv/bin/python bench/bench_streams.py [--leads 200000] [--due 5000]

SQLite: a throwaway file. With DATABASE_URL=postgres://… a fresh database on that server,
dropped at the end. `--leads` leads, four in seven in the "nurture" segment and in an
open stage (the others sales-ready or MQL), one in fifty of those unsubscribed (an
`unsubscribed` event); one stream enrolling the nurture segment.

- enrol: the first sweep, every eligible lead joins (set-based; no piece yet, nothing due);
- idle sweep: the same moment again, nothing changes (the cost of a sweep with no work);
- leave: 10,000 leads turn sales-ready, the sweep lets them go;
- send: `--due` members due, each queued its next piece (render + outbox row + delivery,
  the member advanced), beside the floor: `queue_messages` alone for the same leads and
  template in batches of the same size, one transaction each (what a send cannot avoid).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import drop_scratch_database, use_scratch_database

BASE = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def _case(expression: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE ({expression}) % {len(values)} {whens} END".replace("%", "%%")


def setup(leads: int) -> float:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    from leads.models import Lead
    from qualify.models import Event

    started = time.perf_counter()
    postgres = connection.vendor == "postgresql"
    columns, expressions, params = [], [], []
    for field in [f for f in Lead._meta.concrete_fields if not f.primary_key]:
        columns.append(connection.ops.quote_name(str(field.column)))
        match field.name:
            case "email":
                expressions.append("'b' || n || '@bench.io'")
            case "first_name":
                expressions.append("'P' || n")
            case "stage":
                expressions.append(
                    _case("n", ("new", "nurturing", "recycled", "mql", "new", "nurturing", "mql"))
                )
            case "segment":
                expressions.append(
                    _case(
                        "n",
                        (
                            "nurture",
                            "nurture",
                            "nurture",
                            "sales_ready",
                            "nurture",
                            "sales_ready",
                            "sales_ready",
                        ),
                    )
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
    base = connection.ops.adapt_datetimefield_value(BASE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Lead._meta.db_table} ({', '.join(columns)})"
            f" SELECT {', '.join(expressions)} FROM {source}",
            params,
        )
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} (lead_id, kind, occurred_at, received_at,"
            " points, properties)"
            f" SELECT id, 'unsubscribed', %s, %s, 0, '{{}}' FROM {Lead._meta.db_table}"
            " WHERE id %% 50 = 0",
            [base, base],
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def timed(work: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()  # type: ignore[operator]
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=5_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadloop.settings")
    with tempfile.TemporaryDirectory() as scratch:
        label = use_scratch_database(scratch, "streams")
        try:
            run(args.leads, args.due, label)
        finally:
            drop_scratch_database()


def run(leads: int, due: int, label: str) -> None:
    loaded = setup(leads)
    from django.db import transaction

    from leads.models import Lead
    from nurture import services, streams
    from nurture.choices import Purpose
    from nurture.models import ContentStream, Message, PieceDelivery, StreamMember
    from users.choices import Role
    from users.models import User

    marketer = User.objects.create_user("bench", role=Role.MARKETING)
    template = services.create_template(
        by=marketer, now=BASE, name="Piece", subject="{{ piece.title }} for {{ first_name }}",
        html_body="<style>p{color:#123}</style><p>Hi {{ first_name|default:'there' }},"
        " <a href='{{ piece.url }}'>{{ piece.title }}</a></p>",
        text_body="Hi {{ first_name|default:'there' }}, {{ piece.title }}: {{ piece.url }}",
    )  # fmt: skip
    stream = streams.create_stream(by=marketer, now=BASE, name="News", enrol_segment="nurture")
    rows: list[tuple[str, float, str]] = []

    took, _ = timed(lambda: streams.run_due(now=BASE))
    members = StreamMember.objects.filter(stream=stream).exclude(status="left").count()
    rows.append(("enrol (first sweep)", took, f"{members:,} members joined"))
    took, _ = timed(lambda: streams.run_due(now=BASE))
    rows.append(("idle sweep, same moment", took, "nothing changed"))

    turned = list(
        StreamMember.objects.filter(stream=stream)
        .order_by("pk")
        .values_list("lead_id", flat=True)[:10_000]
    )
    Lead.objects.filter(pk__in=turned).update(stage="mql")
    took, _ = timed(
        lambda: streams.refresh_members(ContentStream.objects.get(pk=stream.pk), now=BASE)
    )
    rows.append(("10,000 turned sales-ready leave", took, f"{took and 10_000 / took:,.0f} leads/s"))

    streams.add_piece(
        stream, by=marketer, now=BASE, title="The guide", url="https://example.com/guide",
        template=template,
    )  # fmt: skip
    later = BASE + timedelta(days=1)
    # Members with nothing to read were exhausted; the new piece makes them active again.
    streams.refresh_members(ContentStream.objects.get(pk=stream.pk), now=BASE)
    active = StreamMember.objects.filter(stream=stream, status="active")
    chosen = list(active.order_by("pk").values_list("pk", flat=True)[:due])
    active.exclude(pk__in=chosen).update(next_due_at=later + timedelta(days=30))
    took, sent = timed(lambda: streams.run_due(now=later))
    assert sent == due == PieceDelivery.objects.count(), (sent, due)
    rows.append((f"send {due:,} due pieces (sweep)", took, f"{due / took:,.0f} pieces/s"))

    floor_leads = list(
        Lead.objects.filter(pk__in=PieceDelivery.objects.values("lead_id")).select_related(
            "team", "account", "owner"
        )
    )
    piece = stream.pieces.get()
    context = streams.piece_context(piece)
    Message.objects.all().delete()

    def floor() -> None:
        for start in range(0, len(floor_leads), streams.BATCH_SIZE):
            with transaction.atomic():
                services.queue_messages(
                    floor_leads[start : start + streams.BATCH_SIZE],
                    template,
                    purpose=Purpose.MARKETING,
                    now=later,
                    context=context,
                )

    took_floor, _ = timed(floor)
    rows.append(
        (f"floor: queue_messages x {due:,}", took_floor, f"{due / took_floor:,.0f} messages/s")
    )

    print(f"\n{label}; {leads:,} leads (set-up {loaded:.1f} s)\n")
    print("| step | seconds | |\n| --- | ---: | --- |")
    for name, seconds, note in rows:
        print(f"| {name} | {seconds:.2f} | {note} |")
    print(f"\nsweep / floor for the sends: {rows[3][1] / took_floor:.2f}x")


if __name__ == "__main__":
    main()
