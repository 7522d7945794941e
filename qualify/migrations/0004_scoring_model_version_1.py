"""Version 1 of the scoring model: the BANT and company-size points, event points and
thresholds the code had as constants, so every installation starts scoring as before."""

from datetime import UTC, datetime

from django.db import migrations


def create_version_1(apps, schema_editor):  # type: ignore[no-untyped-def]
    from qualify.document import VERSION_1

    version = apps.get_model("qualify", "ScoringModelVersion")
    if not version.objects.exists():
        version.objects.create(
            number=1,
            document=VERSION_1,
            is_active=True,
            created_at=datetime.now(UTC),
            note="the points Leadloop scored with before models were editable",
        )


def remove_version_1(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("qualify", "ScoringModelVersion").objects.filter(number=1).delete()


class Migration(migrations.Migration):
    dependencies = [("qualify", "0003_scoring_model_version")]

    operations = [migrations.RunPython(create_version_1, remove_version_1)]
