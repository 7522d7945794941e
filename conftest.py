"""Shared fixtures and helpers: a small sales organisation, a clock, API bearer tokens."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.utils import timezone

from leads.models import Account, Campaign
from users.choices import Role
from users.models import ApiToken, Team, User

# A Monday morning, inside working hours of a UTC 9–17 calendar.
MONDAY_10 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return MONDAY_10


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> datetime:
    """Stop the clock at `now` for code that reads it (views, API endpoints, tasks)."""
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def bearer(user: User) -> str:
    """An Authorization header value with a fresh API token of `user`."""
    _, raw = ApiToken.issue(user)
    return f"Bearer {raw}"


def make_user(username: str, role: str, team: Team | None = None, **extra: Any) -> User:
    user = User.objects.create_user(
        username=username, password="pass-" + username, role=role, team=team, **extra
    )
    return user


@pytest.fixture
def org(db):  # type: ignore[no-untyped-def]
    """Two teams (EMEA with 2 reps, Americas with 1), their managers, marketing, an admin."""
    emea = Team.objects.create(
        name="EMEA",
        timezone="UTC",
        workday_start=time(9),
        workday_end=time(17),
        countries=["DE", "FR", "GB"],
    )
    americas = Team.objects.create(
        name="Americas", timezone="America/New_York", countries=["US", "CA"]
    )

    class Org:
        pass

    o = Org()
    o.emea, o.americas = emea, americas  # type: ignore[attr-defined]
    o.rep1 = make_user("rep1", Role.SALES_REP, emea)  # type: ignore[attr-defined]
    o.rep2 = make_user("rep2", Role.SALES_REP, emea)  # type: ignore[attr-defined]
    o.rep3 = make_user("rep3", Role.SALES_REP, americas)  # type: ignore[attr-defined]
    o.manager = make_user("manager", Role.SALES_MANAGER, emea)  # type: ignore[attr-defined]
    o.us_manager = make_user("usmanager", Role.SALES_MANAGER, americas)  # type: ignore[attr-defined]
    o.marketer = make_user("marketer", Role.MARKETING)  # type: ignore[attr-defined]
    o.admin = make_user("admin", Role.ADMIN, is_staff=True, is_superuser=True)  # type: ignore[attr-defined]
    o.webinar = Campaign.objects.create(name="Webinar", channel="webinar")  # type: ignore[attr-defined]
    o.marquee = Account.objects.create(name="Bigco", domain="bigco.com", is_marquee=True)  # type: ignore[attr-defined]
    return o


# A profile that scores sales-ready on fit alone (decision maker, budget, buying now).
HOT = {
    "need": "replace our spreadsheet",
    "authority": "decision_maker",
    "budget": "20000",
    "timeline": "now",
    "country": "Germany",
}


class LoginClient(Client):
    """Django's test client whose `login` goes through axes as a login page does.

    axes refuses to authenticate without a request (it could not tell who is trying), and
    Client.login passes none; this one passes a request from the test client's address.
    """

    def login(self, **credentials: Any) -> bool:
        request: HttpRequest = RequestFactory().post("/login/")
        return super().login(request=request, **credentials)


@pytest.fixture
def client() -> Client:
    return LoginClient()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    """Real hashers take ~0.3 s a user on purpose; tests make dozens of users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def close_stray_connections(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Threads of the concurrency and worker tests keep their own database connections;
    end them before the test database is dropped, or PostgreSQL refuses to drop it."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


class _Inbox:
    """What the SMTP server of `smtp_server` received: one envelope per message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):  # type: ignore[no-untyped-def]
    """A real SMTP server (aiosmtpd) on a free local port, with Django's mail pointed at
    it through EMAIL_URL's parser; yields its inbox (`.messages`, aiosmtpd envelopes)."""
    import socket

    from aiosmtpd.controller import Controller

    from leadloop.settings import mailer_from_url

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {"default": mailer_from_url(f"smtp://127.0.0.1:{port}")}
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _scoring_model_read_afresh() -> Any:
    """Each test reads the scoring model its own database holds, not an earlier test's."""
    from qualify.services import forget_active_model

    forget_active_model()
    yield
    forget_active_model()
