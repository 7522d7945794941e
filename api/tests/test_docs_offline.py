"""The API docs page works on a machine with no internet: Swagger UI is served locally."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client


@pytest.mark.django_db
def test_the_api_docs_page_loads_swagger_ui_from_this_server_only(client: Client) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    body = response.content.decode()
    assert "swagger-ui-bundle.js" in body
    assert re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", body) == []


@pytest.mark.django_db
def test_the_swagger_ui_assets_the_docs_page_names_are_served(client: Client) -> None:
    body = client.get("/api/v1/docs").content.decode()
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", body)

    assert {asset.rsplit("/", 1)[-1] for asset in assets} >= {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
    }
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
