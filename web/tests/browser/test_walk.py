"""A first day as each role, in a real browser: every page of the navigation, one page of
each kind they link to, and every action the lead page offers the role, on the test's
own small world. Any 4xx/5xx (sub-resources and htmx requests too), console or script
error, request leaving the server, or unstyled page fails the walk (see walk.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from capture.models import WebForm, WebhookSource
from capture.services import capture_lead
from conftest import HOT
from followup.actions import act_on_lead
from followup.choices import OUTCOMES_BY_KIND, TouchKind
from imports.pipeline import ImportOptions
from imports.services import create_import_job, run_import
from leads.choices import Stage
from leads.models import Lead
from nurture import programs
from nurture.services import create_template
from routing.services import assign_lead
from users.choices import LeadAction
from users.models import User
from users.permissions import may

from .walk import Walk, shape

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass
class World:
    """The leads a role works in its walk, by what happens to them."""

    won: Lead  # touched every way, (reassigned,) accepted, converted, won
    rejected: Lead  # rejected with a reason (then nurtured and sent to sales by an admin)
    lost: Lead  # accepted, converted, lost
    dropped: Lead  # disqualified
    handed_back: Lead  # rejected by rep1 before the walk: manager's read-only view; nurtured
    fresh: Lead  # in nurture (as captured, not sales-ready): sent to sales by marketing
    cold: Lead  # in nurture: a note, then disqualified


def make_world(org: Any, tmp_path: Path) -> World:
    now = timezone.now()
    # People have names (the top bar and the reassign list show them), as in the demo.
    for user, first, last in [
        (org.rep1, "Jonas", "Becker"),
        (org.rep2, "Camille", "Laurent"),
        (org.manager, "Greta", "Hoffmann"),
        (org.marketer, "Mia", "Marketer"),
        (org.admin, "Ada", "Admin"),
    ]:
        User.objects.filter(pk=user.pk).update(first_name=first, last_name=last)
        user.refresh_from_db()

    def sales_lead(name: str, days: float, **extra: Any) -> Lead:
        when = now - timedelta(days=days)
        # Addresses and companies as long as real ones: the team inbox must still fit.
        lead = capture_lead(
            {**HOT, "email": f"{name.lower()}.walker@{name.lower()}learningsystems.ch",
             "first_name": name, "last_name": "Walker",
             "company_name": f"{name} Learning Systems", **extra},
            source="web_form", now=when, campaign=org.webinar,
        ).lead  # fmt: skip
        assign_lead(lead, now=when, to=org.rep1)
        return Lead.objects.get(pk=lead.pk)

    def cold_lead(name: str) -> Lead:
        return capture_lead(
            {"email": f"{name.lower()}@gmail.com", "first_name": name, "last_name": "Cold"},
            source="web_form", now=now, campaign=org.webinar,
        ).lead  # fmt: skip

    handed_back = sales_lead("Hank", 3)
    act_on_lead(handed_back, "reject", by=org.rep1, now=now, reason="student, no budget")
    world = World(
        won=sales_lead("Wendy", 40, title="CTO", phone="+49 30 1234567"),
        rejected=sales_lead("Rita", 30),
        lost=sales_lead("Lars", 20),
        dropped=sales_lead("Dora", 10, email="dora.walker-hoffmann@bigco.com"),
        handed_back=handed_back,
        fresh=cold_lead("Nina"),
        cold=cold_lead("Carl"),
    )
    # A look-alike of Wendy, so the duplicates queue has a pair to compare.
    capture_lead(
        {**HOT, "email": "wendy.walker@gmail.com", "first_name": "Wendy", "last_name": "Walker",
         "company_name": "Wendy Corp GmbH", "phone": "030 1234567"},
        source="trade_show", now=now,
    )  # fmt: skip
    WebForm.objects.create(name="Demo request", slug="demo-request", campaign=org.webinar)
    WebhookSource.objects.create(name="Typeform", slug="typeform", mapping={"kind": "form_submit"})
    # A running nurture program with a lead in it: the walk opens its monitor and builder.
    create_template(
        by=org.marketer, now=now, name="Recording", subject="The recording", text_body="Watch"
    )
    recording = programs.apply_document(
        {"name": "Webinar recording", "status": "active", "steps": [
            {"name": "recording", "kind": "send_email", "template": "Recording"},
            {"name": "a week", "kind": "wait", "days": 7},
        ]},
        by=org.marketer, now=now,
    ).program  # fmt: skip
    programs.enrol_leads(recording, [world.cold.pk], by=org.marketer, now=now)
    export = tmp_path / "fair-visitors.csv"
    export.write_text("Email,First Name,Company\nvera@verastore.fr,Vera,Vera Store\nnope,Bad,Row\n")
    job = create_import_job(export, ImportOptions(), now=now, by=org.marketer)
    run_import(job, now=now)
    return world


def expected_actions(user: User) -> set[str]:
    return {action.value for action in LeadAction if may(user, action)}


def log_every_touch(walk: Walk, lead: Lead) -> None:
    """Log one touch of each kind the page offers, with an outcome that fits it."""
    walk.open_lead(lead.pk)
    for kind in walk.touch_kinds():
        outcomes = OUTCOMES_BY_KIND[kind]
        walk.touch(kind, outcomes[0] if outcomes else "", f"first-day {kind}")


def start(browser: Any, live_server: Any, user: User) -> Walk:
    return Walk.start(browser, live_server.url, user.username, f"pass-{user.username}")


def test_a_rep_walks_every_page_and_works_their_leads(
    org: Any, live_server: Any, browser: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    world = make_world(org, tmp_path)
    walk = start(browser, live_server, org.rep1)
    pages = walk.walk_nav()
    assert "/settings/" in pages
    assert "/notifications/" in pages
    assert walk.search_leads("Walker") == 4
    # A first day's settings: the rep's own time zone; then the notifications, read.
    walk.visit("/settings/")
    walk.page.select_option("#id_timezone", "Europe/Berlin")
    assert walk.submit(walk.page.locator("#my-settings"), "my settings") == (
        "Times now show in Europe/Berlin."
    )
    assert walk.page.locator("footer.foot").inner_text() == "Times shown in Europe/Berlin."
    walk.visit("/notifications/")
    with walk.page.expect_navigation():
        walk.page.click("text=Mark all read")
    walk.check_page()
    assert walk.page.locator("#unread-count").count() == 0

    log_every_touch(walk, world.won)
    assert walk.act(world.won, "accept") == "Lead accepted."
    walk.act(world.won, "convert", amount="12000", name="Wendy Corp rollout")
    walk.act(world.won, "win", amount="12500")
    # Rejected, the lead leaves the rep's sight: the inbox says so.
    walk.act(world.rejected, "reject", reason="wrong person, forwarded to IT")
    assert walk.page.url == walk.url("/")
    walk.act(world.lost, "accept")
    walk.act(world.lost, "convert", amount="5000")
    walk.act(world.lost, "lose", reason="went with a competitor")
    walk.act(world.dropped, "disqualify", reason="a competitor fishing")
    walk.done()

    assert walk.offered == walk.performed == expected_actions(org.rep1)
    assert set(walk.touch_kinds_logged) == set(TouchKind.values)
    assert Lead.objects.get(pk=world.won.pk).stage == Stage.CUSTOMER
    assert Lead.objects.get(pk=world.lost.pk).stage == Stage.RECYCLED


def test_a_manager_walks_every_page_coaches_and_reassigns(
    org: Any, live_server: Any, browser: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    world = make_world(org, tmp_path)
    walk = start(browser, live_server, org.manager)
    pages = walk.walk_nav()
    assert {"/settings/", "/people/", "/teams/"} <= set(pages)
    assert {shape(path) for path in walk.visited} >= {"/people/N/", "/teams/N/"}
    assert walk.search_leads("Walker") == 6  # with the handed-back lead and the look-alike

    # The lead the team handed back: read-only, with why.
    walk.open_lead(world.handed_back.pk)
    assert "student, no budget" in walk.page.locator("#handed-back").inner_text()
    assert walk.page.locator(".actions-card, #touch-form, form.reassign-form").count() == 0

    log_every_touch(walk, world.won)
    walk.reassign(world.won, org.rep2, "rep1 is on leave")
    walk.act(world.won, "accept")
    walk.act(world.won, "convert", amount="12000")
    walk.act(world.won, "win")
    walk.act(world.rejected, "reject", reason="duplicate of an open deal")
    walk.act(world.lost, "accept")
    walk.act(world.lost, "convert", amount="5000")
    walk.act(world.lost, "lose", reason="no budget this year")
    walk.act(world.dropped, "disqualify", reason="not a company")
    walk.done()

    assert walk.offered == walk.performed == expected_actions(org.manager)
    assert Lead.objects.get(pk=world.won.pk).owner == org.rep2


def test_marketing_walks_every_page_and_hands_a_lead_to_sales(
    org: Any, live_server: Any, browser: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    world = make_world(org, tmp_path)
    walk = start(browser, live_server, org.marketer)
    pages = walk.walk_nav()
    assert {"/forms/", "/imports/", "/webhooks/", "/campaigns/", "/programs/"} <= set(pages)
    assert walk.search_leads("Cold") == 2

    # Marketing sees sales' leads too, and may note what it learns on them.
    log_every_touch(walk, world.won)
    walk.act(world.handed_back, "nurture", reason="downloaded the whitepaper")
    walk.act(world.fresh, "send_to_sales", reason="met at the fair, wants a demo")
    log_every_touch(walk, world.cold)
    walk.act(world.cold, "disqualify", reason="test submission")
    walk.done()

    assert walk.offered == walk.performed == expected_actions(org.marketer)
    assert walk.touch_kinds_logged == [TouchKind.NOTE, TouchKind.NOTE]
    assert Lead.objects.get(pk=world.fresh.pk).stage == Stage.MQL


def test_an_admin_walks_every_page_django_admin_included_and_every_action(
    org: Any, live_server: Any, browser: Any, tmp_path: Path, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    world = make_world(org, tmp_path)
    walk = start(browser, live_server, org.admin)
    pages = walk.walk_nav()
    assert {"/admin/", "/settings/", "/forms/", "/imports/", "/webhooks/"} <= set(pages)
    assert {"/people/", "/teams/"} <= set(pages)
    assert {shape(path) for path in walk.visited} >= {"/people/N/", "/teams/N/"}
    walk.walk_admin_objects()
    assert any(shape(path) == "/admin/leads/lead/N/change/" for path in walk.visited)
    assert walk.search_leads("wendy") == 2

    log_every_touch(walk, world.won)
    walk.reassign(world.won, org.rep2, "")
    walk.act(world.won, "accept")
    walk.act(world.won, "convert", amount="12000")
    walk.act(world.won, "win", amount="11000")
    walk.act(world.rejected, "reject", reason="wrong country")
    walk.act(world.rejected, "nurture", reason="newsletter first")
    walk.act(world.rejected, "send_to_sales", reason="the right contact called back")
    walk.act(world.lost, "accept")
    walk.act(world.lost, "convert", amount="5000")
    walk.act(world.lost, "lose", reason="timing")
    walk.act(world.dropped, "disqualify", reason="fake")
    walk.done()

    assert walk.offered == walk.performed == expected_actions(org.admin)
    assert Lead.objects.get(pk=world.rejected.pk).stage == Stage.MQL


def test_the_walk_notices_what_breaks(org: Any, live_server: Any, browser: Any) -> None:
    """The watcher itself: an error status, a bare page, a console and a script error."""
    walk = start(browser, live_server, org.rep1)
    walk.visit("/leads/999999/")  # someone else's or no lead: a styled 404
    walk.visit("/static/web/app.css")  # not a page of the app
    walk.page.evaluate("console.error('boom')")
    with walk.page.expect_event("pageerror"):
        walk.page.evaluate("setTimeout(() => { throw new Error('bang') }, 0)")
    problems = "\n".join(walk.problems)
    assert "404 for GET /leads/999999/" in problems
    assert "page without the app's stylesheet: /static/web/app.css" in problems
    assert "console error on /static/web/app.css: boom" in problems
    assert "script error on /static/web/app.css: " in problems and "bang" in problems
    with pytest.raises(AssertionError, match="walking as rep1"):
        walk.done()
