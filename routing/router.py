"""Who gets a lead: the account owner, else the first routing rule that matches, else the
round robin of the lead's country's team; reps away, on leave, full or (for a short SLA)
outside working hours are skipped, and a lead nobody can take waits in the team's queue.

`Router` reads what the decision needs once (teams, rules, reps, their leave and open
leads) and then decides lead after lead in memory, moving each team's round-robin pointer
and each rep's open-lead count as it goes, so a batch decides exactly as the same leads
would one by one. With `lock=True` the team rows are locked (in name order, so two
workers never deadlock) until the caller's transaction ends: two workers routing at once
take turns, and neither can see a rep's count before the other's leads are written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q

from leads.lifecycle import SALES_STAGES
from leads.models import CampaignMember, Lead
from users.choices import Role
from users.models import Leave, Team, User

from .choices import AssignedHow, RuleTarget
from .models import RoutingRule
from .rules_engine import (
    ConditionError,
    RepState,
    RuleCheck,
    RuleView,
    check_condition,
    is_working_time,
    match_rules,
    pick_rep,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """Where a lead goes and why: the team, the owner (None: the team's queue), how, the
    rule that decided, whether the team's managers must hear that nobody could take it,
    and the reasoning for `leadloop routing explain`."""

    team_id: int | None
    owner_id: int | None
    how: AssignedHow
    rule_id: int | None = None
    rule_name: str = ""
    alert: bool = False
    checks: tuple[RuleCheck, ...] = ()
    notes: tuple[str, ...] = field(default=())


RULE_FIELDS = ("pk", "name", "conditions", "target", "to_user_id", "to_team_id")


def active_rules() -> list[RuleView]:
    """The active rules in order. A rule whose conditions cannot be read (changed in the
    database by hand) is left out and logged, rather than stopping all routing."""
    views = []
    for pk, name, conditions, target, to_user_id, to_team_id in (
        RoutingRule.objects.filter(is_active=True)
        .order_by("position", "pk")
        .values_list(*RULE_FIELDS)
    ):
        try:
            checked = tuple(
                check_condition(raw, f"conditions[{i}]") for i, raw in enumerate(conditions)
            )
        except ConditionError as error:
            log.error("routing rule %r skipped: %s", name, error)
            continue
        views.append(RuleView(pk, name, checked, target, to_user_id, to_team_id))
    return views


def lead_facts(leads: Iterable[Lead], *, campaigns: bool = True) -> dict[int, dict[str, Any]]:
    """What routing rules read of each lead (with its account loaded), by lead id: one
    query for the campaigns of them all (none with `campaigns=False`: no rule asks)."""
    leads = list(leads)
    joined: dict[int, list[str]] = {}
    if campaigns:
        for lead_id, name in CampaignMember.objects.filter(
            lead_id__in=[lead.pk for lead in leads]
        ).values_list("lead_id", "campaign__name"):
            joined.setdefault(lead_id, []).append(name)
    facts = {}
    for lead in leads:
        account = lead.account if lead.account_id else None
        names = joined.get(lead.pk, [])
        first = lead.first_campaign if campaigns and lead.first_campaign_id else None
        if first is not None and first.name not in names:
            names = [first.name, *names]
        facts[lead.pk] = {
            "country": lead.country,
            "segment": lead.segment,
            "grade": lead.grade,
            "campaign": names,
            "score": lead.score,
            "fit_score": lead.fit_score,
            "engagement_score": lead.engagement_score,
            "industry": lead.industry,
            "employees": lead.employees,
            "title": lead.title,
            "company_name": lead.company_name,
            "source": lead.source,
            "authority": lead.authority,
            "timeline": lead.timeline,
            "budget": lead.budget,
            "email_domain": (lead.email or "").rpartition("@")[2],
            "account.name": account.name if account else None,
            "account.domain": account.domain if account else None,
            "account.industry": account.industry if account else None,
            "account.employees": account.employees if account else None,
            "account.is_marquee": account.is_marquee if account else None,
            "custom": lead.custom_fields if isinstance(lead.custom_fields, dict) else {},
        }
    return facts


def on_leave_ids(
    user_ids: Iterable[int], *, now: datetime, zones: Mapping[int, str] | None = None
) -> set[int]:
    """Of `user_ids`, those on leave at `now`, each by the date in their own time zone
    (`zones` by user id, if the caller has read them)."""
    ids = list(user_ids)
    if zones is None:
        zones = dict(User.objects.filter(pk__in=ids).values_list("pk", "timezone"))
    away = set()
    for user_id, starts_on, ends_on in Leave.objects.filter(
        user_id__in=ids,
        starts_on__lte=(now + timedelta(days=1)).date(),
        ends_on__gte=(now - timedelta(days=1)).date(),
    ).values_list("user_id", "starts_on", "ends_on"):
        today = now.astimezone(ZoneInfo(zones.get(user_id) or "UTC")).date()
        if starts_on <= today <= ends_on:
            away.add(user_id)
    return away


def open_lead_counts(user_ids: Iterable[int]) -> dict[int, int]:
    """Open (sales-stage) leads owned by each of `user_ids`."""
    return dict(
        Lead.objects.filter(
            owner_id__in=list(user_ids), stage__in=SALES_STAGES, merged_into__isnull=True
        )
        .values("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )


PERSON_FIELDS = (
    "pk", "first_name", "last_name", "username", "team_id", "is_active",
    "is_accepting_leads", "max_open_leads", "timezone", "role",
)  # fmt: skip


class Router:
    """The routing of one moment (`now`): see the module's docstring. Reps are read
    when a team's round robin first needs them (one lead reads one team), or all at once
    with `preload` (a batch)."""

    def __init__(
        self, *, now: datetime, lock: bool, exclude: Iterable[int] = (), preload: bool = False
    ) -> None:
        from .services import calendar_of, country_teams

        self.now = now
        teams_query = Team.objects.order_by("name")
        if lock:
            teams_query = teams_query.select_for_update()
        self.teams: dict[int, Team] = {team.pk: team for team in teams_query}
        self.by_country, self.first_team = country_teams(list(self.teams.values()))
        self.rules = active_rules()
        self.pointers = {pk: team.last_assigned_user_id for pk, team in self.teams.items()}
        self.moved: set[int] = set()
        threshold = settings.LEADLOOP_ROUTING_WORKING_HOURS_SLA
        self.short_sla = {
            pk: (team.sla_hours or settings.LEADLOOP_DEFAULT_SLA_HOURS) <= threshold
            for pk, team in self.teams.items()
        }
        self.working = {
            pk: is_working_time(calendar_of(team), now) for pk, team in self.teams.items()
        }
        self.excluded = set(exclude)
        self.reps: dict[int, RepState] = {}
        self.team_reps: dict[int, list[RepState]] = {}
        self.loaded_teams: set[int] = set()
        if preload:
            named = {rule.to_user_id for rule in self.rules if rule.to_user_id}
            reps = Q(role=Role.SALES_REP, team_id__isnull=False)
            self._load(reps | Q(pk__in=named) if named else reps)
            self.loaded_teams |= set(self.teams)

    def _load(self, who: Q) -> None:
        """Read the reps `who` names: their intake, leave, cap and open leads (3 queries
        at most, whoever many they are)."""
        people = [
            p for p in User.objects.filter(who).values(*PERSON_FIELDS) if p["pk"] not in self.reps
        ]
        if not people:
            return
        away = on_leave_ids(
            [p["pk"] for p in people], now=self.now, zones={p["pk"]: p["timezone"] for p in people}
        )
        capped = [p["pk"] for p in people if p["max_open_leads"] is not None]
        loads = open_lead_counts(capped) if capped else {}
        for p in sorted(people, key=lambda p: p["pk"]):
            rep = RepState(
                id=p["pk"],
                name=f"{p['first_name']} {p['last_name']}".strip() or p["username"],
                team_id=p["team_id"],
                is_active=p["is_active"] and p["pk"] not in self.excluded,
                is_accepting_leads=p["is_accepting_leads"],
                on_leave=p["pk"] in away,
                in_working_hours=self.working.get(p["team_id"], True),
                open_leads=loads.get(p["pk"], 0),
                cap=p["max_open_leads"],
                is_rep=p["role"] == Role.SALES_REP,
            )
            self.reps[rep.id] = rep

    def _reps_of(self, team_id: int) -> list[RepState]:
        """The team's reps, in id order (the round robin's), read on first need."""
        if team_id not in self.team_reps:
            if team_id not in self.loaded_teams:
                self._load(Q(team_id=team_id, role=Role.SALES_REP))
                self.loaded_teams.add(team_id)
            self.team_reps[team_id] = sorted(
                (rep for rep in self.reps.values() if rep.team_id == team_id and rep.is_rep),
                key=lambda rep: rep.id,
            )
        return self.team_reps[team_id]

    def _rep(self, user_id: int) -> RepState | None:
        if user_id not in self.reps:
            self._load(Q(pk=user_id))
        return self.reps.get(user_id)

    # --- deciding ---------------------------------------------------------------------

    def default_team(
        self, own_team_id: int | None, owner_team_id: int | None, country: str
    ) -> int | None:
        team_id = own_team_id or owner_team_id
        if team_id is None and country:
            team_id = self.by_country.get(country)
        return team_id or self.first_team

    def decide(
        self,
        *,
        team_id: int | None,
        country: str,
        owner_id: int | None,
        owner_team_id: int | None,
        owner_is_active: bool,
        facts: Mapping[str, Any] | None,
    ) -> Decision:
        """Where one lead goes, the account owner first, then the rules, then the
        country's team; hands the lead out (moves pointers and counts) as it decides."""
        notes: list[str] = []
        fallback_team = self.default_team(team_id, owner_team_id, country)
        if owner_id is not None and owner_is_active and owner_id not in self.excluded:
            if not self._is_on_leave(owner_id):
                owner = self.reps.get(owner_id)
                if owner is not None:
                    owner.open_leads += 1
                return Decision(
                    fallback_team, owner_id, AssignedHow.ACCOUNT_OWNER,
                    notes=("the account's owner keeps its leads",),
                )  # fmt: skip
            notes.append("the account's owner is on leave: routed by the rules")
        elif owner_id is not None:
            notes.append("the account's owner cannot take it: routed by the rules")
        checks: list[RuleCheck] = []
        if facts is not None and self.rules:
            rule, checks = match_rules(self.rules, facts)
            if rule is not None:
                return self._to_target(rule, fallback_team, tuple(checks), notes)
        elif self.rules:
            notes.append("the lead's fields were not given: rules not tried")
        notes.append("no rule matched: round robin in the team of the lead's country")
        return self._round_robin(fallback_team, checks=tuple(checks), notes=notes)

    def reads(self, field: str) -> bool:
        """Whether an active rule has a condition on `field`."""
        return any(c.field == field for rule in self.rules for c in rule.conditions)

    def _is_on_leave(self, user_id: int) -> bool:
        rep = self._rep(user_id)
        return rep is not None and rep.on_leave

    def _to_target(
        self,
        rule: RuleView,
        fallback_team: int | None,
        checks: tuple[RuleCheck, ...],
        notes: list[str],
    ) -> Decision:
        if rule.target == RuleTarget.QUEUE:
            return Decision(
                rule.to_team_id, None, AssignedHow.QUEUED, rule.id, rule.name, checks=checks,
                notes=(*notes, "the rule sends its leads to the team's queue"),
            )  # fmt: skip
        if rule.target == RuleTarget.USER and rule.to_user_id is not None:
            rep = self._rep(rule.to_user_id)
            team_id = (rep.team_id if rep else None) or fallback_team
            why = (
                rep.why_not(need_working_hours=self.short_sla.get(team_id or 0, False))
                if rep
                else "unknown"
            )
            if rep is not None and why is None:
                rep.open_leads += 1
                return Decision(
                    team_id, rep.id, AssignedHow.NAMED, rule.id, rule.name, checks=checks,
                    notes=(*notes, f"{rep.name} is named by the rule"),
                )  # fmt: skip
            name = rep.name if rep else "the named rep"
            return Decision(
                team_id, None, AssignedHow.TEAM_QUEUE, rule.id, rule.name, alert=True,
                checks=checks, notes=(*notes, f"{name} cannot take it ({why}): it waits in the queue"),
            )  # fmt: skip
        return self._round_robin(rule.to_team_id, rule=rule, checks=checks, notes=notes)

    def _round_robin(
        self,
        team_id: int | None,
        *,
        rule: RuleView | None = None,
        checks: tuple[RuleCheck, ...] = (),
        notes: list[str],
    ) -> Decision:
        rule_id, rule_name = (rule.id, rule.name) if rule else (None, "")
        if team_id is None:
            return Decision(None, None, AssignedHow.TEAM_QUEUE, rule_id, rule_name, checks=checks,
                            notes=(*notes, "there is no team"))  # fmt: skip
        need_hours = self.short_sla.get(team_id, False)
        free = []
        for rep in self._reps_of(team_id):
            why = rep.why_not(need_working_hours=need_hours)
            if why is None:
                free.append(rep)
            else:
                notes.append(f"{rep.name} skipped: {why}")
        picked = pick_rep(free, self.pointers.get(team_id))
        if picked is None:
            return Decision(
                team_id, None, AssignedHow.TEAM_QUEUE, rule_id, rule_name, alert=True,
                checks=checks, notes=(*notes, "nobody in the team can take it: it waits in the queue"),
            )  # fmt: skip
        picked.open_leads += 1
        self.pointers[team_id] = picked.id
        self.moved.add(team_id)
        return Decision(
            team_id, picked.id, AssignedHow.ROUND_ROBIN, rule_id, rule_name, checks=checks,
            notes=(*notes, f"round robin picked {picked.name}"),
        )  # fmt: skip

    def save_pointers(self) -> None:
        """Move the round-robin pointer of each team that handed out a lead."""
        for team_id in self.moved:
            Team.objects.filter(pk=team_id).update(last_assigned_user_id=self.pointers[team_id])
        self.moved.clear()
