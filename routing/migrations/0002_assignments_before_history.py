"""One history row for each lead that already has an owner: it was assigned before the
history was kept (at its assigned_at, by nobody known). One INSERT … SELECT: works on
SQLite and PostgreSQL alike and never brings a lead into Python."""

from django.db import migrations

HOW = "before_history"


def backfill(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Assignment = apps.get_model("routing", "Assignment")
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Assignment._meta.db_table)} (lead_id, from_owner_id, to_owner_id,"
            " from_team_id, to_team_id, assigned_by_id, assigned_at, how, rule_name, reason)"
            " SELECT id, NULL, owner_id, NULL, team_id, NULL, assigned_at, %s, '', ''"
            f" FROM {quote(Lead._meta.db_table)}"
            " WHERE owner_id IS NOT NULL AND assigned_at IS NOT NULL ORDER BY id",
            [HOW],
        )


def forget(apps, schema_editor):
    Assignment = apps.get_model("routing", "Assignment")
    Assignment.objects.filter(how=HOW).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]

    operations = [migrations.RunPython(backfill, forget, elidable=True)]
