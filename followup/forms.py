"""Forms for what sales does with a lead. They parse input only; the services decide."""

from __future__ import annotations

from django import forms

from .choices import TouchKind, TouchOutcome


class TouchForm(forms.Form):
    kind = forms.ChoiceField(choices=TouchKind.choices, initial=TouchKind.CALL)
    outcome = forms.ChoiceField(choices=TouchOutcome.choices, required=False)
    notes = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        required=False,
        label="When (empty = now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class AcceptForm(forms.Form):
    pass


# The reason is checked by the lifecycle (its message names the field); `required` on the
# widget only saves a round trip in the browser.
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
    amount = forms.DecimalField(max_digits=12, decimal_places=2, label="Expected amount")
    name = forms.CharField(required=False, max_length=200, label="Deal name")


class WinForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, required=False, label="Won amount (empty = as opened)"
    )


class LoseForm(forms.Form):
    reason = _reason_field("Why was it lost?")
