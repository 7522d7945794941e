"""Marketing email in the UI (marketing and admins; everyone else gets 403): templates
(list, new, edit with a preview as a lead one sees and a test send), the outbox with its
status filter, and the mailbox of the local SMTP server `make run` starts. Each button
calls one service of `nurture.services`."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.errors import FieldError, NotPermitted
from nurture import services
from nurture.choices import MessageStatus
from nurture.models import EmailTemplate, MailboxMessage
from users.models import User

from .decorators import viewer_page

PER_PAGE = 50


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=150)
    subject = forms.CharField(max_length=300)
    html_body = forms.CharField(
        label="HTML body", required=False, widget=forms.Textarea(attrs={"rows": 14})
    )
    text_body = forms.CharField(
        label="Plain-text part", required=False, widget=forms.Textarea(attrs={"rows": 8})
    )


def _marketing(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    try:
        services.check_may_send(user)
    except NotPermitted as error:
        raise PermissionDenied(error.message) from error
    return user


@viewer_page
def templates(request: HttpRequest) -> HttpResponse:
    _marketing(request)
    return render(
        request, "web/email_templates.html", {"templates": EmailTemplate.objects.order_by("name")}
    )


@viewer_page
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _marketing(request)
    template = get_object_or_404(EmailTemplate, pk=pk) if pk is not None else None
    initial = {}
    if template is not None:
        initial = {f: getattr(template, f) for f in services.TEMPLATE_FIELDS}
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if template is None:
                template = services.create_template(
                    by=user, now=timezone.now(), **form.cleaned_data
                )
            else:
                services.update_template(template, by=user, now=timezone.now(), **form.cleaned_data)
        except FieldError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Template “{template.name}” saved.")
            return redirect("web:email_template", template.pk)
    preview = None
    lead = None
    lead_id = request.GET.get("lead", "").strip()
    if template is not None and lead_id:
        lead = services.lead_seen_by(user, lead_id)
        if lead is None:
            messages.error(request, f"lead: no lead with id {lead_id!r} that you can see")
        else:
            preview = services.preview(template, lead)
    return render(
        request,
        "web/email_template.html",
        {
            "template": template,
            "form": form,
            "preview": preview,
            "lead": lead,
            "lead_id": lead_id,
            "fields": services.MERGE_FIELDS,
        },
    )


@require_POST
@viewer_page
def template_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    user = _marketing(request)
    template = get_object_or_404(EmailTemplate, pk=pk)
    lead = None
    lead_id = request.POST.get("lead", "").strip()
    if lead_id:
        lead = services.lead_seen_by(user, lead_id)
        if lead is None:
            messages.error(request, f"lead: no lead with id {lead_id!r} that you can see")
            return redirect("web:email_template", pk)
    try:
        message = services.test_send(
            template, to=request.POST.get("to", ""), lead=lead, by=user, now=timezone.now()
        )
    except FieldError as error:
        messages.error(request, f"{error.field}: {error.message}")
    else:
        if message.status == MessageStatus.SENT:
            messages.success(request, f"Test sent to {message.to_address}.")
        else:
            messages.error(
                request,
                f"Not sent to {message.to_address} ({message.status}): {message.last_error}",
            )
    return redirect("web:email_template", pk)


@viewer_page
def outbox(request: HttpRequest) -> HttpResponse:
    _marketing(request)
    status = request.GET.get("status", "")
    try:
        rows = services.outbox(status=status or None)
    except FieldError as error:
        messages.error(request, f"{error.field}: {error.message}")
        rows = services.outbox()
        status = ""
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/outbox.html",
        {
            "page": page,
            "status": status,
            "statuses": MessageStatus.choices,
            "counts": services.outbox_counts(),
        },
    )


@viewer_page
def mailbox(request: HttpRequest) -> HttpResponse:
    _marketing(request)
    page = Paginator(services.mailbox(), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/mailbox.html", {"page": page})


def _parts(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    return (
        str(text.get_content()) if text is not None else "",
        str(html.get_content()) if html is not None else "",
    )


@viewer_page
def mailbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    _marketing(request)
    kept = get_object_or_404(MailboxMessage, pk=pk)
    raw = bytes(kept.raw)
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    text, html = _parts(mail)
    context: dict[str, Any] = {
        "kept": kept,
        "headers": list(mail.items()),
        "text": text,
        # Its links open in a new tab, as in a mail client (the frame runs no script).
        "html": f'<base target="_blank">{html}' if html else "",
        "raw": raw.decode("utf-8", errors="replace"),
    }
    return render(request, "web/mailbox_message.html", context)
