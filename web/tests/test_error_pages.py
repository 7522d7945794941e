"""Error pages are the app's pages: styled, with the navigation when signed in and a way
back; overlong search input gets a clear message. DEBUG is off, as in production."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from users.models import User

NAVIGATION = '<header class="topbar">'


@pytest.fixture(autouse=True)
def production(settings):  # type: ignore[no-untyped-def]
    settings.DEBUG = False


def signed_in(user: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def assert_error_page(body: str, code: int, heading: str, *, navigation: bool) -> None:
    assert f'<p class="error-code">Error {code}</p>' in body
    assert f"<h1>{heading}</h1>" in body
    assert "/static/web/app.css" in body
    assert (NAVIGATION in body) is navigation
    if navigation:
        assert 'href="/">Back to your inbox</a>' in body
    else:
        assert 'href="/login/">Sign in to Leadloop</a>' in body


def test_404_signed_in_has_the_navigation_and_a_way_back(org) -> None:  # type: ignore[no-untyped-def]
    response = signed_in(org.rep1).get("/leads/999999/")

    assert response.status_code == 404
    assert_error_page(response.content.decode(), 404, "Page not found", navigation=True)


@pytest.mark.django_db
def test_404_signed_out_is_a_plain_styled_page() -> None:
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert_error_page(response.content.decode(), 404, "Page not found", navigation=False)


def test_403_says_what_the_role_may_not_do(org) -> None:  # type: ignore[no-untyped-def]
    response = signed_in(org.rep1).get(reverse("web:form_new"))

    body = response.content.decode()
    assert response.status_code == 403
    assert_error_page(body, 403, "Not allowed", navigation=True)
    assert "Your role does not allow this: web forms are built by marketing." in body


def test_400_signed_in_has_the_navigation(org) -> None:  # type: ignore[no-untyped-def]
    too_many_fields = "&".join(f"f{n}=1" for n in range(1_001))

    response = signed_in(org.rep1).get(f"/leads/?{too_many_fields}")

    assert response.status_code == 400
    assert_error_page(response.content.decode(), 400, "Request not understood", navigation=True)


def test_500_signed_in_has_the_navigation(org, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the report broke")

    monkeypatch.setattr("web.views.funnel_report", broken)

    response = signed_in(org.manager).get(reverse("web:funnel"))

    assert response.status_code == 500
    assert_error_page(response.content.decode(), 500, "Something went wrong", navigation=True)


def test_500_falls_back_to_the_plain_page_when_the_full_one_fails(
    org, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database is gone")

    monkeypatch.setattr("web.views.funnel_report", broken)
    monkeypatch.setattr("web.context_processors.open_candidates", broken)

    response = signed_in(org.manager).get(reverse("web:funnel"))

    body = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in body
    assert NAVIGATION not in body


def test_an_overlong_search_is_cut_to_200_characters_and_says_so(
    org, make_lead, client_for: Callable[[User], Client]
) -> None:  # type: ignore[no-untyped-def]
    make_lead("ann@acme.io", org.rep1, company_name="Acme")

    response = client_for(org.rep1).get(reverse("web:leads"), {"q": "acme" + "x" * 9_996})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Search is limited to 200 characters: only the first 200 were searched." in body
    assert 'maxlength="200"' in body
    assert "Filters not understood" not in body


def test_a_search_of_200_characters_says_nothing_of_the_limit(
    org, client_for: Callable[[User], Client]
) -> None:  # type: ignore[no-untyped-def]
    response = client_for(org.rep1).get(reverse("web:leads"), {"q": "x" * 200})

    assert "Search is limited" not in response.content.decode()
