"""The default cadence every assigned lead gets until managers write rules: six touches
over fourteen days, calls and emails, the follow-up it takes to reach a busy person."""

from datetime import UTC, datetime

from django.db import migrations

NAME = "Standard follow-up"
STEPS = [
    (0, "call", "Call within the hour: introduce yourself, ask what made them reach out."),
    (
        0,
        "email",
        "Subject: Your enquiry\n\nHi {first name},\n\nThank you for getting in touch. I tried"
        " to call you today: when suits you for 15 minutes this week?\n\nBest regards",
    ),
    (2, "call", "Call again at another time of day; leave a short voicemail."),
    (5, "email", "Send something useful for their need (a case study, a guide) and offer a call."),
    (9, "call", "Call; if no answer, leave a voicemail saying you will write once more."),
    (
        14,
        "email",
        "Last email: ask whether to close the file for now. Replies often come to this one.",
    ),
]


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    Cadence = apps.get_model("followup", "Cadence")
    CadenceStep = apps.get_model("followup", "CadenceStep")
    if Cadence.objects.filter(is_default=True).exists():
        return
    now = datetime.now(UTC)
    cadence = Cadence.objects.create(
        name=NAME,
        description="6 touches over 14 days across calls and emails.",
        is_default=True,
        created_at=now,
        updated_at=now,
    )
    CadenceStep.objects.bulk_create(
        CadenceStep(
            cadence=cadence,
            position=position,
            day_offset=day,
            channel=channel,
            instructions=text,
        )
        for position, (day, channel, text) in enumerate(STEPS, start=1)
    )


class Migration(migrations.Migration):
    dependencies = [("followup", "0005_cadences")]

    # Undone, the cadence stays: leads may be enrolled in it, and applying this again
    # finds the default and adds none (0005 undone drops the table with it).
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
