"""Match keys, duplicate candidates and merges move here from capture, keeping their tables."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """Keep permissions and admin history: the content types move with their models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ['leadmatchkeys', 'duplicatecandidate', 'mergerecord']:
        if not ContentType.objects.filter(app_label="identity", model=model).exists():
            ContentType.objects.filter(app_label="capture", model=model).update(app_label="identity")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('leads', '0006_lean_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('capture', '0009_webhook_deliveries'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        # The tables stay where they are (db_table): only Django's idea of who owns them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DuplicateCandidate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reason', models.CharField(choices=[('phone', 'Same phone'), ('name_company', 'Same name and company'), ('phone_name_company', 'Same phone, name and company')], max_length=20)),
                        ('score', models.PositiveSmallIntegerField(help_text='How sure the match is, 0 to 100')),
                        ('status', models.CharField(choices=[('open', 'Open'), ('merged', 'Merged'), ('dismissed', 'Not a duplicate')], default='open', max_length=20)),
                        ('created_at', models.DateTimeField()),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('lead_a', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='leads.lead')),
                        ('lead_b', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='leads.lead')),
                        ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'capture_duplicatecandidate',
                        'ordering': ['-score', '-created_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='LeadMatchKeys',
                    fields=[
                        ('lead', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='match_keys', serialize=False, to='leads.lead')),
                        ('phone_key', models.CharField(blank=True, max_length=40)),
                        ('person_key', models.CharField(blank=True, max_length=210)),
                        ('company_key', models.CharField(blank=True, max_length=200)),
                        ('checked_at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'capture_leadmatchkeys',
                        'indexes': [models.Index(condition=models.Q(('phone_key', ''), _negated=True), fields=['phone_key'], name='matchkeys_phone'), models.Index(condition=models.Q(('person_key', ''), _negated=True), fields=['person_key'], name='matchkeys_person')],
                    },
                ),
                migrations.CreateModel(
                    name='MergeRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('applied', 'Merged'), ('undone', 'Undone')], default='applied', max_length=10)),
                        ('field_choices', models.JSONField(blank=True, default=dict)),
                        ('snapshot', models.JSONField(default=dict)),
                        ('freed_email', models.EmailField(blank=True, max_length=254, null=True)),
                        ('merged_at', models.DateTimeField()),
                        ('undone_at', models.DateTimeField(blank=True, null=True)),
                        ('candidate', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='identity.duplicatecandidate')),
                        ('duplicate', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='merges_into', to='leads.lead')),
                        ('merged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('survivor', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='merges_absorbed', to='leads.lead')),
                        ('undone_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'capture_mergerecord',
                        'ordering': ['-merged_at', '-pk'],
                    },
                ),
                migrations.AddIndex(
                    model_name='duplicatecandidate',
                    index=models.Index(condition=models.Q(('status', 'open')), fields=['-score', '-created_at'], name='duplicate_open'),
                ),
                migrations.AddIndex(
                    model_name='duplicatecandidate',
                    index=models.Index(fields=['lead_b'], name='duplicate_lead_b'),
                ),
                migrations.AddConstraint(
                    model_name='duplicatecandidate',
                    constraint=models.UniqueConstraint(fields=('lead_a', 'lead_b'), name='duplicate_pair_unique'),
                ),
                migrations.AddConstraint(
                    model_name='duplicatecandidate',
                    constraint=models.CheckConstraint(condition=models.Q(('lead_a__lt', models.F('lead_b'))), name='duplicate_pair_ordered'),
                ),
                migrations.AddIndex(
                    model_name='mergerecord',
                    index=models.Index(fields=['survivor', 'merged_at'], name='merge_survivor'),
                ),
                migrations.AddIndex(
                    model_name='mergerecord',
                    index=models.Index(condition=models.Q(('freed_email__isnull', False), ('status', 'applied')), fields=['freed_email'], name='merge_freed_email'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
