"""Forms for what sales does with a lead. They parse input only; the services decide."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.conf import settings

from .choices import OUTCOMES_BY_KIND, TouchKind, TouchOutcome


class TouchForm(forms.Form):
    """A touch of any kind; the page offers only the kinds the viewer may log (`kinds`),
    and `followup.actions.act_on_lead` decides."""

    kind = forms.ChoiceField(choices=TouchKind.choices, initial=TouchKind.CALL)
    outcome = forms.ChoiceField(required=False)
    notes = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        required=False,
        label="When (empty = now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, kinds: Collection[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = outcome_choices(kinds)  # type: ignore[attr-defined]
        if kinds is not None:
            offered = [(value, label) for value, label in TouchKind.choices if value in kinds]
            self.fields["kind"].widget.choices = offered  # type: ignore[attr-defined]
            if TouchKind.CALL not in kinds and offered:
                self.fields["kind"].initial = offered[0][0]


def outcome_choices(kinds: Collection[str] | None = None) -> list[Any]:
    """The outcomes that fit each kind offered (`OUTCOMES_BY_KIND`), grouped by kind."""
    labels = dict(TouchOutcome.choices)
    groups: list[Any] = [("", "—")]
    for kind, label in TouchKind.choices:
        fits = OUTCOMES_BY_KIND[kind]
        if fits and (kinds is None or kind in kinds):
            groups.append((label, [(value, labels[value]) for value in fits]))
    return groups


class AcceptForm(forms.Form):
    pass


# Reasons and amounts are checked by `followup.actions.act_on_lead` (its message names the
# field, the same as the API's); `required` on the widget only saves a round trip.
def _reason_field(label: str = "Reason") -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=1000,
        label=label,
        widget=forms.TextInput(attrs={"required": True, "placeholder": "why?"}),
    )


class RejectForm(forms.Form):
    reason = _reason_field("Why reject it?")


class ConvertForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        label="Expected amount",
        widget=forms.NumberInput(attrs={"required": True}),
    )
    name = forms.CharField(required=False, max_length=200, label="Deal name")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Amounts are in the installation's one currency (LEADLOOP_CURRENCY).
        self.fields["amount"].label = f"Expected amount ({settings.LEADLOOP_CURRENCY})"


class WinForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, required=False, label="Won amount (empty = as opened)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "amount"
        ].label = f"Won amount in {settings.LEADLOOP_CURRENCY} (empty = as opened)"


class LoseForm(forms.Form):
    reason = _reason_field("Why was it lost?")
