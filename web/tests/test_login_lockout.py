"""Failed logins are throttled per user name and per client address, at the app's login
page and the admin's, by django-axes; the addresses are documentation ranges (RFC 5737)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse

from conftest import make_user
from users.choices import Role

LIMIT = 5  # LEADLOOP_LOGIN_FAILURE_LIMIT's default

# Each login page, with a user it lets in (the admin's only lets in staff).
PAGES = [
    pytest.param("web:login", "rep1", id="app"),
    pytest.param("admin:login", "admin", id="admin"),
]


@pytest.fixture
def admin2(org):  # type: ignore[no-untyped-def]
    return make_user("admin2", Role.ADMIN, is_staff=True, is_superuser=True)


def log_in(url: str, username: str, password: str, address: str, **headers: str):  # type: ignore[no-untyped-def]
    """One login attempt from `address` (REMOTE_ADDR, the TCP peer), in a fresh browser."""
    return Client(REMOTE_ADDR=address, headers=headers).post(
        url, {"username": username, "password": password}
    )


def fail(url: str, username: str, address: str, times: int, **headers: str) -> list[int]:
    """`times` tries with a wrong password; their status codes (200: the login page again
    saying "wrong password", 429: locked out)."""
    return [
        log_in(url, username, "wrong-password", address, **headers).status_code
        for _ in range(times)
    ]


@pytest.mark.parametrize(("page", "username"), PAGES)
def test_a_user_name_is_locked_out_after_n_failures_from_any_addresses(
    org, admin2, page, username
) -> None:
    url = reverse(page)
    tries = [fail(url, username, f"198.51.100.{n}", 1)[0] for n in range(1, LIMIT + 1)]

    right_password = log_in(url, username, f"pass-{username}", "198.51.100.100")
    other_user = "rep2" if page == "web:login" else "admin2"
    other = log_in(url, other_user, f"pass-{other_user}", "198.51.100.1")

    assert tries == [200] * (LIMIT - 1) + [429]
    assert right_password.status_code == 429
    assert other.status_code == 302


@pytest.mark.parametrize(("page", "username"), PAGES)
def test_an_address_is_locked_out_after_n_failures_with_any_user_names(org, page, username) -> None:
    url = reverse(page)
    tries = [fail(url, f"nobody{n}", "203.0.113.7", 1)[0] for n in range(LIMIT)]

    from_there = log_in(url, username, f"pass-{username}", "203.0.113.7")
    from_elsewhere = log_in(url, username, f"pass-{username}", "203.0.113.8")

    assert tries == [200] * (LIMIT - 1) + [429]
    assert from_there.status_code == 429
    assert from_elsewhere.status_code == 302


@pytest.mark.parametrize(("page", "username"), PAGES)
def test_a_successful_login_clears_the_failures_of_its_user_name_and_address(
    org, page, username
) -> None:
    url = reverse(page)
    assert fail(url, username, "192.0.2.10", LIMIT - 1) == [200] * (LIMIT - 1)
    assert log_in(url, username, f"pass-{username}", "192.0.2.10").status_code == 302

    again = fail(url, username, "192.0.2.10", LIMIT - 1)
    response = log_in(url, username, f"pass-{username}", "192.0.2.10")

    assert again == [200] * (LIMIT - 1)
    assert response.status_code == 302


def test_the_app_lockout_page_says_why_and_for_how_long_in_the_login_page(org) -> None:
    url = reverse("web:login")
    fail(url, "rep1", "192.0.2.20", LIMIT - 1)

    response = log_in(url, "rep1", "wrong-password", "192.0.2.20")

    assert response.status_code == 429
    assert next(t.name for t in response.templates) == "web/login.html"
    html = response.content.decode()
    assert '<div class="errors">' in html
    assert "Too many failed log-ins with this user name or from this address" in html
    assert "locked for 15 minutes" in html
    assert "Please enter a correct username and password" not in html
    assert 'value="rep1"' in html  # the form is there to try again later


def test_the_admin_lockout_page_is_the_admin_login_page_with_the_message(org) -> None:
    url = reverse("admin:login")
    fail(url, "admin", "192.0.2.21", LIMIT - 1)

    response = log_in(url, "admin", "wrong-password", "192.0.2.21")

    assert response.status_code == 429
    assert next(t.name for t in response.templates) == "admin/login.html"
    html = response.content.decode()
    assert '<p class="errornote">' in html
    assert "locked for 15 minutes" in html


def test_the_wait_follows_the_setting(org, settings) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(minutes=90)
    settings.AXES_FAILURE_LIMIT = 2
    url = reverse("web:login")
    fail(url, "rep1", "192.0.2.22", 1)

    response = log_in(url, "rep1", "wrong-password", "192.0.2.22")

    assert response.status_code == 429
    assert "locked for 1 hour 30 minutes" in response.content.decode()


def test_the_lock_lifts_after_the_cool_off(org) -> None:
    url = reverse("web:login")
    assert fail(url, "rep1", "192.0.2.30", LIMIT)[-1] == 429
    assert log_in(url, "rep1", "pass-rep1", "192.0.2.30").status_code == 429

    # The last try (the one the lock counts from) is now 16 minutes old.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    response = log_in(url, "rep1", "pass-rep1", "192.0.2.30")

    assert (response.status_code, response["Location"]) == (302, "/")


def test_an_operator_lifts_every_lock_with_axes_reset(org, capsys) -> None:
    url = reverse("web:login")
    assert fail(url, "rep1", "192.0.2.40", LIMIT)[-1] == 429
    assert fail(url, "rep2", "192.0.2.41", LIMIT)[-1] == 429

    call_command("axes_reset")

    assert log_in(url, "rep1", "pass-rep1", "192.0.2.40").status_code == 302
    assert log_in(url, "rep2", "pass-rep2", "192.0.2.41").status_code == 302
    assert "attempts removed" in capsys.readouterr().out


def test_forwarded_for_is_ignored_without_trusted_proxies(org, settings) -> None:
    settings.LEADLOOP_TRUSTED_PROXIES = 0
    url = reverse("web:login")
    # One client sending a new made-up X-Forwarded-For with every try.
    for n in range(LIMIT):
        log_in(url, f"nobody{n}", "x", "203.0.113.50", X_Forwarded_For=f"198.51.100.{n}")

    response = log_in(url, "rep1", "pass-rep1", "203.0.113.50", X_Forwarded_For="192.0.2.1")

    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_wrote(org, settings) -> None:
    settings.LEADLOOP_TRUSTED_PROXIES = 1
    url = reverse("web:login")
    proxy = "192.0.2.254"
    # The attacker's own X-Forwarded-For entries come first; the proxy appends the real one.
    for n in range(LIMIT):
        log_in(url, f"nobody{n}", "x", proxy, X_Forwarded_For=f"198.51.100.{n}, 203.0.113.60")

    attacker = log_in(url, "rep1", "pass-rep1", proxy, X_Forwarded_For="203.0.113.60")
    someone_else = log_in(url, "rep1", "pass-rep1", proxy, X_Forwarded_For="203.0.113.61")

    assert attacker.status_code == 429
    assert (someone_else.status_code, someone_else["Location"]) == (302, "/")


def test_a_forwarded_entry_that_is_no_address_counts_as_the_tcp_peer(org, settings) -> None:
    # Set higher than the one proxy there is: the client's own first entry gets through.
    settings.LEADLOOP_TRUSTED_PROXIES = 2
    url = reverse("web:login")

    tries = fail(url, "rep1", "192.0.2.254", 1, X_Forwarded_For="unknown, 203.0.113.70")

    assert tries == [200]  # not a 500 from PostgreSQL's inet column
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["192.0.2.254"]


def test_client_login_in_tests_goes_through_axes(org, client) -> None:
    for _ in range(LIMIT):
        assert client.login(username="rep1", password="wrong-password") is False

    assert client.login(username="rep1", password="pass-rep1") is False  # locked out
    call_command("axes_reset_username", "rep1", stdout=StringIO())
    assert client.login(username="rep1", password="pass-rep1") is True
    assert client.get(reverse("web:home")).status_code == 200
