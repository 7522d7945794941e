"""Routing: which team and rep get a sales-ready lead, the SLA clock, and its sweep."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Q

from leads.choices import Stage
from leads.history import history_ids, move_rows
from leads.lifecycle import SALES_STAGES
from leads.models import CampaignMember, Lead
from leads.services import transition_lead, update_lead, update_leads
from users.choices import NotificationKind, Role
from users.models import Team, User
from users.services import Message, notify, notify_assigned, notify_many

from . import rollup
from .choices import AssignedHow, SlaStepKind, SlaStepOutcome
from .models import Assignment, RoutingRule, SlaStep, TurnCampaign
from .router import Decision, Router, lead_facts
from .rules import BusinessCalendar, SlaPlan, business_hours_between
from .signals import lead_assigned
from .sla import (
    Profile,
    default_deadlines,
    plan_for_lead,
    plans_for_leads,
    plans_for_profiles,
    schedule_ladders,
)
from .sla import calendar_of as calendar_of  # the team's calendar, read from here too

log = logging.getLogger(__name__)


def sla_deadline(team: Team, start: datetime) -> datetime:
    """The deadline of a lead routed with nothing known of it (the bulk routing of an
    import): the team's catch-all SLA policy (routing.sla)."""
    return default_deadlines([team], start)[team.pk]


def choose_team(lead: Lead) -> Team | None:
    """The team a lead belongs to: its own, its account owner's, its country's, or the first."""
    if lead.team_id:
        return lead.team
    if lead.account_id and lead.account and lead.account.owner_id:
        owner_team = lead.account.owner.team if lead.account.owner else None
        if owner_team:
            return owner_team
    teams = list(Team.objects.all())
    by_country, first_team = country_teams(teams)
    team_id = by_country.get(lead.country) or first_team
    return next((team for team in teams if team.pk == team_id), None)


def country_teams(teams: list[Team]) -> tuple[dict[str, int], int | None]:
    """What `choose_team` reads, for many leads at once: the first team (in `teams`'
    order, by name) of each country code, and the fall-back first team."""
    by_country: dict[str, int] = {}
    for team in teams:
        for country in team.countries:
            by_country.setdefault(str(country), team.pk)
    return by_country, (teams[0].pk if teams else None)


@dataclass(frozen=True)
class Handover:
    """One assignment to write to a lead's history: from whom to whom, and how. A lead
    waiting in a team's queue has a team and no owner."""

    lead_id: int
    to_owner_id: int | None
    to_team_id: int | None
    how: AssignedHow
    from_owner_id: int | None = None
    from_team_id: int | None = None
    reason: str = ""
    rule_name: str = ""
    rule_id: int | None = None

    @property
    def changes_anything(self) -> bool:
        """False when nobody had the lead and nobody gets it (routing found no team)."""
        return any((self.to_owner_id, self.to_team_id, self.from_owner_id, self.from_team_id))


# Rows per INSERT: an import records a chunk's routed leads (up to ~25,000) in a few.
RECORD_BATCH_SIZE = 20_000
# The columns each hand-over fills, in the order the INSERTs below take them.
HANDOVER_COLUMNS = (
    "lead_id", "from_owner_id", "to_owner_id", "from_team_id", "to_team_id",
    "how", "rule_name", "reason", "rule_id",
)  # fmt: skip


def record_assignments(
    handovers: Iterable[Handover], *, by: User | None = None, now: datetime
) -> int:
    """Write one history row per hand-over, all at `now` and on `by`'s word (None: routing
    itself), with one INSERT per RECORD_BATCH_SIZE rows, and tell each rep who gets a lead
    (users.services.notify_assigned, as set-based). The caller has already given the
    leads their new owner, in the same transaction. Returns how many rows were written.

    The rows go to the database as one value per column (PostgreSQL: arrays, unnested)
    or one JSON array (SQLite: json_each), not as model instances: bulk_create took 7 s
    for the 100,000 leads a million-row import routes, this takes under 1 s.
    """
    handovers = list(handovers)
    rows = [
        (
            handover.lead_id,
            handover.from_owner_id,
            handover.to_owner_id,
            handover.from_team_id,
            handover.to_team_id,
            str(handover.how),
            handover.rule_name[:100],
            handover.reason[:300],
            handover.rule_id,
        )
        for handover in handovers
    ]
    constants = [by.pk if by is not None else None, connection.ops.adapt_datetimefield_value(now)]
    table = connection.ops.quote_name(Assignment._meta.db_table)
    head = (
        f"INSERT INTO {table} ({', '.join(HANDOVER_COLUMNS)}, assigned_by_id, assigned_at, due_at)"
    )
    # The turn's deadline is the one the caller just gave the lead (the follow-up figures).
    lead_table = connection.ops.quote_name(Lead._meta.db_table)
    due = f"(SELECT l.sla_due_at FROM {lead_table} AS l WHERE l.id = {{lead}})"
    # The turns written (to a rep: a queue's hand-over is not a turn): (id, lead id).
    turns: list[tuple[int, int]] = []
    returning = " RETURNING id, lead_id, to_owner_id"
    # No savepoint: the rows belong with the caller's owner change, which fails with them.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(rows), RECORD_BATCH_SIZE):
            batch = rows[start : start + RECORD_BATCH_SIZE]
            if connection.vendor == "postgresql":
                types = ["bigint"] * 5 + ["text"] * 3 + ["bigint"]
                arrays = ", ".join(f"%s::{kind}[]" for kind in types)
                names = ", ".join(HANDOVER_COLUMNS)
                cursor.execute(
                    f"{head} SELECT u.*, %s::bigint, %s::timestamptz,"
                    f" {due.format(lead='u.lead_id')} FROM unnest({arrays}) AS u({names})"
                    f"{returning}",
                    [*constants, *(list(column) for column in zip(*batch, strict=True))],
                )
            else:
                values = ", ".join(
                    f"json_extract(value, '$[{n}]')" for n in range(len(HANDOVER_COLUMNS))
                )
                lead = "json_extract(value, '$[0]')"
                cursor.execute(
                    f"{head} SELECT {values}, %s, %s, {due.format(lead=lead)}"
                    f" FROM json_each(%s) ORDER BY key{returning}",
                    [*constants, json.dumps(batch)],
                )
            turns += [(pk, lead_id) for pk, lead_id, rep in cursor.fetchall() if rep is not None]
        campaigns = _record_turn_campaigns(turns)
        # Each rep hears of the leads given to them, but not of one they took themselves;
        # a reassignment tells it in its own words (reassign_lead).
        notify_assigned(
            (
                (handover.lead_id, handover.to_owner_id)
                for handover in handovers
                if handover.to_owner_id is not None
                and handover.how != AssignedHow.REASSIGNED
                and (by is None or by.pk != handover.to_owner_id)
            ),
            now=now,
        )
        # The follow-up roll-up counts each turn given to a rep (routing.rollup).
        rollup.count_given(
            ((h.to_owner_id, h.to_team_id, campaigns.get(h.lead_id, ())) for h in handovers),
            now=now,
        )
        if handovers:
            lead_assigned.send(sender=Assignment, assignments=handovers, by=by, now=now)
    return len(rows)


def _record_turn_campaigns(turns: list[tuple[int, int]]) -> dict[int, tuple[int, ...]]:
    """The campaigns each new turn counts for in the follow-up figures: its lead's
    memberships now, written as TurnCampaign rows. `turns`: (assignment id, lead id).
    Returns the campaigns per lead."""
    by_lead: dict[int, list[int]] = {}
    leads = sorted({lead for _, lead in turns})
    for start in range(0, len(leads), 10_000):
        for lead, campaign in CampaignMember.objects.filter(
            lead_id__in=leads[start : start + 10_000]
        ).values_list("lead_id", "campaign_id"):
            by_lead.setdefault(lead, []).append(campaign)
    rows = [(pk, campaign) for pk, lead in turns for campaign in by_lead.get(lead, ())]
    if rows:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {quote(TurnCampaign._meta.db_table)}"
                " (assignment_id, campaign_id) VALUES (%s, %s)",
                rows,
            )
    return {lead: tuple(sorted(campaigns)) for lead, campaigns in by_lead.items()}


def assign_lead(
    lead: Lead,
    *,
    now: datetime,
    to: User | None = None,
    by: User | None = None,
    reason: str = "",
) -> Lead:
    """Give `lead` an owner, start its SLA clock, and write the assignment to its history.

    The owner is `to` if given, else routing decides (routing.router: the account owner,
    named accounts staying with their rep; else the first routing rule that matches; else
    the round robin of the lead's country's team, skipping reps who are away, on leave,
    full or outside working hours for a short SLA). The teams are locked while the
    pointer moves, so concurrent arrivals are spread evenly and never collide. The lead's
    owner and team before are read from `lead`: the caller holds its row. `reason`, if
    any, is kept with the assignment. A lead nobody can take waits in its team's queue
    and the team's managers are told.
    """
    with transaction.atomic():
        decision: Decision | None = None
        if to is not None:
            team = to.team if to.team_id else choose_team(lead)
            owner_id: int | None = to.pk
            how = AssignedHow.CHOSEN
        else:
            router = Router(now=now, lock=True)
            decision = decide_for(router, lead)
            router.save_pointers()
            team = router.teams.get(decision.team_id) if decision.team_id else None
            owner_id, how = decision.owner_id, decision.how
        handover = Handover(
            lead.pk,
            to_owner_id=owner_id,
            to_team_id=team.pk if team is not None else None,
            how=how,
            from_owner_id=lead.owner_id,
            from_team_id=lead.team_id,
            reason=reason.strip(),
            rule_name=decision.rule_name if decision else "",
            rule_id=decision.rule_id if decision else None,
        )
        plan = plan_for_lead(lead, team, now=now) if team is not None else None
        due = plan.due_at if plan is not None else None
        fields = {
            "team": team,
            "owner_id": owner_id,
            "assigned_at": now if owner_id else None,
            # Each time a lead enters sales it gets a fresh clock.
            "sla_due_at": due,
            "first_touch_at": None,
            "sla_breached_at": None,
            "updated_at": now,
        }
        update_lead(lead.pk, **fields)
        if plan is not None:
            schedule_ladders({lead.pk: plan})
        if handover.changes_anything:
            record_assignments([handover], by=by, now=now)
        for name, value in fields.items():
            setattr(lead, name, value)
        if decision is not None and decision.alert:
            alert_queued([(lead.pk, decision.team_id)], now=now)
    if owner_id is None:
        log.warning("lead %s waits in %s's queue: no rep accepting leads", lead.pk, team)
    return lead


def send_to_sales(lead: Lead, *, by: User | None, reason: str, now: datetime) -> Lead:
    """Marketing hands `lead` to sales by hand: it becomes an MQL and is routed as if it
    had scored sales-ready (account owner, else the team's round robin), with `reason` in
    its stage change and its assignment. The lifecycle refuses a lead not marketing's
    (new, nurturing, recycled: `users.permissions`) under the lead's row lock. `by` is
    None when a nurture program's hand-to-sales step sends it."""
    why = f"sent to sales by hand: {reason.strip()}"
    with transaction.atomic():
        transition_lead(lead, Stage.MQL.value, now=now, by=by, reason=why)
        assign_lead(lead, now=now, by=by, reason=why)
    return lead


@dataclass(frozen=True)
class Routable:
    """What routing reads of a sales-ready lead: its own team and country, its account's
    owner, and (for the routing rules) its fields as routing.router.lead_facts gives them;
    without `facts` the rules are not tried."""

    lead_id: int
    team_id: int | None
    country: str
    owner_id: int | None
    owner_team_id: int | None
    owner_is_active: bool
    facts: Mapping[str, Any] | None = None
    # What picks its SLA policy (routing.sla.Profile): unknown, the team's catch-all.
    grade: str = ""
    segment: str = ""
    is_marquee: bool = False


@dataclass(frozen=True)
class Route:
    team_id: int | None
    owner_id: int | None
    sla_due_at: datetime | None
    how: AssignedHow
    rule_id: int | None = None
    rule_name: str = ""
    # The clock's whole ladder (its deadline is sla_due_at); None without a team.
    plan: SlaPlan | None = None


def decide_for(router: Router, lead: Lead) -> Decision:
    """The router's decision for one lead object (with its account loaded)."""
    facts = lead_facts([lead], campaigns=router.reads("campaign")) if router.rules else {}
    routable = routable_of(lead, facts.get(lead.pk))
    return decide_routable(router, routable)


def decide_routable(router: Router, lead: Routable) -> Decision:
    return router.decide(
        team_id=lead.team_id,
        country=lead.country,
        owner_id=lead.owner_id,
        owner_team_id=lead.owner_team_id,
        owner_is_active=lead.owner_is_active,
        facts=lead.facts,
    )


def has_active_rules() -> bool:
    """Whether any routing rule is active (a bulk path reads the leads' fields only then)."""
    return RoutingRule.objects.filter(is_active=True).exists()


def route_leads(
    leads: Sequence[Routable], *, now: datetime, router: Router | None = None
) -> dict[int, Route]:
    """Team, owner and SLA deadline of each lead, as assign_lead decides them one at a
    time, in the order given (routing.router: account owner, rules, the country's team's
    round robin, capacity, leave and working hours). The teams stay locked (taken by name)
    until the caller's transaction ends, and their pointers are moved. The managers of a
    team whose leads nobody could take are told, once per batch and team."""
    if not leads:
        return {}
    router = router or Router(now=now, lock=True, preload=True)
    decisions = {lead.lead_id: decide_routable(router, lead) for lead in leads}
    router.save_pointers()
    # Each lead's clock from its team's policy for its grade, segment and account.
    plans = plans_for_profiles(
        {
            lead.lead_id: Profile(team_id, lead.grade, lead.segment, lead.is_marquee)
            for lead in leads
            if (team_id := decisions[lead.lead_id].team_id) is not None
        },
        now=now,
    )
    alert_queued([(lead_id, d.team_id) for lead_id, d in decisions.items() if d.alert], now=now)
    return {
        lead_id: Route(
            d.team_id,
            d.owner_id,
            plans[lead_id].due_at if lead_id in plans else None,
            d.how,
            d.rule_id,
            d.rule_name,
            plan=plans.get(lead_id),
        )
        for lead_id, d in decisions.items()
    }


def alert_queued(waiting: Sequence[tuple[int, int | None]], *, now: datetime) -> int:
    """Tell each team's active managers of its leads that nobody could take: (lead id,
    team id) pairs. One message per lead and manager, keyed by lead and moment; a batch
    of more than five leads for a team is one message saying how many."""
    by_team: dict[int, list[int]] = {}
    for lead_id, team_id in waiting:
        if team_id is not None:
            by_team.setdefault(team_id, []).append(lead_id)
    if not by_team:
        return 0
    managers: dict[int, list[int]] = {}
    for manager_id, team_id in User.objects.filter(
        team_id__in=list(by_team), role=Role.SALES_MANAGER, is_active=True
    ).values_list("pk", "team_id"):
        managers.setdefault(team_id, []).append(manager_id)
    names = dict(Team.objects.filter(pk__in=list(by_team)).values_list("pk", "name"))
    few = [lead_id for ids in by_team.values() if len(ids) <= 5 for lead_id in ids]
    emails = dict(Lead.objects.filter(pk__in=few).values_list("pk", "email")) if few else {}
    messages: list[Message] = []
    for team_id, lead_ids in by_team.items():
        team = names.get(team_id, "")
        items: list[tuple[int | None, str, str]]
        if len(lead_ids) > 5:
            text = f"{len(lead_ids)} leads wait in team {team}'s queue: no rep can take them"
            items = [(None, f"queued:{team_id}:{now.isoformat()}", text)]
        else:
            items = [
                (
                    lead_id,
                    f"queued:{lead_id}:{now.isoformat()}",
                    f"{emails.get(lead_id) or f'Lead #{lead_id}'} waits in team {team}'s"
                    " queue: no rep can take it",
                )
                for lead_id in lead_ids
            ]
        messages += [
            Message(manager_id, NotificationKind.QUEUED, text, about, key)
            for about, key, text in items
            for manager_id in managers.get(team_id, [])
        ]
    return notify_many(messages, now=now)


def assign_leads(leads: list[Lead], *, now: datetime) -> None:
    """assign_lead for many leads, in the order given, with a few statements for all:
    route_leads decides, then one UPDATE per (team, owner), then one INSERT of their
    history per batch of rows. The caller holds the leads' rows, with their account and
    its owner loaded."""
    if not leads:
        return
    with transaction.atomic():
        router = Router(now=now, lock=True, preload=True)
        facts = lead_facts(leads, campaigns=router.reads("campaign")) if router.rules else {}
        routes = route_leads(
            [routable_of(lead, facts.get(lead.pk)) for lead in leads], now=now, router=router
        )
        # Each lead's clock comes from its team's SLA policy for its grade, segment, account.
        plans = plans_for_leads(leads, {pk: r.team_id for pk, r in routes.items()}, now=now)
        routes = {
            pk: replace(route, sla_due_at=plans[pk].due_at) if pk in plans else route
            for pk, route in routes.items()
        }
        schedule_ladders(plans)
        groups: dict[tuple[int | None, int | None, datetime | None], list[int]] = {}
        for lead in leads:
            route = routes[lead.pk]
            groups.setdefault((route.team_id, route.owner_id, route.sla_due_at), []).append(lead.pk)
        for (team_id, owner_id, sla_due_at), ids in groups.items():
            update_leads(
                ids,
                team_id=team_id,
                owner_id=owner_id,
                assigned_at=now if owner_id else None,
                sla_due_at=sla_due_at,
                first_touch_at=None,
                sla_breached_at=None,
                updated_at=now,
            )
            if owner_id is None:
                log.warning(
                    "%d leads wait in team %s's queue: no rep accepting leads", len(ids), team_id
                )
        handovers = (
            Handover(
                lead.pk,
                to_owner_id=routes[lead.pk].owner_id,
                to_team_id=routes[lead.pk].team_id,
                how=routes[lead.pk].how,
                from_owner_id=lead.owner_id,
                from_team_id=lead.team_id,
                rule_name=routes[lead.pk].rule_name,
                rule_id=routes[lead.pk].rule_id,
            )
            for lead in leads
        )
        record_assignments([h for h in handovers if h.changes_anything], now=now)
    for lead in leads:
        route = routes[lead.pk]
        lead.team_id, lead.owner_id, lead.sla_due_at = (
            route.team_id,
            route.owner_id,
            route.sla_due_at,
        )
        lead.assigned_at = now if route.owner_id else None
        lead.first_touch_at = lead.sla_breached_at = None


def routable_of(lead: Lead, facts: Mapping[str, Any] | None = None) -> Routable:
    owner = lead.account.owner if lead.account_id and lead.account else None
    return Routable(
        lead_id=lead.pk,
        team_id=lead.team_id,
        country=lead.country,
        owner_id=owner.pk if owner else None,
        owner_team_id=owner.team_id if owner else None,
        owner_is_active=bool(owner and owner.is_active),
        facts=facts,
        grade=lead.grade,
        segment=lead.segment,
        is_marquee=bool(lead.account_id and lead.account and lead.account.is_marquee),
    )


def reassign_lead(
    lead: Lead, to: User, *, now: datetime, by: User | None = None, reason: str = ""
) -> Lead:
    """Hand a lead to another rep, on `by`'s word and for the `reason` they typed; a clock
    that has not stopped keeps running. The new owner hears of it unless they did it."""
    with transaction.atomic():
        # Locked, so the history names the owner it really took the lead from.
        before = Lead.objects.select_for_update().values("owner_id", "team_id").get(pk=lead.pk)
        update_lead(lead.pk, owner=to, team=to.team, assigned_at=now)
        handover = Handover(
            lead.pk,
            to_owner_id=to.pk,
            to_team_id=to.team_id,
            how=AssignedHow.REASSIGNED,
            from_owner_id=before["owner_id"],
            from_team_id=before["team_id"],
            reason=reason.strip(),
        )
        record_assignments([handover], by=by, now=now)
        if by is not None and by.pk != to.pk:
            notify(
                to,
                kind=NotificationKind.REASSIGNED,
                message=f"{by.display_name} gave you {lead.display_name}",
                lead_id=lead.pk,
                key=f"reassigned:{lead.pk}:{now.isoformat()}",
                now=now,
            )
    lead.owner, lead.team, lead.assigned_at = to, to.team, now
    return lead


def note_contact(lead_id: int, *, when: datetime) -> None:
    """A call, email or meeting on the lead at `when`: one more attempt on the turn it falls
    in (the lead's latest assignment at that moment, if it was to a rep), and for its
    first, how long it took on the clock and in the team's working hours. The follow-up
    roll-up moves the turn with it (routing.rollup)."""
    # No savepoint: the caller's transaction (the touch) holds it; alone, it is its own.
    with transaction.atomic(savepoint=False):
        # Locked: the roll-up takes the turn out of the figures it was in, read here.
        turn = (
            Assignment.objects.select_for_update(of=("self",))
            .filter(lead_id=lead_id, assigned_at__lte=when)
            .select_related("to_team")
            .order_by("-assigned_at", "-pk")
            .first()
        )
        if turn is None or turn.to_owner_id is None:
            return
        after = replace(rollup.record_of(turn), attempts=turn.attempts + 1)
        updates: dict[str, object] = {"attempts": models.F("attempts") + 1}
        if turn.first_touch_at is None:
            calendar = calendar_of(turn.to_team) if turn.to_team else BusinessCalendar()
            clock = (when - turn.assigned_at).total_seconds() / 3600
            business = business_hours_between(turn.assigned_at, when, calendar)
            after = replace(
                after,
                first_touch_at=when,
                first_touch_clock_hours=clock,
                first_touch_hours=business,
            )
            updates |= {
                "first_touch_at": when,
                "first_touch_clock_hours": clock,
                "first_touch_hours": business,
            }
        Assignment.objects.filter(pk=turn.pk).update(**updates)
        rollup.count_change(turn, after)


def note_dropped(lead_id: int, *, now: datetime) -> None:
    """Sales handed the lead back (rejected, disqualified, back to nurture): its current
    turn ends dropped, with the attempts it had (and so in the roll-up)."""
    with transaction.atomic(savepoint=False):
        turn = (
            Assignment.objects.select_for_update()
            .filter(lead_id=lead_id)
            .order_by("-assigned_at", "-pk")
            .first()
        )
        if turn is not None and turn.to_owner_id is not None and turn.dropped_at is None:
            Assignment.objects.filter(pk=turn.pk).update(dropped_at=now)
            rollup.count_change(turn, replace(rollup.record_of(turn), dropped_at=now))


def open_sla_leads() -> Q:
    return Q(
        first_touch_at__isnull=True,
        sla_breached_at__isnull=True,
        sla_due_at__isnull=False,
        stage__in=SALES_STAGES,
    )


def run_due(*, now: datetime, batch_size: int = 500) -> int:
    """Mark leads whose first touch is overdue and tell their owners and their team's
    managers.

    An idempotent sweep: claimed rows are locked (SKIP LOCKED on PostgreSQL) so several
    workers may run it at once, and a breach is marked and notified in one transaction,
    so a crash never notifies twice or loses a breach. Returns how many were marked.
    """
    marked = 0
    while True:
        with transaction.atomic():
            batch = list(
                Lead.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(open_sla_leads(), sla_due_at__lt=now)
                .select_related("owner", "team")
                .order_by("sla_due_at")[:batch_size]
            )
            if not batch:
                return marked
            update_leads([lead.pk for lead in batch], sla_breached_at=now)
            _record_breaches(batch, now=now)
            notify_many(_breach_messages(batch), now=now)
            marked += len(batch)
        if len(batch) < batch_size:
            return marked


def _record_breaches(leads: list[Lead], *, now: datetime) -> None:
    """The breach as a rung of each lead's clock, done: the lead's history keeps it after
    a fresh clock clears `sla_breached_at`."""
    SlaStep.objects.bulk_create(
        [
            SlaStep(
                lead_id=lead.pk,
                kind=SlaStepKind.BREACH,
                clock_due_at=lead.sla_due_at,
                due_at=lead.sla_due_at,
                done_at=now,
                outcome=SlaStepOutcome.DONE,
            )
            for lead in leads
            if lead.sla_due_at is not None
        ]
    )


def _breach_messages(leads: list[Lead]) -> list[Message]:
    """Who hears of the breaches: each lead's owner (it is their clock) and its team's
    active managers, managers read in one query for the whole batch."""
    team_ids = {lead.team_id for lead in leads if lead.team_id is not None}
    managers: dict[int, list[int]] = {}
    for manager_id, team_id in User.objects.filter(
        team_id__in=team_ids, role=Role.SALES_MANAGER, is_active=True
    ).values_list("pk", "team_id"):
        managers.setdefault(team_id, []).append(manager_id)
    messages = []
    for lead in leads:
        owner = lead.owner
        name = owner.display_name if owner else "nobody"
        recipients = list(managers.get(lead.team_id, [])) if lead.team_id else []
        if owner is not None and owner.is_active and owner.pk not in recipients:
            recipients.insert(0, owner.pk)
        text = f"SLA breached: {lead.display_name} (owner {name}) was not touched in time"
        key = f"sla_breach:{lead.pk}:{lead.sla_due_at:%Y%m%dT%H%M%S}"
        messages += [
            Message(recipient, NotificationKind.SLA_BREACH, text, lead.pk, key)
            for recipient in recipients
        ]
    return messages


# Assignments and SLA rungs are a lead's history: they follow the person when leads merge.
LEAD_HISTORY: dict[str, type[models.Model]] = {"assignments": Assignment, "sla_steps": SlaStep}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's assignments and SLA rungs, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the assignments and SLA rungs named by `ids` to the lead `to` (a merge, or its
    undo). A pending rung moved to the survivor is skipped: its clock is not the survivor's."""
    return move_rows(LEAD_HISTORY, ids, to=to, only_from=only_from)
