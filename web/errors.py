"""The error pages' views where Django's own would render without the request (400, 500).

Django renders 403 and 404 with the request, so the templates alone give them the
navigation; its 400 and 500 views render without it, so they would never know who is
signed in. A 500 may come from a broken database, which the navigation reads: if the
full page fails too, the plain one (no context, no queries) is the answer.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger(__name__)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    try:
        return render(request, "400.html", status=400)
    except Exception:  # the request itself may be what cannot be read
        logger.exception("the 400 page failed; answering with the plain one")
        return HttpResponseBadRequest(loader.render_to_string("500_plain.html"))


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        return render(request, "500.html", status=500)
    except Exception:
        logger.exception("the 500 page failed; answering with the plain one")
        return HttpResponseServerError(loader.render_to_string("500_plain.html"))
