"""The models of imports, identity, qualify and api leave capture: state only, their tables stay."""


import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('capture', '0009_webhook_deliveries'),
        ('imports', '0001_initial'),
        ('identity', '0001_initial'),
        ('qualify', '0001_initial'),
        ('api', '0001_initial'),
    ]

    operations = [
        # The tables stay where they are (db_table): only Django's idea of who owns them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name='duplicatecandidate',
                    name='duplicate_open',
                ),
                migrations.RemoveIndex(
                    model_name='duplicatecandidate',
                    name='duplicate_lead_b',
                ),
                migrations.RemoveConstraint(
                    model_name='duplicatecandidate',
                    name='duplicate_pair_unique',
                ),
                migrations.RemoveConstraint(
                    model_name='duplicatecandidate',
                    name='duplicate_pair_ordered',
                ),
                migrations.RemoveIndex(
                    model_name='event',
                    name='event_lead_time',
                ),
                migrations.RemoveConstraint(
                    model_name='idempotencykey',
                    name='idempotency_unique',
                ),
                migrations.RemoveField(
                    model_name='importjob',
                    name='created_by',
                ),
                migrations.AlterField(
                    model_name='submission',
                    name='import_job',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='imports.importjob'),
                ),
                migrations.RemoveIndex(
                    model_name='leadmatchkeys',
                    name='matchkeys_phone',
                ),
                migrations.RemoveIndex(
                    model_name='leadmatchkeys',
                    name='matchkeys_person',
                ),
                migrations.RemoveIndex(
                    model_name='mergerecord',
                    name='merge_survivor',
                ),
                migrations.RemoveIndex(
                    model_name='mergerecord',
                    name='merge_freed_email',
                ),
                migrations.RemoveField(
                    model_name='duplicatecandidate',
                    name='lead_a',
                ),
                migrations.RemoveField(
                    model_name='duplicatecandidate',
                    name='lead_b',
                ),
                migrations.RemoveField(
                    model_name='duplicatecandidate',
                    name='resolved_by',
                ),
                migrations.RemoveField(
                    model_name='event',
                    name='campaign',
                ),
                migrations.RemoveField(
                    model_name='event',
                    name='lead',
                ),
                migrations.RemoveField(
                    model_name='idempotencykey',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='ImportJob',
                ),
                migrations.RemoveField(
                    model_name='leadmatchkeys',
                    name='lead',
                ),
                migrations.RemoveField(
                    model_name='mergerecord',
                    name='candidate',
                ),
                migrations.RemoveField(
                    model_name='mergerecord',
                    name='duplicate',
                ),
                migrations.RemoveField(
                    model_name='mergerecord',
                    name='merged_by',
                ),
                migrations.RemoveField(
                    model_name='mergerecord',
                    name='survivor',
                ),
                migrations.RemoveField(
                    model_name='mergerecord',
                    name='undone_by',
                ),
                migrations.DeleteModel(
                    name='Event',
                ),
                migrations.DeleteModel(
                    name='IdempotencyKey',
                ),
                migrations.DeleteModel(
                    name='LeadMatchKeys',
                ),
                migrations.DeleteModel(
                    name='DuplicateCandidate',
                ),
                migrations.DeleteModel(
                    name='MergeRecord',
                ),
            ],
            database_operations=[],
        ),
    ]
