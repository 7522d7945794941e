"""Templates rendered in a sandbox: a Django template engine of its own (no loaders, so
no include or extends; no libraries to load), fed only the lead's context as plain
strings (no objects whose methods a template could reach). A template that does not
compile is refused, naming the field and the line."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline
from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Template

from leads.errors import FieldError

_HTML = Engine(debug=True, autoescape=True, loaders=[], libraries={})
_TEXT = Engine(debug=True, autoescape=False, loaders=[], libraries={})
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)

MERGE_FIELDS = (
    "first_name", "last_name", "full_name", "email", "title", "company", "country",
    "industry", "account_name", "account_domain", "account_industry", "owner_name",
    "owner_email", "base_url", "custom.KEY",
)  # fmt: skip


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def compile_template(source: str, *, field: str, html: bool) -> Template:
    """The compiled template, or FieldError naming `field` and the line that is wrong."""
    try:
        return _compiled(source, html)
    except TemplateSyntaxError as error:
        debug = getattr(error, "template_debug", None) or {}
        line = debug.get("line")
        where = f"line {line}: " if line else ""
        raise FieldError(field, f"{where}{error}") from None


@lru_cache(maxsize=256)
def _compiled(source: str, html: bool) -> Template:
    """Compiled once per source: queueing a template for ten thousand leads compiles it
    once, not ten thousand times (a compiled template is only read when rendered)."""
    return (_HTML if html else _TEXT).from_string(source)


def check_template(*, subject: str, html_body: str, text_body: str) -> None:
    """Raises FieldError for the first field that does not compile or is missing."""
    if not subject.strip():
        raise FieldError("subject", "a template needs a subject")
    if not (html_body.strip() or text_body.strip()):
        raise FieldError("text_body", "a template needs an HTML body or a plain-text part")
    compile_template(subject, field="subject", html=False)
    compile_template(html_body, field="html_body", html=True)
    compile_template(text_body, field="text_body", html=False)


def lead_context(lead: Any) -> dict[str, Any]:
    """What a template may read of a lead: strings only, and its custom fields."""
    account = lead.account
    owner = lead.owner
    owner_name = ""
    if owner is not None:
        owner_name = owner.get_full_name() or owner.get_username()
    return {
        "first_name": lead.first_name or "",
        "last_name": lead.last_name or "",
        "full_name": " ".join(p for p in (lead.first_name, lead.last_name) if p),
        "email": lead.email or "",
        "title": lead.title or "",
        "company": lead.company_name or (account.name if account else ""),
        "country": lead.country or "",
        "industry": lead.industry or "",
        "account_name": account.name if account else "",
        "account_domain": (account.domain or "") if account else "",
        "account_industry": account.industry if account else "",
        "owner_name": owner_name,
        "owner_email": owner.email if owner is not None else "",
        "base_url": settings.LEADLOOP_BASE_URL,
        "custom": {
            str(key): value if isinstance(value, (str, int, float, bool)) else str(value)
            for key, value in (lead.custom_fields or {}).items()
        },
    }


def render(template: Any, context: dict[str, Any]) -> Rendered:
    """Subject, plain text and HTML (CSS inlined) of `template` for one lead's context."""
    subject = compile_template(template.subject, field="subject", html=False)
    text = compile_template(template.text_body, field="text_body", html=False)
    html = ""
    if template.html_body.strip():
        html_source = compile_template(template.html_body, field="html_body", html=True)
        html = _INLINER.inline(html_source.render(Context(context)))
    return Rendered(
        subject=" ".join(subject.render(Context(context)).split())[:300],
        text=text.render(Context(context)),
        html=html,
    )
