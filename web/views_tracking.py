"""The public tracking endpoints (`nurture.tracking` underneath) a stranger's mail client calls: no login, rate-limited per
IP address, never a 500 (a failure to record is logged; the answer is the same)."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from capture.ratelimit import client_ip
from nurture import tracking

log = logging.getLogger(__name__)


@never_cache
@require_safe
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """`GET /t/o/<token>.gif`: always the 1x1 GIF, whether the token is genuine or not (a
    prober learns nothing); a genuine one notes the open."""
    now = timezone.now()
    try:
        if not tracking.over_rate(client_ip(request), now=now):
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
        record = not tracking.over_rate(client_ip(request), now=now)
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
