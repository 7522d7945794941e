"""The routing screens: the ordered rules (sales managers and admins), and people's leave
(on My settings and on a person's page). Each calls one service (routing.rulebook,
routing.availability), as the API and the CLI do; refusals come back next to the field."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.errors import FieldError, NotPermitted
from routing.availability import add_leave, cancel_leave
from routing.models import RoutingRule
from routing.rulebook import conditions_from_text, create_rule, delete_rule, update_rule
from users.choices import Capability
from users.models import Leave, User
from users.permissions import may
from users.services import may_set_leave

from .decorators import viewer_page
from .forms_routing import LeaveForm, RuleForm


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    return user


def _refused(form: forms.Form, error: FieldError) -> int:
    field = error.field.split("[")[0].split(".")[0]
    form.add_error(
        field if field in form.fields else None,
        error.message if field == error.field else str(error),
    )
    return 403 if isinstance(error, NotPermitted) else 400


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not may(user, Capability.MANAGE_ROUTING):
        raise Http404("no such page")
    return user


def _save(form: RuleForm, user: User, rule: RoutingRule | None) -> RoutingRule:
    data = form.cleaned_data
    values = {
        "name": data["name"],
        "conditions": conditions_from_text(data["conditions"]),
        "target": data["target"],
        "to_user": data["to_user"],
        "to_team": data["to_team"],
        "is_active": data["is_active"],
    }
    now = timezone.now()
    if rule is None:
        return create_rule(by=user, now=now, **values)
    return update_rule(rule, by=user, now=now, **values)


@viewer_page
def routing_rules(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    status = 200
    if request.method == "POST":
        form = RuleForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                rule = _save(form, user, None)
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"Rule {rule.name!r} added.")
                return redirect("web:routing")
    else:
        form = RuleForm()
    rules = RoutingRule.objects.select_related("to_user", "to_team").order_by("position", "pk")
    return render(request, "web/routing.html", {"rules": rules, "form": form}, status=status)


@viewer_page
def routing_rule(request: HttpRequest, pk: int) -> HttpResponse:
    user = _manager(request)
    rule = RoutingRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404("no such rule")
    status = 200
    if request.method == "POST":
        form = RuleForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                _save(form, user, rule)
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"Rule {rule.name!r} saved.")
                return redirect("web:routing")
    else:
        form = RuleForm(initial=RuleForm.initial_for(rule))
    return render(request, "web/routing_rule.html", {"rule": rule, "form": form}, status=status)


@viewer_page
@require_POST
def routing_rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    user = _manager(request)
    rule = RoutingRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404("no such rule")
    step = -1 if request.POST.get("direction") == "up" else 1
    update_rule(rule, by=user, now=timezone.now(), position=max(1, rule.position + step))
    return redirect("web:routing")


@viewer_page
@require_POST
def routing_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _manager(request)
    rule = RoutingRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404("no such rule")
    delete_rule(rule, by=user)
    messages.success(request, f"Rule {rule.name!r} removed.")
    return redirect("web:routing")


def leave_section(viewer: User, person: User, form: LeaveForm | None = None) -> dict[str, object]:
    """What the leave section of My settings and of a person's page shows."""
    return {
        "leave_person": person,
        "leaves": list(person.leaves.order_by("starts_on", "pk")),
        "leave_form": form or LeaveForm(),
        "may_set_leave": may_set_leave(viewer, person),
    }


@viewer_page
@require_POST
def leave_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    person = User.objects.filter(pk=pk).first()
    if person is None or not may_set_leave(user, person):
        raise Http404("no such person")
    form = LeaveForm(request.POST)
    if form.is_valid():
        try:
            add_leave(person, by=user, now=timezone.now(), **form.cleaned_data)
        except FieldError as error:
            _refused(form, error)
        else:
            messages.success(request, "Leave added: no new leads on those days.")
            return redirect(_back(user, person))
    context = {"person": person, **leave_section(user, person, form)}
    return render(request, "web/leave.html", context, status=400)


@viewer_page
@require_POST
def leave_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    leave = Leave.objects.select_related("user").filter(pk=pk).first()
    if leave is None or not may_set_leave(user, leave.user):
        raise Http404("no such leave")
    cancel_leave(leave, by=user)
    messages.success(request, "Leave cancelled.")
    return redirect(_back(user, leave.user))


def _back(user: User, person: User) -> str:
    if user.pk == person.pk:
        return reverse("web:my_settings")
    return reverse("web:person", args=[person.pk])
