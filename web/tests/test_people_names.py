"""People are shown by their full name everywhere (the username only when they have none),
and a superuser is shown, and acts, as an admin."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from conftest import bearer
from users.choices import Role
from users.models import User

from .conftest import MakeLead


@pytest.fixture
def named(org):  # type: ignore[no-untyped-def]
    User.objects.filter(pk=org.rep2.pk).update(first_name="Rita", last_name="Patel")
    User.objects.filter(pk=org.rep1.pk).update(first_name="Sam", last_name="Okafor")
    org.rep2.refresh_from_db()
    org.rep1.refresh_from_db()
    return org


def test_the_overview_names_owners_by_full_name(
    named, make_lead: MakeLead, client_for: Callable[[User], Client]
) -> None:  # type: ignore[no-untyped-def]
    make_lead("ann@acme.io", named.rep2)

    body = client_for(named.marketer).get(reverse("web:home")).content.decode()

    assert "Rita Patel" in body
    assert ">rep2<" not in body


def test_the_csv_export_names_owners_by_full_name_or_username(
    named, make_lead: MakeLead, client_for: Callable[[User], Client]
) -> None:  # type: ignore[no-untyped-def]
    make_lead("ann@acme.io", named.rep2)
    make_lead("bob@acme.io", named.manager)

    exported = client_for(named.admin).get(reverse("web:leads_export"))
    rows = csv.DictReader(io.StringIO(exported.getvalue().decode()))

    assert {row["email"]: row["owner"] for row in rows} == {
        "ann@acme.io": "Rita Patel",
        "bob@acme.io": "manager",
    }


def test_one_reassign_control_with_full_names_on_the_lead_and_team_pages(
    named, make_lead: MakeLead, client_for: Callable[[User], Client]
) -> None:  # type: ignore[no-untyped-def]
    lead = make_lead("ann@acme.io", named.rep2)
    client = client_for(named.manager)

    team_page = client.get(reverse("web:home")).content.decode()
    lead_page = client.get(reverse("web:lead", args=[lead.pk])).content.decode()

    for page in (team_page, lead_page):
        assert 'class="reassign-form' in page
        assert '<option value="rep1">Sam Okafor</option>' in page
        assert ">Give<" not in page
        assert 'name="reason"' in page


def test_a_reason_given_on_the_team_page_reaches_the_lead_history(
    named, make_lead: MakeLead, client_for: Callable[[User], Client]
) -> None:  # type: ignore[no-untyped-def]
    lead = make_lead("ann@acme.io", named.rep2)

    response = client_for(named.manager).post(
        reverse("web:lead_reassign", args=[lead.pk]),
        {"to": "rep1", "reason": "Rita is on leave", "next": reverse("web:home")},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == named.rep1
    page = client_for(named.manager).get(reverse("web:lead", args=[lead.pk])).content.decode()
    assert "Rita is on leave" in page


@pytest.mark.django_db
def test_createsuperuser_makes_an_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-pass-phrase")

    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")

    assert User.objects.get(username="root").role == Role.ADMIN


def test_any_superuser_is_shown_and_served_as_an_admin(
    org, client_for: Callable[[User], Client]
) -> None:  # type: ignore[no-untyped-def]
    boss = User.objects.create_user("boss", is_superuser=True, is_staff=True)
    assert boss.role == Role.SALES_REP  # made before superusers defaulted to admin

    body = client_for(boss).get(reverse("web:home")).content.decode()
    people = client_for(org.admin).get(reverse("web:people")).content.decode()
    listed = Client().get("/api/v1/users", HTTP_AUTHORIZATION=bearer(org.admin)).json()
    shown = StringIO()
    call_command("people", "list", stdout=shown)

    assert "boss · Admin" in body
    assert "Sales rep" not in body
    assert "<td>boss<div" in people and "<td>Admin</td>" in people
    assert {person["username"]: person["role"] for person in listed}["boss"] == "admin"
    assert "boss\tAdmin\t" in shown.getvalue()


@pytest.mark.django_db(transaction=True)
def test_migrating_makes_existing_superusers_admins() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("users", "0003_verbose_names")])
    old_user = executor.loader.project_state([("users", "0003_verbose_names")]).apps.get_model(
        "users", "User"
    )
    old_user.objects.create(username="root", is_superuser=True, role="sales_rep")
    old_user.objects.create(username="rita", role="sales_rep")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    roles = dict(User.objects.values_list("username", "role"))
    assert roles == {"root": Role.ADMIN, "rita": Role.SALES_REP}
