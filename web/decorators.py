"""The signed-in page wrapper: log-in required, times shown in the viewer's zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

View = Callable[..., HttpResponseBase]


def viewer_page(view: View) -> View:
    """Require log-in and render the page in the viewer's time zone (User.timezone).

    Views render eagerly (`render`, not TemplateResponse), so the zone is active while the
    template turns stored UTC times into local ones.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with timezone.override(viewer_zone(request)):
            return view(request, *args, **kwargs)

    return login_required(wrapper)


def viewer_zone(request: HttpRequest) -> zoneinfo.ZoneInfo:
    """The signed-in viewer's time zone (User.timezone); UTC for anyone else."""
    user = getattr(request, "user", None)
    name = getattr(user, "timezone", "") if user is not None and user.is_authenticated else ""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
