"""Forms of the import wizard: the upload, how to read the file, and the column mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings

from imports.choices import ImportKey
from imports.mapping import (
    CUSTOM_PREFIX,
    ENGAGEMENT_FIELDS,
    IGNORE,
    IMPORT_FIELDS,
    custom_field_name,
)
from imports.reader import SNIFF_BYTES, binary_problem
from imports.wizard import UPLOAD_SUFFIXES
from leads.choices import MemberStatus
from leads.models import Campaign
from nurture.models import ConsentPurpose

# Big enough for a million-row CRM export; override with settings.IMPORT_MAX_UPLOAD_BYTES.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024

ENCODINGS = [
    ("", "Detect"),
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows-1252 (Excel on Windows)"),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
    ("utf-16", "UTF-16"),
    ("mac-roman", "Mac Roman"),
]
DELIMITERS = [
    ("", "Detect"),
    (",", "Comma  ,"),
    (";", "Semicolon  ;"),
    ("tab", "Tab"),
    ("|", "Pipe  |"),
]


def max_upload_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES))


class ReadingForm(forms.Form):
    """How to read a CSV: empty means detect."""

    encoding = forms.ChoiceField(choices=ENCODINGS, required=False)
    delimiter = forms.ChoiceField(choices=DELIMITERS, required=False)

    def reading(self) -> dict[str, str | None]:
        """The engine's options: None to detect, a tab as the character."""
        data = self.cleaned_data
        delimiter = data.get("delimiter") or None
        return {
            "encoding": data.get("encoding") or None,
            "delimiter": "\t" if delimiter == "tab" else delimiter,
        }

    @staticmethod
    def initial_for(encoding: str | None, delimiter: str | None) -> dict[str, str]:
        shown = "tab" if delimiter == "\t" else delimiter or ""
        return {"encoding": encoding or "", "delimiter": shown}


class UploadForm(ReadingForm):
    file = forms.FileField(label="File")
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"),
        required=False,
        empty_label="No campaign",
        help_text="Every imported lead becomes a member of it.",
    )
    new_campaign = forms.CharField(
        label="or a new campaign",
        max_length=200,
        required=False,
        help_text="Created when the import starts.",
    )
    status = forms.ChoiceField(
        label="Campaign status",
        choices=MemberStatus.choices,
        initial=MemberStatus.REGISTERED,
        help_text="For rows without a status column of their own.",
    )
    key = forms.ChoiceField(
        label="Recognise leads by",
        choices=ImportKey.choices,
        initial=ImportKey.EMAIL,
        help_text="A row whose key a lead already has updates that lead.",
    )

    consent_purpose = forms.ModelChoiceField(
        label="Consent is for",
        queryset=ConsentPurpose.objects.filter(is_active=True).order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Newsletter (default)",
        help_text="What a consent or opted-out column (e.g. “Marketing contact status”,"
        " “HasOptedOutOfEmail”) speaks of.",
    )

    field_order = [
        "file", "campaign", "new_campaign", "status", "key", "consent_purpose", "encoding",
        "delimiter",
    ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        megabytes = max_upload_bytes() // (1024 * 1024)
        help_text = f"CSV or Excel (XLSX), with a header row. Up to {megabytes} MB."
        self.fields["file"].help_text = help_text

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name or "").suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise forms.ValidationError(
                f"“{upload.name}” is not a CSV or Excel file (expected one of"
                f" {', '.join(UPLOAD_SUFFIXES)})."
            )
        head = upload.read(SNIFF_BYTES)
        upload.seek(0)
        problem = binary_problem(head, suffix)
        if problem is not None:
            raise forms.ValidationError(f"“{upload.name}” cannot be imported: {problem}.")
        limit = max_upload_bytes()
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.0f} MB; the limit is"
                f" {limit / 1024 / 1024:.0f} MB. Split it, or import it with `leadloop import`."
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = (data.get("new_campaign") or "").strip()
        data["new_campaign"] = name
        if name and data.get("campaign") is not None:
            self.add_error("new_campaign", "Choose a campaign or type a new name, not both.")
        elif name:
            # A name that already exists is that campaign.
            data["campaign"] = Campaign.objects.filter(name__iexact=name).first()
            if data["campaign"] is not None:
                data["new_campaign"] = ""
        return data


def column_choices(column: str, suggestion: str) -> list[Any]:
    """A column's choices: every lead field, an activity that becomes engagement events,
    a custom field named after it, or ignore."""
    customs = {CUSTOM_PREFIX + custom_field_name(column)}
    if suggestion.startswith(CUSTOM_PREFIX):
        customs.add(suggestion)
    other = [(c, f"Custom field “{c[len(CUSTOM_PREFIX) :]}”") for c in sorted(customs)]
    return [
        (
            "Lead fields",
            [(f, label) for f, label in IMPORT_FIELDS.items() if f not in ENGAGEMENT_FIELDS],
        ),
        (
            "Activity (becomes engagement events)",
            [(f, IMPORT_FIELDS[f]) for f in ENGAGEMENT_FIELDS],
        ),
        ("Other", [*other, (IGNORE, "Ignore this column")]),
    ]


class MappingForm(forms.Form):
    """One choice per column of the file (fields col_0, col_1, … in column order)."""

    def __init__(
        self,
        *args: Any,
        columns: list[str],
        suggested: dict[str, str],
        current: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        for index, column in enumerate(columns):
            suggestion = suggested.get(column, IGNORE)
            choices = column_choices(column, suggestion)
            chosen = current.get(column, suggestion)
            if chosen.startswith(CUSTOM_PREFIX) and chosen not in dict(choices[-1][1]):
                choices[-1][1].insert(0, (chosen, f"Custom field “{chosen[len(CUSTOM_PREFIX) :]}”"))
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=column, choices=choices, initial=chosen
            )

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"col_{i}"] for i, column in enumerate(self.columns)}
