"""Every time-driven step of the journey, run once: `leadloop run_due [--now ISO]` and beat.

Each app that keeps a clock (the SLA and its ladder, cadences, score decay, nurture)
offers one idempotent sweep `run_due(*, now) -> int` (how many rows it acted on) and names
it in settings.LEADLOOP_SWEEPS; running them twice with the same `now` changes nothing.
The apps stay where the app map puts them: this module imports them by name only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

# How far from the present `--now` may be without LEADLOOP_ALLOW_TIME_TRAVEL=1: the
# moment the command was typed versus the moment it runs.
PRESENT = timedelta(minutes=1)


class TimeTravelRefused(ValueError):
    pass


def sweeps() -> list[tuple[str, Callable[..., int]]]:
    return [(path, import_string(path)) for path in settings.LEADLOOP_SWEEPS]


def check_now(now: datetime, *, present: datetime | None = None) -> datetime:
    """`now` as an aware datetime; refused if it is not the present and time travel is
    not allowed (LEADLOOP_ALLOW_TIME_TRAVEL=1), so production clocks cannot be faked."""
    if timezone.is_naive(now):
        now = timezone.make_aware(now, timezone.get_current_timezone())
    present = present or timezone.now()
    if abs(now - present) > PRESENT and os.environ.get("LEADLOOP_ALLOW_TIME_TRAVEL") != "1":
        raise TimeTravelRefused(
            f"--now {now.isoformat()} is not the present ({present.isoformat(timespec='seconds')});"
            " set LEADLOOP_ALLOW_TIME_TRAVEL=1 to run the sweeps at another time"
        )
    return now


def run_due(*, now: datetime) -> dict[str, int]:
    """Run every sweep once at `now`, in the order settings lists them."""
    return {path: sweep(now=now) for path, sweep in sweeps()}
