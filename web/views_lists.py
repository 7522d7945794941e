"""The lists screens: every list with the members one may see, a list's page (members
paged, refresh, edit), creating a smart list with its live count, and the lead list's bulk
action. Each calls nurture.lists, as the API and the CLI do."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from leads.errors import FieldError, NotPermitted
from nurture import lists
from nurture.choices import ListKind
from nurture.models import LeadList
from users.access import visible_leads
from users.choices import Capability
from users.models import User
from users.permissions import may

from .decorators import viewer_page
from .forms_lists import BulkListForm, ListForm

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    return user


def _refused(form: forms.Form, error: FieldError) -> int:
    """The service's refusal next to the field it names; 403 when the role may not."""
    field = error.field.split("[")[0].split(".")[0]
    form.add_error(
        field if field in form.fields else None,
        error.message if field == error.field else str(error),
    )
    return 403 if isinstance(error, NotPermitted) else 400


def _list(pk: int) -> LeadList:
    found = LeadList.objects.filter(pk=pk).first()
    if found is None:
        raise Http404("no such list")
    return found


def _save(form: ListForm, user: User, lead_list: LeadList | None) -> LeadList:
    data = form.cleaned_data
    now = timezone.now()
    kind = data["kind"] if lead_list is None else lead_list.kind
    definition = lists.definition_from_text(data["conditions"]) if kind == ListKind.SMART else None
    if lead_list is None:
        if kind == ListKind.STATIC and data["conditions"].strip():
            raise FieldError("conditions", "a static list has no conditions")
        return lists.create_list(
            by=user, name=data["name"], kind=kind, definition=definition, now=now
        )
    return lists.update_list(lead_list, by=user, name=data["name"], definition=definition, now=now)


@viewer_page
def list_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    status = 200
    form = ListForm()
    if request.method == "POST":
        if not may(user, Capability.MANAGE_LISTS):
            raise Http404("no such page")
        form = ListForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                made = _save(form, user, None)
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"List {made.name!r} created.")
                return redirect("web:list", made.pk)
    scope = visible_leads(user).values("pk")
    found = LeadList.objects.annotate(
        member_count=Count("members", filter=Q(members__lead__in=scope))
    ).order_by("name")
    context = {"lists": found, "form": form, "may_manage": may(user, Capability.MANAGE_LISTS)}
    return render(request, "web/lists.html", context, status=status)


@viewer_page
@require_GET
def list_count(request: HttpRequest) -> HttpResponse:
    """The live count under the conditions box: how many of the leads one sees match."""
    user = _user(request)
    try:
        definition = lists.definition_from_text(request.GET.get("conditions", ""))
    except FieldError as error:
        return HttpResponse(f'<span class="field-error">{escape(error.message)}</span>')
    count = visible_leads(user, lists.matching_leads(definition, now=timezone.now())).count()
    return HttpResponse(f"<strong>{count}</strong> lead{'s' if count != 1 else ''} match now")


@viewer_page
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    lead_list = _list(pk)
    status = 200
    form = ListForm(initial=ListForm.initial_for(lead_list))
    if request.method == "POST":
        if not may(user, Capability.MANAGE_LISTS):
            raise Http404("no such page")
        form = ListForm(request.POST | {"kind": lead_list.kind})  # type: ignore[operator]
        status = 400
        if form.is_valid():
            try:
                _save(form, user, lead_list)
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"List {lead_list.name!r} saved.")
                return redirect("web:list", lead_list.pk)
    members = (
        lists.members(lead_list, viewer=user)
        .select_related("owner", "team")
        .order_by("-arrived_at", "-pk")
    )
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "lead_list": lead_list,
        "form": form,
        "page": page,
        "conditions_text": lists.definition_as_text(lead_list.definition),
        "may_manage": may(user, Capability.MANAGE_LISTS),
    }
    return render(request, "web/list.html", context, status=status)


@viewer_page
@require_POST
def list_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    lead_list = _list(pk)
    try:
        done = lists.refresh_now(lead_list, by=user, now=timezone.now())
    except FieldError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Refreshed: {done.joined} joined, {done.left} left.")
    return redirect("web:list", lead_list.pk)


@viewer_page
@require_POST
def list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    lead_list = _list(pk)
    try:
        lists.delete_list(lead_list, by=user)
    except FieldError as error:
        messages.error(request, error.message)
        return redirect("web:list", lead_list.pk)
    messages.success(request, f"List {lead_list.name!r} deleted.")
    return redirect("web:lists")


@viewer_page
@require_POST
def list_bulk(request: HttpRequest) -> HttpResponse:
    """The lead list's (or a list page's) bulk action on the ticked leads."""
    user = _user(request)
    form = BulkListForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    if not form.is_valid():
        messages.error(request, "Tick some leads and choose a static list.")
        return redirect(back or "web:leads")
    data = form.cleaned_data
    try:
        if data["action"] == "add":
            changed = lists.add_leads(data["target"], data["lead"], by=user, now=timezone.now())
            messages.success(request, f"{changed} added to {data['target'].name!r}.")
        else:
            changed = lists.remove_leads(data["target"], data["lead"], by=user)
            messages.success(request, f"{changed} removed from {data['target'].name!r}.")
    except FieldError as error:
        messages.error(request, error.message)
    return redirect(back or "web:leads")
