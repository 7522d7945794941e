"""SLA policies: which first-touch clock a lead gets, counted in its team's calendar, the
rungs of its ladder written when the clock starts, and the policies' editing by the
team's managers and admins. The sweep that acts on the rungs is `routing.escalation`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from leads.choices import Grade, Segment
from leads.errors import FieldError, NotPermitted
from leads.models import Lead
from users.access import editable_teams
from users.models import Team, User

from .choices import SlaStepKind
from .models import SlaPolicy, SlaStep
from .rules import BusinessCalendar, SlaPlan, SlaPolicyRule, check_ladder, pick_policy, plan_sla

# Rows per INSERT when a bulk routing schedules its leads' rungs.
STEP_BATCH_SIZE = 5000


def calendar_of(team: Team) -> BusinessCalendar:
    """The team's working calendar: zone, hours, days, its own days off and the public
    holidays of its country and region."""
    return BusinessCalendar(
        timezone=team.timezone,
        start=team.workday_start,
        end=team.workday_end,
        workdays=frozenset(int(d) for d in team.workdays),
        holidays=frozenset(date.fromisoformat(d) for d in team.holidays),
        country=team.holiday_country,
        region=team.holiday_region,
    )


def fallback_policy(team: Team) -> SlaPolicyRule:
    """What a lead no policy covers gets: the team's `sla_hours`, no reminder, no ladder."""
    return SlaPolicyRule(
        name="Team default", hours=team.sla_hours or settings.LEADLOOP_DEFAULT_SLA_HOURS
    )


def team_policies(team_ids: Iterable[int]) -> dict[int, list[SlaPolicyRule]]:
    """Each team's policies in order, one query for all."""
    found: dict[int, list[SlaPolicyRule]] = {}
    for policy in SlaPolicy.objects.filter(team_id__in=list(team_ids)).order_by("position", "pk"):
        found.setdefault(policy.team_id, []).append(policy.as_rule())
    return found


def policy_for(
    team: Team, policies: list[SlaPolicyRule], *, grade: str, segment: str, is_marquee: bool
) -> SlaPolicyRule:
    picked = pick_policy(policies, grade=grade, segment=segment, is_marquee=is_marquee)
    return picked or fallback_policy(team)


def default_deadlines(teams: list[Team], start: datetime) -> dict[int, datetime]:
    """Each team's deadline for a lead nothing is known of (the bulk routing of an
    import): its catch-all policy (one naming no grade, segment or marquee), else its
    `sla_hours`. One query for all the teams."""
    rules = team_policies(team.pk for team in teams)
    deadlines = {}
    for team in teams:
        catch_all = (rule for rule in rules.get(team.pk, []) if rule.covers_all)
        policy = next(catch_all, fallback_policy(team))
        deadlines[team.pk] = plan_sla(policy, start, calendar_of(team)).due_at
    return deadlines


def _is_marquee(lead: Lead) -> bool:
    return bool(lead.account_id and lead.account and lead.account.is_marquee)


def plan_for_lead(lead: Lead, team: Team, *, now: datetime) -> SlaPlan:
    """The clock `lead` gets in `team` from `now`: its policy's deadline and ladder."""
    rules = team_policies([team.pk]).get(team.pk, [])
    policy = policy_for(
        team, rules, grade=lead.grade, segment=lead.segment, is_marquee=_is_marquee(lead)
    )
    return plan_sla(policy, now, calendar_of(team))


@dataclass(frozen=True)
class Profile:
    """What picks a lead's SLA policy in a team: the team, the lead's grade and segment,
    and whether its account is marquee."""

    team_id: int
    grade: str = ""
    segment: str = ""
    is_marquee: bool = False


def plans_for_profiles(profiles: Mapping[int, Profile], *, now: datetime) -> dict[int, SlaPlan]:
    """The clock each lead (lead id -> Profile) gets from `now`: the teams' policies read
    once, each (team, policy) planned once. The bulk paths (imports) use it as well as
    `plans_for_leads`, so an imported grade-A lead gets the same clock and ladder as one
    that came in through a form."""
    teams = {
        team.pk: team for team in Team.objects.filter(pk__in={p.team_id for p in profiles.values()})
    }
    rules = team_policies(teams)
    calendars = {team_id: calendar_of(team) for team_id, team in teams.items()}
    # Profiles repeat (a team, four grades, a few segments): each is planned once.
    by_profile: dict[Profile, SlaPlan | None] = {}
    plans: dict[int, SlaPlan] = {}
    for lead_id, profile in profiles.items():
        if profile not in by_profile:
            team = teams.get(profile.team_id)
            by_profile[profile] = (
                None
                if team is None
                else plan_sla(
                    policy_for(
                        team,
                        rules.get(team.pk, []),
                        grade=profile.grade,
                        segment=profile.segment,
                        is_marquee=profile.is_marquee,
                    ),
                    now,
                    calendars[team.pk],
                )
            )
        plan = by_profile[profile]
        if plan is not None:
            plans[lead_id] = plan
    return plans


def plans_for_leads(
    leads: Iterable[Lead], team_of: Mapping[int, int | None], *, now: datetime
) -> dict[int, SlaPlan]:
    """`plan_for_lead` for many leads (their accounts loaded), `team_of` giving each
    lead's team id."""
    return plans_for_profiles(
        {
            lead.pk: Profile(team_id, lead.grade, lead.segment, _is_marquee(lead))
            for lead in leads
            if (team_id := team_of.get(lead.pk)) is not None
        },
        now=now,
    )


def schedule_ladders(plans: Mapping[int, SlaPlan]) -> int:
    """Write the pending rungs of each lead's new clock (lead id -> plan), in the
    caller's transaction, which starts the clock once. Returns how many were written."""
    rows = [
        SlaStep(
            lead_id=lead_id,
            kind=kind,
            policy_name=plan.policy_name[:100],
            clock_due_at=plan.due_at,
            due_at=due_at,
        )
        for lead_id, plan in plans.items()
        for kind, due_at in (
            (SlaStepKind.REMIND, plan.remind_at),
            (SlaStepKind.REASSIGN, plan.reassign_at),
            (SlaStepKind.RECYCLE, plan.recycle_at),
        )
        if due_at is not None
    ]
    SlaStep.objects.bulk_create(rows, batch_size=STEP_BATCH_SIZE)
    return len(rows)


# --- Editing the policies ----------------------------------------------------------------

POLICY_FIELDS = frozenset(
    {
        "name",
        "position",
        "grades",
        "segments",
        "marquee",
        "hours",
        "remind_before_minutes",
        "reassign_after_hours",
        "recycle_after_hours",
    }
)


def _check_may_edit(team: Team, by: User) -> None:
    if not editable_teams(by).filter(pk=team.pk).exists():
        raise NotPermitted("team", "you may not change this team's SLA policies")


def _whole(field: str, value: Any, *, optional: bool = False) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        raise FieldError(field, "is required")
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise FieldError(field, f"{value!r} is not a whole number") from None
    if value < 0:
        raise FieldError(field, "must not be negative")
    return int(value)


def _choices(field: str, values: Any, allowed: list[str]) -> list[str]:
    if isinstance(values, str):
        values = [part for part in values.replace(",", " ").split()]
    clean = [str(value).strip() for value in values or [] if str(value).strip()]
    unknown = [value for value in clean if value not in allowed]
    if unknown:
        raise FieldError(field, f"unknown: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return list(dict.fromkeys(clean))


def _policy_values(policy: SlaPolicy, changes: Mapping[str, Any]) -> dict[str, Any]:
    for field in changes:
        if field not in POLICY_FIELDS:
            raise FieldError(field, "not a setting of an SLA policy")
    clean: dict[str, Any] = {}
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name or len(name) > 100:
            raise FieldError("name", "give the policy a name of up to 100 characters")
        clean["name"] = name
    if "position" in changes:
        clean["position"] = _whole("position", changes["position"])
    if "grades" in changes:
        clean["grades"] = _choices("grades", changes["grades"], list(Grade.values))
    if "segments" in changes:
        clean["segments"] = _choices("segments", changes["segments"], list(Segment.values))
    if "marquee" in changes:
        if not isinstance(changes["marquee"], bool):
            raise FieldError("marquee", "must be true or false")
        clean["marquee"] = changes["marquee"]
    for field in ("hours", "remind_before_minutes"):
        if field in changes:
            clean[field] = _whole(field, changes[field])
    for field in ("reassign_after_hours", "recycle_after_hours"):
        if field in changes:
            clean[field] = _whole(field, changes[field], optional=True)
    merged = {field: clean.get(field, getattr(policy, field)) for field in POLICY_FIELDS}
    if not merged["name"]:
        raise FieldError("name", "give the policy a name of up to 100 characters")
    if merged["hours"] is None:
        raise FieldError("hours", "is required")
    problems = check_ladder(
        hours=merged["hours"],
        remind_before_minutes=merged["remind_before_minutes"],
        reassign_after=merged["reassign_after_hours"],
        recycle_after=merged["recycle_after_hours"],
    )
    if problems:
        raise FieldError(*problems[0])
    return clean


def _save(policy: SlaPolicy, clean: Mapping[str, Any], fields: list[str] | None) -> SlaPolicy:
    for field, value in clean.items():
        setattr(policy, field, value)
    try:
        with transaction.atomic():
            policy.save(update_fields=fields)
    except IntegrityError:
        raise FieldError("name", f"the team already has a policy called {policy.name!r}") from None
    return policy


def create_sla_policy(team: Team, *, by: User, **values: Any) -> SlaPolicy:
    """Add a policy to `team`, if `by` may set the team up (its managers, admins); by
    default after the team's others. Raises NotPermitted, or FieldError naming a bad
    value (an unknown grade, a hand-back before the reassignment …)."""
    _check_may_edit(team, by)
    if "position" not in values:
        last = SlaPolicy.objects.filter(team=team).order_by("-position").first()
        values = {**values, "position": (last.position + 1) if last else 0}
    policy = SlaPolicy(team=team, name="", hours=0)
    clean = _policy_values(policy, {"remind_before_minutes": 0, **values})
    return _save(policy, clean, None)


def update_sla_policy(policy: SlaPolicy, *, by: User, **changes: Any) -> SlaPolicy:
    """Change a policy, as `create_sla_policy` checks. Running clocks keep their plan."""
    _check_may_edit(policy.team, by)
    clean = _policy_values(policy, changes)
    return _save(policy, clean, list(clean)) if clean else policy


def delete_sla_policy(policy: SlaPolicy, *, by: User) -> None:
    """Remove a policy; running clocks keep their plan."""
    _check_may_edit(policy.team, by)
    policy.delete()
