"""Superusers made before createsuperuser set the role kept the default, sales rep: they
act as admins (users.permissions.role_of), so their role says so too, and routing no
longer counts them among a team's reps."""

from django.db import migrations


def superusers_are_admins(apps, schema_editor):  # type: ignore[no-untyped-def]
    User = apps.get_model("users", "User")
    User.objects.filter(is_superuser=True).exclude(role="admin").update(role="admin")


class Migration(migrations.Migration):
    dependencies = [("users", "0003_verbose_names")]

    # Going back leaves them admins: which of them had the default role is not known.
    operations = [migrations.RunPython(superusers_are_admins, migrations.RunPython.noop)]
