"""The public tracking endpoints a stranger's mail client calls: no login, rate-limited per
IP address, never a 500 (a failure to record is logged; the answer is the same)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import tracking

log = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """The caller's address, behind LEADLOOP_TRUSTED_PROXIES proxies as the forms read it
    (capture.ratelimit.client_ip, which nurture may not import)."""
    proxies = settings.LEADLOOP_TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or "unknown"


@never_cache
@require_safe
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """`GET /t/o/<token>.gif`: always the 1x1 GIF, whether the token is genuine or not (a
    prober learns nothing); a genuine one notes the open."""
    now = timezone.now()
    try:
        if not tracking.over_rate(client_address(request), now=now):
            tracking.record_open(token, now=now)
    except Exception:
        log.exception("recording an email open failed")
    return HttpResponse(tracking.PIXEL, content_type="image/gif")


@never_cache
@require_safe
def click(request: HttpRequest, token: str) -> HttpResponse:
    """`GET /t/c/<token>`: a 302 to the link the token carries (never one from the query
    string: no open redirect); a forged or altered token is a 404."""
    now = timezone.now()
    try:
        record = not tracking.over_rate(client_address(request), now=now)
    except Exception:
        log.exception("counting a tracking request failed")
        record = False
    try:
        url = tracking.follow_click(token, now=now, record=record)
    except Exception:
        log.exception("recording an email click failed")
        url = tracking.follow_click(token, now=now, record=False)
    if url is None:
        raise Http404("This link is not valid.")
    return HttpResponseRedirect(url)
