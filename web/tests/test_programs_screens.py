"""The programs pages: marketing creates a program, builds its steps with a form per kind
(add, edit, move, delete), starts and pauses it, enrols leads and reads the monitor; a
mistake comes back next to its field; other roles do not get the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.test import Client
from django.utils import timezone

from leads.models import Lead
from nurture import programs, services
from nurture.models import Enrolment, Program
from users.models import User


def steps_of(program: Program) -> list[tuple[str, str]]:
    return list(program.steps.order_by("position").values_list("name", "kind"))


def test_marketing_builds_starts_and_monitors_a_program(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    services.create_template(
        by=org.marketer, now=timezone.now(), name="Recording", subject="Hi", text_body="Hi"
    )
    now = timezone.now()
    ann = Lead.objects.create(
        email="ann@x.de", country="DE", stage="nurturing", arrived_at=now, stage_changed_at=now
    )
    client = client_for(org.marketer)

    made = client.post("/programs/", {
        "name": "Recording", "purpose": "events", "entry": "campaign Webinar with status no-show",
        "goals": "event demo_booked",
    })  # fmt: skip
    program = Program.objects.get(name="Recording")
    assert made["Location"] == f"/programs/{program.pk}/build/"
    assert (program.status, program.entry, program.goals) == (
        "draft", [{"campaign": "Webinar", "status": "no-show"}], [{"event": "demo_booked"}],
    )  # fmt: skip
    base = f"/programs/{program.pk}"
    assert "Email template" in client.get(f"{base}/steps/new/?kind=send_email").content.decode()
    client.post(f"{base}/steps/new/?kind=send_email", {"name": "mail", "template": "Recording"})
    client.post(
        f"{base}/steps/new/?kind=wait", {"name": "tuesday", "weekday": "tuesday", "hour": 9}
    )
    client.post(f"{base}/steps/new/?kind=branch", {
        "name": "clicked?", "test": "clicked", "within_hours": 48, "no_next": "mail",
    })  # fmt: skip
    client.post(f"{base}/steps/new/?kind=hand_to_sales", {"name": "hand over", "reason": "clicked"})
    assert steps_of(program) == [
        ("mail", "send_email"), ("tuesday", "wait"), ("clicked?", "branch"), ("hand over", "hand_to_sales"),
    ]  # fmt: skip

    # edit: rename a step another branch points at; move; delete
    client.post(f"{base}/steps/0/", {"name": "the email", "template": "Recording"})
    assert programs.document_of(program)["steps"][2]["no_next"] == "the email"
    client.post(f"{base}/steps/3/up/")
    assert [n for n, _k in steps_of(program)] == ["the email", "tuesday", "hand over", "clicked?"]
    client.post(f"{base}/steps/2/delete/")
    assert [n for n, _k in steps_of(program)] == ["the email", "tuesday", "clicked?"]

    client.post(f"{base}/resume/")
    client.post(f"{base}/enrol/", {"lead_ids": f"{ann.pk}"})
    programs.run_due(now=timezone.now())
    page = client.get(f"{base}/").content.decode()
    assert "Active" in page and "ann@x.de" in page and "by hand: marketer" in page
    client.post(f"{base}/pause/")
    assert Program.objects.get(pk=program.pk).status == "paused"
    assert Enrolment.objects.filter(step__name="tuesday").count() == 1
    export = client.get(f"{base}/export/")
    assert export.content.decode().startswith("name: Recording\n")


def test_a_mistake_in_a_step_comes_back_next_to_its_field(
    org: Any, client_for: Callable[[User], Client], now: datetime
) -> None:
    program = programs.apply_document(
        {"name": "P", "steps": [{"name": "end", "kind": "end"}]}, by=org.marketer, now=now
    ).program
    client = client_for(org.marketer)

    answer = client.post(f"/programs/{program.pk}/steps/new/?kind=wait", {"name": "end"})
    empty = client.post(f"/programs/{program.pk}/steps/new/?kind=wait", {"name": "w"})

    assert answer.status_code == 400
    assert "another step is called" in answer.content.decode()
    assert empty.status_code == 400
    assert "a wait needs days, hours or minutes (or a weekday)" in empty.content.decode()
    assert steps_of(program) == [("end", "end")]


def test_yaml_applied_on_the_page(org: Any, client_for: Callable[[User], Client]) -> None:
    client = client_for(org.marketer)

    bad = client.post(
        "/programs/", {"document": "name: P\nsteps:\n- {name: w, kind: wait, days: x}\n"}
    )
    good = client.post(
        "/programs/", {"document": "name: P\nsteps:\n- {name: w, kind: wait, days: 2}\n"}
    )

    assert bad.status_code == 400
    assert (
        "steps[0] &#x27;w&#x27;.days: &#x27;x&#x27; is not a whole number" in bad.content.decode()
    )
    assert good.status_code == 302
    assert steps_of(Program.objects.get()) == [("w", "wait")]


def test_only_marketing_and_admins_get_the_programs_pages(
    org: Any, client_for: Callable[[User], Client]
) -> None:
    assert client_for(org.rep1).get("/programs/").status_code == 404
    assert client_for(org.manager).get("/programs/").status_code == 404
    assert client_for(org.admin).get("/programs/").status_code == 200
    assert 'href="/programs/"' in client_for(org.marketer).get("/programs/").content.decode()
    assert 'href="/programs/"' not in client_for(org.rep1).get("/leads/").content.decode()


def test_marketing_enrols_ticked_leads_from_the_leads_page(
    org: Any, client_for: Callable[[User], Client], now: datetime
) -> None:
    program = programs.apply_document(
        {"name": "P", "status": "active", "steps": [{"name": "w", "kind": "wait", "days": 1}]},
        by=org.marketer, now=now,
    ).program  # fmt: skip
    leads = [
        Lead.objects.create(
            email=f"{i}@x.de", stage="nurturing", arrived_at=now, stage_changed_at=now
        )
        for i in range(3)
    ]
    client = client_for(org.marketer)
    assert 'id="bulk-enrol"' in client.get("/leads/").content.decode()

    answer = client.post("/programs/enrol/", {
        "lead": [leads[0].pk, leads[2].pk], "program": program.pk, "next": "/leads/?q=x",
    })  # fmt: skip

    assert answer["Location"] == "/leads/?q=x"
    assert set(Enrolment.objects.values_list("lead_id", flat=True)) == {leads[0].pk, leads[2].pk}
    assert 'id="bulk-enrol"' not in client_for(org.rep1).get("/leads/").content.decode()


def test_a_new_program_never_rewrites_one_of_the_same_name(
    org: Any, client_for: Callable[[User], Client], now: datetime
) -> None:
    programs.apply_document(
        {"name": "P", "purpose": "events", "steps": [{"name": "end", "kind": "end"}]},
        by=org.marketer, now=now,
    )  # fmt: skip

    answer = client_for(org.marketer).post("/programs/", {"name": "P", "purpose": "news"})

    assert answer.status_code == 400
    assert "there is already a program called &#x27;P&#x27;" in answer.content.decode()
    assert Program.objects.get().purpose == "events"
