"""Engagement events move here from capture, keeping their table capture_event."""


import django.db.models.deletion
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """Keep permissions and admin history: the content types move with their models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ['event']:
        if not ContentType.objects.filter(app_label="qualify", model=model).exists():
            ContentType.objects.filter(app_label="capture", model=model).update(app_label="qualify")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('leads', '0006_lean_indexes'),
        ('capture', '0009_webhook_deliveries'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        # The tables stay where they are (db_table): only Django's idea of who owns them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Event',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(max_length=50)),
                        ('occurred_at', models.DateTimeField()),
                        ('received_at', models.DateTimeField()),
                        ('points', models.IntegerField(default=0)),
                        ('properties', models.JSONField(blank=True, default=dict)),
                        ('idempotency_key', models.CharField(blank=True, max_length=200, null=True, unique=True)),
                        ('campaign', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='leads.campaign')),
                        ('lead', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='leads.lead')),
                    ],
                    options={
                        'db_table': 'capture_event',
                        'ordering': ['-occurred_at'],
                        'indexes': [models.Index(fields=['lead', 'occurred_at'], name='event_lead_time')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
