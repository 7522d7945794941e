"""Every page in the viewer's time zone, including those outside the signed-in UI's views
(the embed page, Django's admin): their templates turn stored UTC times into the zone the
footer names."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from .decorators import viewer_zone


class ViewerTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with timezone.override(viewer_zone(request)):
            return self.get_response(request)
