"""Version 2 of the scoring model where version 1 is still the one in use, untouched:
the event kinds email tracking and consent bring (unsubscribed, email_bounce,
email_complaint) count against a lead instead of earning version 1's default point.

A team that has saved its own model keeps it: its version is never changed here. No
lead needs rescoring: no event of these kinds existed before they did."""

from datetime import UTC, datetime

from django.db import migrations


def create_version_2(apps, schema_editor):  # type: ignore[no-untyped-def]
    from qualify.document import VERSION_1, VERSION_2, VERSION_2_NOTE

    version = apps.get_model("qualify", "ScoringModelVersion")
    versions = list(version.objects.order_by("number"))
    if len(versions) != 1 or not versions[0].is_active or versions[0].document != VERSION_1:
        return
    version.objects.filter(pk=versions[0].pk).update(is_active=False)
    version.objects.create(
        number=2,
        document=VERSION_2,
        is_active=True,
        created_at=datetime.now(UTC),
        note=VERSION_2_NOTE,
    )


def remove_version_2(apps, schema_editor):  # type: ignore[no-untyped-def]
    from qualify.document import VERSION_2

    version = apps.get_model("qualify", "ScoringModelVersion")
    versions = list(version.objects.order_by("number"))
    if len(versions) == 2 and versions[1].document == VERSION_2 and versions[1].is_active:
        versions[1].delete()
        version.objects.filter(pk=versions[0].pk).update(is_active=True)


class Migration(migrations.Migration):
    dependencies = [("qualify", "0007_version_rescoring")]

    operations = [migrations.RunPython(create_version_2, remove_version_2)]
