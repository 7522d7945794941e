"""Bugs the role walks (browser/test_walk.py) found, pinned without a browser."""

from __future__ import annotations

from django.test import Client


def test_the_favicon_a_browser_asks_for_is_served(db) -> None:  # type: ignore[no-untyped-def]
    # Django's admin and the API docs name no icon, so Chromium asks for /favicon.ico:
    # a 404 there was a console error on every admin page.
    response = Client().get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0] == ("/static/web/favicon.ico", 301)
    assert response.getvalue()[:4] == b"\x00\x00\x01\x00"  # an ICO file
