"""Where a person chooses a password (the admin, createsuperuser), Django's four standard
validators refuse a weak one."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.management.commands import createsuperuser
from django.core.management import call_command
from django.urls import reverse

from users.models import User

STRONG = "tangerine-Harbour-71"


@pytest.mark.parametrize(
    ("weak", "why"),
    [
        ("password123", "This password is too common."),
        ("40172958316", "This password is entirely numeric."),
        ("Marketer-2026", "The password is too similar to the username."),
    ],
)
def test_the_admin_refuses_a_weak_password_when_setting_one(org, client, weak, why) -> None:
    client.force_login(org.admin)
    url = reverse("admin:auth_user_password_change", args=[org.marketer.pk])

    response = client.post(url, {"password1": weak, "password2": weak})

    assert response.status_code == 200  # the form again, with its error
    assert why in response.context["form"].errors["password2"]
    org.marketer.refresh_from_db()
    assert org.marketer.check_password("pass-marketer")


def test_the_admin_sets_a_strong_password(org, client) -> None:
    client.force_login(org.admin)
    url = reverse("admin:auth_user_password_change", args=[org.rep1.pk])

    response = client.post(url, {"password1": STRONG, "password2": STRONG})

    assert response.status_code == 302
    org.rep1.refresh_from_db()
    assert org.rep1.check_password(STRONG)


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_createsuperuser_refuses_a_common_password_then_takes_a_strong_one(db, monkeypatch) -> None:
    typed = iter(["password123", "password123", STRONG, STRONG])
    answers = iter(["n"])  # "Bypass password validation and create user anyway? [y/N]"
    monkeypatch.setattr(createsuperuser.getpass, "getpass", lambda prompt="": next(typed))
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    err = StringIO()

    call_command(
        "createsuperuser",
        interactive=True,
        username="ops",
        email="ops@example.com",
        stdin=Terminal(),
        stdout=StringIO(),
        stderr=err,
    )

    assert "This password is too common." in err.getvalue()
    assert User.objects.get(username="ops").check_password(STRONG)
