"""Engagement signals from the events stored so far, as version 1 counts them (one signal
per event kind, no decay, no caps), so that scores read from signals equal the sums of
event points they were."""

from django.db import migrations
from django.db.models import Count, Max


def signals_from_events(apps, schema_editor):  # type: ignore[no-untyped-def]
    from qualify.document import VERSION_1

    event = apps.get_model("qualify", "Event")
    signal = apps.get_model("qualify", "EngagementSignal")
    named = {rule["kind"] for rule in VERSION_1["engagement"]["rules"]}
    rows = (
        event.objects.values("lead_id", "kind")
        .annotate(n=Count("id"), last=Max("occurred_at"))
        .order_by("lead_id", "kind")
        .iterator(chunk_size=5000)
    )
    batch = []
    for row in rows:
        kind = row["kind"]
        batch.append(
            signal(
                lead_id=row["lead_id"],
                key=kind if kind in named else f"other:{kind}",
                kind=kind,
                count=row["n"],
                total=row["n"],
                as_of=row["last"],
            )
        )
        if len(batch) >= 5000:
            signal.objects.bulk_create(batch)
            batch = []
    signal.objects.bulk_create(batch)


def forget_signals(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("qualify", "EngagementSignal").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("qualify", "0005_engagement_signals_and_score_changes")]

    operations = [migrations.RunPython(signals_from_events, forget_signals)]
