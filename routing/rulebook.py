"""The routing rules a sales manager keeps, and why a lead is routed where it is.

One service for every door: the /routing/ page, `/api/v1/routing/rules` and `leadloop
routing` all call these, which check the permission table (`manage_routing`) and every
value, naming the field at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from leads.errors import FieldError, NotPermitted
from leads.models import Lead
from users.choices import Capability
from users.models import Team, User
from users.permissions import may

from .choices import RuleTarget
from .models import RoutingRule
from .router import Decision, Router
from .rules import describe_assignment
from .rules_engine import ConditionError, check_condition, parse_condition


def _check_may(by: User) -> None:
    if not may(by, Capability.MANAGE_ROUTING):
        raise NotPermitted("routing", "only sales managers and admins edit routing rules")


def conditions_from_text(text: str) -> list[dict[str, Any]]:
    """Conditions typed one a line ("country in DE, AT, CH"), in their JSON form; a line
    that cannot be read raises FieldError naming it."""
    out = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(parse_condition(line, f"line {number}").as_json())
        except ConditionError as error:
            raise FieldError("conditions", str(error)) from None
    return out


def conditions_as_text(conditions: Sequence[dict[str, Any]]) -> str:
    lines = []
    for raw in conditions:
        value = raw.get("value", "")
        value = ", ".join(value) if isinstance(value, list) else str(value)
        lines.append(f"{raw.get('field')} {raw.get('op')} {value}".strip())
    return "\n".join(lines)


def _clean(
    *,
    name: Any,
    conditions: Any,
    target: Any,
    to_user: User | None,
    to_team: Team | None,
    rule: RoutingRule | None,
) -> dict[str, Any]:
    clean_name = str(name or "").strip()
    if not clean_name:
        raise FieldError("name", "a rule needs a name")
    if len(clean_name) > 100:
        raise FieldError("name", "at most 100 characters")
    taken = RoutingRule.objects.filter(name__iexact=clean_name)
    if rule is not None:
        taken = taken.exclude(pk=rule.pk)
    if taken.exists():
        raise FieldError("name", f"there is already a rule called {clean_name!r}")
    if not isinstance(conditions, list | tuple):
        raise FieldError("conditions", "must be a list of {field, op, value}")
    try:
        checked = [
            check_condition(raw, f"conditions[{i}]").as_json() for i, raw in enumerate(conditions)
        ]
    except ConditionError as error:
        raise FieldError(error.field, error.message) from None
    if target not in RuleTarget.values:
        raise FieldError("target", f"must be one of: {', '.join(RuleTarget.values)}")
    if target == RuleTarget.USER:
        if to_user is None:
            raise FieldError("to_user", "name the rep the rule sends its leads to")
        if not to_user.is_active:
            raise FieldError("to_user", f"{to_user.username} is deactivated")
        to_team = None
    else:
        if to_team is None:
            raise FieldError("to_team", "name the team the rule sends its leads to")
        to_user = None
    return {
        "name": clean_name,
        "conditions": checked,
        "target": target,
        "to_user": to_user,
        "to_team": to_team,
    }


def create_rule(
    *,
    by: User,
    now: datetime,
    name: Any,
    conditions: Any,
    target: Any,
    to_user: User | None = None,
    to_team: Team | None = None,
    position: int | None = None,
    is_active: bool = True,
) -> RoutingRule:
    """Add a routing rule, last unless `position` (1 = first) says where."""
    _check_may(by)
    values = _clean(
        name=name, conditions=conditions, target=target, to_user=to_user, to_team=to_team, rule=None
    )
    with transaction.atomic():
        last = RoutingRule.objects.select_for_update().aggregate(n=Max("position"))["n"] or 0
        try:
            rule = RoutingRule.objects.create(
                **values, position=last + 1, is_active=is_active, updated_by=by, updated_at=now
            )
        except IntegrityError:
            raise FieldError("name", f"there is already a rule called {values['name']!r}") from None
        if position is not None:
            _place(rule, position)
    return rule


def update_rule(rule: RoutingRule, *, by: User, now: datetime, **changes: Any) -> RoutingRule:
    """Change a rule's name, conditions, target, place (`position`, 1 = first) or whether
    it is active. Leads already routed keep their owner."""
    _check_may(by)
    unknown = set(changes) - {
        "name", "conditions", "target", "to_user", "to_team", "position", "is_active",
    }  # fmt: skip
    if unknown:
        raise FieldError(sorted(unknown)[0], "not a setting of a routing rule")
    merged = {
        "name": changes.get("name", rule.name),
        "conditions": changes.get("conditions", rule.conditions),
        "target": changes.get("target", rule.target),
        "to_user": changes.get("to_user", rule.to_user),
        "to_team": changes.get("to_team", rule.to_team),
    }
    values = _clean(**merged, rule=rule)
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            raise FieldError("is_active", "must be true or false")
        values["is_active"] = changes["is_active"]
    with transaction.atomic():
        RoutingRule.objects.select_for_update().filter(pk=rule.pk).get()
        for field, value in values.items():
            setattr(rule, field, value)
        rule.updated_by, rule.updated_at = by, now
        rule.save()
        if changes.get("position") is not None:
            _place(rule, changes["position"])
    return rule


def delete_rule(rule: RoutingRule, *, by: User) -> None:
    """Remove a rule; assignments it made keep its name."""
    _check_may(by)
    with transaction.atomic():
        rule.delete()
        _renumber(list(RoutingRule.objects.select_for_update().order_by("position", "pk")))


def _place(rule: RoutingRule, position: Any) -> None:
    if not isinstance(position, int) or isinstance(position, bool) or position < 1:
        raise FieldError("position", "must be a whole number from 1 (the first rule)")
    others = [
        r
        for r in RoutingRule.objects.select_for_update().order_by("position", "pk")
        if r.pk != rule.pk
    ]
    others.insert(min(position, len(others) + 1) - 1, rule)
    _renumber(others)


def _renumber(rules: list[RoutingRule]) -> None:
    for number, each in enumerate(rules, start=1):
        if each.position != number:
            RoutingRule.objects.filter(pk=each.pk).update(position=number)
            each.position = number


# --- Why a lead goes where it goes -------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """Which rule would route the lead now and why, step by step."""

    decision: Decision
    owner_name: str
    team_name: str
    lines: tuple[str, ...]

    @property
    def summary(self) -> str:
        return describe_assignment(
            how=self.decision.how,
            to_owner=self.owner_name,
            to_team=self.team_name,
            rule_name=self.decision.rule_name,
        ).replace("Assigned to", "Would go to", 1)


def explain_lead(lead: Lead, *, now: datetime) -> Explanation:
    """Where routing would send `lead` at `now` and why: the account owner, each rule in
    order with the condition that failed, the reps skipped. Nothing is changed: no lock,
    no pointer moved."""
    from .services import decide_for

    router = Router(now=now, lock=False)
    decision = decide_for(router, lead)
    lines: list[str] = []
    if lead.account_id and lead.account and lead.account.owner_id:
        lines.append(
            f"account owner: {lead.account.owner.display_name if lead.account.owner else ''}"
        )
    else:
        lines.append("account owner: none")
    if not router.rules:
        lines.append("no routing rules are active")
    for check in decision.checks:
        lines.append(check.text)
    lines += decision.notes
    owner = User.objects.filter(pk=decision.owner_id).first() if decision.owner_id else None
    team = router.teams.get(decision.team_id) if decision.team_id else None
    return Explanation(
        decision=decision,
        owner_name=owner.display_name if owner else "",
        team_name=team.name if team else "",
        lines=tuple(lines),
    )
