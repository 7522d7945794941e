"""Every assignment of a lead is written to its history: who, when, from whom to whom, why."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.db import connection

from capture.services import capture_lead
from conftest import HOT
from followup.services import accept_lead, record_touch
from leads.models import Account, Lead
from routing.choices import AssignedHow
from routing.models import Assignment
from routing.services import assign_lead, assign_leads, reassign_lead
from users.models import Notification

FIELDS = ("lead_id", "from_owner", "to_owner", "from_team", "to_team", "assigned_by", "how")


def history(lead: Lead) -> list[tuple[Any, ...]]:
    return [
        (*(getattr(row, f) for f in FIELDS), row.assigned_at, row.reason, row.summary)
        for row in Assignment.objects.filter(lead=lead).select_related(
            "from_owner", "to_owner", "from_team", "to_team", "assigned_by"
        )
    ]


def test_round_robin_is_written_with_its_team(org: Any, now: datetime) -> None:
    lead = capture_lead({"email": "ann@acme.io", **HOT}, source="api", now=now).lead

    assert history(lead) == [
        (lead.pk, None, org.rep1, None, org.emea, None, "round_robin", now, "",
         "Assigned to rep1 (round robin in team EMEA)"),
    ]  # fmt: skip


def test_the_account_owner_is_written_as_the_reason(org: Any, now: datetime) -> None:
    org.marquee.owner = org.rep2
    org.marquee.save()

    lead = capture_lead({"email": "cio@bigco.com"}, source="api", now=now).lead

    assert history(lead) == [
        (lead.pk, None, org.rep2, None, org.emea, None, "account_owner", now, "",
         "Assigned to rep2 (account owner)"),
    ]  # fmt: skip


def test_a_lead_no_rep_can_take_waits_in_the_team_queue(org: Any, now: datetime) -> None:
    org.emea.members.update(is_accepting_leads=False)

    lead = capture_lead({"email": "ann@acme.io", **HOT}, source="api", now=now).lead

    assert history(lead) == [
        (lead.pk, None, None, None, org.emea, None, "team_queue", now, "",
         "Assigned to team EMEA's queue (no rep accepting leads)"),
    ]  # fmt: skip


def test_no_team_at_all_writes_no_history(db: None, now: datetime) -> None:
    lead = capture_lead({"email": "ann@acme.io", **HOT}, source="api", now=now).lead

    assert (lead.owner_id, lead.team_id) == (None, None)
    assert history(lead) == []


def test_a_chosen_owner_says_from_whom_and_by_whom(org: Any, now: datetime) -> None:
    lead = capture_lead({"email": "ann@acme.io", **HOT}, source="api", now=now).lead
    later = now + timedelta(hours=1)

    assign_lead(lead, now=later, to=org.rep2, by=org.admin)

    assert history(lead)[1] == (
        lead.pk, org.rep1, org.rep2, org.emea, org.emea, org.admin, "chosen", later, "",
        "Assigned to rep2",
    )  # fmt: skip


def test_a_reassignment_says_who_from_whom_to_whom_and_why(org: Any, now: datetime) -> None:
    lead = capture_lead({"email": "ann@acme.io", **HOT}, source="api", now=now).lead
    later = now + timedelta(hours=2)

    reassign_lead(
        lead, org.rep2, now=later, by=org.manager, reason="  rep1 is on leave — zurück am Montag "
    )

    assert history(lead)[1:] == [
        (lead.pk, org.rep1, org.rep2, org.emea, org.emea, org.manager, "reassigned", later,
         "rep1 is on leave — zurück am Montag", "Reassigned from rep1 to rep2"),
    ]  # fmt: skip
    assert Notification.objects.get(kind="reassigned").recipient == org.rep2


def test_a_rep_who_works_a_queued_lead_takes_it(org: Any, now: datetime) -> None:
    org.emea.members.update(is_accepting_leads=False)
    touched = capture_lead({"email": "t@acme.io", **HOT}, source="api", now=now).lead
    accepted = capture_lead({"email": "a@acme.io", **HOT}, source="api", now=now).lead
    later = now + timedelta(hours=1)

    record_touch(touched, by=org.rep1, kind="call", now=later)
    record_touch(touched, by=org.rep1, kind="call", now=later + timedelta(hours=1))
    accept_lead(accepted, by=org.rep2, now=later)

    assert [row[1:] for row in history(touched)][1:] == [
        (None, org.rep1, org.emea, org.emea, org.rep1, "claimed", later, "",
         "Taken from team EMEA's queue"),
    ]  # fmt: skip
    assert [row[1:] for row in history(accepted)][1:] == [
        (None, org.rep2, org.emea, org.emea, org.rep2, "claimed", later, "",
         "Taken from team EMEA's queue"),
    ]  # fmt: skip


def test_bulk_routing_writes_one_row_per_lead_in_a_few_queries(
    org: Any, now: datetime, django_assert_max_num_queries: Any
) -> None:
    Account.objects.create(name="Owned", domain="owned.io", owner=org.rep3)
    owned = Account.objects.get(domain="owned.io")
    leads = [
        Lead.objects.create(
            email=f"p{n}@example.io", country="DE", stage="mql", arrived_at=now,
            stage_changed_at=now, account=owned if n % 10 == 0 else None,
        )
        for n in range(60)
    ]  # fmt: skip
    # As qualify hands them over: whole rows, with the account's owner.
    leads = list(
        Lead.objects.filter(pk__in=[lead.pk for lead in leads])
        .select_related("account__owner")
        .order_by("pk")
    )

    # The history, the reps' notes in one INSERT (and who wants them by email), two for
    # what routing reads of its rules and of the reps' leave, 3 for the SLA policies
    # (the teams' catch-all ones, the leads' teams and their policies), and 8 for
    # follow-up enrolling the leads in their cadences (whatever their number), 1 for the
    # follow-up roll-up, 1 for the campaigns the turns count for (their leads'
    # memberships), 1 for nurture ending the leads' program runs.
    with django_assert_max_num_queries(27):
        assign_leads(leads, now=now)

    rows = list(Assignment.objects.order_by("lead_id").values_list(*FIELDS, "assigned_at"))
    expected = []
    rotation = iter([org.rep1.pk, org.rep2.pk] * 30)
    for n, lead in enumerate(leads):
        if n % 10 == 0:
            expected.append((lead.pk, None, org.rep3.pk, None, org.americas.pk, None,
                             "account_owner", now))  # fmt: skip
        else:
            expected.append((lead.pk, None, next(rotation), None, org.emea.pk, None,
                             "round_robin", now))  # fmt: skip
    assert rows == expected
    assert dict(Lead.objects.values_list("pk", "owner_id")) == {row[0]: row[2] for row in rows}


def test_leads_assigned_before_the_history_get_one_row_each(org: Any, now: datetime) -> None:
    owned = capture_lead({"email": "ann@acme.io", **HOT}, source="api", now=now).lead
    queued = capture_lead({"email": "bob@acme.io", **HOT}, source="api", now=now).lead
    Lead.objects.filter(pk=queued.pk).update(owner=None, assigned_at=None)
    Assignment.objects.all().delete()
    migration = importlib.import_module("routing.migrations.0002_assignments_before_history")

    migration.backfill(apps, SimpleNamespace(connection=connection))

    assert history(owned) == [
        (owned.pk, None, org.rep1, None, org.emea, None, "before_history", now, "",
         "Assigned to rep1 (assigned before history was kept)"),
    ]  # fmt: skip
    assert history(queued) == []
    assert Assignment.objects.get().how == AssignedHow.BEFORE_HISTORY
