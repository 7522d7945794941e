"""Campaigns: the list with their cost, a campaign's page (its funnel and its leads), and
for marketing the forms to create and edit one (`leads.services.create_campaign`,
`update_campaign`, which check the permission table and validate, as for the API)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from analytics.services import funnel_report
from leads.errors import FieldError, NotPermitted
from leads.models import Campaign
from leads.services import create_campaign, update_campaign
from users.access import visible_leads
from users.choices import Capability
from users.models import User
from users.permissions import may

from .charts import funnel_chart
from .decorators import viewer_page
from .forms_settings import CampaignForm
from .links import LeadLinks

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    return user


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not may(user, Capability.MANAGE_CAMPAIGNS):
        raise PermissionDenied("your role may not create or change campaigns")
    return user


@viewer_page
@require_GET
def campaigns(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    scope = visible_leads(user).values("pk")
    rows = Campaign.objects.annotate(
        leads=Count("members", filter=Q(members__lead__in=scope), distinct=True)
    ).order_by("-starts_on", "name")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/campaigns.html",
        {"campaigns": page, "page": page, "may_manage": may(user, Capability.MANAGE_CAMPAIGNS)},
    )


@viewer_page
@require_GET
def campaign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    found = get_object_or_404(Campaign, pk=pk)
    leads = (
        visible_leads(user)
        .filter(memberships__campaign=found)
        .select_related("owner", "team")
        .order_by("-arrived_at", "-pk")
    )
    page = Paginator(leads, PAGE_SIZE).get_page(request.GET.get("page"))
    report = funnel_report(user, campaign_id=found.pk)
    total = page.paginator.count
    # Every number links to exactly the leads behind it, as on the funnel page.
    links = LeadLinks(reverse("web:leads"))
    return render(
        request,
        "web/campaign.html",
        {
            "campaign": found,
            "page": page,
            "total": total,
            "leads_url": f"{reverse('web:leads')}?{urlencode({'campaign': found.pk})}",
            "cost_per_lead": (found.cost / total).quantize(Decimal("0.01")) if total else None,
            "report": report,
            "steps": [
                (step, links.reached(step.stage, found.pk), links.now_in(step.stage, found.pk))
                for step in report.steps
            ],
            "funnel_chart": funnel_chart(
                report.steps, links=[links.reached(step.stage, found.pk) for step in report.steps]
            ),
            "may_manage": may(user, Capability.MANAGE_CAMPAIGNS),
        },
    )


def _save(request: HttpRequest, found: Campaign | None) -> HttpResponse:
    user = _manager(request)
    status = 200
    if request.method == "POST":
        form = CampaignForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                if found is None:
                    saved = create_campaign(by=user, **form.cleaned_data)
                else:
                    saved = update_campaign(found, by=user, **form.cleaned_data)
            except FieldError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
                status = 403 if isinstance(error, NotPermitted) else 400
            else:
                messages.success(request, f"Campaign “{saved.name}” saved.")
                return redirect("web:campaign", pk=saved.pk)
    else:
        form = CampaignForm(initial=CampaignForm.initial_for(found) if found else None)
    return render(
        request, "web/campaign_form.html", {"form": form, "campaign": found}, status=status
    )


@viewer_page
def campaign_new(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@viewer_page
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save(request, get_object_or_404(Campaign, pk=pk))
