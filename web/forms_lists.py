"""Forms of the lists screens: a list (its conditions typed one a line, as on the routing
rules page) and the lead list's bulk action. nurture.lists decides what may be saved; its
refusals come back next to the field."""

from __future__ import annotations

from typing import Any

from django import forms

from nurture.choices import ListKind
from nurture.lists import FIELDS, OPERATORS, definition_as_text
from nurture.models import LeadList

CONDITIONS_HELP = (
    "One a line, all must hold: “country in DE, AT”, “grade in A, B”, “score at_least 50”,"
    " “stage is nurturing”, “custom.state is CA”, “account.industry contains software”,"
    " “campaign is Spring webinar with status no-show”, “event email_click in 30 days”,"
    " “event page_view where url contains /pricing at_least 2 in 30 days”;"
    " “any: grade is A; score at_least 80” holds when one of its parts does. Fields: "
    + ", ".join(FIELDS)
    + ", custom.<key>. Operators: "
    + ", ".join(OPERATORS)
    + ". Empty: every lead."
)


class ListForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ListKind.choices, initial=ListKind.SMART)
    conditions = forms.CharField(
        label="Conditions (smart list)",
        required=False,
        help_text=CONDITIONS_HELP,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "event email_click in 30 days"}),
    )

    @classmethod
    def initial_for(cls, lead_list: LeadList) -> dict[str, Any]:
        return {
            "name": lead_list.name,
            "kind": lead_list.kind,
            "conditions": definition_as_text(lead_list.definition),
        }


class BulkListForm(forms.Form):
    """Add the ticked leads to a static list, or take them out of it."""

    action = forms.ChoiceField(choices=[("add", "Add to list"), ("remove", "Remove from list")])
    target = forms.ModelChoiceField(
        queryset=LeadList.objects.filter(kind=ListKind.STATIC).order_by("name"),
        label="Static list",
    )
    lead = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The ids are checked by the service against what the viewer sees.
        posted = self.data.getlist("lead") if hasattr(self.data, "getlist") else []
        self.fields["lead"].choices = [(v, v) for v in posted if str(v).isdigit()]  # type: ignore[attr-defined]
