"""`{% load countries %}`: countries in people's words, `{{ lead.country|country }}`,
`{{ team.countries|countries }}` ("Germany, Austria"), in the active language."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils import translation

from leads.countries import country_name

register = template.Library()


@register.filter
def country(code: str | None) -> str:
    return country_name(code, translation.get_language() or "en") if code else ""


@register.filter
def countries(codes: Iterable[str] | None) -> str:
    return ", ".join(country(code) for code in codes or [])
