"""Adding people and teams in the app, set-password links, deactivation, and countries
shown by name on the team screens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from capture.models import WebForm, WebhookSource
from leads.models import Campaign
from users.models import Team, User

PERSON = {
    "username": "ana",
    "first_name": "Ana",
    "last_name": "Lima",
    "email": "ana@example.org",
    "role": "sales_rep",
    "timezone": "",
    "is_accepting_leads": "on",
}


def test_an_admin_adds_a_person_who_sets_their_password_through_the_link(
    org: Any, client_for: Callable[[User], Client], client: Client
) -> None:
    added = client_for(org.admin).post(
        reverse("web:person_new"), {**PERSON, "team": org.americas.pk}
    )

    assert added.status_code == 200
    link = added.context["link"]
    assert link.startswith("http://testserver/set-password/")
    ana = User.objects.get(username="ana")
    assert (ana.team, ana.timezone, ana.has_usable_password()) == (
        org.americas,
        "America/New_York",
        False,
    )
    # The new person opens the link (Django moves the token into the session) and
    # chooses a password Django's validators accept; then they are logged in.
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    weak = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"}
    )
    assert weak.status_code == 200 and weak.context["form"].errors["new_password2"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "rainy-harbour-42", "new_password2": "rainy-harbour-42"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("web:home")
    assert done.context["user"].username == "ana"
    ana.refresh_from_db()
    assert ana.check_password("rainy-harbour-42")
    # The link is spent.
    assert not Client().get(link, follow=True).context["validlink"]


def test_a_new_person_with_a_taken_name_and_bad_email_is_told_next_to_the_field(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    taken = client_for(org.admin).post(reverse("web:person_new"), {**PERSON, "username": "Rep1"})

    assert taken.status_code == 400
    assert taken.context["form"].errors == {"username": ["'Rep1' is taken"]}
    assert User.objects.filter(username__iexact="rep1").count() == 1


def test_a_managers_new_person_is_a_rep_of_their_team(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.manager)

    page = client.get(reverse("web:person_new"))
    added = client.post(reverse("web:person_new"), {**PERSON, "role": "admin"})

    assert "role" not in page.context["form"].fields and "team" not in page.context["form"].fields
    assert added.status_code == 200
    ana = User.objects.get(username="ana")
    assert (ana.role, ana.team) == ("sales_rep", org.emea)
    assert client_for(org.rep1).get(reverse("web:person_new")).status_code == 404


def test_a_manager_deactivates_a_rep_who_left_and_the_link_stops_working(
    org: Any, client_for: Callable[[User], Client], client: Client
) -> None:
    manager = client_for(org.manager)
    link = (
        client_for(org.admin)
        .post(reverse("web:person_password_link", args=[org.rep1.pk]))
        .context["link"]
    )

    gone = manager.post(
        reverse("web:person_active", args=[org.rep1.pk]), {"is_active": "0"}, follow=True
    )

    assert [str(m) for m in gone.context["messages"]] == [
        "rep1 is deactivated: no more logins or new leads."
    ]
    org.rep1.refresh_from_db()
    assert not org.rep1.is_active
    assert not client.get(link, follow=True).context["validlink"]
    assert not client.login(username="rep1", password="pass-rep1")
    other = manager.post(reverse("web:person_active", args=[org.rep3.pk]), {"is_active": "0"})
    assert other.status_code == 404


def test_an_admin_creates_a_team_with_countries_as_people_type_them(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    client = client_for(org.admin)
    form = {
        "name": "DACH",
        "timezone": "Europe/Berlin",
        "workday_start": "09:00",
        "workday_end": "17:00",
        "workdays": ["0", "1", "2", "3", "4"],
        "holidays": "",
        "countries": "Deutschland\nÖsterreich, Schweiz",
        "sla_hours": "8",
    }

    bad = client.post(reverse("web:team_new"), {**form, "countries": "Germany, Narnia"})
    created = client.post(reverse("web:team_new"), form)
    listed = client.get(reverse("web:teams")).content.decode()
    edit = client.get(reverse("web:team", args=[Team.objects.get(name="DACH").pk]))

    assert bad.status_code == 400
    assert bad.context["form"].errors == {
        "countries": ["'Narnia' is not a country (a name such as Germany, or DE)"]
    }
    assert created.status_code == 302
    assert Team.objects.get(name="DACH").countries == ["DE", "AT", "CH"]
    assert "Germany, Austria, Switzerland" in listed
    assert edit.context["form"].initial["countries"] == "Germany\nAustria\nSwitzerland"
    assert client_for(org.manager).get(reverse("web:team_new")).status_code == 404


def test_the_people_teams_and_campaigns_lists_count_everything_and_page_it(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    User.objects.bulk_create([User(username=f"rep{n:03}", team=org.emea) for n in range(100, 160)])
    Team.objects.bulk_create([Team(name=f"Team {n:02}") for n in range(55)])
    Campaign.objects.bulk_create([Campaign(name=f"Fair {n:02}") for n in range(60)])
    client = client_for(org.admin)
    everyone = User.objects.count()

    first = client.get(reverse("web:people"))
    last = client.get(reverse("web:people"), {"page": 2})
    teams = client.get(reverse("web:teams"), {"page": 2})
    campaigns = client.get(reverse("web:campaigns"), {"page": 2})

    assert len(first.context["people"]) == 50
    assert len(last.context["people"]) == everyone - 50
    assert f"<strong>{everyone}</strong> people, 1–50 shown" in first.content.decode()
    assert len(teams.context["teams"]) == Team.objects.count() - 50
    assert len(campaigns.context["campaigns"]) == Campaign.objects.count() - 50


def test_the_forms_and_webhook_source_lists_count_and_page_too(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    WebForm.objects.bulk_create([WebForm(name=f"Form {n:02}", slug=f"f{n}") for n in range(53)])
    WebhookSource.objects.bulk_create(
        [WebhookSource(name=f"Tool {n:02}", slug=f"t{n}", mapping={}) for n in range(51)]
    )
    client = client_for(org.marketer)

    forms = client.get(reverse("web:forms"), {"page": 2})
    sources = client.get(reverse("web:webhooks"), {"page": 2})

    assert len(forms.context["forms"]) == 3
    assert "<strong>53</strong> forms, 51–53 shown" in forms.content.decode()
    assert len(sources.context["rows"]) == 1
    assert "<strong>51</strong> sources, 51–51 shown" in sources.content.decode()
