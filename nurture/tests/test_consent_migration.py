"""The consent a web form kept in a lead's custom fields becomes Consent rows (the form it
came from named when its submission is found) and the keys leave the custom fields; the
migration's reverse puts them back as they were."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("nurture", "0005_streams"), ("capture", "0011_verbose_names")]
AFTER = [("nurture", "0006_consent")]
THEN = datetime(2026, 11, 3, 14, 2, tzinfo=UTC)


def migrate(targets):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_custom_field_consent_becomes_consent_rows_and_back_again() -> None:
    old = migrate(BEFORE)
    Lead = old.get_model("leads", "Lead")
    old.get_model("capture", "WebForm").objects.create(
        slug="contact-us", name="Contact us", fields=["email"], consent_text="Send me news",
        consent_purpose="product newsletter",
    )  # fmt: skip
    stamp = THEN.isoformat()
    from_form = {
        "marketing_consent_at": stamp,
        "marketing_consent_text": "Send me news",
        "marketing_consent_purpose": "product newsletter",
        "utm_source": "newsletter",
    }
    ann = Lead.objects.create(
        email="ann@acme.io", arrived_at=THEN, stage_changed_at=THEN, custom_fields=from_form
    )
    old.get_model("capture", "Submission").objects.create(
        lead=ann, source="web_form", received_at=THEN,
        payload={"form": "contact-us", "consent": True, "consent_at": stamp},
    )  # fmt: skip
    # Consent given before forms named a purpose, with a stamp that is no date.
    bob_fields = {"marketing_consent_at": "yesterday", "marketing_consent_text": "Yes please"}
    bob = Lead.objects.create(
        email="bob@acme.io", arrived_at=THEN, stage_changed_at=THEN, custom_fields=bob_fields
    )
    cid = Lead.objects.create(
        email="cid@acme.io", arrived_at=THEN, stage_changed_at=THEN, custom_fields={"a": 1}
    )

    new = migrate(AFTER)

    Consent = new.get_model("nurture", "Consent")
    rows = {
        row.lead.email: (row.purpose.slug, row.purpose.name, row.granted, row.at, row.source,
                         row.reference, row.text)
        for row in Consent.objects.select_related("lead", "purpose")
    }  # fmt: skip
    assert rows == {
        "ann@acme.io": ("product-newsletter", "product newsletter", True, THEN, "form",
                        "Contact us (contact-us)", "Send me news"),
        "bob@acme.io": ("newsletter", "Newsletter", True, THEN, "migrated", "custom fields",
                        "Yes please"),
    }  # fmt: skip
    NewLead = new.get_model("leads", "Lead")
    assert NewLead.objects.get(pk=ann.pk).custom_fields == {"utm_source": "newsletter"}
    assert NewLead.objects.get(pk=bob.pk).custom_fields == {}
    assert NewLead.objects.get(pk=cid.pk).custom_fields == {"a": 1}
    states = new.get_model("nurture", "ConsentState").objects.values_list("lead_id", "granted")
    assert sorted(states) == [(ann.pk, True), (bob.pk, True)]
    assert set(new.get_model("nurture", "ConsentPurpose").objects.values_list("slug", flat=True)) >= {
        "newsletter", "product_updates", "events"
    }  # fmt: skip

    back = migrate(BEFORE)

    BackLead = back.get_model("leads", "Lead")
    assert BackLead.objects.get(pk=ann.pk).custom_fields == from_form
    assert BackLead.objects.get(pk=bob.pk).custom_fields == bob_fields
    assert BackLead.objects.get(pk=cid.pk).custom_fields == {"a": 1}
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
