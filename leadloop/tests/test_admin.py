"""Django admin is there for every model, and its pages open."""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import reverse

from capture.services import capture_lead
from conftest import HOT
from users.models import User

# Every app of the project (not Django's, not third-party ones).
LEADLOOP_APPS = {
    config.label
    for config in apps.get_app_configs()
    if Path(config.path).parent == Path(settings.BASE_DIR)
}
# django-axes' failed logins and access log are there for operators too.
LISTED_APPS = LEADLOOP_APPS | {"axes"}


def test_every_leadloop_model_is_in_the_admin() -> None:
    models = {m for m in apps.get_models() if m._meta.app_label in LEADLOOP_APPS}
    assert models - set(admin.site._registry) == set()


@pytest.mark.parametrize(
    "model",
    [
        m
        for m in apps.get_models()
        if m._meta.app_label in LISTED_APPS and m in admin.site._registry
    ],
    ids=lambda m: m._meta.label,
)
def test_admin_lists_open(org, now, client, model) -> None:
    capture_lead({"email": "ann@acme.io", **HOT}, source="api", now=now)
    client.force_login(org.admin)
    meta = model._meta

    response = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))

    assert response.status_code == 200


def test_a_teams_countries_are_chosen_from_the_list_and_stored_as_codes(org, client) -> None:
    client.force_login(org.admin)
    url = reverse("admin:users_team_change", args=[org.emea.pk])
    page = client.get(url, headers={"accept-language": "de"}).content.decode()
    form = client.get(url).context["adminform"].form
    data = {
        name: form.initial.get(name, field.initial)
        for name, field in form.fields.items()
        if form.initial.get(name, field.initial) is not None
    }

    response = client.post(url, {**data, "countries": ["DE", "AT", "CH"]})

    assert '<option value="DE" selected>Deutschland</option>' in page
    assert response.status_code == 302
    org.emea.refresh_from_db()
    assert org.emea.countries == ["DE", "AT", "CH"]


def test_the_admin_says_which_time_zone_its_times_are_in(org, client) -> None:
    User.objects.filter(pk=org.admin.pk).update(timezone="Asia/Tokyo")
    client.force_login(org.admin)

    page = client.get(reverse("admin:leads_lead_changelist")).content.decode()

    assert '<p id="time-zone-note"' in page
    assert "Times shown in Asia/Tokyo." in page
    # An icon of its own, so the browser asks no /favicon.ico (a 404 in the console).
    assert '<link rel="icon" href="data:,">' in page
