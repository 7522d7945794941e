"""The signed-in web UI: thin adapters that parse input, check permission, call one service.

Each request reads the clock once (`now`) and passes it on. Leads are always looked up
through `visible_leads(request.user)`: a lead outside the viewer's scope is a 404. What
one does to a lead goes through `followup.actions.act_on_lead`, as for the API: its
refusals come back on the lead page (400 next to the field, 403 when the role may not),
and the page offers only what the permission table (`users.permissions`) allows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from analytics.services import funnel_by_campaign, funnel_report
from capture.models import WebForm
from followup.actions import ActionError, NotAllowed, act_on_lead, touch_action
from followup.choices import TouchKind
from followup.forms import AcceptForm, ConvertForm, LoseForm, RejectForm, TouchForm, WinForm
from followup.queries import cadence_panel
from leads.choices import Stage
from leads.countries import country_name
from leads.exports import lead_rows
from leads.models import Lead
from leads.queries import last_stage_change
from leads.timeline import TimelineEntry
from nurture import consent as nurture_consent
from nurture.choices import ListKind
from nurture.models import LeadList, Program
from qualify import queries as qualify_queries
from routing.rulebook import explain_lead
from users.access import is_read_only, reassign_targets, visible_leads
from users.choices import Capability, LeadAction
from users.models import User
from users.permissions import lead_actions, may, may_act
from users.services import mark_notifications_read

from .charts import campaign_chart, funnel_chart, score_history_chart
from .decorators import viewer_page
from .display import extra_facts, sla_status
from .forms import (
    DisqualifyForm,
    FunnelFilterForm,
    LeadFilterForm,
    NurtureForm,
    ReassignForm,
    SendToSalesForm,
)
from .links import LeadLinks
from .queries import inbox_rows, overview, rep_inbox, team_inbox, timeline

PAGE_SIZE = 50

# The lead actions with a button and form of their own on the lead page.
ACTION_FORMS: dict[LeadAction, type[forms.Form]] = {
    LeadAction.ACCEPT: AcceptForm,
    LeadAction.REJECT: RejectForm,
    LeadAction.CONVERT: ConvertForm,
    LeadAction.WIN: WinForm,
    LeadAction.LOSE: LoseForm,
    LeadAction.DISQUALIFY: DisqualifyForm,
    LeadAction.NURTURE: NurtureForm,
    LeadAction.SEND_TO_SALES: SendToSalesForm,
}

# What the page says when an action is done.
DONE: dict[LeadAction, str] = {
    LeadAction.ACCEPT: "Lead accepted.",
    LeadAction.REJECT: "Lead rejected and handed back to marketing.",
    LeadAction.CONVERT: "Opportunity opened.",
    LeadAction.WIN: "Deal won.",
    LeadAction.LOSE: "Deal lost; the lead goes back to nurture.",
    LeadAction.DISQUALIFY: "Lead disqualified.",
    LeadAction.NURTURE: "Lead moved back to nurture.",
    LeadAction.SEND_TO_SALES: "Lead sent to sales.",
}


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    return user


def _show_error(form: forms.Form, error: ActionError) -> int:
    """Put a refusal on the form, next to its field if the form has it; the status to
    answer with: 403 when the role may not, else 400 (which htmx swaps in)."""
    form.add_error(error.field if error.field in form.fields else None, error.message)
    return 403 if isinstance(error, NotAllowed) else 400


# --- Home -----------------------------------------------------------------------------


@viewer_page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    user = _user(request)
    if user.is_rep:
        mine, queue = rep_inbox(user, now)
        mine_page = Paginator(mine, PAGE_SIZE).get_page(request.GET.get("mine"))
        queue_page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("queue"))
        return render(
            request,
            "web/home_rep.html",
            {
                "mine": inbox_rows(mine_page, now),
                "mine_page": mine_page,
                "queue": inbox_rows(queue_page, now),
                "queue_page": queue_page,
                "now": now,
            },
        )
    if user.is_manager:
        page = Paginator(team_inbox(user, now), PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request,
            "web/home_manager.html",
            {
                "rows": inbox_rows(page, now),
                "page": page,
                "reps": list(reassign_targets(user)) if may(user, LeadAction.REASSIGN) else [],
                "now": now,
            },
        )
    return render(request, "web/home_overview.html", {"overview": overview(user, now)})


# --- Leads list and export ---------------------------------------------------------------


def _filtered(request: HttpRequest) -> tuple[LeadFilterForm, QuerySet[Lead]]:
    user = _user(request)
    form = LeadFilterForm(request.GET, viewer=user)
    leads = form.apply(visible_leads(user)).order_by("-arrived_at", "-pk")
    return form, leads


@viewer_page
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    form, leads = _filtered(request)
    page = Paginator(
        leads.select_related("owner", "team", "account", "first_campaign"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "total": page.paginator.count,
        # Bulk actions: marketing puts ticked leads into (or out of) a static list.
        "static_lists": (
            list(LeadList.objects.filter(kind=ListKind.STATIC).order_by("name"))
            if may(_user(request), Capability.MANAGE_LISTS)
            else []
        ),
        # …and enrols ticked leads in a program.
        "programs_to_enrol": (
            list(Program.objects.order_by("name").only("pk", "name", "status"))
            if may(_user(request), Capability.MANAGE_PROGRAMS)
            else []
        ),
    }
    template = "web/lead_list.html#results" if request.htmx else "web/lead_list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


@viewer_page
@require_GET
def lead_export(request: HttpRequest) -> StreamingHttpResponse:
    """The list's filtered, access-scoped leads as CSV, streamed in chunks; with
    `custom_fields=1`, a column per custom field too."""
    if not may(_user(request), Capability.EXPORT):
        raise PermissionDenied("you may not export leads")
    _form, leads = _filtered(request)
    # The body is produced after the view returns, outside the viewer's zone override.
    zone = timezone.get_current_timezone()
    rows = lead_rows(
        leads,
        zone=zone,
        currency=settings.LEADLOOP_CURRENCY,
        custom_fields=request.GET.get("custom_fields", "") in {"1", "on", "true", "yes"},
        language=translation.get_language_from_request(request),
    )
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().astimezone(zone).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


# --- One lead ---------------------------------------------------------------------------


def _lead_or_404(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(
        visible_leads(_user(request)).select_related("account", "owner", "team", "first_campaign"),
        pk=pk,
    )


def _routing(user: User, lead: Lead, now: datetime, entries: list[TimelineEntry]) -> dict[str, Any]:
    """The lead's last hand-over ("Assigned to Ana by rule 'DACH enterprise' (round robin
    in team EMEA)", from its timeline) and, for those who keep the routing rules, where it
    would go now."""
    explanation = None
    if may(user, Capability.MANAGE_ROUTING):
        explanation = explain_lead(
            Lead.objects.select_related("account__owner", "first_campaign").get(pk=lead.pk),
            now=now,
        )
    last = next((entry for entry in entries if entry.kind == "assignment"), None)
    return {"last": last, "explanation": explanation}


def _touch_kinds(user: User, lead: Lead) -> list[str]:
    """The kinds of touch `user` may log on `lead`."""
    return [kind for kind in TouchKind.values if may_act(user, lead, touch_action(kind))]


def _lead_context(
    request: HttpRequest,
    lead: Lead,
    now: datetime,
    *,
    touch_form: TouchForm | None = None,
    action_forms: dict[LeadAction, forms.Form] | None = None,
    reassign_form: ReassignForm | None = None,
) -> dict[str, Any]:
    user = _user(request)
    # A lead the viewer's team handed back is seen read-only: no action at all.
    read_only = is_read_only(user, lead)
    allowed = [] if read_only else lead_actions(user, lead)
    actions = [action for action in allowed if action in ACTION_FORMS]
    bound = action_forms or {}
    kinds = [] if read_only else _touch_kinds(user, lead)
    reps = list(reassign_targets(user, lead)) if LeadAction.REASSIGN in allowed else []
    entries = timeline(lead)
    if reassign_form is None and reps:
        initial = {"to": lead.owner.username if lead.owner else None}
        reassign_form = ReassignForm(reps=reps, initial=initial)
    return {
        "lead": lead,
        "now": now,
        "score_chart": score_history_chart(qualify_queries.score_history(lead)),
        "country": country_name(lead.country, translation.get_language_from_request(request))
        if lead.country
        else "",
        "sla": sla_status(due_at=lead.sla_due_at, first_touch_at=lead.first_touch_at, now=now),
        "memberships": lead.memberships.select_related("campaign").order_by("joined_at"),
        "opportunities": lead.opportunities.all(),
        "timeline": entries,
        "extra": extra_facts(lead.custom_fields or {}),
        "consent": {
            "current": nurture_consent.current(lead),
            "history": nurture_consent.history(lead)[:50],
            "may_edit": not read_only and may(user, Capability.MANAGE_CONSENT),
        },
        "may_touch": bool(kinds),
        "touch_form": touch_form or TouchForm(kinds=kinds),
        "actions": [
            (action, bound.get(action) or ACTION_FORMS[action](prefix=action.value))
            for action in actions
        ],
        # A failed action whose button is not offered (any more) still shows its error.
        "orphan_errors": [
            (action, form)
            for action, form in bound.items()
            if form.errors and action not in actions
        ],
        "reassign_form": reassign_form,
        "reassign_reps": reps,
        "routing": _routing(user, lead, now, entries),
        "handed_back": last_stage_change(lead) if read_only else None,
        "cadence": cadence_panel(lead),
    }


def _after_action(request: HttpRequest, lead: Lead) -> HttpResponse:
    """Where a done action lands: back on the lead's page while the actor still sees it,
    else (a rejected lead left the rep's scope) on the inbox, which shows the message."""
    if visible_leads(_user(request)).filter(pk=lead.pk).exists():
        return redirect("web:lead", pk=lead.pk)
    return redirect("web:home")


@viewer_page
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    lead = _lead_or_404(request, pk)
    return render(request, "web/lead_detail.html", _lead_context(request, lead, now))


@viewer_page
@require_POST
def lead_touch(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a touch. With htmx the answer is the SLA + touch form + timeline panel."""
    now = timezone.now()
    lead = _lead_or_404(request, pk)
    user = _user(request)
    form = TouchForm(request.POST, kinds=_touch_kinds(user, lead))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            touch = act_on_lead(
                lead,
                touch_action(data["kind"]),
                by=user,
                now=now,
                kind=data["kind"],
                outcome=data["outcome"],
                notes=data["notes"],
                occurred_at=data["occurred_at"],
            ).touch
        except ActionError as error:
            status = _show_error(form, error)
        else:
            assert touch is not None  # a touch action logs one
            message = f"{touch.get_kind_display()} logged."
            if request.htmx:  # type: ignore[attr-defined]
                lead = _lead_or_404(request, pk)
                context = _lead_context(request, lead, now) | {"flash": message}
                return render(request, "web/lead_detail.html#activity", context)
            messages.success(request, message)
            return redirect("web:lead", pk=lead.pk)
    context = _lead_context(request, lead, now, touch_form=form)
    template = "web/lead_detail.html#activity" if request.htmx else "web/lead_detail.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


@viewer_page
@require_POST
def lead_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    now = timezone.now()
    lead = _lead_or_404(request, pk)
    user = _user(request)
    chosen = next((known for known in ACTION_FORMS if known.value == action), None)
    if chosen is None:
        raise Http404("no such action")
    form = ACTION_FORMS[chosen](request.POST, prefix=chosen.value)
    status = 400
    if form.is_valid():
        try:
            act_on_lead(lead, chosen, by=user, now=now, **form.cleaned_data)
        except ActionError as error:
            status = _show_error(form, error)
        else:
            messages.success(request, DONE[chosen])
            return _after_action(request, lead)
    lead = _lead_or_404(request, pk)  # a failed service may have changed the copy in hand
    context = _lead_context(request, lead, now, action_forms={chosen: form})
    return render(request, "web/lead_detail.html", context, status=status)


@viewer_page
@require_POST
def lead_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    lead = _lead_or_404(request, pk)
    user = _user(request)
    form = ReassignForm(request.POST, reps=reassign_targets(user, lead))
    status = 400
    if form.is_valid():
        try:
            outcome = act_on_lead(lead, LeadAction.REASSIGN, by=user, now=now, **form.cleaned_data)
        except ActionError as error:
            status = _show_error(form, error)
        else:
            owner = outcome.lead.owner
            name = owner.display_name if owner else "nobody"
            if outcome.changed:
                messages.success(request, f"{lead.display_name} now belongs to {name}.")
            else:
                messages.info(request, f"{lead.display_name} already belongs to {name}.")
            target = request.POST.get("next", "")
            if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                return redirect(target)
            return _after_action(request, lead)
    context = _lead_context(request, lead, now, reassign_form=form)
    return render(request, "web/lead_detail.html", context, status=status)


# --- Reports ----------------------------------------------------------------------------


@viewer_page
@require_GET
def funnel(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = FunnelFilterForm(request.GET)
    since = until = None
    campaign_id = None
    if form.is_valid():
        since, until = form.period()
        campaign = form.cleaned_data["campaign"]
        campaign_id = campaign.pk if campaign is not None else None
    report = funnel_report(user, campaign_id=campaign_id, since=since, until=until)
    per_campaign = funnel_by_campaign(user, since=since, until=until)
    stages = [step.label for step in report.steps]
    # Every number links to the leads behind it: the lead list, with the same period.
    period = (
        {key: request.GET[key] for key in ("since", "until") if request.GET.get(key)}
        if form.is_valid()
        else {}
    )
    links = LeadLinks(reverse("web:leads"), period)
    return render(
        request,
        "web/funnel.html",
        {
            "form": form,
            "report": report,
            "funnel_chart": funnel_chart(
                report.steps,
                links=[links.reached(step.stage, campaign_id) for step in report.steps],
            ),
            "per_campaign": per_campaign,
            "campaign_rows": [
                (
                    cf,
                    [(step, links.reached(step.stage, cf.campaign_id)) for step in cf.steps],
                    [
                        (count, links.now_in(stage, cf.campaign_id))
                        for stage, count in cf.off_funnel.items()
                    ],
                )
                for cf in per_campaign
            ],
            "campaign_chart": campaign_chart(per_campaign, links=links) if per_campaign else "",
            "stage_labels": stages,
            "steps": [
                (
                    step,
                    links.reached(step.stage, campaign_id),
                    links.now_in(step.stage, campaign_id),
                )
                for step in report.steps
            ],
            "off_funnel": [
                (dict(Stage.choices)[stage], count, links.now_in(stage, campaign_id))
                for stage, count in report.off_funnel.items()
            ],
        },
    )


# --- Notifications ----------------------------------------------------------------------


@viewer_page
def notifications(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        chosen = request.POST.get("id", "")
        # One message by id, or (no id) all of them; an id that is no row id marks none.
        is_row_id = chosen.isascii() and chosen.isdigit() and len(chosen) <= 18
        ids = None if not chosen else [int(chosen)] if is_row_id else []
        mark_notifications_read(user, ids, now=timezone.now())
        return redirect("web:notifications")
    page = Paginator(user.notifications.select_related("lead"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "web/notifications.html", {"page": page})


# --- Web forms (marketing) ----------------------------------------------------------------


@viewer_page
@require_GET
def web_forms(request: HttpRequest) -> HttpResponse:
    forms_list = WebForm.objects.select_related("campaign").order_by("name")
    page = Paginator(forms_list, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/forms.html",
        {"forms": page, "page": page, "may_build": may(_user(request), Capability.BUILD_FORMS)},
    )
