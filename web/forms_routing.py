"""Forms of the routing screens: a rule (conditions typed one a line) and a leave. They
parse what a page posts; routing.rulebook and routing.availability decide what may be
saved, and their refusals come back next to the field."""

from __future__ import annotations

from typing import Any

from django import forms

from routing.choices import RuleTarget
from routing.models import RoutingRule
from routing.rulebook import conditions_as_text
from routing.rules_engine import FIELDS, OPERATORS
from users.choices import Role
from users.models import Team, User

CONDITIONS_HELP = (
    "One a line, all must hold: field, operator, value — e.g. “country in DE, AT, CH”, "
    "“account.employees at_least 1000”, “grade in A, B”, “campaign is Spring webinar”, "
    "“custom.state is CA”. Fields: "
    + ", ".join(FIELDS)
    + ", custom.<key>. Operators: "
    + ", ".join(OPERATORS)
    + ". Empty: every lead."
)


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    conditions = forms.CharField(
        label="When (conditions)",
        required=False,
        help_text=CONDITIONS_HELP,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "country in DE, AT, CH"}),
    )
    target = forms.ChoiceField(label="Send to", choices=RuleTarget.choices)
    to_user = forms.ModelChoiceField(
        label="Rep (for a named rep)",
        queryset=User.objects.filter(is_active=True, role=Role.SALES_REP).order_by("username"),
        required=False,
        empty_label="—",
        to_field_name="username",
    )
    to_team = forms.ModelChoiceField(
        label="Team (for round robin or a queue)",
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="—",
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    @classmethod
    def initial_for(cls, rule: RoutingRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "conditions": conditions_as_text(rule.conditions),
            "target": rule.target,
            "to_user": rule.to_user.username if rule.to_user else None,
            "to_team": rule.to_team_id,
            "is_active": rule.is_active,
        }


class LeaveForm(forms.Form):
    starts_on = forms.DateField(
        label="First day away", widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label="Last day away", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=200, required=False)
