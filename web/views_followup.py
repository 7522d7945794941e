"""The follow-up page: who follows up, how fast, how often before giving up."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from analytics.services import followup_report
from users.models import User

from .charts import followup_charts
from .decorators import viewer_page
from .forms import FollowupFilterForm
from .links import FollowupLinks


@viewer_page
@require_GET
def followup(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = FollowupFilterForm(request.GET, viewer=user)
    by, since, until, rep_id, period = "rep", None, None, None, {}
    if form.is_valid():
        by = form.cleaned_data["by"] or "rep"
        since, until = form.period()
        rep_id = form.rep_id()
        period = {
            f"given_{key}": request.GET[key] for key in ("since", "until") if request.GET.get(key)
        }
        if rep_id is not None:
            period["given_to"] = str(rep_id)
    figures = followup_report(
        user, by=by, since=since, until=until, rep_id=rep_id, now=timezone.now()
    )
    links = FollowupLinks(reverse("web:leads"), by, period)
    rows = [
        {
            "f": f,
            "assigned": links.figure("assigned", f.key),
            "touched": links.figure("touched", f.key),
            "in_sla": links.figure("in_sla", f.key),
            "missed_sla": links.figure("missed_sla", f.key),
            "untouched": links.figure("untouched", f.key),
            "dropped": links.figure("dropped", f.key),
            "attempts": [(b, n, links.figure("dropped", f.key, b)) for b, n in f.attempts.items()],
            "leaked": [(b, n, links.figure("leaked", f.key, b)) for b, n in f.leaked.items()],
            "leaked_all": links.figure("leaked", f.key),
        }
        for f in figures
    ]
    return render(
        request,
        "web/followup.html",
        {
            "form": form,
            "by": by,
            "by_label": dict(form.fields["by"].choices)[by],  # type: ignore[attr-defined]
            "rows": rows,
            "charts": followup_charts(figures, links) if figures else {},
            "attempt_buckets": list(figures[0].attempts) if figures else [],
            "age_buckets": list(figures[0].leaked) if figures else [],
        },
    )
