"""Forms of the programs screens: a program's settings (entry rules and goals typed one a
line) and one form per step kind. They only shape the program document; nurture.programs
checks it, and its refusals come back next to the field they name."""

from __future__ import annotations

from typing import Any

from django import forms

from nurture import lists, programs, rules_programs
from nurture.choices import ListKind, StepKind
from nurture.models import EmailTemplate, LeadList, Program

ENTRY_HELP = (
    "One rule a line; a lead any rule picks is enrolled (by the sweep, every minute or so):"
    " “list Engaged”, “segment nurture”, “campaign Spring webinar with status no-show”,"
    " “recycle_reason no budget”. Empty: leads are enrolled by hand only."
)
GOALS_HELP = (
    "Besides sales-ready, disqualified and unsubscribed, which always end a run: one a line,"
    " “event demo_booked”, “event form_submitted where form is demo”."
)


class ProgramForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    purpose = forms.SlugField(
        max_length=50, initial="newsletter", help_text="The consent purpose its emails go under"
    )
    allow_reentry = forms.BooleanField(
        required=False, label="A lead may run it again after its run ended"
    )
    entry = forms.CharField(
        label="Enrolment rules", required=False, help_text=ENTRY_HELP,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "campaign Webinar with status no-show"}),
    )  # fmt: skip
    goals = forms.CharField(
        required=False, help_text=GOALS_HELP,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "event demo_booked"}),
    )  # fmt: skip

    @classmethod
    def initial_for(cls, program: Program) -> dict[str, Any]:
        return {
            "name": program.name,
            "description": program.description,
            "purpose": program.purpose,
            "allow_reentry": program.allow_reentry,
            "entry": programs.entry_as_text(program.entry),
            "goals": programs.goals_as_text(program.goals),
        }


# Which fields each kind's form shows (besides the name).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    StepKind.SEND_EMAIL: ("template",),
    StepKind.WAIT: ("days", "hours", "minutes", "weekday", "hour"),
    StepKind.BRANCH: ("test", "within_hours", "condition", "in_list", "yes_next", "no_next"),
    StepKind.ADD_TO_LIST: ("lead_list",),
    StepKind.REMOVE_FROM_LIST: ("lead_list",),
    StepKind.NOTIFY: ("to", "message"),
    StepKind.HAND_TO_SALES: ("reason",),
    StepKind.END: (),
}
TESTS = [
    ("opened", "opened the previous email"),
    ("clicked", "clicked in the previous email"),
    ("not_opened", "did not open the previous email"),
    ("not_clicked", "did not click in the previous email"),
    ("condition", "matches conditions"),
    ("in_list", "is in a list"),
]


class StepForm(forms.Form):
    name = forms.CharField(max_length=100)
    template = forms.ChoiceField(label="Email template", choices=[])
    days = forms.IntegerField(required=False, min_value=0)
    hours = forms.IntegerField(required=False, min_value=0)
    minutes = forms.IntegerField(required=False, min_value=0)
    weekday = forms.ChoiceField(
        label="…or until the weekday", required=False,
        choices=[("", "—")] + [(d, d.title()) for d in rules_programs.WEEKDAYS],
        help_text="At the hour below on the lead's own clock (its country's time zone)",
    )  # fmt: skip
    hour = forms.IntegerField(required=False, min_value=0, max_value=23, initial=9)
    test = forms.ChoiceField(label="Yes when the lead", choices=TESTS)
    within_hours = forms.IntegerField(
        required=False, min_value=0, label="Within (hours)",
        help_text="Opened / clicked: how long to wait for it before going the other way",
    )  # fmt: skip
    condition = forms.CharField(
        required=False, label="Conditions (when “matches conditions”)",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "grade in A, B"}),
    )  # fmt: skip
    in_list = forms.ChoiceField(label="List (when “is in a list”)", required=False, choices=[])
    yes_next = forms.ChoiceField(label="On yes, go to", required=False, choices=[])
    no_next = forms.ChoiceField(label="On no, go to", required=False, choices=[])
    lead_list = forms.ChoiceField(label="Static list", choices=[])
    to = forms.ChoiceField(choices=[("owner", "The lead's owner"), ("team", "The team's managers")])
    message = forms.CharField(max_length=250)
    reason = forms.CharField(
        max_length=200, required=False, help_text="Kept with the stage change and assignment"
    )

    def __init__(self, *args: Any, kind: str, step_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = {"name", *KIND_FIELDS[kind]}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        choices: dict[str, Any] = {}
        if "template" in self.fields:
            choices["template"] = [
                (t, t)
                for t in EmailTemplate.objects.order_by("name").values_list("name", flat=True)
            ]
        all_lists = list(LeadList.objects.order_by("name").values_list("name", "kind"))
        choices["in_list"] = [("", "—")] + [(n, n) for n, _k in all_lists]
        choices["lead_list"] = [(n, n) for n, k in all_lists if k == ListKind.STATIC]
        choices["yes_next"] = choices["no_next"] = [("", "the next step")] + [
            (n, n) for n in step_names
        ]
        for name, options in choices.items():
            field = self.fields.get(name)
            if isinstance(field, forms.ChoiceField):
                field.choices = options

    @classmethod
    def initial_for(cls, step: dict[str, Any]) -> dict[str, Any]:
        initial = dict(step)
        if "list" in step:
            initial["lead_list"] = step["list"]
        if step.get("kind") == StepKind.BRANCH:
            if "if" in step:
                initial["test"] = step["if"]
            elif "condition" in step:
                initial["test"] = "condition"
                initial["condition"] = lists.definition_as_text(step["condition"])
            else:
                initial["test"] = "in_list"
        return initial

    def step(self) -> dict[str, Any]:
        """The step as the program document says it (checked by the service)."""
        data = self.cleaned_data
        out: dict[str, Any] = {"name": data["name"], "kind": self.kind}
        if self.kind == StepKind.BRANCH:
            test = data["test"]
            if test == "condition":
                out["condition"] = lists.definition_from_text(data.get("condition") or "")
            elif test == "in_list":
                out["in_list"] = data.get("in_list") or ""
            else:
                out["if"] = test
                if data.get("within_hours") is not None:
                    out["within_hours"] = data["within_hours"]
            for name in ("yes_next", "no_next"):
                if data.get(name):
                    out[name] = data[name]
            return out
        for name in KIND_FIELDS[self.kind]:
            value = data.get(name)
            if value not in (None, ""):
                out["list" if name == "lead_list" else name] = value
        if self.kind == StepKind.WAIT and out.get("weekday"):
            for name in ("days", "hours", "minutes"):
                out.pop(name, None)
        elif self.kind == StepKind.WAIT:
            out.pop("hour", None)
        return out


class EnrolForm(forms.Form):
    lead_ids = forms.CharField(
        label="Lead ids", help_text="Comma or space separated (from the leads page)",
        widget=forms.TextInput(attrs={"placeholder": "12, 57, 101"}),
    )  # fmt: skip

    def clean_lead_ids(self) -> list[int]:
        ids = []
        for part in self.cleaned_data["lead_ids"].replace(",", " ").split():
            if not part.isdigit():
                raise forms.ValidationError(f"{part!r} is not a lead id")
            ids.append(int(part))
        if not ids:
            raise forms.ValidationError("name at least one lead")
        return ids


class ApplyForm(forms.Form):
    document = forms.CharField(
        label="Program as YAML", widget=forms.Textarea(attrs={"rows": 10}),
        help_text="What “Export YAML” or `leadloop nurture export` writes",
    )  # fmt: skip
