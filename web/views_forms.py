"""The web form builder: marketing (and admins) create and change lead forms in the UI.

The page parses the form and calls `capture.services.save_web_form`, which owns the rules
(email always asked and required, a consent needs its purpose, a free slug).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from capture.forms import WebFormBuilderForm
from capture.models import WebForm
from capture.services import save_web_form
from leads.errors import FieldError
from users.choices import Capability
from users.models import User
from users.permissions import may

from .decorators import viewer_page


def _builder(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    if not may(user, Capability.BUILD_FORMS):
        raise PermissionDenied("web forms are built by marketing")
    return user


def _edit(request: HttpRequest, webform: WebForm | None) -> HttpResponse:
    if request.method == "POST":
        form = WebFormBuilderForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = save_web_form(
                    webform,
                    name=data["name"],
                    slug=data["slug"],
                    campaign=data["campaign"],
                    fields=data["fields"],
                    required_fields=data["required_fields"],
                    consent_text=data["consent_text"],
                    consent_purpose=data["consent_purpose"],
                    thank_you_message=data["thank_you_message"],
                    thank_you_url=data["thank_you_url"],
                    is_active=data["is_active"],
                )
            except FieldError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
            else:
                verb = "created" if webform is None else "saved"
                messages.success(request, f"Form “{saved.name}” {verb}: /f/{saved.slug}/")
                return redirect("web:forms")
        status = 400
    else:
        initial = (
            WebFormBuilderForm.initial_for(webform)
            if webform is not None
            else {"fields": ["email", "first_name", "last_name", "company_name"],
                  "required_fields": ["email"], "is_active": True}
        )  # fmt: skip
        form = WebFormBuilderForm(initial=initial)
        status = 200
    return render(
        request, "web/form_builder.html", {"form": form, "webform": webform}, status=status
    )


@viewer_page
def web_form_new(request: HttpRequest) -> HttpResponse:
    _builder(request)
    return _edit(request, None)


@viewer_page
def web_form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _builder(request)
    return _edit(request, get_object_or_404(WebForm, pk=pk))
