"""Teams route on country codes: the names stored in Team.countries become ISO codes
("Germany" → "DE"); a name that is no country is kept as it was. Reversed, codes become
English names."""

from django.db import migrations, models

from leads.countries import country_code, country_codes, country_name


def names_to_codes(apps, schema_editor):
    Team = apps.get_model("users", "Team")
    for team in Team.objects.all():
        codes = [country_code(str(name)) or name for name in team.countries]
        team.countries = list(dict.fromkeys(codes))
        team.save(update_fields=["countries"])


def codes_to_names(apps, schema_editor):
    Team = apps.get_model("users", "Team")
    known = country_codes()
    for team in Team.objects.all():
        team.countries = [country_name(c) if c in known else c for c in team.countries]
        team.save(update_fields=["countries"])


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="team",
            name="countries",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text=(
                    "ISO codes (DE, GB, US) of the countries whose leads this team works"
                    " (routing)"
                ),
            ),
        ),
        migrations.RunPython(names_to_codes, codes_to_names),
    ]
