"""Settings screens: one's own time zone, people (new ones, role, team, lead intake, time
zone, deactivation, set-password links) and teams (new ones, calendar, countries, SLA). Who may change what is `users.access` (admins
everything, a manager their own team and its reps, never a role); the services
`users.services.update_user` and `update_team` check it again and validate, as for the API
and the CLI, and their refusals come back next to the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.errors import FieldError, NotPermitted
from routing.availability import set_active
from routing.models import SlaPolicy
from routing.sla import create_sla_policy, delete_sla_policy, fallback_policy, update_sla_policy
from users.access import editable_teams, editable_users, user_fields
from users.choices import Capability
from users.models import Team, User
from users.permissions import may
from users.services import (
    create_team,
    create_user,
    email_choices,
    password_link,
    set_email_notifications,
    update_team,
    update_user,
)

from .decorators import viewer_page
from .forms_settings import (
    EmailChoicesForm,
    MySettingsForm,
    NewPersonForm,
    NewTeamForm,
    PersonForm,
    SlaPolicyForm,
    TeamForm,
)
from .views_routing import leave_section

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    return user


def _refused(form: forms.Form, error: FieldError) -> int:
    form.add_error(error.field if error.field in form.fields else None, error.message)
    return 403 if isinstance(error, NotPermitted) else 400


@viewer_page
def my_settings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    status = 200
    emails = EmailChoicesForm(choices=email_choices(user))
    form = MySettingsForm(initial={"timezone": user.timezone})
    if request.method == "POST" and request.POST.get("form") == "email":
        emails = EmailChoicesForm(request.POST, choices=email_choices(user))
        if emails.is_valid():
            # Only the boxes posted are a choice: every kind is on the form.
            set_email_notifications(user, by=user, choices=dict(emails.cleaned_data))
            messages.success(request, "Your email choices are saved.")
            return redirect("web:my_settings")
        status = 400
    elif request.method == "POST":
        form = MySettingsForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                update_user(user, by=user, timezone=form.cleaned_data["timezone"])
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"Times now show in {user.timezone}.")
                return redirect("web:my_settings")
    context = {
        "form": form,
        "emails": emails,
        "may_people": may(user, Capability.MANAGE_USERS),
        "may_teams": may(user, Capability.MANAGE_TEAMS),
        "may_routing": may(user, Capability.MANAGE_ROUTING),
        **leave_section(user, user),
    }
    return render(request, "web/my_settings.html", context, status=status)


@viewer_page
def people(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may(user, Capability.MANAGE_USERS):
        raise Http404("no such page")
    rows = editable_users(user).select_related("team")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"people": page, "page": page, "may_create": may(user, Capability.CREATE_USERS)}
    return render(request, "web/people.html", context)


def _show_password_link(
    request: HttpRequest, person: User, path: str, *, is_new: bool
) -> HttpResponse:
    """The set-password link, shown once (it is not stored: a new one can be made)."""
    context = {"person": person, "link": request.build_absolute_uri(path), "is_new": is_new}
    return render(request, "web/password_link.html", context)


@viewer_page
def person_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may(user, Capability.CREATE_USERS):
        raise Http404("no such page")
    may_set_role = user.sees_everything
    status = 200
    if request.method == "POST":
        form = NewPersonForm(request.POST, may_set_role=may_set_role)
        status = 400
        if form.is_valid():
            data = {key: value for key, value in form.cleaned_data.items() if value != ""}
            try:
                created = create_user(by=user, **{"username": "", **data})
            except FieldError as error:
                status = _refused(form, error)
            else:
                return _show_password_link(
                    request, created.user, created.set_password_path, is_new=True
                )
    else:
        form = NewPersonForm(may_set_role=may_set_role)
    return render(request, "web/person_new.html", {"form": form}, status=status)


@viewer_page
def person(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    found = editable_users(user).select_related("team").filter(pk=pk).first()
    if found is None:
        raise Http404("no such person")
    fields = user_fields(user, found)
    status = 200
    if request.method == "POST":
        form = PersonForm(request.POST, fields=fields)
        status = 400
        if form.is_valid():
            try:
                update_user(found, by=user, **form.cleaned_data)
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"Settings of {found.get_full_name() or found} saved.")
                return redirect("web:people")
    else:
        initial: dict[str, Any] = {name: getattr(found, name) for name in fields}
        form = PersonForm(initial=initial, fields=fields)
    context = {
        "form": form,
        "person": found,
        "may_deactivate": may(user, Capability.DEACTIVATE_USERS) and found.pk != user.pk,
        "may_link": may(user, Capability.CREATE_USERS)
        and found.pk != user.pk
        and (user.sees_everything or not found.has_usable_password()),
        **leave_section(user, found),
    }
    return render(request, "web/person.html", context, status=status)


def _person_or_404(user: User, pk: int) -> User:
    found = editable_users(user).filter(pk=pk).first()
    if found is None:
        raise Http404("no such person")
    return found


@viewer_page
@require_POST
def person_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (someone who left) or reactivate a person: `is_active` is "0" or "1"."""
    user = _user(request)
    found = _person_or_404(user, pk)
    is_active = request.POST.get("is_active") == "1"
    try:
        open_leads = set_active(found, by=user, is_active=is_active, now=timezone.now())
    except FieldError as error:
        messages.error(request, error.message)
        return redirect("web:person", pk=found.pk)
    name = found.display_name
    if is_active:
        messages.success(request, f"{name} is active again and may log in.")
    elif open_leads:
        messages.warning(
            request,
            f"{name} is deactivated: no more logins or new leads. Routing found nobody"
            f" for {open_leads} open lead{'s' if open_leads != 1 else ''} they owned:"
            f" reassign {'them' if open_leads != 1 else 'it'} from the team's leads.",
        )
    else:
        messages.success(request, f"{name} is deactivated: no more logins or new leads.")
    return redirect("web:person", pk=found.pk)


@viewer_page
@require_POST
def person_password_link(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    found = _person_or_404(user, pk)
    try:
        path = password_link(found, by=user)
    except FieldError as error:
        messages.error(request, error.message)
        return redirect("web:person", pk=found.pk)
    return _show_password_link(request, found, path, is_new=False)


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """Where a new person (or one given a new link) chooses their password, with Django's
    password validators; then they are logged in. A deactivated person's link is dead."""

    template_name = "web/set_password.html"
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("web:home")

    def get_user(self, uidb64: str) -> Any:
        found = super().get_user(uidb64)
        return found if found is not None and found.is_active else None

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Welcome to Leadloop.")
        return response


@viewer_page
def teams(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may(user, Capability.MANAGE_TEAMS):
        raise Http404("no such page")
    page = Paginator(editable_teams(user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"teams": page, "page": page, "may_create": may(user, Capability.CREATE_TEAMS)}
    return render(request, "web/teams.html", context)


@viewer_page
def team_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may(user, Capability.CREATE_TEAMS):
        raise Http404("no such page")
    status = 200
    if request.method == "POST":
        form = NewTeamForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                created = create_team(by=user, name=form.cleaned_data["name"], **form.changes())
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"Team {created.name} created.")
                return redirect("web:teams")
    else:
        form = NewTeamForm(initial=NewTeamForm.defaults())
    return render(request, "web/team_new.html", {"form": form}, status=status)


@viewer_page
def team(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    found: Team | None = editable_teams(user).filter(pk=pk).first()
    if found is None:
        raise Http404("no such team")
    status = 200
    if request.method == "POST":
        form = TeamForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                update_team(found, by=user, **form.changes())
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"Team {found.name} saved.")
                return redirect("web:teams")
    else:
        form = TeamForm(initial=TeamForm.initial_for(found))
    members = found.members.order_by("username")
    context = {
        "form": form,
        "team": found,
        "members": members,
        "policies": found.sla_policies.order_by("position", "pk"),
        "fallback": fallback_policy(found),
    }
    return render(request, "web/team.html", context, status=status)


@viewer_page
def sla_policy(request: HttpRequest, pk: int, policy_id: int | None = None) -> HttpResponse:
    """Add (no `policy_id`), change or remove one of a team's SLA policies."""
    user = _user(request)
    found: Team | None = editable_teams(user).filter(pk=pk).first()
    if found is None:
        raise Http404("no such team")
    policy: SlaPolicy | None = None
    if policy_id is not None:
        policy = SlaPolicy.objects.filter(team=found, pk=policy_id).select_related("team").first()
        if policy is None:
            raise Http404("no such SLA policy")
    status = 200
    if request.method == "POST" and policy is not None and "delete" in request.POST:
        delete_sla_policy(policy, by=user)
        messages.success(request, f"SLA policy {policy.name} removed.")
        return redirect("web:team", pk=found.pk)
    if request.method == "POST":
        form = SlaPolicyForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                if policy is None:
                    saved = create_sla_policy(found, by=user, **form.values())
                else:
                    saved = update_sla_policy(policy, by=user, **form.values())
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"SLA policy {saved.name} saved.")
                return redirect("web:team", pk=found.pk)
    else:
        form = SlaPolicyForm(initial=SlaPolicyForm.initial_for(policy) if policy else None)
    context = {"form": form, "team": found, "policy": policy}
    return render(request, "web/sla_policy.html", context, status=status)
