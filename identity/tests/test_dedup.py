"""Likely duplicates are found when a lead arrives, and by the sweep for imported ones."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from capture.services import capture_lead
from identity.choices import DuplicateStatus
from identity.dedup import dismiss_candidate, find_duplicate_candidates, scan_duplicates
from identity.models import DuplicateCandidate, LeadMatchKeys
from leads.models import Lead


def capture(email: str, now: datetime, **fields: Any) -> Lead:
    return capture_lead({"email": email, **fields}, source="api", now=now).lead


def pairs() -> list[tuple[int, int, str, int, str]]:
    return list(
        DuplicateCandidate.objects.order_by("lead_a_id", "lead_b_id").values_list(
            "lead_a_id", "lead_b_id", "reason", "score", "status"
        )
    )


def test_a_new_lead_with_a_known_phone_becomes_a_candidate(org: Any, now: datetime) -> None:
    first = capture("ann@acme.io", now, phone="+49 30 1234567")

    second = capture("a.lee@gmail.com", now, phone="030 123 4567", country="Germany")

    assert pairs() == [(first.pk, second.pk, "phone", 60, "open")]


def test_same_name_at_the_same_company_whatever_the_spelling(org: Any, now: datetime) -> None:
    first = capture("jose@acme.io", now, first_name="José", last_name="Müller", company_name="Acme")

    second = capture(
        "jm@gmail.com", now, first_name="JOSE", last_name="muller", company_name="ACME Inc."
    )
    capture("jose@globex.io", now, first_name="José", last_name="Müller", company_name="Globex")

    assert pairs() == [(first.pk, second.pk, "name_company", 80, "open")]


def test_same_name_and_account_from_the_email_domain(org: Any, now: datetime) -> None:
    first = capture("ann@acme.io", now, first_name="Ann", last_name="Lee")

    second = capture("ann.lee@acme.io", now, first_name="Ann", last_name="Lee", company_name="")

    assert first.account_id == second.account_id
    assert pairs() == [(first.pk, second.pk, "name_company", 80, "open")]


def test_phone_name_and_company_together_score_highest(org: Any, now: datetime) -> None:
    fields = {"first_name": "Ann", "last_name": "Lee", "company_name": "Acme", "phone": "+4930123"}
    first = capture("ann@acme.io", now, **fields)

    found = find_duplicate_candidates(capture("ann@gmail.com", now, **fields), now=now)

    assert [(c.lead_a_id, c.reason, c.score) for c in found] == [
        (first.pk, "phone_name_company", 95)
    ]


def test_a_name_alone_or_a_company_alone_is_not_a_match(org: Any, now: datetime) -> None:
    capture("ann@acme.io", now, first_name="Ann", last_name="Lee", company_name="Acme")
    capture("ann@gmail.com", now, first_name="Ann", last_name="Lee")
    capture("bob@acme.io", now, first_name="Bob", last_name="Lee", company_name="Acme")

    assert pairs() == []


def test_an_update_that_adds_a_phone_is_checked_again(org: Any, now: datetime) -> None:
    first = capture("ann@acme.io", now, phone="+49301234567")
    second = capture("ann@gmail.com", now)
    assert pairs() == []

    capture("ann@gmail.com", now, phone="+49 30 1234567")

    assert pairs() == [(first.pk, second.pk, "phone", 60, "open")]


def test_a_dismissed_pair_is_not_asked_about_again(org: Any, now: datetime) -> None:
    capture("ann@acme.io", now, phone="+49301234567")
    capture("ann@gmail.com", now, phone="+49301234567")
    candidate = DuplicateCandidate.objects.get()
    dismiss_candidate(candidate, by=org.marketer, now=now)

    capture("ann@gmail.com", now, phone="+49 30 1234567", first_name="Ann")
    later = capture("third@gmail.com", now, phone="+49301234567")

    statuses = dict(
        DuplicateCandidate.objects.values_list("lead_b_id", "status").filter(lead_b=later)
    )
    assert DuplicateCandidate.objects.get(pk=candidate.pk).status == DuplicateStatus.DISMISSED
    assert statuses == {later.pk: "open"}
    assert DuplicateCandidate.objects.count() == 3


def test_sweep_checks_leads_written_in_bulk_once(org: Any, now: datetime) -> None:
    known = capture("ann@acme.io", now, phone="+49301234567")
    stamp = timezone.now()
    imported = Lead.objects.bulk_create(
        [
            Lead(email=f"p{i}@example.com", phone=phone, stage_changed_at=stamp, arrived_at=stamp)
            for i, phone in enumerate(["+49 30 1234567", "+1 415 555 0100", "+14155550100", ""])
        ]
    )

    checked = scan_duplicates(now=now, batch_size=3)
    again = scan_duplicates(now=now + timedelta(minutes=5))

    assert (checked, again) == (4, 0)
    assert LeadMatchKeys.objects.count() == 5
    assert pairs() == [
        (known.pk, imported[0].pk, "phone", 60, "open"),
        (imported[1].pk, imported[2].pk, "phone", 60, "open"),
    ]


def test_a_switchboard_number_does_not_flood_the_queue(org: Any, now: datetime) -> None:
    for i in range(25):
        capture(f"p{i}@acme.io", now, phone="+49301234567")

    per_lead = DuplicateCandidate.objects.filter(lead_b=Lead.objects.order_by("pk").last())

    assert per_lead.count() == 20


@pytest.mark.django_db(transaction=True)
def test_leads_arriving_at_once_with_one_phone_all_find_each_other(now: datetime) -> None:
    """Each arrival checks the others in its own transaction: without serialising checks
    of one key, two leads committed at the same moment would not see each other."""
    people, barrier = 6, threading.Barrier(6)
    errors: list[BaseException] = []

    def arrive(i: int) -> None:
        try:
            barrier.wait()
            capture_lead({"email": f"p{i}@acme.io", "phone": "+49301234567"}, source="api", now=now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=arrive, args=(i,)) for i in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert DuplicateCandidate.objects.count() == people * (people - 1) // 2
