"""Public lead forms: the hosted page `/f/<slug>/`, the endpoint embedded snippets post to,
and (signed in) the page marketing copies the embeddable HTML from.

The public endpoint takes anonymous posts from other sites, so it is CSRF-exempt and
defends itself instead: a size cap on the body, a per-IP rate limit in Django's cache, and
a honeypot field that people never see and bots fill in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from leads.choices import Authority, Channel, MemberStatus, Timeline
from leads.countries import country_choices
from leads.errors import FieldError
from nurture import consent as nurture_consent
from nurture.choices import ConsentSource

from .choices import Submitter
from .forms import FIELD_LABELS
from .models import WebForm
from .ratelimit import client_ip, over_limit
from .rules import LEAD_FIELDS, TEXT_FIELDS, check_lead_fields, consent_record, is_placeholder
from .services import capture_lead, record_form_event

# Bots fill every input they find; people never see this one (hidden off-screen).
HONEYPOT = "homepage"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
TRACKING_MAX = 500
# A lead form is a few short fields: anything bigger is not a person typing.
MAX_BODY_BYTES = 32 * 1024


def _field(name: str, required: bool = False, language: str = "en") -> forms.Field:
    label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
    if name == "budget":
        label = f"{label} ({settings.LEADLOOP_CURRENCY})"
    if name == "country":
        # Codes with the names in the visitor's language; the rules read the code.
        return forms.ChoiceField(
            label=label, required=required, choices=[("", "—"), *country_choices(language)]
        )
    if name == "email":
        # Always required: it is how a person is recognised when they come back.
        return forms.CharField(label=label, max_length=254, widget=forms.EmailInput())
    if name == "authority":
        return forms.ChoiceField(
            label=label, required=required, choices=[("", "—"), *Authority.choices[1:]]
        )
    if name == "timeline":
        return forms.ChoiceField(
            label=label, required=required, choices=[("", "—"), *Timeline.choices[1:]]
        )
    if name == "need":
        return forms.CharField(
            label=label, required=required, max_length=2000, widget=forms.Textarea({"rows": 3})
        )
    if name in {"employees", "budget"}:
        # Checked by capture's own rules, so the message matches the API's.
        return forms.CharField(
            label=label, required=required, widget=forms.TextInput({"inputmode": "numeric"})
        )
    return forms.CharField(label=label, required=required, max_length=TEXT_FIELDS.get(name, 253))


def form_class(webform: WebForm, language: str = "en") -> type[forms.Form]:
    """A Django form with the WebForm's lead fields, consent, tracking and the honeypot;
    countries are named in `language`."""
    required = set(webform.required_fields or [])
    fields: dict[str, forms.Field] = {
        name: _field(name, name in required, language)
        for name in webform.fields
        if name in LEAD_FIELDS - {"custom_fields"}
    }
    if webform.consent_text:
        fields["consent"] = forms.BooleanField(label=webform.consent_text, required=False)
    for key in (*UTM_KEYS, "referrer"):
        fields[key] = forms.CharField(required=False, widget=forms.HiddenInput())
    fields[HONEYPOT] = forms.CharField(required=False, label="Leave this empty")
    return type("PublicLeadForm", (forms.Form,), fields)


def _over_rate_limit(request: HttpRequest, now: datetime) -> bool:
    """Count this post against its IP's current minute; True once past the limit."""
    return over_limit(f"form:{client_ip(request)}", settings.LEADLOOP_FORM_RATE_PER_MINUTE, now=now)


def _tracking(request: HttpRequest, cleaned: dict[str, Any]) -> dict[str, str]:
    """UTM parameters and the referrer: from the form's hidden inputs (filled when the
    hosted page was opened, or by the snippet's script), else from the Referer header."""
    referrer = cleaned.get("referrer") or request.META.get("HTTP_REFERER", "")
    from_referrer = parse_qs(urlsplit(referrer).query) if referrer else {}
    tracking: dict[str, str] = {}
    for key in UTM_KEYS:
        value = cleaned.get(key) or request.GET.get(key) or from_referrer.get(key, [""])[0]
        if value:
            tracking[key] = value[:TRACKING_MAX]
    if referrer:
        tracking["referrer"] = referrer[:TRACKING_MAX]
    return tracking


def _thanks(request: HttpRequest, webform: WebForm) -> HttpResponse:
    if webform.thank_you_url:
        return redirect(webform.thank_you_url)
    return render(request, "capture/thanks.html", {"webform": webform})


@csrf_exempt
def public_form(request: HttpRequest, slug: str) -> HttpResponse:
    webform = get_object_or_404(
        WebForm.objects.select_related("campaign"), slug=slug, is_active=True
    )
    form_cls = form_class(webform, translation.get_language_from_request(request))
    if request.method == "GET":
        initial = {key: request.GET[key][:TRACKING_MAX] for key in UTM_KEYS if key in request.GET}
        initial["referrer"] = request.META.get("HTTP_REFERER", "")[:TRACKING_MAX]
        return render(
            request, "capture/form.html", {"webform": webform, "form": form_cls(initial=initial)}
        )
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])

    now = timezone.now()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_BODY_BYTES + 1
    if length > MAX_BODY_BYTES:
        return render(request, "capture/refused.html", {"reason": "too_large"}, status=413)
    if _over_rate_limit(request, now):
        response = render(request, "capture/refused.html", {"reason": "rate"}, status=429)
        response["Retry-After"] = "60"
        return response
    if request.POST.get(HONEYPOT):
        # Answer exactly as for a person, so the bot learns nothing; store nothing.
        return _thanks(request, webform)

    # A drop-down of the site's own copy of the form may post its "Select" or "N/A":
    # no answer, as at every door, rather than a choice to refuse.
    posted = request.POST.copy()
    for name in webform.fields:
        if is_placeholder(posted.get(name), name):
            posted[name] = ""
    form = form_cls(posted)
    form.is_valid()
    # Every field's problem at once: the form's own (a required field left empty) and
    # what capture's rules say of the rest.
    _, problems = check_lead_fields(
        {name: form.cleaned_data[name] for name in webform.fields if name in form.cleaned_data},
        now=now,
    )
    for problem in problems:
        form.add_error(problem.field if problem.field in form.fields else None, problem.message)
    if form.is_valid():
        cleaned = form.cleaned_data
        data: dict[str, Any] = {name: cleaned[name] for name in webform.fields if name in cleaned}
        extra = _tracking(request, cleaned)
        consent = consent_record(
            text=webform.consent_text,
            purpose=webform.consent_purpose,
            given=bool(webform.consent_text and cleaned.get("consent")),
            now=now,
        )
        if extra:
            data["custom_fields"] = extra
        try:
            result = capture_lead(
                data,
                source=Channel.WEB_FORM,
                campaign=webform.campaign,
                member_status=MemberStatus.RESPONDED,
                now=now,
                payload={**data, "form": webform.slug, **consent},
                # Anyone may post any address: for a known lead, the post only fills in
                # what it lacks. The answer is the same either way.
                submitter=Submitter.PUBLIC,
            )
        except FieldError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            record_form_event(result.lead, form_slug=webform.slug, now=now)
            if consent["consent"]:
                # A box left unticked records nothing: it withdraws no earlier consent.
                nurture_consent.record(
                    result.lead,
                    nurture_consent.purpose_for_form(webform.consent_purpose, now=now),
                    granted=True,
                    source=ConsentSource.FORM,
                    now=now,
                    reference=f"{webform.name} ({webform.slug})",
                    text=webform.consent_text,
                )
            return _thanks(request, webform)
    return render(request, "capture/form.html", {"webform": webform, "form": form}, status=400)


def embed_snippet(webform: WebForm, action_url: str) -> str:
    """Plain HTML any site can paste: a form posting to Leadloop, no script required."""
    form = form_class(webform)()
    html = render_to_string(
        "capture/snippet.html",
        {"webform": webform, "form": form, "action_url": action_url, "honeypot": HONEYPOT},
    )
    return "\n".join(line for line in html.splitlines() if line.strip())


@login_required
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    webform = get_object_or_404(WebForm.objects.select_related("campaign"), slug=slug)
    action_url = request.build_absolute_uri(reverse("capture:form", args=[webform.slug]))
    return render(
        request,
        "capture/embed.html",
        {
            "webform": webform,
            "snippet": embed_snippet(webform, action_url),
            "action_url": action_url,
        },
    )
