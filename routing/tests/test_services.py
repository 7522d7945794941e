import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection

from capture.services import capture_lead
from conftest import HOT, make_user
from followup.services import record_touch
from leads.models import Lead
from routing.services import run_due
from users.choices import Role
from users.models import Notification


def test_sales_ready_leads_go_round_robin_and_get_a_deadline(org, now) -> None:
    owners = [
        capture_lead({"email": f"p{i}@acme.io", **HOT}, source="api", now=now).lead.owner
        for i in range(4)
    ]

    assert owners == [org.rep1, org.rep2, org.rep1, org.rep2]
    lead = Lead.objects.get(email="p0@acme.io")
    assert lead.team == org.emea
    assert lead.assigned_at == now
    # Monday 10:00 + 24 business hours of a 9–17 calendar.
    assert lead.sla_due_at == now + timedelta(days=3)


def test_reps_who_are_away_are_skipped(org, now) -> None:
    org.rep1.is_accepting_leads = False
    org.rep1.save()

    owners = {
        capture_lead({"email": f"p{i}@acme.io", **HOT}, source="api", now=now).lead.owner
        for i in range(3)
    }

    assert owners == {org.rep2}


def test_country_decides_the_team(org, now) -> None:
    lead = capture_lead(
        {"email": "u@acme.io", **HOT, "country": "United States"}, source="api", now=now
    ).lead

    assert (lead.team, lead.owner) == (org.americas, org.rep3)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("Deutschland", "DE"), ("UK", "GB"), ("Allemagne", "DE"), ("gb", "GB"), ("Royaume-Uni", "GB")],
)
def test_a_country_as_people_type_it_is_stored_as_its_code_and_routed_on_it(
    org, now, typed, code
) -> None:
    lead = capture_lead({"email": "d@acme.de", **HOT, "country": typed}, source="api", now=now).lead

    assert (lead.country, lead.team) == (code, org.emea)


def test_marquee_account_goes_to_sales_whatever_the_score(org, now) -> None:
    lead = capture_lead({"email": "cio@bigco.com"}, source="api", now=now).lead

    assert (lead.segment, lead.stage) == ("sales_ready", "mql")
    assert lead.owner is not None


def test_account_owner_keeps_the_accounts_leads(org, now) -> None:
    org.marquee.owner = org.rep2
    org.marquee.save()

    owners = [
        capture_lead({"email": f"p{i}@bigco.com"}, source="api", now=now).lead.owner
        for i in range(3)
    ]

    assert owners == [org.rep2] * 3


@pytest.mark.django_db(transaction=True)
def test_round_robin_is_even_under_concurrent_arrivals(now) -> None:
    from users.models import Team

    team = Team.objects.create(name="Solo team", countries=["DE"])
    reps = [make_user(f"r{i}", Role.SALES_REP, team) for i in range(4)]
    arrivals, threads_count = 40, 8
    errors: list[BaseException] = []

    def arrive(worker: int) -> None:
        try:
            for i in range(worker, arrivals, threads_count):
                capture_lead({"email": f"c{i}@acme.io", **HOT}, source="api", now=now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=arrive, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    counts = Counter(Lead.objects.values_list("owner__username", flat=True))
    assert counts == {rep.username: arrivals // len(reps) for rep in reps}


def test_sweep_marks_breaches_once_and_tells_the_owner_and_the_manager(org, now) -> None:
    late = capture_lead({"email": "late@acme.io", **HOT}, source="api", now=now).lead
    touched = capture_lead({"email": "fast@acme.io", **HOT}, source="api", now=now).lead
    record_touch(touched, by=org.rep2, kind="call", outcome="connected", now=now)
    after_deadline = now + timedelta(days=3, minutes=1)

    assert run_due(now=now + timedelta(days=2)) == 0
    assert run_due(now=after_deadline) == 1
    assert run_due(now=after_deadline + timedelta(hours=1)) == 0

    late.refresh_from_db()
    assert late.sla_breached_at == after_deadline
    notes = Notification.objects.filter(kind="sla_breach").order_by("recipient__username")
    assert list(notes.values_list("recipient__username", "lead_id")) == [
        ("manager", late.pk),
        ("rep1", late.pk),
    ]


def test_a_note_does_not_stop_the_clock_but_a_call_does(org, now) -> None:
    lead = capture_lead({"email": "n@acme.io", **HOT}, source="api", now=now).lead

    record_touch(lead, by=org.rep1, kind="note", notes="looked at their site", now=now)
    assert lead.first_touch_at is None

    record_touch(lead, by=org.rep1, kind="call", outcome="no_answer", now=now + timedelta(hours=1))
    assert lead.first_touch_at == now + timedelta(hours=1)
    assert lead.touch_count == 2
