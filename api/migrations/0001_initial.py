"""Idempotency keys move here from capture, keeping their table capture_idempotencykey."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """Keep permissions and admin history: the content types move with their models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ['idempotencykey']:
        if not ContentType.objects.filter(app_label="api", model=model).exists():
            ContentType.objects.filter(app_label="capture", model=model).update(app_label="api")


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
                    name='IdempotencyKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=200)),
                        ('endpoint', models.CharField(max_length=200)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('status_code', models.PositiveSmallIntegerField()),
                        ('response', models.JSONField()),
                        ('created_at', models.DateTimeField()),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'capture_idempotencykey',
                        'constraints': [models.UniqueConstraint(fields=('user', 'endpoint', 'key'), name='idempotency_unique')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
