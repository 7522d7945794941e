"""Pure intake rules: which fields a lead has, how values are cleaned, free-mail domains."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from leads.choices import Authority, Timeline

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

# Personal mailbox providers: their domain never becomes a company account.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "hotmail.com",
        "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com", "aol.com",
        "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net",
        "gmx.com", "web.de", "mail.com", "yandex.ru", "yandex.com", "zoho.com", "qq.com",
        "163.com", "126.com", "rediffmail.com", "free.fr", "orange.fr", "laposte.net",
        "libero.it", "t-online.de", "btinternet.com", "comcast.net", "fastmail.com", "hey.com",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FieldError(Exception):
    """Bad input, naming the field (and row, for imports) and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def normalise_email(value: str) -> str:
    return value.strip().lower()


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1] if "@" in email else ""


def company_domain(email: str | None, website: str = "") -> str | None:
    """The company's domain from its website, else from a work email; never free mail."""
    if website:
        host = website.strip().lower()
        for prefix in ("https://", "http://"):
            host = host.removeprefix(prefix)
        host = host.split("/", 1)[0].split(":", 1)[0].removeprefix("www.")
        if "." in host:
            return host
    domain = email_domain(email or "")
    if domain and domain not in FREE_MAIL_DOMAINS:
        return domain
    return None


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
