"""What several browser tests do the same way: log in as a fixture user, add a step in
the program builder."""

from __future__ import annotations

from typing import Any


def log_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"pass-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def add_step(
    page: Any, kind: str, fields: dict[str, str], selects: dict[str, str] | None = None
) -> None:
    """Add a step of `kind` on a program's builder page, fill its form and save it."""
    page.select_option("#add-step select[name=kind]", kind)
    page.click("#add-step button[type=submit]")
    for name, value in fields.items():
        page.fill(f"#id_{name}", value)
    for name, value in (selects or {}).items():
        page.select_option(f"#id_{name}", value)
    page.click("#step-form button[type=submit]")
    page.locator(".msg", has_text="saved").first.wait_for()
