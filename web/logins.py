"""The login pages' hooks into django-axes, which counts failed logins at /login/ and
/admin/login/ (settings AXES_CLIENT_IP_CALLABLE and AXES_LOCKOUT_CALLABLE).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from axes.helpers import get_cool_off
from django import forms
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from capture.ratelimit import client_ip

from .display import format_wait


def client_address(request: HttpRequest) -> str | None:
    """Where a login comes from, as the rate limits see it (capture.ratelimit.client_ip:
    X-Forwarded-For only behind LEADLOOP_TRUSTED_PROXIES), in the form axes' IP columns
    take (PostgreSQL's inet refuses anything else, so a login would fail with a 500).

    A forwarded entry that is no address (LEADLOOP_TRUSTED_PROXIES set higher than the
    proxies there are lets a client's own entries through) counts as the TCP peer; a
    request with no address at all (made in code) as None.
    """
    for candidate in (client_ip(request), request.META.get("REMOTE_ADDR") or ""):
        try:
            # An IPv6 zone ("fe80::1%eth0") is the server's business, not the client's.
            return str(ipaddress.ip_address(candidate.partition("%")[0].strip()))
        except ValueError:
            continue
    return None


def lockout_message(wait: timedelta) -> str:
    return (
        "Too many failed log-ins with this user name or from this address: logging in is"
        f" locked for {format_wait(wait)}. Each try before then starts the wait again;"
        " an administrator can lift the lock at once."
    )


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """What a locked-out login gets (axes' AXES_LOCKOUT_CALLABLE), at /login/ and
    /admin/login/ alike: the page that login view rendered, status 429, with the lockout
    and its wait as the form's one error, so it keeps that page's look."""
    message = lockout_message(get_cool_off(request) or timedelta(0))
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if not (
        isinstance(original_response, TemplateResponse)
        and isinstance(form, forms.Form)
        and form.is_bound
    ):
        return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    # The form said "wrong password" (axes refuses before the password is checked); the
    # lockout replaces that, it does not add to it.
    form.errors.clear()
    form.add_error(None, message)
    page = TemplateResponse(request, original_response.template_name, context, status=429)
    return page.render()
