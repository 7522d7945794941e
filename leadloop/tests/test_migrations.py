"""A database made before the models left capture (5d1fa37) migrates forward without loss.

The test migrates the test database back to the graph of that commit, writes rows with
the historical models of that time, migrates forward to the newest migrations and reads
the same rows through today's models. Every migration added since then is unapplied and
applied again here, so each must be reversible (RunPython with a reverse, even `noop`).
The database ends migrated to the newest state with the schema it started with.

`make check-upgrade` does the same end to end on a database seeded by the old code itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as current_apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from api.models import IdempotencyKey
from capture.models import Submission
from identity.models import DuplicateCandidate, LeadMatchKeys, MergeRecord
from imports.models import ImportJob
from qualify.models import Event
from users.models import User

# The leaf migrations of Leadloop's own apps at 5d1fa37, the last commit before the move.
# Every other app of ours had no migration then.
BEFORE_THE_MOVE = {
    "users": "0001_initial",
    "leads": "0006_lean_indexes",
    "capture": "0009_webhook_deliveries",
    "followup": "0003_initial",
}
# Model name → the app that owns it now; all of them belonged to capture before the move.
MOVED = {
    "importjob": "imports",
    "leadmatchkeys": "identity",
    "duplicatecandidate": "identity",
    "mergerecord": "identity",
    "event": "qualify",
    "idempotencykey": "api",
}
THEN = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)

Node = tuple[str, str]


def _our_apps() -> set[str]:
    """Leadloop's apps with migrations: Django's and third-party apps are left alone."""
    return {
        config.label
        for config in current_apps.get_app_configs()
        if "site-packages" not in Path(config.path).parts
        and Path(config.path, "migrations").is_dir()
    }


def _graph() -> MigrationLoader:
    return MigrationExecutor(connection).loader


def _targets_before_the_move() -> list[tuple[str, str | None]]:
    """The old leaf of each app that existed then, zero for every app of ours since."""
    return [(app, BEFORE_THE_MOVE.get(app)) for app in sorted(_our_apps())]


def _state_nodes_before_the_move(loader: MigrationLoader) -> list[Node]:
    ours = _our_apps()
    others = [node for node in loader.graph.leaf_nodes() if node[0] not in ours]
    return [*BEFORE_THE_MOVE.items(), *others]


def _migrate(targets: list[tuple[str, str | None]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def _migrate_to_newest() -> None:
    _migrate(_graph().graph.leaf_nodes())


def _schema() -> dict[str, Any]:
    """Tables, columns and constraints as the database reports them."""
    introspection = connection.introspection
    with connection.cursor() as cursor:
        tables = sorted(
            info.name for info in introspection.get_table_list(cursor) if info.type == "t"
        )
        return {
            table: (
                [
                    (column.name, column.type_code, column.null_ok)
                    for column in introspection.get_table_description(cursor, table)
                ],
                sorted(
                    (name, sorted(info.items(), key=str))
                    for name, info in introspection.get_constraints(cursor, table).items()
                ),
            )
            for table in tables
        }


@pytest.fixture
def before_the_move(transactional_db: None) -> Iterator[Any]:
    """The historical apps of 5d1fa37 over a database migrated back to it; afterwards the
    database is migrated to the newest state again, whatever the test did."""
    schema = _schema()
    _migrate(_targets_before_the_move())
    loader = _graph()
    old_nodes = {
        node
        for leaf in BEFORE_THE_MOVE.items()
        for node in loader.graph.forwards_plan(leaf)
        if node[0] in _our_apps()
    }
    applied = {node for node in loader.applied_migrations if node[0] in _our_apps()}
    assert applied == old_nodes
    try:
        yield loader.project_state(_state_nodes_before_the_move(loader)).apps
    finally:
        _migrate_to_newest()
        ContentType.objects.clear_cache()
    assert _schema() == schema


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_by_todays_models(before_the_move) -> None:
    # given: a database as 5d1fa37 left it, the moved models' rows in capture's tables
    old = before_the_move
    ContentTypeThen = old.get_model("contenttypes", "ContentType")
    PermissionThen = old.get_model("auth", "Permission")
    content_types, permissions = {}, {}
    for model, app in MOVED.items():
        # The test database was made by today's migrations: put the content types back
        # where 5d1fa37's post_migrate made them.
        ContentTypeThen.objects.filter(app_label=app, model=model).update(app_label="capture")
        content_type, _ = ContentTypeThen.objects.get_or_create(app_label="capture", model=model)
        permission, _ = PermissionThen.objects.get_or_create(
            content_type=content_type,
            codename=f"change_{model}",
            defaults={"name": f"Can change {model}"},
        )
        content_types[model], permissions[model] = content_type.pk, permission.pk

    user = old.get_model("users", "User").objects.create(
        username="importer", password="!", role="marketing"
    )
    user.user_permissions.add(permissions["importjob"])
    group = old.get_model("auth", "Group").objects.create(name="Reviewers")
    group.permissions.add(permissions["mergerecord"])
    user.groups.add(group)
    campaign = old.get_model("leads", "Campaign").objects.create(name="Trade show")
    LeadThen = old.get_model("leads", "Lead")
    ada = LeadThen.objects.create(email="ada@acme.io", stage_changed_at=THEN, arrived_at=THEN)
    twin = LeadThen.objects.create(email="ada@home.io", stage_changed_at=THEN, arrived_at=THEN)
    job = old.get_model("capture", "ImportJob").objects.create(
        created_by=user,
        file_name="badges.csv",
        file_path="/uploads/badges.csv",
        options={"key": "email", "campaign_id": campaign.pk},
        status="done",
        rows_total=2,
        rows_done=2,
        created=2,
        created_at=THEN,
    )
    submission = old.get_model("capture", "Submission").objects.create(
        lead=ada, source="import", import_job=job, line=2, was_created=True, received_at=THEN
    )
    event = old.get_model("capture", "Event").objects.create(
        lead=ada,
        campaign=campaign,
        kind="pricing_page_view",
        occurred_at=THEN,
        received_at=THEN,
        points=10,
        properties={"page": "/pricing"},
        idempotency_key="evt-1",
    )
    key = old.get_model("capture", "IdempotencyKey").objects.create(
        user=user,
        key="batch-1",
        endpoint="/api/v1/events",
        request_hash="a" * 64,
        status_code=200,
        response={"created": 1},
        created_at=THEN,
    )
    old.get_model("capture", "LeadMatchKeys").objects.create(
        lead=ada, phone_key="+493012345", person_key="ada lovelace", checked_at=THEN
    )
    candidate = old.get_model("capture", "DuplicateCandidate").objects.create(
        lead_a=ada,
        lead_b=twin,
        reason="phone",
        score=90,
        status="merged",
        created_at=THEN,
        resolved_at=THEN,
        resolved_by=user,
    )
    merge = old.get_model("capture", "MergeRecord").objects.create(
        survivor=ada,
        duplicate=twin,
        candidate=candidate,
        merged_by=user,
        snapshot={"email": "ada@home.io"},
        freed_email="ada@home.io",
        merged_at=THEN,
    )
    entry = old.get_model("admin", "LogEntry").objects.create(
        action_time=THEN,
        user=user,
        content_type_id=content_types["importjob"],
        object_id=str(job.pk),
        object_repr="import of badges.csv (done)",
        action_flag=CHANGE,
    )

    # when
    _migrate_to_newest()
    ContentType.objects.clear_cache()

    # then: the same rows, through today's models, their foreign keys intact
    read_job = ImportJob.objects.get(pk=job.pk)
    assert (read_job.file_name, read_job.created_by_id, read_job.options) == (
        "badges.csv",
        user.pk,
        {"key": "email", "campaign_id": campaign.pk},
    )
    assert Submission.objects.get(pk=submission.pk).import_job == read_job
    read_event = Event.objects.get(pk=event.pk)
    assert (read_event.lead.email, read_event.campaign_id, read_event.properties) == (
        "ada@acme.io",
        campaign.pk,
        {"page": "/pricing"},
    )
    read_key = IdempotencyKey.objects.get(pk=key.pk)
    assert (read_key.user_id, read_key.key, read_key.response) == (
        user.pk,
        "batch-1",
        {"created": 1},
    )
    assert LeadMatchKeys.objects.get(lead_id=ada.pk).person_key == "ada lovelace"
    read_candidate = DuplicateCandidate.objects.get(pk=candidate.pk)
    assert (read_candidate.lead_a_id, read_candidate.lead_b_id, read_candidate.resolved_by_id) == (
        ada.pk,
        twin.pk,
        user.pk,
    )
    read_merge = MergeRecord.objects.get(pk=merge.pk)
    assert (read_merge.candidate, read_merge.survivor_id, read_merge.duplicate_id) == (
        read_candidate,
        ada.pk,
        twin.pk,
    )

    # and the content types moved with their models: same rows, permissions and history kept
    for model, app in MOVED.items():
        content_type = ContentType.objects.get(pk=content_types[model])
        assert (content_type.app_label, content_type.model) == (app, model)
        assert content_type.model_class() is current_apps.get_model(app, model)
        assert Permission.objects.get(pk=permissions[model]).content_type == content_type
    assert not ContentType.objects.filter(app_label="capture", model__in=MOVED).exists()
    read_user = User.objects.get(pk=user.pk)
    assert read_user.has_perm("imports.change_importjob")
    assert read_user.has_perm("identity.change_mergerecord")
    assert LogEntry.objects.get(pk=entry.pk).get_edited_object() == read_job
    connection.check_constraints()
