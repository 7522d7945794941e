"""Opening a notification: it is read, and the reader lands on what it is about."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET

from users.access import can_access_lead
from users.models import User
from users.services import open_notification

from .decorators import viewer_page


@viewer_page
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the viewer's notifications read and go to its lead; a lead the viewer
    no longer sees (handed back, given to another team) leaves them on the list."""
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    notification = open_notification(user, pk, now=timezone.now())
    if notification is None:
        raise Http404("no such notification")
    lead = notification.lead
    if lead is not None and can_access_lead(user, lead):
        return redirect("web:lead", pk=lead.pk)
    if lead is not None:
        messages.info(request, f"{lead.display_name} is no longer yours to see.")
    return redirect("web:notifications")
