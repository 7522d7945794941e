"""How sales follows up, on one page: the cadences with their steps, the ordered rules that
pick a lead's cadence, and each team's minimum attempts. Everyone in sales reads it;
managers and admins change it through `followup.setup` (as the API and `leadloop
cadences`), which checks the permission table and validates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from followup.cadences import policy_of
from followup.choices import CadenceChannel
from followup.models import Cadence, CadenceRule
from followup.rules import StepSpec, format_steps, parse_steps
from followup.setup import RuleSpec, save_cadence, set_attempt_policy, set_cadence_rules
from leads.choices import Grade, Segment
from leads.errors import FieldError, NotPermitted
from leads.models import Campaign
from users.access import editable_teams
from users.choices import Capability
from users.models import Team, User
from users.permissions import may

from .decorators import viewer_page

STEPS_HELP = (
    "One step a line, in order: DAY CHANNEL: what to do. Day 0 is the day the lead is"
    " assigned; channels: call, email, linkedin, other. E.g. “2 call: ask about the budget”."
)


class CadenceForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, max_length=2000)
    is_default = forms.BooleanField(
        required=False, label="The default cadence (for leads no rule picks)"
    )
    steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), help_text=STEPS_HELP, max_length=50_000
    )

    def clean_steps(self) -> list[StepSpec]:
        try:
            return parse_steps(self.cleaned_data["steps"], CadenceChannel.values)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error


class RuleForm(forms.Form):
    cadence = forms.ChoiceField(required=False)
    segment = forms.ChoiceField(required=False, choices=[("", "any segment"), *Segment.choices])
    grade = forms.ChoiceField(required=False, choices=[("", "any grade"), *Grade.choices])
    campaign = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = list(Cadence.objects.values_list("name", flat=True))
        self.fields["cadence"].choices = [("", "— (remove)")] + [(n, n) for n in names]  # type: ignore[attr-defined]
        campaigns = list(Campaign.objects.order_by("name").values_list("name", flat=True))
        self.fields["campaign"].choices = [("", "any campaign")] + [(n, n) for n in campaigns]  # type: ignore[attr-defined]


RuleFormSet = forms.formset_factory(RuleForm, extra=2)


class PolicyForm(forms.Form):
    min_attempts = forms.IntegerField(min_value=1, max_value=50, label="Attempts")
    min_channels = forms.IntegerField(min_value=1, max_value=4, label="over channels")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not may(user, Capability.MANAGE_CADENCES):
        raise PermissionDenied("your role may not change cadences")
    return user


def _rules_formset(data: Any = None) -> Any:
    initial = [
        {
            "cadence": rule.cadence.name,
            "segment": rule.segment,
            "grade": rule.grade,
            "campaign": rule.campaign.name if rule.campaign else "",
        }
        for rule in CadenceRule.objects.select_related("cadence", "campaign")
    ]
    return RuleFormSet(data, initial=initial, prefix="rules")


def _page(request: HttpRequest, *, rules: Any = None, status: int = 200) -> HttpResponse:
    user = _user(request)
    editable = set(editable_teams(user).values_list("pk", flat=True))
    teams = [
        (team, policy_of(team.pk), team.pk in editable and may(user, Capability.MANAGE_CADENCES))
        for team in Team.objects.order_by("name")
    ]
    return render(
        request,
        "web/cadences.html",
        {
            "cadences": Cadence.objects.prefetch_related("steps"),
            "rules": CadenceRule.objects.select_related("cadence", "campaign"),
            "rules_formset": rules or _rules_formset(),
            "teams": teams,
            "may_manage": may(user, Capability.MANAGE_CADENCES),
        },
        status=status,
    )


@viewer_page
def cadences(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not (may(user, Capability.WORK_TASKS) or may(user, Capability.MANAGE_CADENCES)):
        raise PermissionDenied("cadences are sales' follow-up")
    return _page(request)


@viewer_page
@require_POST
def cadence_rules(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    formset = _rules_formset(request.POST)
    if formset.is_valid():
        specs = [
            RuleSpec(f["cadence"], f["segment"], f["grade"], f["campaign"])
            for f in formset.cleaned_data
            if f.get("cadence")
        ]
        try:
            set_cadence_rules(specs, by=user)
        except FieldError as error:
            messages.error(request, str(error))
            return _page(request, rules=formset, status=400)
        messages.success(request, f"{len(specs)} cadence rules saved.")
        return redirect("web:cadences")
    return _page(request, rules=formset, status=400)


@viewer_page
@require_POST
def attempt_policy(request: HttpRequest, team_pk: int) -> HttpResponse:
    user = _manager(request)
    team = get_object_or_404(Team, pk=team_pk)
    form = PolicyForm(request.POST, prefix=f"team-{team.pk}")
    if not form.is_valid():
        messages.error(
            request,
            "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()),
        )
        return redirect("web:cadences")
    try:
        set_attempt_policy(team, by=user, **form.cleaned_data)
    except NotPermitted as error:
        raise PermissionDenied(error.message) from error
    except FieldError as error:
        messages.error(request, str(error))
        return redirect("web:cadences")
    messages.success(request, f"{team.name}'s minimum attempts saved.")
    return redirect("web:cadences")


@viewer_page
def cadence_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no `pk`) or edit a cadence: name, description, default, steps as lines."""
    user = _manager(request)
    cadence = get_object_or_404(Cadence, pk=pk) if pk is not None else None
    status = 200
    if request.method == "POST":
        form = CadenceForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = save_cadence(
                    by=user,
                    now=timezone.now(),
                    cadence=cadence,
                    name=data["name"],
                    description=data["description"],
                    is_default=data["is_default"] or (None if cadence is None else False),
                    steps=data["steps"],
                )
            except FieldError as error:
                field = error.field.split(".")[0]
                form.add_error(field if field in form.fields else None, error.message)
            else:
                messages.success(request, f"Cadence “{saved.name}” saved.")
                return redirect("web:cadences")
        status = 400
    elif cadence is not None:
        steps = [
            StepSpec(s.day_offset, s.channel, s.instructions.replace("\n", " "))
            for s in cadence.steps.order_by("position")
        ]
        form = CadenceForm(
            initial={
                "name": cadence.name,
                "description": cadence.description,
                "is_default": cadence.is_default,
                "steps": format_steps(steps),
            }
        )
    else:
        form = CadenceForm()
    return render(
        request, "web/cadence_form.html", {"form": form, "cadence": cadence}, status=status
    )
