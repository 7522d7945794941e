"""The merge screen's form: it only parses what was posted; the rules are in
`identity.rules` and the merge in `identity.merging`."""

from __future__ import annotations

from typing import Any

from django import forms

from .merging import Comparison

SIDES = [("first", "first"), ("second", "second")]


class MergeForm(forms.Form):
    """Which lead survives, and for each field where they differ, whose value it keeps."""

    survivor = forms.ChoiceField(choices=SIDES, widget=forms.RadioSelect)

    def __init__(self, *args: Any, comparison: Comparison, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        first_survives = comparison.suggested_survivor == comparison.first.pk
        self.fields["survivor"].initial = "first" if first_survives else "second"
        self.keys = [row.field.key for row in comparison.rows if row.differs]
        for row in comparison.rows:
            if row.differs:
                # Not required: a field left out keeps the value preselected for it.
                self.fields[f"keep_{row.field.key}"] = forms.ChoiceField(
                    choices=SIDES, initial=row.default, required=False, widget=forms.RadioSelect
                )

    def picked(self) -> dict[str, str]:
        """Field key → "first" or "second"."""
        return {
            key: self.cleaned_data.get(f"keep_{key}") or self.fields[f"keep_{key}"].initial
            for key in self.keys
        }

    def checked(self, key: str) -> str:
        """The side a field's radio shows as chosen (posted, else the default)."""
        name = "survivor" if key == "survivor" else f"keep_{key}"
        value = self.data.get(name) if self.is_bound else None
        return str(value if value in ("first", "second") else self.fields[name].initial)
