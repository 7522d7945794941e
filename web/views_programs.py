"""The programs screens (marketing and admins): every program; a program's monitor (per
step: leads at it, sent / opened / clicked, which way a branch sent them; the runs, paged;
pause and resume; enrol leads by id); its builder (settings, and its steps added, edited,
moved and deleted, one form per kind); YAML export and apply. Every change rewrites the
program document and goes through nurture.programs.apply_document, as the API and
`leadloop nurture apply` do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from leads.errors import FieldError, NotPermitted
from nurture import programs
from nurture.choices import EnrolmentStatus, StepKind
from nurture.models import Program
from users.choices import Capability
from users.models import User
from users.permissions import may

from .decorators import viewer_page
from .forms_programs import ApplyForm, EnrolForm, ProgramForm, StepForm

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # viewer_page guarantees a signed-in user
    if not may(user, Capability.MANAGE_PROGRAMS):
        raise Http404("no such page")
    return user


def _program(pk: int) -> Program:
    found = Program.objects.filter(pk=pk).first()
    if found is None:
        raise Http404("no such program")
    return found


def _refused(form: forms.Form, error: FieldError) -> int:
    """The service's refusal next to the field it names ("steps[2] 'x'.days" → days)."""
    field = error.field.rsplit(".", 1)[-1].split("[")[0]
    field = {"if": "test", "list": "lead_list"}.get(field, field)
    form.add_error(
        field if field in form.fields else None,
        error.message if field in form.fields else str(error),
    )
    return 403 if isinstance(error, NotPermitted) else 400


@viewer_page
def program_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    status = 200
    form = ProgramForm()
    apply_form = ApplyForm()
    if request.method == "POST":
        now = timezone.now()
        try:
            if "document" in request.POST:
                apply_form = ApplyForm(request.POST)
                status = 400
                if apply_form.is_valid():
                    document = programs.from_text(apply_form.cleaned_data["document"])
                    done = programs.apply_document(document, by=user, now=now)
                    verb = "created" if done.created else "updated"
                    messages.success(request, f"Program {done.program.name!r} {verb}.")
                    return redirect("web:program", done.program.pk)
            else:
                form = ProgramForm(request.POST)
                status = 400
                if form.is_valid():
                    made = _save_settings(form, user, None)
                    messages.success(request, f"Program {made.name!r} created: add its steps.")
                    return redirect("web:program_build", made.pk)
        except FieldError as error:
            if "document" in request.POST:
                apply_form.add_error("document", str(error))
                status = 403 if isinstance(error, NotPermitted) else 400
            else:
                status = _refused(form, error)
    context = {
        "programs": programs.programs_with_counts(),
        "form": form,
        "apply_form": apply_form,
    }
    return render(request, "web/programs.html", context, status=status)


def _save_settings(form: ProgramForm, user: User, program: Program | None) -> Program:
    data = form.cleaned_data
    if program is None and Program.objects.filter(name=data["name"]).exists():
        # "New program" never rewrites one of the same name (applying YAML does, on purpose).
        raise FieldError("name", f"there is already a program called {data['name']!r}")
    document: dict[str, Any] = (
        programs.document_of(program) if program else {"status": "draft", "steps": []}
    )
    document.update(
        name=data["name"],
        description=data["description"],
        purpose=data["purpose"],
        allow_reentry=data["allow_reentry"],
        entry=programs.entry_from_text(data["entry"]),
        goals=programs.goals_from_text(data["goals"]),
    )
    return programs.apply_document(document, by=user, now=timezone.now(), program=program).program


@viewer_page
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The monitor."""
    user = _user(request)
    program = _program(pk)
    state = request.GET.get("status", "")
    try:
        runs = programs.enrolments(program, viewer=user, status=state or None)
    except FieldError:
        state = ""
        runs = programs.enrolments(program, viewer=user)
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    stats = programs.step_stats(program)
    context = {
        "program": program,
        "stats": stats,
        "counts": programs.run_counts(program),
        "page": page,
        "status": state,
        "statuses": EnrolmentStatus.choices,
        "enrol_form": EnrolForm(),
    }
    return render(request, "web/program.html", context)


@viewer_page
@require_POST
def program_status(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    program = _program(pk)
    try:
        if action == "pause":
            programs.pause(program, by=user, now=timezone.now())
            messages.success(request, f"{program.name!r} paused: its queued emails are held.")
        else:
            programs.resume(program, by=user, now=timezone.now())
            messages.success(request, f"{program.name!r} is running.")
    except FieldError as error:
        messages.error(request, error.message)
    return redirect(
        (request.POST.get("back") == "build" and "web:program_build") or "web:program", pk
    )


@viewer_page
@require_POST
def program_enrol(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    program = _program(pk)
    form = EnrolForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("lead_ids", [])))
        return redirect("web:program", pk)
    try:
        count = programs.enrol_leads(
            program, form.cleaned_data["lead_ids"], by=user, now=timezone.now()
        )
    except FieldError as error:
        messages.error(request, error.message)
    else:
        asked = len(form.cleaned_data["lead_ids"])
        messages.success(
            request,
            f"{count} of {asked} enrolled"
            + (
                ""
                if count == asked
                else " (the others are in it already, sales' or not yours to see)"
            ),
        )
    return redirect("web:program", pk)


@viewer_page
@require_POST
def programs_bulk_enrol(request: HttpRequest) -> HttpResponse:
    """The leads page's bulk action: enrol the ticked leads in the chosen program."""
    user = _user(request)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    ids = [int(v) for v in request.POST.getlist("lead") if v.isdigit()]
    chosen = request.POST.get("program", "")
    program = Program.objects.filter(pk=int(chosen) if chosen.isdigit() else 0).first()
    if program is None or not ids:
        messages.error(request, "Tick some leads and choose a program.")
        return redirect(back or "web:leads")
    try:
        count = programs.enrol_leads(program, ids, by=user, now=timezone.now())
    except FieldError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{count} of {len(ids)} enrolled in {program.name!r}.")
    return redirect(back or "web:leads")


@viewer_page
def program_export(request: HttpRequest, pk: int) -> HttpResponse:
    _user(request)
    program = _program(pk)
    response = HttpResponse(
        programs.to_yaml(programs.document_of(program)), content_type="application/yaml"
    )
    response["Content-Disposition"] = f'attachment; filename="program-{program.pk}.yaml"'
    return response


@viewer_page
@require_POST
def program_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    program = _program(pk)
    try:
        programs.delete_program(program, by=user, now=timezone.now())
    except FieldError as error:
        messages.error(request, error.message)
        return redirect("web:program_build", pk)
    messages.success(request, f"Program {program.name!r} deleted.")
    return redirect("web:programs")


# --- The builder --------------------------------------------------------------------------


def _builder_context(program: Program, **extra: Any) -> dict[str, Any]:
    document = programs.document_of(program)
    return {
        "program": program,
        "steps": document["steps"],
        "kinds": StepKind.choices,
        **extra,
    }


@viewer_page
def program_build(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    program = _program(pk)
    status = 200
    form = ProgramForm(initial=ProgramForm.initial_for(program))
    if request.method == "POST":
        form = ProgramForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                _save_settings(form, user, program)
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, "Saved.")
                return redirect("web:program_build", pk)
    context = _builder_context(program, form=form)
    return render(request, "web/program_build.html", context, status=status)


@viewer_page
def program_step(request: HttpRequest, pk: int, index: int | None = None) -> HttpResponse:
    """Add a step (`?kind=` chooses its form; `?at=` where it goes) or edit step `index`."""
    user = _user(request)
    program = _program(pk)
    document = programs.document_of(program)
    steps: list[dict[str, Any]] = document["steps"]
    if index is not None and not 0 <= index < len(steps):
        raise Http404("no such step")
    current = steps[index] if index is not None else None
    kind = current["kind"] if current else request.GET.get("kind", "")
    if kind not in StepKind.values:
        raise Http404("no such kind of step")
    names = [s["name"] for i, s in enumerate(steps) if i != index]
    status = 200
    if request.method == "POST":
        form = StepForm(request.POST, kind=kind, step_names=names)
        status = 400
        if form.is_valid():
            try:
                step = form.step()
                renamed: dict[str, str] = {}
                if current is None:
                    at = _position(request, len(steps))
                    steps.insert(at, step)
                else:
                    if step["name"] != current["name"]:
                        renamed[current["name"]] = step["name"]
                        for other in steps:
                            for key in ("yes_next", "no_next", "after"):
                                if other.get(key) == current["name"]:
                                    other[key] = step["name"]
                    steps[steps.index(current)] = step
                programs.apply_document(
                    document, by=user, now=timezone.now(), program=program, renamed=renamed
                )
            except FieldError as error:
                status = _refused(form, error)
            else:
                messages.success(request, f"Step {step['name']!r} saved.")
                return redirect("web:program_build", pk)
    else:
        initial = StepForm.initial_for(current) if current else {"name": _new_name(kind, names)}
        form = StepForm(initial=initial, kind=kind, step_names=names)
    context = _builder_context(
        program, step_form=form, kind=kind, kind_label=StepKind(kind).label, index=index,
        at=request.GET.get("at", ""),
    )  # fmt: skip
    return render(request, "web/program_step.html", context, status=status)


def _position(request: HttpRequest, count: int) -> int:
    try:
        at = int(request.GET.get("at", count))
    except ValueError:
        return count
    return max(0, min(count, at))


def _new_name(kind: str, names: list[str]) -> str:
    base = StepKind(kind).label.lower()
    name, number = base, 2
    while name in names:
        name, number = f"{base} {number}", number + 1
    return name


@viewer_page
@require_POST
def program_step_change(request: HttpRequest, pk: int, index: int, action: str) -> HttpResponse:
    """Move a step up or down, or delete it."""
    user = _user(request)
    program = _program(pk)
    document = programs.document_of(program)
    steps = document["steps"]
    if not 0 <= index < len(steps) or action not in ("up", "down", "delete"):
        raise Http404("no such step")
    if action == "up" and index > 0:
        steps[index - 1], steps[index] = steps[index], steps[index - 1]
    elif action == "down" and index + 1 < len(steps):
        steps[index + 1], steps[index] = steps[index], steps[index + 1]
    elif action == "delete":
        gone = steps.pop(index)
    try:
        done = programs.apply_document(document, by=user, now=timezone.now(), program=program)
    except FieldError as error:
        messages.error(request, str(error))
    else:
        if action == "delete":
            ended = f"; {done.runs_ended} runs at it ended" if done.runs_ended else ""
            messages.success(request, f"Step {gone['name']!r} deleted{ended}.")
    return redirect("web:program_build", pk)
