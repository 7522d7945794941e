"""Forms of capture's internal pages: the web form builder and the webhook source (its signing secret; the setup page marketing uses).

They only parse what was posted; the rules are in `capture.rules` and the services.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.http import QueryDict
from django.utils.text import slugify

from leads.models import Campaign
from nurture import consent as nurture_consent

from .models import WebForm, WebhookSource
from .rules import FORM_FIELDS
from .signatures import masked

# How the public form labels each lead field.
FIELD_LABELS = {
    "email": "Work email",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "title": "Job title",
    "company_name": "Company",
    "website": "Company website",
    "country": "Country",
    "industry": "Industry",
    "employees": "Employees",
    "need": "What do you need?",
    "authority": "Your role in the purchase",
    "budget": "Budget",
    "timeline": "When do you plan to buy?",
}

FIELD_CHOICES = [(name, FIELD_LABELS.get(name, name)) for name in FORM_FIELDS]


class WebFormBuilderForm(forms.Form):
    """A lead form as marketing defines it in the UI."""

    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=50,
        required=False,
        help_text="The hosted page's address: /f/<slug>/. Made from the name when empty.",
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="No campaign"
    )
    required_fields = forms.MultipleChoiceField(
        choices=FIELD_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    consent_text = forms.CharField(
        max_length=300,
        required=False,
        label="Consent checkbox text",
        help_text="What people tick. Empty: no checkbox.",
        widget=forms.TextInput({"placeholder": "e.g. Send me product news by email"}),
    )
    consent_purpose = forms.CharField(
        max_length=200,
        required=False,
        label="Purpose of the consent",
        help_text="Stored with each consent given.",
        widget=forms.TextInput({"placeholder": "e.g. newsletter"}),
    )
    thank_you_message = forms.CharField(
        max_length=300,
        required=False,
        help_text="Shown after sending, unless a thank-you page is set.",
        widget=forms.TextInput({"placeholder": "Thank you! We will be in touch shortly."}),
    )
    thank_you_url = forms.URLField(
        max_length=200,
        required=False,
        label="Thank-you page",
        help_text="Send people to this address after they submit.",
        widget=forms.URLInput({"placeholder": "https://…"}),
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Live")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Added here: a class attribute named `fields` would shadow the form's own.
        self.fields["fields"] = forms.MultipleChoiceField(
            choices=FIELD_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
        )
        # Each ticked box is a consent for this purpose (nurture.consent).
        known = ", ".join(purpose.slug for purpose in nurture_consent.purposes(active_only=True))
        self.fields["consent_purpose"].help_text = (
            f"A consent purpose ({known or 'newsletter'}; Email → Consent purposes)."
            " Another wording becomes a purpose of its own."
        )

    @classmethod
    def initial_for(cls, webform: WebForm) -> dict[str, Any]:
        return {
            "name": webform.name,
            "slug": webform.slug,
            "campaign": webform.campaign_id,
            "fields": list(webform.fields),
            "required_fields": list(webform.required_fields or ["email"]),
            "consent_text": webform.consent_text,
            "consent_purpose": webform.consent_purpose,
            "thank_you_message": webform.thank_you_message,
            "thank_you_url": webform.thank_you_url,
            "is_active": webform.is_active,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per lead field for the builder's table, the form's chosen ones first in
        their order (people tick and keep that order; the page can move rows)."""
        if isinstance(self.data, QueryDict):
            chosen = [n for n in self.data.getlist("fields") if n in FORM_FIELDS]
            required = set(self.data.getlist("required_fields"))
        else:
            chosen = [n for n in self.initial.get("fields", ["email"]) if n in FORM_FIELDS]
            required = set(self.initial.get("required_fields", ["email"]))
        order = list(dict.fromkeys([*chosen, *FORM_FIELDS]))
        return [
            {
                "name": name,
                "label": FIELD_LABELS.get(name, name),
                "asked": name in chosen or name == "email",
                "required": name in required or name == "email",
                "locked": name == "email",
            }
            for name in order
        ]


class WebhookSourceForm(forms.ModelForm):
    """A webhook source, with its signing secret typed in and never shown back in full:
    left empty, the secret stays as it was; "remove" clears it."""

    signing_secret = forms.CharField(
        required=False,
        max_length=WebhookSource._meta.get_field("signing_secret").max_length,
        # new-password: a browser must not fill in the admin's own saved password.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    remove_signing_secret = forms.BooleanField(
        required=False, help_text="Deliveries no longer need a signature"
    )

    class Meta:
        model = WebhookSource
        fields = (
            "name", "slug", "signature_scheme", "signing_secret", "campaign", "channel",
            "unknown_email", "mapping", "is_active",
        )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = masked(self.instance.signing_secret)
        now_set = (
            f"Set: {current}. Type a new one to replace it, or leave empty to keep it. "
            if current
            else ""
        )
        self.fields["signing_secret"].help_text = (
            now_set + "The secret the sender signs each delivery with (for Zoom: the app's"
            " Secret Token); empty: deliveries need no signature."
        )

    def add_error(self, field: str | None, error: Any) -> None:
        # The model's clean() checks the mapping even when what was typed is not JSON (it
        # then sees the empty default): only the JSON error is true of what was typed.
        if field is None and "mapping" in self.errors and hasattr(error, "error_dict"):
            error.error_dict.pop("mapping", None)
        super().add_error(field, error)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        typed = cleaned.get("signing_secret") or ""
        if cleaned.get("remove_signing_secret"):
            if typed:
                self.add_error("remove_signing_secret", "Type a new secret or remove it, not both.")
            cleaned["signing_secret"] = ""
        elif not typed:
            cleaned["signing_secret"] = self.instance.signing_secret
        return cleaned


# What a new source's mapping starts as: a form tool posting one flat object per submission.
STARTER_MAPPING: dict[str, Any] = {
    "items": "",
    "email": "email",
    "kind": "form_submit",
    "lead": {"first_name": "first_name", "last_name": "last_name", "company_name": "company"},
}


def _not_json(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb cannot store them.
    raise ValueError(f"{name} is not a JSON value")


class MappingField(forms.JSONField):
    """A mapping typed as JSON: shown indented, and a typing mistake says where it is."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not self.disabled:
            try:
                json.loads(value, parse_constant=_not_json)
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
                    code="invalid",
                ) from exc
            except (ValueError, RecursionError) as exc:
                raise ValidationError(f"Not valid JSON: {exc}.", code="invalid") from exc
        return super().to_python(value)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class WebhookSourceSetupForm(WebhookSourceForm):
    """A webhook source as marketing sets it up on its own page: the admin's form (the
    secret typed, never shown back), with the slug made from the name when left empty and
    the mapping edited as indented JSON. Its checks are the model's clean()."""

    slug = forms.SlugField(
        max_length=WebhookSource._meta.get_field("slug").max_length,
        required=False,
        help_text="The endpoint's address: /hooks/<slug>/. Made from the name when empty.",
        error_messages={"unique": "Another webhook source uses this address."},
    )
    mapping = MappingField(
        widget=forms.Textarea(
            {"rows": 16, "class": "code", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign = self.fields["campaign"]
        assert isinstance(campaign, forms.ModelChoiceField)
        campaign.queryset = Campaign.objects.order_by("name")
        campaign.empty_label = "No campaign"
        unknown_email = self.fields["unknown_email"]
        unknown_email.label = "An event for an unknown email"
        unknown_email.help_text = "An email no lead has yet: create the lead, or reject the event."
        self.fields["signature_scheme"].label = "Signature scheme"
        if self.instance.pk is not None:
            slug = self.fields["slug"]
            slug.help_text = "Changing it changes the endpoint: give the tool the new address."
        elif not self.is_bound:
            self.initial.setdefault("mapping", STARTER_MAPPING)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("slug") and "slug" not in self.errors:
            longest = WebhookSource._meta.get_field("slug").max_length or 50
            made = slugify(cleaned.get("name") or "")[:longest]
            if made:
                # The first free one of name, name-2, name-3 …
                others = WebhookSource.objects.exclude(pk=self.instance.pk)
                base, number = made, 2
                while others.filter(slug=made).exists():
                    made = f"{base[: longest - 4]}-{number}"
                    number += 1
                cleaned["slug"] = made
            elif cleaned.get("name"):
                self.add_error("slug", "Use letters, digits or hyphens.")
        return cleaned
