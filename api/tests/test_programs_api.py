"""/programs: marketing creates a program from its document (JSON or YAML), reads its
per-step counts, pauses and resumes it, enrols leads; other roles read only; a bad
document is refused naming the step and field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from conftest import bearer
from leads.models import Lead
from nurture import programs, services
from nurture.models import Program
from users.models import User

DOCUMENT = {
    "name": "Recording",
    "status": "active",
    "purpose": "events",
    "steps": [
        {"name": "mail", "kind": "send_email", "template": "Welcome"},
        {"name": "a day", "kind": "wait", "days": 1},
    ],
}


def call(method: str, path: str, user: User, body: Any = None, **extra: Any) -> Any:
    client = Client()
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": bearer(user), **extra}
    if body is not None:
        kwargs.setdefault("content_type", "application/json")
        kwargs["data"] = body
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


@pytest.fixture
def template(org: Any, now: datetime) -> None:
    services.create_template(by=org.marketer, now=now, name="Welcome", subject="Hi", text_body="Hi")


def lead(email: str, now: datetime, **fields: Any) -> Lead:
    return Lead.objects.create(email=email, stage_changed_at=now, arrived_at=now, **fields)


def test_marketing_creates_a_program_enrols_a_lead_and_reads_the_counts(
    org: Any, clock: datetime, template: None
) -> None:
    now = clock
    ann = lead("ann@x.de", now, stage="nurturing", country="DE")

    made = call("post", "/programs", org.marketer, DOCUMENT)
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    enrolled = call("post", f"/programs/{pk}/enrolments", org.marketer, {"lead_ids": [ann.pk]})
    assert enrolled.json() == {"enrolled": 1}
    programs.run_due(now=now)

    got = call("get", f"/programs/{pk}", org.rep1).json()
    assert got["document"] == DOCUMENT | {
        "description": "", "allow_reentry": False, "entry": [], "goals": [],
    }  # fmt: skip
    assert [(s["name"], s["at_step"], s["reached"]) for s in got["steps"]] == [
        ("mail", 0, 1), ("a day", 1, 1),
    ]  # fmt: skip
    assert got["runs"] == {"active": 1, "completed": 0, "goal": 0, "exited": 0}
    runs = call("get", f"/programs/{pk}/enrolments", org.marketer).json()
    assert [(r["lead_email"], r["step"], r["entered_how"]) for r in runs["items"]] == [
        ("ann@x.de", "a day", "by hand: marketer"),
    ]
    out = call("delete", f"/programs/{pk}/enrolments", org.marketer, {"lead_ids": [ann.pk]})
    assert out.json() == {"exited": 1}
    ended = call("get", f"/programs/{pk}/enrolments?status=exited", org.marketer).json()
    assert [r["ended_reason"] for r in ended["items"]] == ["taken out by hand: marketer"]
    assert call("get", "/programs/999", org.marketer).status_code == 404


def test_pause_and_resume(org: Any, now: datetime, template: None) -> None:
    pk = call("post", "/programs", org.marketer, DOCUMENT).json()["id"]

    paused = call("post", f"/programs/{pk}/pause", org.marketer)
    refused = call("post", f"/programs/{pk}/resume", org.rep1)
    resumed = call("post", f"/programs/{pk}/resume", org.admin)

    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert refused.status_code == 403
    assert resumed.json()["status"] == "active"


def test_a_bad_document_is_refused_naming_the_step_and_field(
    org: Any, now: datetime, template: None
) -> None:
    bad = DOCUMENT | {"steps": [{"name": "mail", "kind": "send_email", "template": "Nope"}]}

    answer = call("post", "/programs", org.marketer, bad)

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "steps[0] 'mail'.template"
    assert not Program.objects.exists()


def test_yaml_applied_and_exported_the_same(org: Any, now: datetime, template: None) -> None:
    document = {
        "name": "Recording",
        "description": "",
        "status": "active",
        "purpose": "events",
        "allow_reentry": False,
        "entry": [],
        "goals": [],
        "steps": DOCUMENT["steps"],
    }
    text = programs.to_yaml(document)
    dry = call(
        "post", "/programs/apply?dry_run=true", org.marketer, text, content_type="application/yaml"
    )
    assert (dry.status_code, dry.json()["created"], dry.json()["program"]) == (200, True, None)
    assert not Program.objects.exists()

    applied = call("post", "/programs/apply", org.marketer, text, content_type="application/yaml")
    pk = applied.json()["program"]["id"]
    exported = call("get", f"/programs/{pk}/export", org.rep1)

    assert exported.content.decode() == text
    assert exported["Content-Type"] == "application/yaml"


def test_a_rep_may_not_create_a_program(org: Any, now: datetime, template: None) -> None:
    assert call("post", "/programs", org.rep1, DOCUMENT).status_code == 403
