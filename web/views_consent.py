"""Consent screens: a colleague records a lead's grant or withdrawal (the lead page's
consent card), the consent purposes page, and the two public pages a person reaches from
an email without signing in: one-click unsubscribe (RFC 8058) and the preference page.
Each calls nurture.consent, as the API and the CLI do."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from capture.ratelimit import client_ip, over_limit
from leads.errors import FieldError, NotPermitted
from nurture import consent, tokens
from nurture.models import ConsentPurpose, Message
from users.access import visible_leads
from users.choices import Capability
from users.models import User
from users.permissions import may

from .decorators import viewer_page


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    return user


# --- Inside the app ----------------------------------------------------------------------


@viewer_page
@require_POST
def lead_consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Record what the person said (a call, a letter): a grant or a withdrawal."""
    user = _user(request)
    lead = get_object_or_404(visible_leads(user), pk=pk)
    granted = request.POST.get("granted")
    if granted not in ("yes", "no"):
        messages.error(request, "Consent: choose granted or withdrawn.")
        return redirect("web:lead", pk=lead.pk)
    try:
        consent.record_by_person(
            lead,
            request.POST.get("purpose", ""),
            granted=granted == "yes",
            by=user,
            now=timezone.now(),
            text=request.POST.get("text", "").strip()[:2000],
        )
    except NotPermitted as error:
        return HttpResponse(error.message, status=403)
    except FieldError as error:
        messages.error(request, f"Consent: {error.message}")
    else:
        messages.success(request, "Consent recorded.")
    return redirect("web:lead", pk=lead.pk)


@viewer_page
def purposes(request: HttpRequest) -> HttpResponse:
    """The consent purposes: everyone reads them; marketing and admins add and edit."""
    user = _user(request)
    may_edit = may(user, Capability.MANAGE_CONSENT)
    error = None
    status = 200
    if request.method == "POST":
        if not may_edit:
            return HttpResponse("only marketing and admins manage consent purposes", status=403)
        fields = {
            "slug": request.POST.get("slug", ""),
            "name": request.POST.get("name", ""),
            "description": request.POST.get("description", ""),
            "is_active": request.POST.get("is_active") == "on",
        }
        try:
            existing = ConsentPurpose.objects.filter(pk=request.POST.get("pk") or 0).first()
            if existing is not None:
                consent.update_purpose(existing, by=user, **fields)
            else:
                consent.create_purpose(by=user, now=timezone.now(), **fields)
        except FieldError as refused:
            error, status = refused, 400
        else:
            messages.success(request, f"Purpose {fields['slug']} saved.")
            return redirect("web:consent_purposes")
    return render(
        request,
        "web/consent_purposes.html",
        {"purposes": consent.purposes(), "may_edit": may_edit, "error": error},
        status=status,
    )


# --- Public: reached from an email, no sign-in -------------------------------------------


def _limited(request: HttpRequest) -> HttpResponse | None:
    """The public forms' per-IP limit (capture.ratelimit), counted apart from them."""
    scope = f"consent:{client_ip(request)}"
    if over_limit(scope, settings.LEADLOOP_FORM_RATE_PER_MINUTE, now=timezone.now()):
        response = render(request, "web/public_consent.html", {"state": "rate"}, status=429)
        response["Retry-After"] = "60"
        return response
    return None


def _message(kind: str, token: str) -> Message | None:
    try:
        return consent.message_for_token(kind, token)
    except tokens.BadToken:
        return None


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "web/public_consent.html", {"state": "bad_link"}, status=404)


@csrf_exempt  # RFC 8058: the mail client POSTs with no cookie and no CSRF token
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirmation page with a button (mail scanners fetch links: a GET changes
    nothing). POST (the mail client's one-click `List-Unsubscribe=One-Click`, or the
    button): the message's purpose is withdrawn."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    message = _message("unsubscribe", token)
    # A mailbox provider sends the one-click POSTs of all its users from a few addresses:
    # a genuine token's POST is never refused for the rate (a repeat writes nothing).
    # Pages, and every forged token (someone guessing), count against the address.
    counted = message is None or request.method == "GET"
    if counted and (limited := _limited(request)) is not None:
        return limited
    if message is None:
        return _not_found(request)
    purpose = ConsentPurpose.objects.filter(slug=message.consent_purpose).first()
    context = {
        "purpose": purpose,
        "preferences_url": consent.footer_links(message)["preferences_url"],
        "address": message.to_address,
    }
    if request.method == "GET":
        return render(request, "web/public_consent.html", {**context, "state": "confirm"})
    consent.unsubscribe(message, now=timezone.now())
    return render(request, "web/public_consent.html", {**context, "state": "done"})


@csrf_exempt  # a person with no session; the signed token is the credential
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """The person's purposes, ticked as they stand; saving records each change."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if (limited := _limited(request)) is not None:
        return limited
    message = _message("preferences", token)
    if message is None:
        return _not_found(request)
    saved = False
    if request.method == "POST":
        consent.set_preferences(
            message,
            request.POST.getlist("purpose"),
            now=timezone.now(),
            everything_off="unsubscribe_all" in request.POST,
        )
        saved = True
    return render(
        request,
        "web/public_consent.html",
        {
            "state": "preferences",
            "rows": consent.preference_states(message),
            "saved": saved,
            "address": message.to_address,
        },
    )
