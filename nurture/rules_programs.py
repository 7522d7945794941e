"""Pure decisions of nurture programs: a lead's time zone, when a wait ends, which way an
engagement branch goes. No database here; `nurture.programs` calls these."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import get_global

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# US states and Canadian provinces by their main zone: the two countries most leads of a
# multi-zone country come from. Elsewhere a state is not needed (one zone), or the team's
# zone stands in.
_STATE_ZONES: dict[str, dict[str, str]] = {
    "US": {
        **dict.fromkeys(
            [
                "CT",
                "DE",
                "DC",
                "FL",
                "GA",
                "IN",
                "KY",
                "ME",
                "MD",
                "MA",
                "MI",
                "NH",
                "NJ",
                "NY",
                "NC",
                "OH",
                "PA",
                "RI",
                "SC",
                "VT",
                "VA",
                "WV",
            ],
            "America/New_York",
        ),
        **dict.fromkeys(
            [
                "AL",
                "AR",
                "IL",
                "IA",
                "KS",
                "LA",
                "MN",
                "MS",
                "MO",
                "NE",
                "ND",
                "OK",
                "SD",
                "TN",
                "TX",
                "WI",
            ],
            "America/Chicago",
        ),
        **dict.fromkeys(["CO", "ID", "MT", "NM", "UT", "WY"], "America/Denver"),
        "AZ": "America/Phoenix",
        **dict.fromkeys(["CA", "NV", "OR", "WA"], "America/Los_Angeles"),
        "AK": "America/Anchorage",
        "HI": "Pacific/Honolulu",
    },
    "CA": {
        **dict.fromkeys(["ON", "QC"], "America/Toronto"),
        **dict.fromkeys(["MB"], "America/Winnipeg"),
        "SK": "America/Regina",
        "AB": "America/Edmonton",
        "BC": "America/Vancouver",
        **dict.fromkeys(["NS", "NB", "PE"], "America/Halifax"),
        "NL": "America/St_Johns",
    },
}


# The zone most of a multi-zone country's people live in, where CLDR lists several
# (Spain's Ceuta and Canaries, Russia's eleven zones).
_MAIN_ZONES: dict[str, str] = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty",
    "MX": "America/Mexico_City",
    "NZ": "Pacific/Auckland",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "US": "America/New_York",
}


@cache
def country_zones(country: str) -> tuple[str, ...]:
    """The IANA zones of an ISO country code, from Babel's CLDR data."""
    return tuple(get_global("territory_zones").get(country.upper(), ()))


@cache
def _one_clock(country: str) -> str | None:
    """The country's zone if all its zones keep the same clock (one CLDR meta zone, as
    Germany's Berlin and Büsingen do), else None."""
    zones = country_zones(country)
    metas = {get_global("meta_zones").get(zone) for zone in zones}
    return zones[0] if zones and len(metas) == 1 else None


def lead_zone(*, country: str, state: str, team_zone: str | None, default: str) -> str:
    """The time zone a wait "until Tuesday 09:00" is counted in for one lead.

    A lead has no time zone of its own, and asking for one would be a form field nobody
    fills in; its country (an ISO code, as capture stores it) usually settles it: a
    country on one clock is that clock. In a country of several, a US or Canadian state
    picks; else the zone of the team that works the lead (routing sends it there, so its
    reps share the lead's hours) if it is one of the country's; else the country's main
    zone. A lead without a known country gets its team's zone, and without a team
    LEADLOOP_EMAIL_TIMEZONE (which the outbox's quiet hours fall back to as well)."""
    code = (country or "").strip().upper()
    zones = country_zones(code) if len(code) == 2 else ()
    if zones:
        one = _one_clock(code)
        if one:
            return one
        by_state = _STATE_ZONES.get(code, {}).get((state or "").strip().upper())
        if by_state:
            return by_state
        if team_zone in zones:
            return team_zone
        if code in _MAIN_ZONES:
            return _MAIN_ZONES[code]
    return team_zone or default


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def duration_of(settings: dict[str, object]) -> timedelta:
    return timedelta(
        days=int(settings.get("days") or 0),  # type: ignore[call-overload]
        hours=int(settings.get("hours") or 0),  # type: ignore[call-overload]
        minutes=int(settings.get("minutes") or 0),  # type: ignore[call-overload]
    )


def next_weekday_hour(after: datetime, *, weekday: int, hour: int, zone: str) -> datetime:
    """The first moment strictly after `after` that is `weekday` (0 = Monday) at `hour`:00
    on the local clock of `zone`, in UTC. A clock that skips that hour (DST) gives the
    moment the clock jumps to."""
    tz = zone_info(zone)
    local = after.astimezone(tz)
    days = (weekday - local.weekday()) % 7
    day = local.date() + timedelta(days=days)
    for _ in range(3):
        wall = datetime.combine(day, time(hour), tzinfo=tz)
        # Normalise a non-existent wall time (spring forward) through UTC.
        moment = wall.astimezone(ZoneInfo("UTC"))
        if moment > after:
            return moment
        day += timedelta(days=7)
    raise AssertionError("unreachable: a week later is always after")


def wait_until(entered: datetime, settings: dict[str, object], *, zone: str) -> datetime:
    """When a wait step that a lead reached at `entered` lets it go on."""
    if settings.get("weekday") is not None:
        return next_weekday_hour(
            entered,
            weekday=int(settings["weekday"]),  # type: ignore[call-overload]
            hour=int(settings.get("hour") or 0),  # type: ignore[call-overload]
            zone=zone,
        )
    return entered + duration_of(settings)


# Engagement tests of a branch: which moment of the previous email counts, and whether
# the branch says yes when it happened (opened) or when it did not (not_opened).
ENGAGEMENT_TESTS: dict[str, tuple[str, bool]] = {
    "opened": ("opened_at", True),
    "clicked": ("clicked_at", True),
    "not_opened": ("opened_at", False),
    "not_clicked": ("clicked_at", False),
}


def engagement_branch(
    test: str, *, happened: bool, now: datetime, deadline: datetime
) -> bool | None:
    """True (yes) / False (no) / None (not yet decided: look again at the deadline).

    What happened decides at once (a click is a yes for "clicked", a no for
    "not_clicked"); what has not happened by the deadline decides the other way."""
    _moment, positive = ENGAGEMENT_TESTS[test]
    if happened:
        return positive
    if now >= deadline:
        return not positive
    return None
