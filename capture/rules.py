"""Pure intake rules: which fields a lead has, how values are cleaned, what a web form
asks. How people and companies are recognised is in `identity.rules`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from identity.rules import normalise_email
from leads.choices import Authority, Timeline
from leads.errors import FieldError

try:
    import phonenumbers
except ImportError:  # pragma: no cover - a dependency; without it phones match on digits
    phonenumbers = None  # type: ignore[assignment]

TEXT_FIELDS = {
    "first_name": 100,
    "last_name": 100,
    "phone": 40,
    "title": 150,
    "company_name": 200,
    "website": 253,
    "country": 100,
    "industry": 100,
    "need": 2000,
}
# What the columns hold (Lead.employees, Lead.budget with 12 digits, 2 decimal places):
# larger values would fail in the database instead of being refused here.
MAX_EMPLOYEES = 2_147_483_647
MAX_BUDGET = Decimal(10**10)
LEAD_FIELDS = frozenset(
    {"email", *TEXT_FIELDS, "employees", "authority", "budget", "timeline", "custom_fields"}
)


def clean_lead_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise incoming lead fields; raise FieldError naming the first bad one."""
    unknown = sorted(set(data) - LEAD_FIELDS)
    if unknown:
        raise FieldError(unknown[0], "unknown field")
    cleaned: dict[str, Any] = {}
    for name, raw in data.items():
        if raw is None or raw == "":
            continue
        if name == "email":
            email = normalise_email(str(raw))
            try:
                validate_email(email)
            except ValidationError as exc:
                raise FieldError("email", f"{raw!r} is not a valid email address") from exc
            cleaned["email"] = email
        elif name in TEXT_FIELDS:
            text = str(raw).strip()
            if len(text) > TEXT_FIELDS[name]:
                raise FieldError(name, f"longer than {TEXT_FIELDS[name]} characters")
            cleaned[name] = text
        elif name == "employees":
            try:
                employees = int(raw)
            except (TypeError, ValueError) as exc:
                raise FieldError(name, f"{raw!r} is not a whole number") from exc
            if employees < 0:
                raise FieldError(name, "cannot be negative")
            if employees > MAX_EMPLOYEES:
                raise FieldError(name, f"must be at most {MAX_EMPLOYEES:,}")
            cleaned[name] = employees
        elif name == "budget":
            try:
                budget = Decimal(str(raw).replace(",", "").strip())
            except InvalidOperation as exc:
                raise FieldError(name, f"{raw!r} is not a number") from exc
            # Finite first: comparing NaN raises.
            if not budget.is_finite() or budget < 0:
                raise FieldError(name, "must be a positive amount")
            if budget >= MAX_BUDGET:
                raise FieldError(name, f"must be less than {MAX_BUDGET:,}")
            cleaned[name] = budget
        elif name == "authority":
            if raw not in Authority.values:
                raise FieldError(
                    name, f"must be one of {', '.join(v for v in Authority.values if v)}"
                )
            cleaned[name] = raw
        elif name == "timeline":
            if raw not in Timeline.values:
                raise FieldError(
                    name, f"must be one of {', '.join(v for v in Timeline.values if v)}"
                )
            cleaned[name] = raw
        elif name == "custom_fields":
            if not isinstance(raw, dict):
                raise FieldError(name, "must be an object of name → value")
            cleaned[name] = {str(k): v for k, v in raw.items()}
    return cleaned


# --- Web forms marketing builds ---------------------------------------------------------

# Lead fields a web form may ask for, in the order the form builder lists them.
FORM_FIELDS: tuple[str, ...] = (
    "email", "first_name", "last_name", "phone", "title", "company_name", "website",
    "country", "industry", "employees", "need", "authority", "budget", "timeline",
)  # fmt: skip


@dataclass(frozen=True)
class FormDefinition:
    """What a web form asks, cleaned: its fields in order, which are required, consent."""

    fields: list[str]
    required_fields: list[str]
    consent_text: str
    consent_purpose: str


def clean_form_definition(
    fields: list[str], required: list[str], consent_text: str, consent_purpose: str
) -> FormDefinition:
    """Check a form's fields as marketing chose them; email is always asked and required.

    The order chosen is kept (duplicates dropped); a consent checkbox needs its purpose,
    so that what a person agreed to is stored with their consent.
    """
    unknown = [name for name in [*fields, *required] if name not in FORM_FIELDS]
    if unknown:
        raise FieldError("fields", f"{unknown[0]!r} is not a lead field a form can ask for")
    ordered = list(dict.fromkeys(["email", *fields] if "email" not in fields else fields))
    missing = [name for name in required if name not in ordered]
    if missing:
        raise FieldError("required_fields", f"{missing[0]!r} is required but not on the form")
    required_set = {"email", *required}
    consent_text, consent_purpose = consent_text.strip(), consent_purpose.strip()
    if consent_text and not consent_purpose:
        raise FieldError("consent_purpose", "say what the consent is for")
    if consent_purpose and not consent_text:
        raise FieldError("consent_text", "the checkbox needs a text people agree to")
    return FormDefinition(
        fields=ordered,
        required_fields=[name for name in ordered if name in required_set],
        consent_text=consent_text,
        consent_purpose=consent_purpose,
    )


def consent_record(*, text: str, purpose: str, given: bool, now: datetime) -> dict[str, Any]:
    """What a form submission keeps about consent: whether it was given and, if it was,
    the words agreed to, what for, and when."""
    if not given:
        return {"consent": False}
    return {
        "consent": True,
        "consent_text": text,
        "consent_purpose": purpose,
        "consent_at": now.isoformat(),
    }
