"""`{% load countries %}`: countries in people's words, in the viewer's language as the
lead page names them: `{% country lead.country %}`, `{% countries team.countries %}`
("Germany, Austria")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils import translation

from leads.countries import country_name

register = template.Library()


def _language(context: Any) -> str:
    request = context.get("request")
    return translation.get_language_from_request(request) if request is not None else "en"


@register.simple_tag(takes_context=True)
def country(context: Any, code: str | None) -> str:
    return country_name(code, _language(context)) if code else ""


@register.simple_tag(takes_context=True)
def countries(context: Any, codes: Iterable[str] | None) -> str:
    language = _language(context)
    return ", ".join(country_name(code, language) for code in codes or []) or "—"
