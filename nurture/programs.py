"""Nurture programs: the one service behind the programs pages, `/api/v1/programs` and
`leadloop nurture`.

A program is a document (YAML or JSON, the same shape everywhere):

    name: Webinar recording
    status: active                 # draft | active | paused
    purpose: events                # the consent purpose its emails go under
    allow_reentry: false
    entry:                         # any rule enrols a lead (the enrolment sweep)
      - {campaign: Webinar May, status: no-show}
      - {list: Engaged}            # a smart or static list
      - {segment: nurture}
      - {recycle_reason: no budget}
    goals:                         # besides sales-ready, disqualified, unsubscribed
      - {event: demo_booked, property: {name: source, value: web}}
    steps:
      - {name: recording, kind: send_email, template: Recording}
      - {name: two days, kind: wait, days: 2}
      - {name: tuesday, kind: wait, weekday: tuesday, hour: 9}   # the lead's local time
      - {name: clicked?, kind: branch, if: clicked, within_hours: 48,
         yes_next: hand over, no_next: end}     # default: the next step
      - {name: grade A?, kind: branch, condition: [{field: grade, op: is, value: A}]}
      - {name: engaged, kind: add_to_list, list: Engaged}        # remove_from_list too
      - {name: tell, kind: notify, to: owner, message: Clicked the recording}
      - {name: hand over, kind: hand_to_sales, reason: clicked the recording}
      - {name: end, kind: end}

`check_document` refuses a bad document whole, naming the step and field
("steps[3] 'clicked?'.yes_next"); `apply_document` writes a good one in one transaction.

Two sweeps: `enrol_due` puts the leads the active programs' rules pick into them
(set-based INSERT … SELECT per rule), and `run_due` advances the runs whose time has come.
`run_due` claims due runs with SKIP LOCKED (PostgreSQL; SQLite's IMMEDIATE transactions
serialise writers), checks goals, walks each run through its steps until one makes it
wait, and writes the new states with one UPDATE per (step, due time) group, in the same
transaction as the messages the send steps queued: a crash leaves both undone, a second
run at the same `now` finds nothing due.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from leads.choices import Segment, Stage
from leads.errors import FieldError, NotPermitted
from leads.history import history_ids
from leads.lifecycle import SALES_STAGES, TransitionError
from leads.models import CampaignMember, Lead, StageChange
from qualify.models import Event
from routing.services import send_to_sales
from users.access import visible_leads
from users.choices import Capability, NotificationKind, Role
from users.models import Team, User
from users.permissions import may
from users.services import Message as Notice
from users.services import notify_many

from . import consent, lists, rules_programs
from .choices import EnrolmentStatus, ListKind, MessageStatus, ProgramStatus, Purpose, StepKind
from .models import (
    ConsentState,
    EmailTemplate,
    LeadList,
    ListMember,
    Message,
    Suppression,
)
from .models_programs import Enrolment, Program, ProgramStep
from .services import queue_messages

BATCH_SIZE = 1000
# A run goes through at most this many steps in one sweep (a branch may loop back).
MAX_STEPS_PER_RUN = 25
# A branch waiting for an open or click looks again this often before its deadline, so
# a click takes the lead on within the hour rather than at the deadline.
BRANCH_RECHECK = timedelta(hours=1)
ENTRY_KINDS = ("list", "segment", "campaign", "recycle_reason")
STEP_FIELDS: dict[str, frozenset[str]] = {
    StepKind.SEND_EMAIL: frozenset({"template"}),
    StepKind.WAIT: frozenset({"days", "hours", "minutes", "weekday", "hour"}),
    StepKind.BRANCH: frozenset(
        {"if", "within_hours", "after", "condition", "in_list", "yes_next", "no_next"}
    ),
    StepKind.ADD_TO_LIST: frozenset({"list"}),
    StepKind.REMOVE_FROM_LIST: frozenset({"list"}),
    StepKind.NOTIFY: frozenset({"to", "message"}),
    StepKind.HAND_TO_SALES: frozenset({"reason"}),
    StepKind.END: frozenset(),
}
NOTIFY_TARGETS = ("owner", "team")
DOCUMENT_KEYS = frozenset(
    {"name", "description", "status", "purpose", "allow_reentry", "entry", "goals", "steps"}
)


# --- Who may ------------------------------------------------------------------------------


def check_may_manage(by: Any) -> None:
    """NotPermitted unless `by` may build and run programs (marketing, admins)."""
    if not may(by, Capability.MANAGE_PROGRAMS):
        raise NotPermitted("programs", "only marketing and admins manage programs")


# --- The document -------------------------------------------------------------------------


def _text(value: Any, where: str, *, required: bool = True, most: int = 200) -> str:
    if value is not None and not isinstance(value, str | int | float):
        raise FieldError(where, "must be text")
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise FieldError(where, "must not be empty")
    if len(text) > most:
        raise FieldError(where, f"at most {most} characters")
    return text


def _whole(value: Any, where: str, *, least: int, most: int) -> int:
    if isinstance(value, bool) or value is None or str(value).strip() == "":
        raise FieldError(where, "must be a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FieldError(where, f"{value!r} is not a whole number") from None
    if not least <= number <= most:
        raise FieldError(where, f"must be between {least} and {most}")
    return number


def _static_list(name: str, where: str) -> None:
    found = LeadList.objects.filter(name=name).first()
    if found is None:
        raise FieldError(where, f"no list called {name!r}")
    if found.kind != ListKind.STATIC:
        raise FieldError(where, f"{name!r} is a smart list: its conditions pick its members")


def _check_entry(raw: Any, index: int) -> dict[str, Any]:
    where = f"entry[{index}]"
    if not isinstance(raw, dict):
        raise FieldError(where, f"must be one of {{{', '.join(ENTRY_KINDS)}: …}}")
    kinds = [key for key in ENTRY_KINDS if key in raw]
    if len(kinds) != 1:
        raise FieldError(where, f"name exactly one of {', '.join(ENTRY_KINDS)}")
    kind = kinds[0]
    allowed = {kind, "status"} if kind == "campaign" else {kind}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise FieldError(f"{where}.{extra[0]}", "not a field of this rule")
    value = _text(raw[kind], f"{where}.{kind}")
    if kind == "list" and not LeadList.objects.filter(name=value).exists():
        raise FieldError(f"{where}.list", f"no list called {value!r}")
    if kind == "segment" and value not in Segment.values:
        raise FieldError(f"{where}.segment", f"one of {', '.join(Segment.values)}")
    out: dict[str, Any] = {kind: value}
    if kind == "campaign":
        status = _text(raw.get("status"), f"{where}.status", required=False, most=20)
        try:
            checked = lists.check_definition(
                [{"field": "campaign", "op": "is", "value": value, "status": status}]
            )[0]
        except FieldError as error:
            part = "status" if error.field.endswith(".status") else "campaign"
            raise FieldError(f"{where}.{part}", error.message) from None
        if checked.get("status"):
            out["status"] = checked["status"]
    return out


def _check_goal(raw: Any, index: int) -> dict[str, Any]:
    where = f"goals[{index}]"
    if not isinstance(raw, dict) or "event" not in raw:
        raise FieldError(where, "a goal is {event: KIND} with an optional property match")
    extra = sorted(set(raw) - {"event", "property"})
    if extra:
        raise FieldError(f"{where}.{extra[0]}", "not a field of a goal")
    out: dict[str, Any] = {"event": _text(raw["event"], f"{where}.event", most=50)}
    prop = raw.get("property")
    if prop is not None:
        if not isinstance(prop, dict):
            raise FieldError(f"{where}.property", "must be {name: NAME, value: VALUE}")
        name = _text(prop.get("name"), f"{where}.property.name", most=50)
        if not lists.KEY.match(name):
            raise FieldError(f"{where}.property.name", "letters, digits and _ only")
        out["property"] = {
            "name": name,
            "value": _text(prop.get("value"), f"{where}.property.value"),
        }
    return out


def _step_where(index: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"steps[{index}] {name!r}" if name else f"steps[{index}]"


def _check_step(raw: Any, where: str, names: set[str], position: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise FieldError(where, "must be {name: …, kind: …, …}")
    kind = _text(raw.get("kind"), f"{where}.kind")
    if kind not in StepKind.values:
        raise FieldError(f"{where}.kind", f"one of {', '.join(StepKind.values)}")
    extra = sorted(set(raw) - {"name", "kind"} - STEP_FIELDS[kind])
    if extra:
        raise FieldError(f"{where}.{extra[0]}", f"not a field of a {kind} step")
    out: dict[str, Any] = {"name": _text(raw.get("name"), f"{where}.name", most=100), "kind": kind}
    if out["name"] in names:
        raise FieldError(f"{where}.name", f"another step is called {out['name']!r}")
    names.add(out["name"])
    if kind == StepKind.SEND_EMAIL:
        template = _text(raw.get("template"), f"{where}.template", most=150)
        if not EmailTemplate.objects.filter(name=template).exists():
            raise FieldError(f"{where}.template", f"no email template called {template!r}")
        out["template"] = template
    elif kind == StepKind.WAIT:
        if raw.get("weekday") is not None:
            day = _text(raw.get("weekday"), f"{where}.weekday").lower()
            if day not in rules_programs.WEEKDAYS:
                raise FieldError(f"{where}.weekday", f"one of {', '.join(rules_programs.WEEKDAYS)}")
            if any(raw.get(key) is not None for key in ("days", "hours", "minutes")):
                raise FieldError(f"{where}.weekday", "a wait is a duration or a weekday, not both")
            out["weekday"] = day
            out["hour"] = _whole(raw.get("hour", 9), f"{where}.hour", least=0, most=23)
        else:
            if raw.get("hour") is not None:
                raise FieldError(f"{where}.hour", "an hour goes with a weekday")
            total = 0
            for key, most in (("days", 3650), ("hours", 87600), ("minutes", 525600)):
                if raw.get(key) is not None:
                    out[key] = _whole(raw[key], f"{where}.{key}", least=0, most=most)
                    total += out[key]
            if not total:
                raise FieldError(
                    f"{where}.days", "a wait needs days, hours or minutes (or a weekday)"
                )
    elif kind == StepKind.BRANCH:
        tests = [key for key in ("if", "condition", "in_list") if raw.get(key) is not None]
        if len(tests) != 1:
            raise FieldError(
                f"{where}.if",
                "a branch tests one of: if (opened, clicked, not_opened, not_clicked), condition, in_list",
            )
        if tests[0] == "if":
            test = _text(raw["if"], f"{where}.if")
            if test not in rules_programs.ENGAGEMENT_TESTS:
                raise FieldError(
                    f"{where}.if", f"one of {', '.join(rules_programs.ENGAGEMENT_TESTS)}"
                )
            out["if"] = test
            if raw.get("within_hours") is not None:
                out["within_hours"] = _whole(
                    raw["within_hours"], f"{where}.within_hours", least=0, most=8760
                )
            if raw.get("after") is not None:
                out["after"] = _text(raw["after"], f"{where}.after", most=100)
        elif tests[0] == "condition":
            conditions = raw["condition"]
            if isinstance(conditions, dict):
                conditions = [conditions]
            try:
                out["condition"] = lists.check_definition(conditions)
            except FieldError as error:
                raise FieldError(
                    f"{where}.{error.field.replace('conditions', 'condition')}", error.message
                ) from None
            if not out["condition"]:
                raise FieldError(f"{where}.condition", "name at least one condition")
        else:
            name = _text(raw["in_list"], f"{where}.in_list", most=100)
            if not LeadList.objects.filter(name=name).exists():
                raise FieldError(f"{where}.in_list", f"no list called {name!r}")
            out["in_list"] = name
        for key in ("yes_next", "no_next"):
            if raw.get(key) is not None:
                out[key] = _text(raw[key], f"{where}.{key}", most=100)
    elif kind in (StepKind.ADD_TO_LIST, StepKind.REMOVE_FROM_LIST):
        name = _text(raw.get("list"), f"{where}.list", most=100)
        _static_list(name, f"{where}.list")
        out["list"] = name
    elif kind == StepKind.NOTIFY:
        to = _text(raw.get("to", "owner"), f"{where}.to")
        if to not in NOTIFY_TARGETS:
            raise FieldError(f"{where}.to", f"one of {', '.join(NOTIFY_TARGETS)}")
        out["to"] = to
        out["message"] = _text(raw.get("message"), f"{where}.message", most=250)
    elif kind == StepKind.HAND_TO_SALES:
        out["reason"] = _text(
            raw.get("reason") or "the nurture program handed it over", f"{where}.reason"
        )
    return out


def check_document(document: Any) -> dict[str, Any]:
    """The document cleaned, or FieldError naming the first bad field: "name",
    "entry[1].status", "steps[3] 'clicked?'.yes_next". Nothing of a bad document is kept."""
    if not isinstance(document, dict):
        raise FieldError("program", "must be a mapping: name, status, purpose, entry, goals, steps")
    extra = sorted(set(document) - DOCUMENT_KEYS)
    if extra:
        raise FieldError(
            extra[0], f"not a field of a program; one of {', '.join(sorted(DOCUMENT_KEYS))}"
        )
    out: dict[str, Any] = {"name": _text(document.get("name"), "name", most=100)}
    out["description"] = _text(
        document.get("description"), "description", required=False, most=2000
    )
    status = _text(document.get("status") or ProgramStatus.DRAFT, "status")
    if status not in ProgramStatus.values:
        raise FieldError("status", f"one of {', '.join(ProgramStatus.values)}")
    out["status"] = status
    # The consent purpose its emails go under: one people grant (nurture.consent).
    purpose = _text(document.get("purpose") or consent.DEFAULT_PURPOSE, "purpose", most=50)
    out["purpose"] = consent.get_purpose(purpose, field="purpose").slug
    reentry = document.get("allow_reentry", False)
    if not isinstance(reentry, bool):
        raise FieldError("allow_reentry", "true or false")
    out["allow_reentry"] = reentry
    for key, checker in (("entry", _check_entry), ("goals", _check_goal)):
        raw = document.get(key) or []
        if not isinstance(raw, list):
            raise FieldError(key, "must be a list")
        out[key] = [checker(item, i) for i, item in enumerate(raw)]
    steps = document.get("steps") or []
    if not isinstance(steps, list):
        raise FieldError("steps", "must be a list of steps")
    if len(steps) > 100:
        raise FieldError("steps", "at most 100 steps")
    names: set[str] = set()
    out["steps"] = [_check_step(raw, _step_where(i, raw), names, i) for i, raw in enumerate(steps)]
    for index, step in enumerate(out["steps"]):
        where = f"steps[{index}] {step['name']!r}"
        for key in ("yes_next", "no_next", "after"):
            if key in step and step[key] not in names:
                raise FieldError(f"{where}.{key}", f"no step called {step[key]!r}")
        if step.get("if"):
            sends = [s for s in out["steps"][:index] if s["kind"] == StepKind.SEND_EMAIL]
            if "after" in step:
                target = next(s for s in out["steps"] if s["name"] == step["after"])
                if target["kind"] != StepKind.SEND_EMAIL:
                    raise FieldError(f"{where}.after", f"{step['after']!r} does not send an email")
            elif not sends:
                raise FieldError(f"{where}.if", "no send_email step before this branch to test")
    if out["status"] == ProgramStatus.ACTIVE and not out["steps"]:
        raise FieldError("steps", "an active program needs at least one step")
    return out


# The order keys are written in: PostgreSQL's jsonb keeps its own (shortest key first),
# and an exported document should read the same on every database.
KEY_ORDER = (
    "name", "kind", "template", "days", "hours", "minutes", "weekday", "hour", "if",
    "within_hours", "after", "condition", "in_list", "list", "to", "message", "reason",
    "yes_next", "no_next",
    # entry rules, goals, conditions
    *ENTRY_KINDS, "event", "property", "any", "field", "op", "value", "count", "status",
)  # fmt: skip


def _ordered(value: Any) -> Any:
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    if isinstance(value, dict):
        rank = {key: i for i, key in enumerate(KEY_ORDER)}
        keys = sorted(value, key=lambda k: (rank.get(k, len(rank)), k))
        return {key: _ordered(value[key]) for key in keys}
    return value


def document_of(program: Program) -> dict[str, Any]:
    """The program as a document (what export writes and apply reads)."""
    steps = list(
        program.steps.select_related("template", "yes_next", "no_next").order_by("position")
    )
    return {
        "name": program.name,
        "description": program.description,
        "status": program.status,
        "purpose": program.purpose,
        "allow_reentry": program.allow_reentry,
        "entry": _ordered(program.entry),
        "goals": _ordered(program.goals),
        "steps": [_step_document(step) for step in steps],
    }


def _step_document(step: ProgramStep) -> dict[str, Any]:
    out: dict[str, Any] = {"name": step.name, "kind": step.kind}
    if step.kind == StepKind.SEND_EMAIL:
        out["template"] = step.template.name if step.template else ""
    settings_ = dict(step.settings)
    if step.kind == StepKind.WAIT and settings_.get("weekday") is not None:
        settings_["weekday"] = rules_programs.WEEKDAYS[int(settings_["weekday"])]
    out.update(settings_)
    if step.kind == StepKind.BRANCH:
        if step.yes_next is not None:
            out["yes_next"] = step.yes_next.name
        if step.no_next is not None:
            out["no_next"] = step.no_next.name
    return _ordered(out)  # type: ignore[no-any-return]


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def from_text(text: str) -> Any:
    """A document from YAML (JSON is YAML too); FieldError when it is neither."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise FieldError("YAML", str(error).replace("\n", " ")) from error


@dataclass(frozen=True)
class Applied:
    program: Program
    created: bool
    steps_added: list[str]
    steps_changed: list[str]
    steps_removed: list[str]
    runs_ended: int


def apply_document(
    document: Any,
    *,
    by: Any,
    now: datetime,
    dry_run: bool = False,
    program: Program | None = None,
    renamed: dict[str, str] | None = None,
) -> Applied:
    """Create or update the program the document names (or `program`, when renaming it),
    steps matched by name (`renamed`: old name -> new, the builder's renames): kept steps
    keep their leads and counters, new ones are added, removed ones end the runs waiting
    at them. All or nothing; `dry_run` says what would change and changes nothing."""
    check_may_manage(by)
    clean = check_document(document)
    if program is None:
        program = Program.objects.filter(name=clean["name"]).first()
    elif Program.objects.filter(name=clean["name"]).exclude(pk=program.pk).exists():
        raise FieldError("name", f"another program is called {clean['name']!r}")
    created = program is None
    renamed = renamed or {}
    old = {renamed.get(s.name, s.name): s for s in program.steps.all()} if program else {}
    new_names = [s["name"] for s in clean["steps"]]
    added = [name for name in new_names if name not in old]
    removed = [name for name in old if name not in new_names]
    changed = [
        s["name"]
        for i, s in enumerate(clean["steps"])
        if s["name"] in old
        and (_step_document(old[s["name"]]) != s or old[s["name"]].position != i)
    ]
    if dry_run:
        ended = (
            Enrolment.objects.filter(
                step__in=[old[name] for name in removed], status=EnrolmentStatus.ACTIVE
            ).count()
            if removed
            else 0
        )
        return Applied(
            program or Program(name=clean["name"]), created, added, changed, removed, ended
        )
    with transaction.atomic():
        if program is None:
            program = Program(created_at=now)
        else:
            program = Program.objects.select_for_update().get(pk=program.pk)
        was = program.status
        for key in ("name", "description", "status", "purpose", "allow_reentry", "entry", "goals"):
            setattr(program, key, clean[key])
        program.updated_at = now
        program.save()
        ended = _write_steps(program, clean["steps"], old, removed, now=now)
        _after_status_change(program, was)
    return Applied(program, created, added, changed, removed, ended)


def _write_steps(
    program: Program,
    steps: list[dict[str, Any]],
    old: dict[str, ProgramStep],
    removed: list[str],
    *,
    now: datetime,
) -> int:
    ended = 0
    if removed:
        gone = [old[name] for name in removed]
        ended = Enrolment.objects.filter(step__in=gone, status=EnrolmentStatus.ACTIVE).update(
            status=EnrolmentStatus.EXITED, ended_at=now, ended_reason="its step was removed",
            due_at=None,
        )  # fmt: skip
        ProgramStep.objects.filter(pk__in=[s.pk for s in gone]).delete()
    # Positions are unique: move the kept steps out of the way first (all above any
    # position a program has, so the UPDATE never meets one of its own rows).
    ProgramStep.objects.filter(program=program).update(position=F("position") + 10_000)
    templates = {t.name: t for t in EmailTemplate.objects.filter(
        name__in=[s["template"] for s in steps if "template" in s]
    )}  # fmt: skip
    # Renamed steps first take names no step has, so no two rows share one on the way.
    for row in old.values():
        if row.name != _name_in(old, row):
            ProgramStep.objects.filter(pk=row.pk).update(name=f"~renaming {row.pk}")
    rows: dict[str, ProgramStep] = {}
    for position, step in enumerate(steps):
        row = old.get(step["name"]) or ProgramStep(program=program)
        row.name = step["name"]
        row.position = position
        row.kind = step["kind"]
        row.template = templates.get(step.get("template", "")) if "template" in step else None
        row.settings = _settings_of(step)
        row.yes_next = None
        row.no_next = None
        row.save()
        rows[step["name"]] = row
    for step in steps:
        if step["kind"] == StepKind.BRANCH and ("yes_next" in step or "no_next" in step):
            row = rows[step["name"]]
            row.yes_next = rows.get(step.get("yes_next", ""))
            row.no_next = rows.get(step.get("no_next", ""))
            row.save(update_fields=["yes_next", "no_next"])
    return ended


def _name_in(old: dict[str, ProgramStep], row: ProgramStep) -> str:
    return next(name for name, kept in old.items() if kept is row)


def _settings_of(step: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: v
        for k, v in step.items()
        if k not in ("name", "kind", "template", "yes_next", "no_next")
    }
    if "weekday" in out:
        out["weekday"] = rules_programs.WEEKDAYS.index(out["weekday"])
    return out


# --- Entry rules and goals as text lines (the builder's form) ---------------------------


def entry_from_text(text: str) -> list[dict[str, Any]]:
    """Rules typed one a line: "list Engaged", "segment nurture", "campaign Webinar with
    status no-show", "recycle_reason no budget". Checked when the program is saved."""
    rules: list[dict[str, Any]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        head, _, rest = line.strip().partition(" ")
        if not head:
            continue
        if head not in ENTRY_KINDS:
            raise FieldError("entry", f"line {number}: start with one of {', '.join(ENTRY_KINDS)}")
        if head == "campaign":
            name, _, status = rest.partition(" with status ")
            rule = {"campaign": name.strip()}
            if status.strip():
                rule["status"] = status.strip()
            rules.append(rule)
        else:
            rules.append({head: rest.strip()})
    return rules


def entry_as_text(rules: list[dict[str, Any]]) -> str:
    lines = []
    for rule in rules:
        if "campaign" in rule:
            status = f" with status {rule['status']}" if rule.get("status") else ""
            lines.append(f"campaign {rule['campaign']}{status}")
        else:
            kind = next(iter(rule))
            lines.append(f"{kind} {rule[kind]}")
    return "\n".join(lines)


def goals_from_text(text: str) -> list[dict[str, Any]]:
    """Goals typed one a line: "event demo_booked", "event form_submitted where form is
    demo"."""
    goals: list[dict[str, Any]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        head, _, rest = line.strip().partition(" ")
        if not head:
            continue
        if head != "event" or not rest.strip():
            raise FieldError("goals", f"line {number}: 'event KIND [where NAME is VALUE]'")
        kind, _, where = rest.strip().partition(" where ")
        goal: dict[str, Any] = {"event": kind.strip()}
        if where.strip():
            name, _, value = where.strip().partition(" is ")
            goal["property"] = {"name": name.strip(), "value": value.strip()}
        goals.append(goal)
    return goals


def goals_as_text(goals: list[dict[str, Any]]) -> str:
    lines = []
    for goal in goals:
        prop = goal.get("property")
        where = f" where {prop['name']} is {prop['value']}" if prop else ""
        lines.append(f"event {goal['event']}{where}")
    return "\n".join(lines)


# --- Pausing ------------------------------------------------------------------------------


def _program_messages(program: Program, status: str) -> QuerySet[Message]:
    return Message.objects.filter(
        program_step__in=ProgramStep.objects.filter(program=program).values("pk"), status=status
    )


def _after_status_change(program: Program, was: str) -> None:
    """A program that stops running holds its queued emails; one that runs again lets them
    go. (The caller holds the program's row: the sweep takes the same lock before it
    queues a program's emails, so no email slips past a pause.)"""
    if program.status != ProgramStatus.ACTIVE and was == ProgramStatus.ACTIVE:
        _program_messages(program, MessageStatus.QUEUED).update(status=MessageStatus.HELD)
    elif program.status == ProgramStatus.ACTIVE and was != ProgramStatus.ACTIVE:
        _program_messages(program, MessageStatus.HELD).update(status=MessageStatus.QUEUED)


def set_status(program: Program, status: str, *, by: Any, now: datetime) -> Program:
    """Pause, resume (activate) or return a program to draft. Pausing stops it at once:
    its queued emails are held and its runs do not advance until it is active again."""
    check_may_manage(by)
    if status not in ProgramStatus.values:
        raise FieldError("status", f"one of {', '.join(ProgramStatus.values)}")
    with transaction.atomic():
        locked = Program.objects.select_for_update().get(pk=program.pk)
        if status == ProgramStatus.ACTIVE and not locked.steps.exists():
            raise FieldError("steps", "an active program needs at least one step")
        was = locked.status
        locked.status = status
        locked.updated_at = now
        locked.save(update_fields=["status", "updated_at"])
        _after_status_change(locked, was)
    program.status, program.updated_at = status, now
    return program


def pause(program: Program, *, by: Any, now: datetime) -> Program:
    return set_status(program, ProgramStatus.PAUSED, by=by, now=now)


def resume(program: Program, *, by: Any, now: datetime) -> Program:
    return set_status(program, ProgramStatus.ACTIVE, by=by, now=now)


def delete_program(program: Program, *, by: Any, now: datetime) -> None:
    """Delete a program: its held and queued emails are not sent; what was sent stays in
    the outbox."""
    check_may_manage(by)
    with transaction.atomic():
        for status in (MessageStatus.QUEUED, MessageStatus.HELD):
            _program_messages(program, status).update(
                status=MessageStatus.FAILED, last_error="its program was deleted"
            )
        program.delete()


# --- Enrolment ----------------------------------------------------------------------------


# Leads a program never takes in: sales' leads, the disqualified, merged duplicates, and
# leads without an address (nothing can be sent to them).
def _enrollable() -> QuerySet[Lead]:
    return (
        Lead.objects.filter(merged_into__isnull=True, email__isnull=False)
        .exclude(email="")
        .exclude(stage__in=[*SALES_STAGES, Stage.CUSTOMER, Stage.DISQUALIFIED])
    )


def _rule_q(rule: dict[str, Any]) -> Q:
    if "list" in rule:
        return Q(
            Exists(ListMember.objects.filter(lead_list__name=rule["list"], lead_id=OuterRef("pk")))
        )
    if "segment" in rule:
        return Q(segment=rule["segment"])
    if "campaign" in rule:
        members = CampaignMember.objects.filter(
            lead_id=OuterRef("pk"), campaign__name__iexact=rule["campaign"]
        )
        if rule.get("status"):
            members = members.filter(status=rule["status"])
        return Q(Exists(members))
    # Sales rejected it (or let it go) with this reason: it is recycled, and the stage
    # change that recycled it says why.
    return Q(stage=Stage.RECYCLED) & Q(
        Exists(
            StageChange.objects.filter(
                lead_id=OuterRef("pk"),
                to_stage=Stage.RECYCLED,
                reason__icontains=rule["recycle_reason"],
            )
        )
    )


def rule_label(rule: dict[str, Any]) -> str:
    if "campaign" in rule:
        status = f" ({rule['status']})" if rule.get("status") else ""
        return f"campaign {rule['campaign']!r}{status}"
    kind = next(iter(rule))
    return f"{kind.replace('_', ' ')} {rule[kind]!r}"


ENROLMENTS = Enrolment._meta.db_table


def _insert_runs(program: Program, leads: QuerySet[Lead], *, how: str, now: datetime) -> int:
    """Enrol `leads` in `program` set-based (one INSERT … SELECT): leads already in it are
    left alone, and without re-entry so are leads that ran it before. The partial unique
    index (one active run per lead and program) settles a race with another enrolment."""
    first = program.steps.order_by("position").first()
    if first is None:
        return 0
    runs = Enrolment.objects.filter(program=program, lead_id=OuterRef("pk"))
    if not program.allow_reentry:
        leads = leads.exclude(Exists(runs))
    else:
        leads = leads.exclude(Exists(runs.filter(status=EnrolmentStatus.ACTIVE)))
    picked = leads.order_by().annotate(picked_id=F("pk")).values_list("picked_id")
    sql, params = picked.query.sql_with_params()
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ENROLMENTS} (lead_id, program_id, step_id, status, due_at,"
            " step_entered_at, entered_at, ended_reason, entered_how)"
            f" SELECT picked.picked_id, %s, %s, %s, %s, %s, %s, '', %s FROM ({sql}) AS picked"
            " WHERE 1 = 1 ON CONFLICT DO NOTHING",
            [
                program.pk,
                first.pk,
                EnrolmentStatus.ACTIVE.value,
                stamp,
                stamp,
                stamp,
                how[:200],
                *params,
            ],
        )
        count = max(cursor.rowcount, 0)
    if count:
        _count(reached={first.pk: count})
    return count


def enrol_due(*, now: datetime) -> int:
    """The enrolment sweep: every active program takes in the leads its rules pick now.
    Idempotent: a lead already in (or, without re-entry, once in) is not enrolled again."""
    total = 0
    for program in Program.objects.filter(status=ProgramStatus.ACTIVE).exclude(entry=[]):
        with transaction.atomic():
            for rule in program.entry:
                leads = _enrollable().filter(_rule_q(rule))
                total += _insert_runs(program, leads, how=f"rule: {rule_label(rule)}", now=now)
    return total


def enrol_leads(program: Program, lead_ids: Iterable[int], *, by: User, now: datetime) -> int:
    """Enrol the chosen leads by hand (the ones `by` sees, that a program may take);
    returns how many were enrolled."""
    check_may_manage(by)
    ids = list(lead_ids)
    leads = visible_leads(by, _enrollable().filter(pk__in=ids))
    with transaction.atomic():
        return _insert_runs(program, leads, how=f"by hand: {by.get_username()}", now=now)


def exit_leads(program: Program, lead_ids: Iterable[int], *, by: User, now: datetime) -> int:
    """Take chosen leads out of a program by hand."""
    check_may_manage(by)
    seen = visible_leads(by, Lead.objects.filter(pk__in=list(lead_ids))).values("pk")
    return Enrolment.objects.filter(
        program=program, lead_id__in=seen, status=EnrolmentStatus.ACTIVE
    ).update(
        status=EnrolmentStatus.EXITED, ended_at=now, due_at=None,
        ended_reason=f"taken out by hand: {by.get_username()}",
    )  # fmt: skip


# --- The sweep ----------------------------------------------------------------------------


@dataclass
class _Run:
    pk: int
    lead_id: int
    program_id: int
    step_id: int | None
    step_entered_at: datetime
    entered_at: datetime
    status: str = EnrolmentStatus.ACTIVE
    due_at: datetime | None = None
    ended_reason: str = ""
    moved: bool = False
    steps_taken: int = 0


@dataclass
class _Batch:
    now: datetime
    programs: dict[int, Program]
    steps: dict[int, ProgramStep]
    order: dict[int, list[ProgramStep]]
    leads: dict[int, dict[str, Any]]
    reached: Counter[int] = field(default_factory=Counter)
    went_yes: Counter[int] = field(default_factory=Counter)
    went_no: Counter[int] = field(default_factory=Counter)
    lead_objects: dict[int, Lead] = field(default_factory=dict)

    def next_of(self, step: ProgramStep) -> ProgramStep | None:
        ordered = self.order[step.program_id]
        index = ordered.index(step)
        return ordered[index + 1] if index + 1 < len(ordered) else None

    def go(self, run: _Run, step: ProgramStep | None) -> None:
        """The run moves on to `step` (None: the end of the program)."""
        run.moved = True
        run.steps_taken += 1
        if step is None:
            self.end(run, EnrolmentStatus.COMPLETED, "reached the end")
            return
        run.step_id = step.pk
        run.step_entered_at = self.now
        run.due_at = self.now
        self.reached[step.pk] += 1

    def wait(self, run: _Run, until: datetime) -> None:
        run.due_at = until

    def end(self, run: _Run, status: str, reason: str) -> None:
        run.moved = True
        run.status = status
        run.due_at = None
        run.ended_reason = reason[:200]


# The leads whose runs the programs sweep is walking in this context (a batch).
_WALKING: ContextVar[frozenset[int]] = ContextVar("nurture_programs_walking", default=frozenset())


def on_lead_assigned(
    sender: Any, *, assignments: Iterable[Any], now: datetime, **kwargs: Any
) -> int:
    """Receiver of `routing.signals.lead_assigned` (in the assignment's transaction): a
    lead given to sales (a click that made it sales-ready, a marketer's "send to sales")
    leaves its programs at once with the goal "sales-ready", instead of when its wait
    ends. The runs the sweep is walking (a hand-to-sales step) end as the sweep decides."""
    ids = {a.lead_id for a in assignments} - _WALKING.get()
    if not ids:
        return 0
    return Enrolment.objects.filter(lead_id__in=ids, status=EnrolmentStatus.ACTIVE).update(
        status=EnrolmentStatus.GOAL, ended_reason="sales-ready", ended_at=now, due_at=None
    )


def run_due(*, now: datetime, batch_size: int = BATCH_SIZE) -> int:
    """The programs sweep: advance every run whose time has come, batch by batch. Returns
    how many runs were looked at. Runs of a program that is not active are not touched."""
    done = 0
    while True:
        with transaction.atomic():
            count = _run_batch(now=now, batch_size=batch_size)
        done += count
        if count < batch_size:
            return done


def _run_batch(*, now: datetime, batch_size: int) -> int:
    rows = list(
        Enrolment.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            status=EnrolmentStatus.ACTIVE, due_at__lte=now, program__status=ProgramStatus.ACTIVE
        )
        .order_by("due_at")
        .values_list("pk", "lead_id", "program_id", "step_id", "step_entered_at", "entered_at")[
            :batch_size
        ]
    )
    if not rows:
        return 0
    # The programs' rows, locked: a pause waits for this batch (or this batch for the
    # pause), so the pause holds every email a batch queued, and nothing runs after it.
    programs = {
        p.pk: p
        # In id order, so two sweeps taking several programs never wait on each other
        # in a circle.
        for p in Program.objects.select_for_update()
        .filter(pk__in={r[2] for r in rows}, status=ProgramStatus.ACTIVE)
        .order_by("pk")
    }
    runs = [_Run(*row) for row in rows if row[2] in programs]
    steps = {
        s.pk: s
        for s in ProgramStep.objects.filter(program_id__in=programs).select_related("template")
    }
    order: dict[int, list[ProgramStep]] = defaultdict(list)
    for step in sorted(steps.values(), key=lambda s: s.position):
        order[step.program_id].append(step)
    batch = _Batch(now=now, programs=programs, steps=steps, order=order, leads=_lead_facts(runs))
    for run in runs:
        run.due_at = now
    _check_goals(batch, runs)
    # A hand-to-sales step routes its leads: their runs end as this batch decides, not by
    # `on_lead_assigned`.
    walking = _WALKING.set(frozenset(run.lead_id for run in runs))
    try:
        _walk(batch, runs, steps, now=now)
    finally:
        _WALKING.reset(walking)
    return len(rows)


def _walk(batch: _Batch, runs: list[_Run], steps: dict[int, ProgramStep], *, now: datetime) -> None:
    # Each round takes every run one step on; a step that makes a run wait sets its
    # due_at past now, and the run drops out of the next round.
    for _round in range(MAX_STEPS_PER_RUN):
        by_step: dict[int | None, list[_Run]] = defaultdict(list)
        for run in runs:
            if (
                run.status == EnrolmentStatus.ACTIVE
                and run.due_at is not None
                and run.due_at <= now
                and run.steps_taken < MAX_STEPS_PER_RUN
            ):
                by_step[run.step_id].append(run)
        if not by_step:
            break
        for step_id, group in by_step.items():
            found = steps.get(step_id) if step_id is not None else None
            if found is None:
                for run in group:
                    batch.end(run, EnrolmentStatus.EXITED, "its step was removed")
                continue
            STEP_HANDLERS[found.kind](batch, found, group)
    # A run that stepped MAX_STEPS_PER_RUN times (a loop of branches) rests until the
    # next sweep instead of holding this one.
    for run in runs:
        if run.status == EnrolmentStatus.ACTIVE and run.due_at is not None and run.due_at <= now:
            run.due_at = now + timedelta(seconds=1)
    _write_runs(runs, now=now)
    _count(reached=batch.reached, went_yes=batch.went_yes, went_no=batch.went_no)


def _lead_facts(runs: list[_Run]) -> dict[int, dict[str, Any]]:
    facts: dict[int, dict[str, Any]] = {
        row["pk"]: dict(row)
        for row in Lead.objects.filter(pk__in={r.lead_id for r in runs}).values(
            "pk", "email", "stage", "merged_into_id", "owner_id", "team_id", "country",
            "custom_fields",
        )
    }  # fmt: skip
    return facts


def _check_goals(batch: _Batch, runs: list[_Run]) -> None:
    """End the runs whose lead reached a goal: it is sales' now (became sales-ready and
    was routed, or was handed over), disqualified, unsubscribed (an `unsubscribed` event
    since it was enrolled, or its address suppressed), merged away, or did what the
    program names as its goal (an event since it was enrolled)."""
    if not runs:
        return
    kinds = {"unsubscribed"}
    for program in batch.programs.values():
        kinds.update(goal["event"] for goal in program.goals)
    since = min(r.entered_at for r in runs)
    events: dict[int, list[tuple[str, datetime, dict[str, Any]]]] = defaultdict(list)
    for lead_id, kind, at, props in Event.objects.filter(
        lead_id__in={r.lead_id for r in runs}, kind__in=kinds, occurred_at__gte=since,
        occurred_at__lte=batch.now,
    ).values_list("lead_id", "kind", "occurred_at", "properties"):  # fmt: skip
        events[lead_id].append((kind, at, props or {}))
    emails = {(f["email"] or "").lower() for f in batch.leads.values()} - {""}
    suppressed = set(
        Suppression.objects.filter(address__in=emails).values_list("address", flat=True)
    )
    # Consent withdrawn for a program's purpose (the unsubscribe link, the preference
    # page, a colleague recording it) ends its runs as an unsubscribe event does.
    withdrawn = set(
        ConsentState.objects.filter(
            lead_id__in={r.lead_id for r in runs}, granted=False
        ).values_list("lead_id", "purpose__slug")
    )
    for run in runs:
        lead = batch.leads.get(run.lead_id)
        program = batch.programs[run.program_id]
        if lead is None or lead["merged_into_id"]:
            batch.end(run, EnrolmentStatus.EXITED, "the lead was merged into another")
            continue
        if lead["stage"] in SALES_STAGES or lead["stage"] == Stage.CUSTOMER:
            batch.end(run, EnrolmentStatus.GOAL, "sales-ready")
            continue
        if lead["stage"] == Stage.DISQUALIFIED:
            batch.end(run, EnrolmentStatus.GOAL, "disqualified")
            continue
        mine = [e for e in events.get(run.lead_id, ()) if e[1] >= run.entered_at]
        if (
            (lead["email"] or "").lower() in suppressed
            or (run.lead_id, program.purpose) in withdrawn
        ) or any(
            kind == "unsubscribed" and props.get("purpose") in (None, "", program.purpose)
            for kind, _at, props in mine
        ):
            batch.end(run, EnrolmentStatus.GOAL, "unsubscribed")
            continue
        for goal in program.goals:
            if any(_goal_met(goal, kind, props) for kind, _at, props in mine):
                batch.end(run, EnrolmentStatus.GOAL, f"goal: {goal['event']}")
                break


def _goal_met(goal: dict[str, Any], kind: str, props: dict[str, Any]) -> bool:
    if kind != goal["event"]:
        return False
    prop = goal.get("property")
    return prop is None or str(props.get(prop["name"], "")).lower() == prop["value"].lower()


def _lead_objects(batch: _Batch, ids: Iterable[int]) -> dict[int, Lead]:
    missing = [pk for pk in ids if pk not in batch.lead_objects]
    if missing:
        for lead in Lead.objects.filter(pk__in=missing).select_related("account", "owner", "team"):
            batch.lead_objects[lead.pk] = lead
    return batch.lead_objects


def _send_email(batch: _Batch, step: ProgramStep, runs: list[_Run]) -> None:
    """Queue the step's email for every run at it (the outbox's batch queueing: one INSERT
    for all; a lead without an address is skipped), in the batch's transaction."""
    leads = _lead_objects(batch, [r.lead_id for r in runs])
    if step.template is not None:
        queue_messages(
            [leads[r.lead_id] for r in runs if r.lead_id in leads],
            step.template, purpose=Purpose.MARKETING, now=batch.now, program_step=step.pk,
            consent_purpose=batch.programs[step.program_id].purpose,
        )  # fmt: skip
    nxt = batch.next_of(step)
    for run in runs:
        batch.go(run, nxt)


def _zones(batch: _Batch) -> tuple[dict[int, str], dict[str, str]]:
    """Team time zones by team id, and by the countries the teams work (first team wins,
    as routing picks a lead's team)."""
    by_id: dict[int, str] = {}
    by_country: dict[str, str] = {}
    for pk, zone, countries in Team.objects.order_by("name").values_list(
        "pk", "timezone", "countries"
    ):
        by_id[pk] = zone
        for code in countries or ():
            by_country.setdefault(str(code).upper(), zone)
    return by_id, by_country


def zone_of_lead(lead: dict[str, Any], teams: tuple[dict[int, str], dict[str, str]]) -> str:
    by_id, by_country = teams
    custom = lead.get("custom_fields") or {}
    state = custom.get("state") or custom.get("region") or "" if isinstance(custom, dict) else ""
    country = str(lead.get("country") or "").upper()
    team_zone = by_id.get(lead["team_id"]) if lead.get("team_id") else by_country.get(country)
    return rules_programs.lead_zone(
        country=country, state=str(state), team_zone=team_zone,
        default=settings.LEADLOOP_EMAIL_TIMEZONE,
    )  # fmt: skip


def _wait(batch: _Batch, step: ProgramStep, runs: list[_Run]) -> None:
    weekday = step.settings.get("weekday") is not None
    teams = _zones(batch) if weekday else ({}, {})
    nxt = batch.next_of(step)
    for run in runs:
        zone = zone_of_lead(batch.leads[run.lead_id], teams) if weekday else "UTC"
        until = rules_programs.wait_until(run.step_entered_at, step.settings, zone=zone)
        if until <= batch.now:
            batch.go(run, nxt)
        else:
            batch.wait(run, until)


def _branch_to(batch: _Batch, step: ProgramStep, run: _Run, yes: bool) -> None:
    if yes:
        batch.went_yes[step.pk] += 1
        target = batch.steps.get(step.yes_next_id) if step.yes_next_id else batch.next_of(step)
    else:
        batch.went_no[step.pk] += 1
        target = batch.steps.get(step.no_next_id) if step.no_next_id else batch.next_of(step)
    batch.go(run, target)


def _previous_send(batch: _Batch, step: ProgramStep) -> ProgramStep | None:
    after = step.settings.get("after")
    ordered = batch.order[step.program_id]
    if after:
        return next((s for s in ordered if s.name == after), None)
    earlier = [s for s in ordered if s.position < step.position and s.kind == StepKind.SEND_EMAIL]
    return earlier[-1] if earlier else None


def _branch(batch: _Batch, step: ProgramStep, runs: list[_Run]) -> None:
    conf = step.settings
    if conf.get("if"):
        moment, _positive = rules_programs.ENGAGEMENT_TESTS[conf["if"]]
        send = _previous_send(batch, step)
        if send is not None:
            # The email this run's send step queued (since the run began: a lead that
            # re-enters is judged by its new email, not the old one).
            since = {r.lead_id: r.entered_at for r in runs}
            opened = {
                lead_id
                for lead_id, created, at in Message.objects.filter(
                    program_step=send.pk, lead_id__in=[r.lead_id for r in runs],
                    **{f"{moment}__isnull": False, f"{moment}__lte": batch.now},
                ).values_list("lead_id", "created_at", moment)
                if created >= since[lead_id]
            }  # fmt: skip
        else:
            opened = set()
        within = timedelta(hours=int(conf.get("within_hours") or 0))
        for run in runs:
            answer = rules_programs.engagement_branch(
                conf["if"], happened=run.lead_id in opened, now=batch.now,
                deadline=run.step_entered_at + within,
            )  # fmt: skip
            if answer is None:
                batch.wait(run, min(run.step_entered_at + within, batch.now + BRANCH_RECHECK))
            else:
                _branch_to(batch, step, run, answer)
        return
    ids = [r.lead_id for r in runs]
    if conf.get("condition"):
        matched = set(
            Lead.objects.filter(pk__in=ids)
            .filter(lists.compile_definition(conf["condition"], now=batch.now))
            .values_list("pk", flat=True)
        )
    else:
        matched = set(
            ListMember.objects.filter(
                lead_list__name=conf.get("in_list", ""), lead_id__in=ids
            ).values_list("lead_id", flat=True)
        )
    for run in runs:
        _branch_to(batch, step, run, run.lead_id in matched)


def _list_step(batch: _Batch, step: ProgramStep, runs: list[_Run]) -> None:
    lead_list = LeadList.objects.filter(
        name=step.settings.get("list", ""), kind=ListKind.STATIC
    ).first()
    ids = [r.lead_id for r in runs]
    if lead_list is not None:
        if step.kind == StepKind.ADD_TO_LIST:
            # One INSERT … SELECT for the batch (a lead already in the list stays as it was).
            picked = Lead.objects.filter(pk__in=ids).order_by().annotate(picked_id=F("pk"))
            sql, params = picked.values_list("picked_id").query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {ListMember._meta.db_table} (lead_list_id, lead_id, added_at)"
                    f" SELECT %s, picked.picked_id, %s FROM ({sql}) AS picked WHERE 1 = 1"
                    " ON CONFLICT DO NOTHING",
                    [lead_list.pk, connection.ops.adapt_datetimefield_value(batch.now), *params],
                )
        else:
            ListMember.objects.filter(lead_list=lead_list, lead_id__in=ids).delete()
    nxt = batch.next_of(step)
    for run in runs:
        batch.go(run, nxt)


def _notify(batch: _Batch, step: ProgramStep, runs: list[_Run]) -> None:
    to = step.settings.get("to", "owner")
    text = step.settings.get("message", "")
    program = batch.programs[step.program_id]
    managers: dict[int, list[int]] = defaultdict(list)
    if to == "team":
        for pk, team_id in User.objects.filter(
            is_active=True, role=Role.SALES_MANAGER,
            team_id__in={batch.leads[r.lead_id]["team_id"] for r in runs},
        ).values_list("pk", "team_id"):  # fmt: skip
            managers[team_id].append(pk)
    notices = []
    for run in runs:
        lead = batch.leads[run.lead_id]
        if to == "owner":
            recipients = [lead["owner_id"]] if lead["owner_id"] else []
        else:
            recipients = managers.get(lead["team_id"], [])
        for recipient in recipients:
            notices.append(
                Notice(
                    recipient_id=recipient,
                    kind=NotificationKind.PROGRAM,
                    message=f"{program.name}: {text}",
                    lead_id=run.lead_id,
                    key=f"program:{step.pk}:{run.pk}:{run.step_entered_at.isoformat()}",
                )
            )
    if notices:
        notify_many(notices, now=batch.now)
    nxt = batch.next_of(step)
    for run in runs:
        batch.go(run, nxt)


def _hand_to_sales(batch: _Batch, step: ProgramStep, runs: list[_Run]) -> None:
    """Mark the lead sales-ready the way a marketer does by hand (`send_to_sales`: an MQL,
    routed as usual); its run ends there, at the goal."""
    leads = _lead_objects(batch, [r.lead_id for r in runs])
    program = batch.programs[step.program_id]
    reason = f"{program.name}: {step.settings.get('reason') or 'handed to sales'}"
    for run in runs:
        lead = leads.get(run.lead_id)
        try:
            if lead is None:
                raise TransitionError("lead", "the lead is gone")
            with transaction.atomic():
                send_to_sales(lead, by=None, reason=reason, now=batch.now)
        except (TransitionError, FieldError) as error:
            batch.end(run, EnrolmentStatus.EXITED, f"not handed to sales: {error}")
            continue
        batch.end(run, EnrolmentStatus.GOAL, "handed to sales")


def _end(batch: _Batch, step: ProgramStep, runs: list[_Run]) -> None:
    for run in runs:
        batch.end(run, EnrolmentStatus.COMPLETED, "reached the end")


STEP_HANDLERS: dict[str, Any] = {
    StepKind.SEND_EMAIL: _send_email,
    StepKind.WAIT: _wait,
    StepKind.BRANCH: _branch,
    StepKind.ADD_TO_LIST: _list_step,
    StepKind.REMOVE_FROM_LIST: _list_step,
    StepKind.NOTIFY: _notify,
    StepKind.HAND_TO_SALES: _hand_to_sales,
    StepKind.END: _end,
}


def _write_runs(runs: list[_Run], *, now: datetime) -> None:
    """One UPDATE per group of runs that end up in the same state (the same step since
    the same moment, due at the same time): few groups, however many runs."""
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for run in runs:
        if run.status != EnrolmentStatus.ACTIVE:
            key: tuple[Any, ...] = ("end", run.status, run.ended_reason, run.step_id)
        elif run.moved:
            key = ("move", run.step_id, run.step_entered_at, run.due_at)
        else:
            key = ("due", run.due_at)
        groups[key].append(run.pk)
    for key, ids in groups.items():
        rows = Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE)
        for start in range(0, len(ids), 900):
            chunk = rows.filter(pk__in=ids[start : start + 900])
            if key[0] == "end":
                chunk.update(
                    status=key[1], ended_reason=key[2], step_id=key[3], ended_at=now, due_at=None
                )
            elif key[0] == "move":
                chunk.update(step_id=key[1], step_entered_at=key[2], due_at=key[3])
            else:
                chunk.update(due_at=key[1])


def _count(
    *,
    reached: Counter[int] | dict[int, int] | None = None,
    went_yes: Counter[int] | None = None,
    went_no: Counter[int] | None = None,
) -> None:
    """Add to the steps' counters (F(): sweeps on other machines add theirs too)."""
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    for name, counter in (("reached", reached), ("went_yes", went_yes), ("went_no", went_no)):
        for pk, n in (counter or {}).items():
            if n:
                totals[pk][name] = n
    for pk, adds in totals.items():
        ProgramStep.objects.filter(pk=pk).update(**{k: F(k) + v for k, v in adds.items()})


# --- A merge of two leads (identity.merging asks each owner to move its rows) ---------

LEAD_HISTORY: dict[str, type[models.Model]] = {"program_runs": Enrolment}


def lead_history_ids(lead: Lead) -> dict[str, list[int]]:
    """The ids of the lead's program runs, as identity.merging records them."""
    return history_ids(LEAD_HISTORY, lead)


def move_lead_history(
    ids: Mapping[str, Sequence[int]], *, to: Lead, only_from: Lead | None = None
) -> dict[str, int]:
    """Give the runs named by `ids` to the lead `to` (a merge, or its undo). An active run
    in a program `to` is running too stays where it was (one active run per program and
    lead): the sweep ends it, "merged into another", the next time it is due."""
    rows = Enrolment.objects.filter(pk__in=ids.get("program_runs", ()))
    if only_from is not None:
        rows = rows.filter(lead=only_from)
    running = Enrolment.objects.filter(lead=to, status=EnrolmentStatus.ACTIVE).values("program_id")
    rows = rows.exclude(status=EnrolmentStatus.ACTIVE, program_id__in=running)
    return {"program_runs": rows.update(lead=to)}


# --- Reading (the monitor) ----------------------------------------------------------------


@dataclass(frozen=True)
class StepStats:
    step: ProgramStep
    at_step: int
    sent: int
    opened: int
    clicked: int


def step_stats(program: Program) -> list[StepStats]:
    """Per step: leads at it now, its counters, and its emails sent, opened, clicked."""
    steps = list(
        program.steps.select_related("template", "yes_next", "no_next").order_by("position")
    )
    at = dict(
        Enrolment.objects.filter(program=program, status=EnrolmentStatus.ACTIVE)
        .values_list("step_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    mail: dict[int, dict[str, Any]] = {
        row["program_step"] or 0: dict(row)
        for row in Message.objects.filter(program_step__in=[s.pk for s in steps])
        .values("program_step")
        .annotate(
            sent=Count("pk", filter=Q(status=MessageStatus.SENT)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
        .order_by()
    }
    return [
        StepStats(
            step=s,
            at_step=at.get(s.pk, 0),
            sent=mail.get(s.pk, {}).get("sent", 0),
            opened=mail.get(s.pk, {}).get("opened", 0),
            clicked=mail.get(s.pk, {}).get("clicked", 0),
        )
        for s in steps
    ]


def run_counts(program: Program) -> dict[str, int]:
    counts = dict(
        Enrolment.objects.filter(program=program)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {value: counts.get(value, 0) for value in EnrolmentStatus.values}


def enrolments(program: Program, *, viewer: User, status: str | None = None) -> QuerySet[Enrolment]:
    """The program's runs of the leads `viewer` sees, newest first."""
    rows = Enrolment.objects.filter(program=program, lead__in=visible_leads(viewer).values("pk"))
    if status:
        if status not in EnrolmentStatus.values:
            raise FieldError("status", f"one of {', '.join(EnrolmentStatus.values)}")
        rows = rows.filter(status=status)
    return rows.select_related("lead", "step").order_by("-entered_at", "-pk")


def find_program(name_or_id: str | int) -> Program | None:
    text = str(name_or_id).strip()
    if text.isdigit():
        found = Program.objects.filter(pk=int(text)).first()
        if found is not None:
            return found
    return Program.objects.filter(name=text).first()


def programs_with_counts() -> QuerySet[Program]:
    return Program.objects.annotate(
        active_runs=Count(
            "enrolments", filter=Q(enrolments__status=EnrolmentStatus.ACTIVE), distinct=True
        ),
        step_count=Count("steps", distinct=True),
    ).order_by("name")
