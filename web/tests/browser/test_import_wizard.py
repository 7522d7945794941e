"""In a real browser: marketing imports a file and watches a real worker finish it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from imports.models import ImportJob
from leadloop.celery import app
from leads.models import Lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketing_uploads_a_file_and_the_progress_bar_reaches_100(
    org: Any, live_server: Any, browser: Any, screenshots: Path, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    export = tmp_path / "webinar-attendees.csv"
    export.write_text(
        "Attendee Email,First Name,Last Name,Organization,Attended\n"
        + "".join(f"p{i}@acme{i % 7}.io,P{i},Lee,Acme {i % 7},Yes\n" for i in range(300))
        + "nope,Bad,Row,Acme,Yes\n"
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pass-marketer")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("nav a:has-text('Imports')")
    page.click("#new-import")
    page.set_input_files("#id_file", str(export))
    page.select_option("#id_campaign", label="Webinar")
    page.click("#upload-button")
    page.wait_for_url("**/mapping/")
    assert page.locator("#mapping select").nth(0).input_value() == "email"
    page.click("#preview-button")
    page.wait_for_url("**/preview/")
    assert page.locator("#count-created").inner_text() == "300"
    assert page.locator("#count-rejected").inner_text() == "1"

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        page.click("#start-button")
        page.wait_for_url("**/imports/*/")
        page.wait_for_function(
            "document.querySelector('#job-status').textContent.trim() === 'done'",
            timeout=60_000,
        )
    page.screenshot(path=str(screenshots / "import-done.png"), full_page=True)

    assert page.locator("#progress-percent").inner_text() == "100 %"
    assert page.locator("#progress-rows").inner_text() == "301 / 301"
    assert page.locator("#job-created").inner_text() == "300"
    assert page.locator("#progress[hx-trigger]").count() == 0  # polling stopped
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.rejected) == ("done", 300, 1)
    assert Lead.objects.filter(memberships__campaign=org.webinar).count() == 300
