"""ImportJob moves here from capture, keeping its table capture_importjob."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """Keep permissions and admin history: the content types move with their models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ['importjob']:
        if not ContentType.objects.filter(app_label="imports", model=model).exists():
            ContentType.objects.filter(app_label="capture", model=model).update(app_label="imports")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('capture', '0009_webhook_deliveries'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        # The tables stay where they are (db_table): only Django's idea of who owns them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ImportJob',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('file_name', models.CharField(max_length=255)),
                        ('file_path', models.CharField(help_text='Where the uploaded file is stored', max_length=1000)),
                        ('options', models.JSONField(blank=True, default=dict, help_text='mapping, key, campaign_id, status, encoding, delimiter … (ImportOptions)')),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed'), ('expired', 'Expired')], default='queued', max_length=20)),
                        ('rows_total', models.PositiveIntegerField(default=0)),
                        ('rows_done', models.PositiveIntegerField(default=0)),
                        ('records_done', models.PositiveIntegerField(default=0, help_text='Resume cursor: de-duplicated records already committed')),
                        ('created', models.PositiveIntegerField(default=0)),
                        ('updated', models.PositiveIntegerField(default=0)),
                        ('merged', models.PositiveIntegerField(default=0)),
                        ('rejected', models.PositiveIntegerField(default=0)),
                        ('write_rejects', models.JSONField(blank=True, default=list)),
                        ('rejects_path', models.CharField(blank=True, max_length=1000)),
                        ('created_at', models.DateTimeField()),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('error', models.TextField(blank=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'capture_importjob',
                        'ordering': ['-created_at'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
