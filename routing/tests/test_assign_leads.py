"""assign_leads: many sales-ready leads routed together, as assign_lead routes each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from leads.models import Account, Lead
from routing.services import assign_lead, assign_leads
from users.models import Team

# (country, account domain, own team) of each lead, in the order they are routed.
CASES = [
    ("DE", None, None),
    ("US", None, None),
    ("FR", "owned.io", None),  # an active account owner keeps the lead
    ("CA", "left.io", None),  # the owner left: the owner's team's round robin
    ("", None, "Americas"),  # its own team
    ("BR", None, None),  # no team for the country: the first team
    ("GB", None, None),
    ("DE", None, None),
]


def leads_for(prefix: str, now: datetime) -> list[Lead]:
    teams = {team.name: team for team in Team.objects.all()}
    made = []
    for n, (country, domain, team) in enumerate(CASES):
        made.append(
            Lead.objects.create(
                email=f"{prefix}{n}@example.io",
                country=country,
                account=Account.objects.get(domain=domain) if domain else None,
                team=teams[team] if team else None,
                stage="mql",
                arrived_at=now,
                stage_changed_at=now,
            )
        )
    return list(Lead.objects.filter(pk__in=[lead.pk for lead in made]).order_by("pk"))


def routed(leads: list[Lead]) -> list[tuple[Any, ...]]:
    return [
        (lead.team_id, lead.owner_id, lead.assigned_at, lead.sla_due_at)
        for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]).order_by("pk")
    ]


@pytest.fixture
def accounts(org: Any) -> None:
    Account.objects.create(name="Owned", domain="owned.io", owner=org.rep3)
    left = Account.objects.create(name="Left", domain="left.io", owner=org.rep1)
    org.rep1.is_active = False
    org.rep1.save()
    assert left.owner_id == org.rep1.pk


def test_each_lead_gets_the_team_owner_and_clock_assign_lead_gives(
    accounts: None, now: datetime
) -> None:
    pointers = dict(Team.objects.values_list("pk", "last_assigned_user_id"))
    one_by_one = leads_for("a", now)
    for lead in one_by_one:
        assign_lead(lead, now=now)
    after_one_by_one = dict(Team.objects.values_list("pk", "last_assigned_user_id"))
    for team_id, pointer in pointers.items():
        Team.objects.filter(pk=team_id).update(last_assigned_user_id=pointer)

    together = leads_for("b", now)
    assign_leads(together, now=now)

    assert routed(together) == routed(one_by_one)
    assert dict(Team.objects.values_list("pk", "last_assigned_user_id")) == after_one_by_one
    # and the objects handed in say what was stored
    assert [(lead.team_id, lead.owner_id) for lead in together] == [
        row[:2] for row in routed(together)
    ]


@pytest.mark.parametrize("count", [2, 20])
def test_queries_do_not_grow_with_the_number_of_leads(
    org: Any, now: datetime, count: int, django_assert_max_num_queries: Any
) -> None:
    leads = [
        Lead.objects.create(
            email=f"p{n}@example.io", country="DE", stage="mql", arrived_at=now,
            stage_changed_at=now,
        )
        for n in range(count)
    ]  # fmt: skip
    # 10 for the routing (teams, rules, reps, leave) and its history, 3 for the SLA
    # policies (the teams' catch-all ones, then the leads' teams and their policies), 2
    # for every rep's "new lead for you" notes (who wants them by email, the notes), 8
    # for follow-up enrolling the leads in their cadence with their first tasks, 1 for
    # the follow-up roll-up (routing.rollup: one upsert for every rep's new turns), 1
    # for the campaigns the turns count for (their leads' memberships), 1 for nurture
    # ending the leads' program runs (one UPDATE).
    with django_assert_max_num_queries(26):
        assign_leads(leads, now=now)
    owners = [owner for _, owner, _, _ in routed(leads)]
    assert owners == [org.rep1.pk, org.rep2.pk] * (count // 2)
