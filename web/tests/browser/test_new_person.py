"""In a real browser: an admin adds a person and copies their set-password link; the
person opens it, chooses a password and lands on their inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_a_rep_who_sets_a_password_through_the_copied_link(
    org: Any, live_server: Any, browser: Any, screenshots: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pass-admin")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/people/")
    page.click("#new-person")
    page.fill("#id_username", "nora")
    page.fill("#id_first_name", "Nora")
    page.fill("#id_last_name", "Neu")
    page.select_option("#id_team", label="EMEA")
    # The page with the link is the answer to the post: wait until it has loaded (its
    # Copy script included) before pressing Copy.
    with page.expect_navigation(wait_until="load"):
        page.click("#person-new-form button[type=submit]")
    page.click("button[data-copy=set-password-link]")
    page.wait_for_function(
        "document.querySelector('button[data-copy=set-password-link]').textContent === 'Copied'"
    )
    page.screenshot(path=str(screenshots / "person-added.png"), full_page=True)
    link = page.evaluate("navigator.clipboard.readText()")

    newcomer = browser.new_page(viewport={"width": 1280, "height": 900})
    newcomer.set_default_timeout(10_000)
    newcomer.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    newcomer.goto(link)
    newcomer.fill("#id_new_password1", "rainy-harbour-42")
    newcomer.fill("#id_new_password2", "rainy-harbour-42")
    newcomer.click("#set-password-form button[type=submit]")
    newcomer.wait_for_url(f"{live_server.url}/")

    assert link.startswith(f"{live_server.url}/set-password/")
    assert newcomer.inner_text("a.who") == "Nora Neu · Sales rep"
    assert "Your password is set." in newcomer.inner_text(".messages")
    assert problems == []
