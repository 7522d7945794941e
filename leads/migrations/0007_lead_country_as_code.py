"""Leads store their country as an ISO code: each distinct name stored ("Germany",
"Deutschland", "UK") is read once and its leads updated in one statement; a value that
is no country stays as typed (shown as it is). Reversed, codes become English names."""

from django.db import migrations

from leads.countries import country_code, country_codes, country_name


def names_to_codes(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    stored = Lead.objects.exclude(country="").values_list("country", flat=True).distinct()
    for value in list(stored):
        code = country_code(value)
        if code is not None and code != value:
            Lead.objects.filter(country=value).update(country=code)


def codes_to_names(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    known = country_codes()
    stored = Lead.objects.exclude(country="").values_list("country", flat=True).distinct()
    for value in list(stored):
        if value in known:
            Lead.objects.filter(country=value).update(country=country_name(value))


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0006_lean_indexes"),
    ]

    operations = [
        migrations.RunPython(names_to_codes, codes_to_names, elidable=True),
    ]
